-- CreateTable
CREATE TABLE "ImportItemNotice" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "jobId" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "index" INTEGER NOT NULL,
    "message" TEXT NOT NULL,
    CONSTRAINT "ImportItemNotice_jobId_fkey" FOREIGN KEY ("jobId") REFERENCES "ImportJob" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateIndex
CREATE INDEX "ImportItemNotice_jobId_index_idx" ON "ImportItemNotice"("jobId", "index");

