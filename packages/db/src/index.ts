// @ionrank/db: the materials database (SQLite via Prisma's driver adapter). Open it with openDatabase(),
// which applies pending migrations and enables WAL; then use the repository functions or db.prisma directly.
export { openDatabase, resolveDatabaseUrl, DEFAULT_DATA_DIR, DEFAULT_DB_FILE } from "./open.js";
export type { IonRankDb, OpenDatabaseOptions } from "./open.js";
export { applyMigrations, readMigrations, defaultMigrationsDir } from "./migrate.js";
export type { Migration } from "./migrate.js";
export {
  upsertMaterial,
  upsertPathway,
  addPrediction,
  listMaterials,
  encodeCursor,
  canonicalJson,
  contentHash,
  DEFAULT_PAGE_SIZE,
  MAX_PAGE_SIZE,
} from "./repository.js";
export type {
  StoredStructure,
  MaterialInput,
  PathwayInput,
  PredictionInput,
  UpsertResult,
  ListMaterialsOptions,
  MaterialPage,
} from "./repository.js";
export { DbError, DatabaseOpenError, MigrationError, ValidationError, NotFoundError } from "./errors.js";
export { PrismaClient } from "./generated/prisma/client.js";
export type { Prisma, Material, Pathway, Prediction, Model, ImportJob, ApiKey } from "./generated/prisma/client.js";

/** ImportJob.status values (stored as text: SQLite has no enums). */
export const IMPORT_JOB_STATUSES = ["QUEUED", "RUNNING", "DONE", "FAILED"] as const;
export type ImportJobStatus = (typeof IMPORT_JOB_STATUSES)[number];
export { importStructureTexts, createApiKey, apiKeyRole } from "./import.js";
export type { StructureText, ImportError, ImportOutcome } from "./import.js";
