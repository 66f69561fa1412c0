// Prisma CLI configuration (generate, migrate diff/deploy/status) for the schema in prisma/.
// Run the CLI through packages/db (`npm run -w @ionrank/db prisma -- migrate status`), whose scripts
// add `--config` and the environment below.
//
// The JavaScript schema engine with the better-sqlite3 driver adapter means no Prisma engine binary is
// downloaded or run. The CLI still checks that engine paths exist, so packages/db/scripts/prisma.mjs sets
// PRISMA_SCHEMA_ENGINE_BINARY and PRISMA_QUERY_ENGINE_LIBRARY to a file that is never executed.
//
// The database is DATABASE_URL (`file:/path/to/ionrank.db`), else data/ionrank.db at the repository root,
// the same file openDatabase() in @ionrank/db uses by default when started from the repository root.
import { mkdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { defineConfig } from "prisma/config";
import { PrismaBetterSQLite3 } from "@prisma/adapter-better-sqlite3";

const root = path.dirname(fileURLToPath(import.meta.url));
const url = process.env.DATABASE_URL ?? `file:${path.join(root, "data", "ionrank.db")}`;

export default defineConfig({
  experimental: { adapter: true },
  engine: "js",
  schema: path.join(root, "prisma", "schema.prisma"),
  migrations: { path: path.join(root, "prisma", "migrations") },
  adapter: async () => {
    const file = url.replace(/^file:/, "");
    if (file !== ":memory:") mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    return new PrismaBetterSQLite3({ url });
  },
});
