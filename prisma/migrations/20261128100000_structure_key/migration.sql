-- A tolerant identity of the structure, so the same crystal from another file format (other site order, labels or
-- float digits) is one material. Not unique: rows stored before it existed may already hold the same crystal twice.
ALTER TABLE "Material" ADD COLUMN "structureKey" TEXT;

CREATE INDEX "Material_structureKey_idx" ON "Material"("structureKey");

-- No backfill here: the key is a SHA-256 of a rounded, sorted form of the structure JSON, which SQL cannot compute
-- on SQLite. openDatabase() computes it for every row whose key is NULL (backfillStructureKeys in @ionrank/db): the
-- rows stored before this migration, and any written since by an older IonRank or with this migration applied by
-- `prisma migrate deploy`.
