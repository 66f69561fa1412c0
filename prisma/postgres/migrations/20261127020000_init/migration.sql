-- CreateTable
CREATE TABLE "Material" (
    "id" TEXT NOT NULL,
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
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Material_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Pathway" (
    "id" TEXT NOT NULL,
    "materialId" TEXT NOT NULL,
    "ion" TEXT NOT NULL,
    "initial" TEXT NOT NULL,
    "final" TEXT NOT NULL,
    "images" TEXT NOT NULL DEFAULT '[]',
    "hopLength" DOUBLE PRECISION NOT NULL,
    "multiplicity" INTEGER,
    "emDft" DOUBLE PRECISION,
    "emDftSource" TEXT,
    "equivalents" TEXT NOT NULL DEFAULT '[]',
    "contentHash" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Pathway_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Prediction" (
    "id" TEXT NOT NULL,
    "pathwayId" TEXT NOT NULL,
    "model" TEXT NOT NULL,
    "emPredicted" DOUBLE PRECISION NOT NULL,
    "emStd" DOUBLE PRECISION NOT NULL,
    "pGood" DOUBLE PRECISION NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Prediction_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "MaterialRanking" (
    "id" TEXT NOT NULL,
    "materialId" TEXT NOT NULL,
    "ion" TEXT NOT NULL,
    "model" TEXT NOT NULL,
    "hops" INTEGER NOT NULL,
    "lowestEm" DOUBLE PRECISION NOT NULL,
    "percolationEm" DOUBLE PRECISION,
    "percolationDim" INTEGER NOT NULL,
    "rankEm" DOUBLE PRECISION NOT NULL,
    "emStd" DOUBLE PRECISION NOT NULL,
    "pGood" DOUBLE PRECISION NOT NULL,
    "hasDft" BOOLEAN NOT NULL,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "MaterialRanking_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Model" (
    "id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "version" TEXT NOT NULL,
    "card" TEXT NOT NULL,
    "active" BOOLEAN NOT NULL DEFAULT false,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Model_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ImportJob" (
    "id" TEXT NOT NULL,
    "kind" TEXT NOT NULL DEFAULT 'import',
    "source" TEXT,
    "status" TEXT NOT NULL DEFAULT 'QUEUED',
    "processed" INTEGER NOT NULL DEFAULT 0,
    "total" INTEGER,
    "imported" INTEGER NOT NULL DEFAULT 0,
    "duplicates" INTEGER NOT NULL DEFAULT 0,
    "failed" INTEGER NOT NULL DEFAULT 0,
    "errors" TEXT NOT NULL DEFAULT '[]',
    "finishedAt" TIMESTAMP(3),
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "ImportJob_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ImportItemError" (
    "id" TEXT NOT NULL,
    "jobId" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "index" INTEGER NOT NULL,
    "reason" TEXT NOT NULL,

    CONSTRAINT "ImportItemError_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ApiKey" (
    "id" TEXT NOT NULL,
    "hash" TEXT NOT NULL,
    "role" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "ApiKey_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "Material_contentHash_key" ON "Material"("contentHash");

-- CreateIndex
CREATE INDEX "Material_reducedFormula_idx" ON "Material"("reducedFormula");

-- CreateIndex
CREATE INDEX "Material_createdAt_idx" ON "Material"("createdAt");

-- CreateIndex
CREATE INDEX "Material_structureClass_idx" ON "Material"("structureClass");

-- CreateIndex
CREATE INDEX "Material_spaceGroup_idx" ON "Material"("spaceGroup");

-- CreateIndex
CREATE UNIQUE INDEX "Pathway_contentHash_key" ON "Pathway"("contentHash");

-- CreateIndex
CREATE INDEX "Pathway_materialId_idx" ON "Pathway"("materialId");

-- CreateIndex
CREATE INDEX "Pathway_ion_idx" ON "Pathway"("ion");

-- CreateIndex
CREATE INDEX "Prediction_pathwayId_model_idx" ON "Prediction"("pathwayId", "model");

-- CreateIndex
CREATE INDEX "Prediction_model_idx" ON "Prediction"("model");

-- CreateIndex
CREATE INDEX "MaterialRanking_ion_model_rankEm_materialId_idx" ON "MaterialRanking"("ion", "model", "rankEm", "materialId");

-- CreateIndex
CREATE INDEX "MaterialRanking_model_pGood_idx" ON "MaterialRanking"("model", "pGood");

-- CreateIndex
CREATE UNIQUE INDEX "MaterialRanking_materialId_ion_model_key" ON "MaterialRanking"("materialId", "ion", "model");

-- CreateIndex
CREATE UNIQUE INDEX "Model_name_version_key" ON "Model"("name", "version");

-- CreateIndex
CREATE INDEX "ImportItemError_jobId_index_idx" ON "ImportItemError"("jobId", "index");

-- CreateIndex
CREATE UNIQUE INDEX "ApiKey_hash_key" ON "ApiKey"("hash");

-- AddForeignKey
ALTER TABLE "Pathway" ADD CONSTRAINT "Pathway_materialId_fkey" FOREIGN KEY ("materialId") REFERENCES "Material"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Prediction" ADD CONSTRAINT "Prediction_pathwayId_fkey" FOREIGN KEY ("pathwayId") REFERENCES "Pathway"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "MaterialRanking" ADD CONSTRAINT "MaterialRanking_materialId_fkey" FOREIGN KEY ("materialId") REFERENCES "Material"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ImportItemError" ADD CONSTRAINT "ImportItemError_jobId_fkey" FOREIGN KEY ("jobId") REFERENCES "ImportJob"("id") ON DELETE CASCADE ON UPDATE CASCADE;

