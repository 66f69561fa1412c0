// Runs the Prisma CLI offline with this repository's config (../../prisma.config.ts):
// `node scripts/prisma.mjs migrate status`. The config selects the JavaScript schema engine and the
// better-sqlite3 driver adapter, so no engine binary is downloaded or executed; the CLI still insists
// that the engine paths exist, so both point at this package's package.json (never run).
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

const pkgDir = fileURLToPath(new URL("..", import.meta.url));
const require = createRequire(import.meta.url);

export function runPrisma(args) {
  const cli = path.join(path.dirname(require.resolve("prisma/package.json")), "build", "index.js");
  const placeholder = path.join(pkgDir, "package.json");
  const result = spawnSync(process.execPath, [cli, ...args, "--config", path.join(pkgDir, "..", "..", "prisma.config.ts")], {
    cwd: pkgDir,
    stdio: "inherit",
    env: {
      ...process.env,
      PRISMA_SCHEMA_ENGINE_BINARY: placeholder,
      PRISMA_QUERY_ENGINE_LIBRARY: placeholder,
      PRISMA_HIDE_UPDATE_MESSAGE: "1",
      CHECKPOINT_DISABLE: "1",
    },
  });
  if (result.error) throw result.error;
  return result.status ?? 1;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exit(runPrisma(process.argv.slice(2)));
}
