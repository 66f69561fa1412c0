-- CreateTable
CREATE TABLE "ImportItemNotice" (
    "id" TEXT NOT NULL,
    "jobId" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "index" INTEGER NOT NULL,
    "message" TEXT NOT NULL,

    CONSTRAINT "ImportItemNotice_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "ImportItemNotice_jobId_index_idx" ON "ImportItemNotice"("jobId", "index");

-- AddForeignKey
ALTER TABLE "ImportItemNotice" ADD CONSTRAINT "ImportItemNotice_jobId_fkey" FOREIGN KEY ("jobId") REFERENCES "ImportJob"("id") ON DELETE CASCADE ON UPDATE CASCADE;

