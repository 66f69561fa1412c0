import { createHash, randomUUID } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type BetterSqlite3 from "better-sqlite3";
import pg from "pg";
import { MigrationError } from "./errors.js";

/**
 * Applied migrations are recorded in Prisma's own `_prisma_migrations` table, in Prisma's format (checksum =
 * SHA-256 of migration.sql), so `prisma migrate deploy` / `migrate status` and openDatabase() agree on
 * what has been applied and either may run first.
 */
const TABLE = "_prisma_migrations";

export interface Migration {
  /** Folder name, e.g. "20261127002340_init"; folders sort in the order they must run. */
  name: string;
  sql: string;
  checksum: string;
}

/**
 * The migrations folder for a database: dist/migrations (SQLite) or dist/migrations-postgres in the built
 * package, else the repository's prisma/migrations or prisma/postgres/migrations.
 */
export function defaultMigrationsDir(provider: "sqlite" | "postgresql" = "sqlite"): string {
  const bundled = fileURLToPath(new URL(provider === "sqlite" ? "./migrations/" : "./migrations-postgres/", import.meta.url));
  if (existsSync(bundled)) return bundled;
  return fileURLToPath(new URL(provider === "sqlite" ? "../../../prisma/migrations/" : "../../../prisma/postgres/migrations/", import.meta.url));
}

export function readMigrations(dir: string): Migration[] {
  if (!existsSync(dir)) throw new MigrationError("(folder)", `migrations folder ${dir} does not exist`);
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && existsSync(path.join(dir, e.name, "migration.sql")))
    .map((e) => e.name)
    .sort()
    .map((name) => {
      const sql = readFileSync(path.join(dir, name, "migration.sql"), "utf8");
      return { name, sql, checksum: createHash("sha256").update(sql).digest("hex") };
    });
}

/**
 * Applies the migrations in `dir` that the database has not seen, each in its own IMMEDIATE transaction (so two
 * processes opening the same file at once cannot both apply one). Returns the names applied now.
 * Throws MigrationError when one fails (that migration is rolled back) or when an applied migration's file changed.
 */
export function applyMigrations(sqlite: BetterSqlite3.Database, dir: string): string[] {
  const migrations = readMigrations(dir);
  sqlite.exec(`CREATE TABLE IF NOT EXISTS "${TABLE}" (
    "id"                    TEXT PRIMARY KEY NOT NULL,
    "checksum"              TEXT NOT NULL,
    "finished_at"           DATETIME,
    "migration_name"        TEXT NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        DATETIME,
    "started_at"            DATETIME NOT NULL DEFAULT current_timestamp,
    "applied_steps_count"   INTEGER UNSIGNED NOT NULL DEFAULT 0
)`);
  const appliedNow: string[] = [];
  const lookup = sqlite.prepare<[string], { checksum: string }>(
    `SELECT checksum FROM "${TABLE}" WHERE migration_name = ? AND finished_at IS NOT NULL AND rolled_back_at IS NULL`,
  );
  const record = sqlite.prepare(
    `INSERT INTO "${TABLE}" (id, checksum, finished_at, migration_name, started_at, applied_steps_count)
     VALUES (?, ?, ?, ?, ?, 1)`,
  );
  for (const m of migrations) {
    const apply = sqlite.transaction(() => {
      const done = lookup.get(m.name);
      if (done) {
        if (done.checksum !== m.checksum) {
          throw new MigrationError(m.name, "was applied, but its migration.sql has changed since (checksum mismatch)");
        }
        return false;
      }
      const started = new Date().toISOString();
      try {
        sqlite.exec(m.sql);
      } catch (cause) {
        throw new MigrationError(m.name, (cause as Error).message, { cause });
      }
      record.run(randomUUID(), m.checksum, new Date().toISOString(), m.name, started);
      return true;
    });
    if (apply.immediate()) appliedNow.push(m.name);
  }
  return appliedNow;
}

/**
 * PostgreSQL: the same bookkeeping in `_prisma_migrations`, each migration in its own transaction, all under
 * an advisory lock so that servers starting together apply each migration once. (`prisma migrate deploy`
 * cannot run here: the JavaScript schema engine fails on PostgreSQL, see DEVELOPERS.md.)
 */
export async function applyPostgresMigrations(url: string, dir: string): Promise<string[]> {
  const migrations = readMigrations(dir);
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const appliedNow: string[] = [];
  try {
    await client.query("SELECT pg_advisory_lock(72015001)");
    await client.query(`CREATE TABLE IF NOT EXISTS "${TABLE}" (
      "id" VARCHAR(36) PRIMARY KEY NOT NULL,
      "checksum" VARCHAR(64) NOT NULL,
      "finished_at" TIMESTAMPTZ,
      "migration_name" VARCHAR(255) NOT NULL,
      "logs" TEXT,
      "rolled_back_at" TIMESTAMPTZ,
      "started_at" TIMESTAMPTZ NOT NULL DEFAULT now(),
      "applied_steps_count" INTEGER NOT NULL DEFAULT 0
    )`);
    for (const m of migrations) {
      const done = await client.query<{ checksum: string }>(
        `SELECT checksum FROM "${TABLE}" WHERE migration_name = $1 AND finished_at IS NOT NULL AND rolled_back_at IS NULL`,
        [m.name],
      );
      if (done.rows[0]) {
        if (done.rows[0].checksum !== m.checksum) throw new MigrationError(m.name, "was applied, but its migration.sql has changed since (checksum mismatch)");
        continue;
      }
      const started = new Date();
      await client.query("BEGIN");
      try {
        await client.query(m.sql);
        await client.query(
          `INSERT INTO "${TABLE}" (id, checksum, finished_at, migration_name, started_at, applied_steps_count) VALUES ($1, $2, now(), $3, $4, 1)`,
          [randomUUID(), m.checksum, m.name, started],
        );
        await client.query("COMMIT");
      } catch (cause) {
        await client.query("ROLLBACK");
        throw new MigrationError(m.name, (cause as Error).message, { cause });
      }
      appliedNow.push(m.name);
    }
  } finally {
    await client.query("SELECT pg_advisory_unlock(72015001)").catch(() => {});
    await client.end();
  }
  return appliedNow;
}
