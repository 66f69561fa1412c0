// @ionrank/db: the materials database (SQLite via Prisma's driver adapter). Open it with openDatabase(),
// which applies pending migrations and enables WAL; then use the repository functions or db.prisma directly.
export { openDatabase, createPostgresDatabase, resolveDatabaseUrl, isPostgresUrl, redact, DEFAULT_DATA_DIR, DEFAULT_DB_FILE } from "./open.js";
export type { IonRankDb, OpenDatabaseOptions } from "./open.js";
export { applyMigrations, applyPostgresMigrations, readMigrations, defaultMigrationsDir } from "./migrate.js";
export type { Migration } from "./migrate.js";
export {
  upsertMaterial,
  upsertPathway,
  addPrediction,
  labelPathway,
  listMaterials,
  encodeCursor,
  canonicalJson,
  contentHash,
  pathwayHash,
  DEFAULT_PAGE_SIZE,
  MAX_PAGE_SIZE,
  MAX_BARRIER_EV,
  isBarrier,
} from "./repository.js";
export type {
  StoredStructure,
  MaterialInput,
  PathwayInput,
  PredictionInput,
  LabelInput,
  UpsertResult,
  ListMaterialsOptions,
  MaterialPage,
} from "./repository.js";
export { structureKey, structureKeyOfJson, backfillStructureKeys, STRUCTURE_KEY_STEPS, UNKEYABLE } from "./structure-key.js";
export { DbError, DatabaseOpenError, MigrationError, ValidationError, NotFoundError, ConcurrentWriteError, JobClaimedError, JobRunningError } from "./errors.js";
export { deleteMaterials, MAX_DELETE, type DeleteOutcome } from "./delete.js";
export { IN_LIST_MAX } from "./repository.js";
export { currentOwner, jobLiveness, parseOwner, formatOwner, IMPORT_HEARTBEAT_MS, IMPORT_STALE_MS } from "./job-owner.js";
export type { JobOwner, Liveness } from "./job-owner.js";
export { PrismaClient } from "./generated/prisma/client.js";
export type { Prisma, Material, MaterialRanking, Pathway, Prediction, Model, ImportJob, ImportItemError, ApiKey } from "./generated/prisma/client.js";

/** ImportJob.status values (stored as text: SQLite has no enums). */
export const IMPORT_JOB_STATUSES = ["QUEUED", "RUNNING", "DONE", "FAILED"] as const;
export type ImportJobStatus = (typeof IMPORT_JOB_STATUSES)[number];
export { createApiKey, apiKeyRole } from "./api-keys.js";
export { importItems, importPath, importStructureTexts, storedStructure, DATASET_CITATION } from "./bulk.js";
export type { ImportOptions, ImportOutcome, ImportError, ImportNotice, ImportNoticeKind, JobCounts, StructureText } from "./bulk.js";
export { readSource, walkFiles, itemsOfText, parseProvenance, type SourceItem } from "./sources.js";
export { searchMaterials, listPathways, stats, activeModel, hasElement, GOOD_CONDUCTOR_EV, MATERIAL_SORTS } from "./query.js";
export type { MaterialFilter, MaterialSort, SearchMaterialsOptions, MaterialHit, SearchResult, PathwayFilter, Stats } from "./query.js";
export { refreshRankings, pathStructureOf, structureOf } from "./rankings.js";
export { predictPathways, registerModel, setActiveModel } from "./predict.js";
export type { PredictFn, PredictedEm, PredictOptions, PredictOutcome } from "./predict.js";
