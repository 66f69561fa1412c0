-- CreateTable
CREATE TABLE "Material" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "name" TEXT NOT NULL,
    "formula" TEXT NOT NULL,
    "reducedFormula" TEXT NOT NULL,
    "elements" TEXT NOT NULL,
    "spaceGroup" INTEGER,
    "structureClass" TEXT,
    "sourceFile" TEXT,
    "contentHash" TEXT NOT NULL,
    "structure" TEXT NOT NULL,
    "citation" TEXT,
    "functional" TEXT,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);

-- CreateTable
CREATE TABLE "Pathway" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "materialId" TEXT NOT NULL,
    "ion" TEXT NOT NULL,
    "initial" TEXT NOT NULL,
    "final" TEXT NOT NULL,
    "images" TEXT NOT NULL DEFAULT '[]',
    "hopLength" REAL NOT NULL,
    "multiplicity" INTEGER,
    "emDft" REAL,
    "emDftSource" TEXT,
    "contentHash" TEXT NOT NULL,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "Pathway_materialId_fkey" FOREIGN KEY ("materialId") REFERENCES "Material" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "Prediction" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "pathwayId" TEXT NOT NULL,
    "model" TEXT NOT NULL,
    "emPredicted" REAL NOT NULL,
    "emStd" REAL NOT NULL,
    "pGood" REAL NOT NULL,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "Prediction_pathwayId_fkey" FOREIGN KEY ("pathwayId") REFERENCES "Pathway" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "Model" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "name" TEXT NOT NULL,
    "version" TEXT NOT NULL,
    "card" TEXT NOT NULL,
    "active" BOOLEAN NOT NULL DEFAULT false,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);

-- CreateTable
CREATE TABLE "ImportJob" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "status" TEXT NOT NULL DEFAULT 'QUEUED',
    "imported" INTEGER NOT NULL DEFAULT 0,
    "failed" INTEGER NOT NULL DEFAULT 0,
    "errors" TEXT NOT NULL DEFAULT '[]',
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" DATETIME NOT NULL
);

-- CreateTable
CREATE TABLE "ApiKey" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "hash" TEXT NOT NULL,
    "role" TEXT NOT NULL,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);

-- CreateIndex
CREATE UNIQUE INDEX "Material_contentHash_key" ON "Material"("contentHash");

-- CreateIndex
CREATE INDEX "Material_reducedFormula_idx" ON "Material"("reducedFormula");

-- CreateIndex
CREATE UNIQUE INDEX "Pathway_contentHash_key" ON "Pathway"("contentHash");

-- CreateIndex
CREATE INDEX "Pathway_materialId_idx" ON "Pathway"("materialId");

-- CreateIndex
CREATE INDEX "Pathway_ion_idx" ON "Pathway"("ion");

-- CreateIndex
CREATE INDEX "Prediction_pathwayId_model_idx" ON "Prediction"("pathwayId", "model");

-- CreateIndex
CREATE UNIQUE INDEX "Model_name_version_key" ON "Model"("name", "version");

-- CreateIndex
CREATE UNIQUE INDEX "ApiKey_hash_key" ON "ApiKey"("hash");

