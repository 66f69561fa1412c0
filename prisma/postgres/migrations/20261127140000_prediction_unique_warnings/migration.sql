-- One prediction per (pathway, model), and the model's applicability warnings stored with it.

-- Concurrent predict jobs could store the same pathway twice for one model: keep the newest of each pair.
DELETE FROM "Prediction"
WHERE EXISTS (
    SELECT 1 FROM "Prediction" AS "newer"
    WHERE "newer"."pathwayId" = "Prediction"."pathwayId"
      AND "newer"."model" = "Prediction"."model"
      AND ("newer"."createdAt" > "Prediction"."createdAt"
           OR ("newer"."createdAt" = "Prediction"."createdAt" AND "newer"."id" > "Prediction"."id"))
);

-- DropIndex
DROP INDEX "Prediction_pathwayId_model_idx";

-- AlterTable
ALTER TABLE "Prediction" ADD COLUMN "warnings" TEXT NOT NULL DEFAULT '[]';

-- CreateIndex
CREATE UNIQUE INDEX "Prediction_pathwayId_model_key" ON "Prediction"("pathwayId", "model");
