-- Notices say what kind they are, so a client can tell "already stored" apart from "stored without hops".
ALTER TABLE "ImportItemNotice" ADD COLUMN "kind" TEXT NOT NULL DEFAULT 'NOTE';

-- Notices written before this migration: their kind, from the messages those versions wrote.
UPDATE "ImportItemNotice" SET "kind" = CASE
    WHEN "message" LIKE 'pathway % could not be predicted: %' THEN 'UNPREDICTED'
    WHEN "message" LIKE '%the structure has no % sites; stored without % pathways' THEN 'NO_ION'
    WHEN "message" LIKE '%; stored without % pathways' THEN 'NO_HOPS'
    ELSE 'NOTE'
END;
