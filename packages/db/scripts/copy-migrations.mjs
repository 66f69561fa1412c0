// Copies the SQL migrations from prisma/migrations (SQLite) and prisma/postgres/migrations into dist/, so the built package carries the
// migrations that openDatabase() applies at start-up (src/ falls back to the repository's prisma/ folder).
import { cpSync, rmSync } from "node:fs";
import { fileURLToPath } from "node:url";

for (const [from, to] of [
  ["../../../prisma/migrations/", "../dist/migrations/"],
  ["../../../prisma/postgres/migrations/", "../dist/migrations-postgres/"],
]) {
  const src = fileURLToPath(new URL(from, import.meta.url));
  const dst = fileURLToPath(new URL(to, import.meta.url));
  rmSync(dst, { recursive: true, force: true });
  cpSync(src, dst, { recursive: true, filter: (p) => !p.endsWith(".toml") });
}
