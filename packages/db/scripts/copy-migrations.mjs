// Copies the SQL migrations from prisma/migrations into dist/migrations, so the built package carries the
// migrations that openDatabase() applies at start-up (src/ falls back to the repository's prisma/ folder).
import { cpSync, rmSync } from "node:fs";
import { fileURLToPath } from "node:url";

const from = fileURLToPath(new URL("../../../prisma/migrations/", import.meta.url));
const to = fileURLToPath(new URL("../dist/migrations/", import.meta.url));
rmSync(to, { recursive: true, force: true });
cpSync(from, to, { recursive: true, filter: (p) => !p.endsWith(".toml") });
