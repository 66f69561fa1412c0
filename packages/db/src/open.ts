import { mkdirSync } from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import { PrismaBetterSQLite3 } from "@prisma/adapter-better-sqlite3";
import { PrismaPg } from "@prisma/adapter-pg";
import { unwritableLocation } from "@ionrank/crystal";
import { PrismaClient } from "./generated/prisma/client.js";
import { PrismaClient as PostgresPrismaClient } from "./generated/postgres/client.js";
import { DatabaseOpenError, DbError, MigrationError } from "./errors.js";
import { applyMigrations, applyPostgresMigrations, defaultMigrationsDir, readMigrations } from "./migrate.js";
import { backfillStructureKeys } from "./structure-key.js";

export interface OpenDatabaseOptions {
  /**
   * `file:/path/to/db.sqlite` (relative paths are resolved against the working directory), or
   * `postgresql://user:password@host:port/database` for PostgreSQL. Wins over dataDir.
   */
  url?: string;
  /** Folder for `ionrank.db` when no url is given; created if missing. Default `./data`. */
  dataDir?: string;
  /** Folder of `<timestamp>_<name>/migration.sql` migrations; default the ones shipped with the package. */
  migrationsDir?: string;
  /** How long a statement waits for another connection's write lock, in ms. Default 5000. */
  busyTimeoutMs?: number;
}

/** An open IonRank database: the typed Prisma client plus what start-up did. */
export interface IonRankDb {
  /**
   * The Prisma client. Typed as the SQLite client; on PostgreSQL it is the client generated from the same
   * models for PostgreSQL, whose API is the same (IonRank uses no provider-specific query features).
   */
  readonly prisma: PrismaClient;
  readonly provider: "sqlite" | "postgresql";
  /** `file:` URL of the database with an absolute path, or the PostgreSQL URL without its password. */
  readonly url: string;
  /** Absolute path of the SQLite file (null on PostgreSQL). */
  readonly file: string | null;
  /** Migrations applied by this openDatabase() call (empty when the file was already up to date). */
  readonly appliedMigrations: readonly string[];
  close(): Promise<void>;
}

export const DEFAULT_DATA_DIR = "./data";
export const DEFAULT_DB_FILE = "ionrank.db";

/** The `file:` URL openDatabase() would use for these options, with an absolute path. */
export function resolveDatabaseUrl(options: Pick<OpenDatabaseOptions, "url" | "dataDir"> = {}): string {
  const url = options.url ?? `file:${path.join(options.dataDir ?? DEFAULT_DATA_DIR, DEFAULT_DB_FILE)}`;
  if (isPostgresUrl(url)) return url;
  if (!url.startsWith("file:")) {
    throw new DatabaseOpenError(redact(url), "DATABASE_URL must be a SQLite `file:` URL or a `postgresql://` URL");
  }
  const file = url.slice("file:".length).replace(/\?.*$/, "");
  if (file === "" || file === ":memory:") {
    throw new DatabaseOpenError(url, "an in-memory database cannot be shared by the migrator and the client; use a file");
  }
  return `file:${path.resolve(file)}`;
}

/**
 * Opens (creating if needed) the SQLite database, applies pending migrations, switches it to WAL mode and
 * returns a Prisma client over it. Safe to call on an up-to-date file: nothing is re-applied.
 */
export async function openDatabase(options: OpenDatabaseOptions = {}): Promise<IonRankDb> {
  const url = resolveDatabaseUrl(options);
  if (isPostgresUrl(url)) return openPostgres(url, options);
  const file = url.slice("file:".length);
  const timeout = options.busyTimeoutMs ?? 5000;

  let appliedMigrations: string[];
  let sqlite: Database.Database | undefined;
  const unwritable = unwritableLocation(file);
  if (unwritable) throw new DatabaseOpenError(url, unwritable);
  try {
    mkdirSync(path.dirname(file), { recursive: true });
    sqlite = new Database(file, { timeout });
    // WAL is a property of the file: set once here, every later connection (Prisma's included) uses it.
    const mode = sqlite.pragma("journal_mode = WAL", { simple: true });
    if (String(mode).toLowerCase() !== "wal") throw new Error(`journal_mode is ${String(mode)}, expected wal`);
    appliedMigrations = applyMigrations(sqlite, options.migrationsDir ?? defaultMigrationsDir());
  } catch (cause) {
    if (cause instanceof DbError) throw cause;
    throw new DatabaseOpenError(url, (cause as Error).message, { cause });
  } finally {
    sqlite?.close();
  }

  const prisma = new PrismaClient({ adapter: new PrismaBetterSQLite3({ url, timeout }) });
  await backfill(prisma, options.migrationsDir ?? defaultMigrationsDir());
  return {
    prisma,
    provider: "sqlite",
    url,
    file,
    appliedMigrations,
    close: () => prisma.$disconnect(),
  };
}

/**
 * The part of the structure_key migration that SQL cannot do: keys for the rows that have none. Skipped when the
 * migrations folder stops before that migration (the column does not exist yet). Disconnects the client if it fails.
 */
async function backfill(prisma: PrismaClient, migrationsDir: string): Promise<void> {
  const migration = readMigrations(migrationsDir).find((m) => m.name.endsWith("_structure_key"));
  if (!migration) return;
  try {
    await backfillStructureKeys(prisma);
  } catch (cause) {
    await prisma.$disconnect().catch(() => {});
    throw new MigrationError(migration.name, `computing structureKey for the stored materials failed: ${(cause as Error).message}`, { cause });
  }
}

export function isPostgresUrl(url: string): boolean {
  return /^postgres(ql)?:\/\//.test(url);
}

/** The URL without its password, for messages and logs. */
export function redact(url: string): string {
  return url.replace(/^(postgres(?:ql)?:\/\/[^:/@]*):[^@]*@/, "$1:***@");
}

async function openPostgres(url: string, options: OpenDatabaseOptions): Promise<IonRankDb> {
  let appliedMigrations: string[];
  try {
    appliedMigrations = await applyPostgresMigrations(url, options.migrationsDir ?? defaultMigrationsDir("postgresql"));
  } catch (cause) {
    if (cause instanceof DbError) throw cause;
    throw new DatabaseOpenError(redact(url), (cause as Error).message, { cause });
  }
  const client = new PostgresPrismaClient({ adapter: new PrismaPg({ connectionString: url }) });
  const prisma = client as unknown as PrismaClient;
  await backfill(prisma, options.migrationsDir ?? defaultMigrationsDir("postgresql"));
  return { prisma, provider: "postgresql", url: redact(url), file: null, appliedMigrations, close: () => client.$disconnect() };
}

/**
 * Create an empty PostgreSQL database `name` on the server of `adminUrl` (a URL with the right to CREATE
 * DATABASE) and return its URL; openDatabase() on it applies the migrations. Used by the tests, and handy
 * for giving each IonRank deployment its own database.
 */
export async function createPostgresDatabase(adminUrl: string, name: string): Promise<string> {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) throw new DatabaseOpenError(redact(adminUrl), `"${name}" is not a plain database name (a-z, 0-9, _)`);
  const { default: pg } = await import("pg");
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE "${name}"`);
  } finally {
    await client.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}
