import { JobRunningError, NotFoundError, ValidationError } from "./errors.js";
import { jobLiveness } from "./job-owner.js";
import type { IonRankDb } from "./open.js";
import { inSlices, isBusy, lockMaterialWrites, retryWrite } from "./repository.js";

/** What deleteMaterials removed. */
export interface DeleteOutcome {
  materials: number;
  /** Their pathways, with the DFT labels stored on them. */
  pathways: number;
  /** Every model's predictions for those pathways. */
  predictions: number;
  /** Their rows in the rankings (per ion and model). */
  rankings: number;
}

/** Most materials one call deletes: a mistaken import is undone in a few calls, a whole database is not one typo away. */
export const MAX_DELETE = 1000;

/**
 * Deletes materials with everything stored for them — pathways (and their DFT labels), every model's predictions,
 * ranking rows — in one transaction: all of them, or (an unknown id, a running job) none.
 *
 * Refused while an import or predict job is running: such a job holds pathway ids it read earlier, and its next
 * write would refer to rows that no longer exist. Jobs whose process is gone (its pid on this host, else no heartbeat
 * for a minute) do not block. On PostgreSQL the delete takes the material-write lock, so an import commit never
 * plans against a material that is half deleted.
 */
export async function deleteMaterials(db: IonRankDb, ids: readonly string[]): Promise<DeleteOutcome> {
  if (!Array.isArray(ids) || ids.length === 0) throw new ValidationError("ids", "name at least one material");
  const unique = [...new Set(ids)];
  if (unique.some((id) => typeof id !== "string" || id.trim() === "")) throw new ValidationError("ids", "material ids are non-empty strings");
  if (unique.length > MAX_DELETE) throw new ValidationError("ids", `at most ${MAX_DELETE} materials per call (got ${unique.length})`);
  return retryWrite(
    () =>
      db.prisma.$transaction(async (tx) => {
        await lockMaterialWrites(tx, db.provider);
        const jobs = await tx.importJob.findMany({ where: { status: { in: ["QUEUED", "RUNNING"] } }, orderBy: { createdAt: "asc" } });
        const live = jobs.find((j) => jobLiveness(j).alive);
        if (live) throw new JobRunningError(live.id, live.kind, "deleting materials");
        const parts = inSlices(unique); // MAX_DELETE ids would pass SQLite's 999 parameters
        const found = new Set<string>();
        for (const part of parts) for (const m of await tx.material.findMany({ where: { id: { in: part } }, select: { id: true } })) found.add(m.id);
        const missing = unique.find((id) => !found.has(id));
        if (missing !== undefined) throw new NotFoundError("Material", missing);
        const outcome: DeleteOutcome = { materials: 0, pathways: 0, predictions: 0, rankings: 0 };
        for (const part of parts) {
          const inMaterials = { materialId: { in: part } };
          // Children first and explicitly: the outcome counts them, and nothing rests on SQLite's foreign_keys pragma.
          outcome.predictions += (await tx.prediction.deleteMany({ where: { pathway: inMaterials } })).count;
          outcome.pathways += (await tx.pathway.deleteMany({ where: inMaterials })).count;
          outcome.rankings += (await tx.materialRanking.deleteMany({ where: inMaterials })).count;
          outcome.materials += (await tx.material.deleteMany({ where: { id: { in: part } } })).count;
        }
        return outcome;
      }),
    isBusy,
    (_, attempt) => 20 * attempt,
  );
}
