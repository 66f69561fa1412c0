-- The process running an import job ("host:pid:start"), so resuming a job that is still running is refused and only
-- one resumer claims it. No backfill: NULL is an unknown owner, judged by the job's heartbeat (updatedAt) alone.
ALTER TABLE "ImportJob" ADD COLUMN "owner" TEXT;
