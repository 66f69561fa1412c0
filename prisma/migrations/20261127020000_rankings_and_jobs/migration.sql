-- CreateTable
CREATE TABLE "MaterialRanking" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "materialId" TEXT NOT NULL,
    "ion" TEXT NOT NULL,
    "model" TEXT NOT NULL,
    "hops" INTEGER NOT NULL,
    "lowestEm" REAL NOT NULL,
    "percolationEm" REAL,
    "percolationDim" INTEGER NOT NULL,
    "rankEm" REAL NOT NULL,
    "emStd" REAL NOT NULL,
    "pGood" REAL NOT NULL,
    "hasDft" BOOLEAN NOT NULL,
    "updatedAt" DATETIME NOT NULL,
    CONSTRAINT "MaterialRanking_materialId_fkey" FOREIGN KEY ("materialId") REFERENCES "Material" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "ImportItemError" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "jobId" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "index" INTEGER NOT NULL,
    "reason" TEXT NOT NULL,
    CONSTRAINT "ImportItemError_jobId_fkey" FOREIGN KEY ("jobId") REFERENCES "ImportJob" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateIndex
CREATE INDEX "ImportItemError_jobId_index_idx" ON "ImportItemError"("jobId", "index");

-- Columns added in place (ALTER TABLE ADD COLUMN) rather than by redefining the tables: a redefinition
-- drops the old Pathway table, and with foreign keys on that would cascade-delete every Prediction.
ALTER TABLE "Pathway" ADD COLUMN "equivalents" TEXT NOT NULL DEFAULT '[]';
ALTER TABLE "ImportJob" ADD COLUMN "kind" TEXT NOT NULL DEFAULT 'import';
ALTER TABLE "ImportJob" ADD COLUMN "source" TEXT;
ALTER TABLE "ImportJob" ADD COLUMN "processed" INTEGER NOT NULL DEFAULT 0;
ALTER TABLE "ImportJob" ADD COLUMN "total" INTEGER;
ALTER TABLE "ImportJob" ADD COLUMN "duplicates" INTEGER NOT NULL DEFAULT 0;
ALTER TABLE "ImportJob" ADD COLUMN "finishedAt" DATETIME;


-- CreateIndex
CREATE INDEX "MaterialRanking_ion_model_rankEm_materialId_idx" ON "MaterialRanking"("ion", "model", "rankEm", "materialId");

-- CreateIndex
CREATE INDEX "MaterialRanking_model_pGood_idx" ON "MaterialRanking"("model", "pGood");

-- CreateIndex
CREATE UNIQUE INDEX "MaterialRanking_materialId_ion_model_key" ON "MaterialRanking"("materialId", "ion", "model");

-- CreateIndex
CREATE INDEX "Material_createdAt_idx" ON "Material"("createdAt");

-- CreateIndex
CREATE INDEX "Material_structureClass_idx" ON "Material"("structureClass");

-- CreateIndex
CREATE INDEX "Material_spaceGroup_idx" ON "Material"("spaceGroup");

-- CreateIndex
CREATE INDEX "Prediction_model_idx" ON "Prediction"("model");
