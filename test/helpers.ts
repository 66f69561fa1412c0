import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { createPostgresDatabase } from "@ionrank/db";

/** The repository root, and the shared data beside it. */
export const ROOT = new URL("..", import.meta.url).pathname;
export const SHARED = join(ROOT, "../shared/data");
export const FIXTURES = join(ROOT, "packages/crystal/test/fixtures");

/** Run the installed `ionrank` binary (what `npx ionrank` resolves to) from the repository root. */
export function ionrank(args: readonly string[], env: NodeJS.ProcessEnv = process.env) {
  const r = spawnSync(join(ROOT, "node_modules/.bin/ionrank"), args, { cwd: ROOT, env, encoding: "utf8", maxBuffer: 1 << 28 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/**
 * A new, empty PostgreSQL database on the test server that scripts/test.sh starts (IONRANK_TEST_POSTGRES_URL),
 * returned as its URL. Throws when no server was started: these tests must not silently pass without one.
 */
export async function freshPostgres(prefix: string): Promise<string> {
  const admin = process.env.IONRANK_TEST_POSTGRES_URL;
  if (!admin) throw new Error("IONRANK_TEST_POSTGRES_URL is not set: run the tests with `npm test` (scripts/test.sh starts PostgreSQL)");
  return createPostgresDatabase(admin, `${prefix}_${process.pid}_${Date.now().toString(36)}`.toLowerCase());
}
