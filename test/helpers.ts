import { spawnSync } from "node:child_process";
import { join } from "node:path";

/** The repository root, and the shared data beside it. */
export const ROOT = new URL("..", import.meta.url).pathname;
export const SHARED = join(ROOT, "../shared/data");
export const FIXTURES = join(ROOT, "packages/crystal/test/fixtures");

/** Run the installed `ionrank` binary (what `npx ionrank` resolves to) from the repository root. */
export function ionrank(args: readonly string[], env: NodeJS.ProcessEnv = process.env) {
  const r = spawnSync(join(ROOT, "node_modules/.bin/ionrank"), args, { cwd: ROOT, env, encoding: "utf8", maxBuffer: 1 << 28 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
