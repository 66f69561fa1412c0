// Predictions into the database: pathways are rebuilt as path structures, handed to a predictor (the
// inference service, passed in by the caller so this package stays free of ONNX Runtime), stored with the
// model's name@version, and the materials' ranking rows are recomputed.
import type { Structure } from "@ionrank/crystal";
import { ValidationError } from "./errors.js";
import type { IonRankDb } from "./open.js";
import { yieldToEventLoop } from "./event-loop.js";
import { currentOwner, startHeartbeat } from "./job-owner.js";
import { pathStructureOf, refreshRankings } from "./rankings.js";
import { inSlices, isBusy, isForeignKeyViolation, isUniqueViolation, retryWrite } from "./repository.js";

/** Why a listed pathway got no prediction when it was deleted (deleteMaterials) while the job ran. */
const DELETED = "the pathway was deleted while the job ran";
/** Why a listed pathway got no prediction when it was not there when the job started. */
const MISSING = "no such pathway (deleted before the job started, or never stored)";

/** What the inference service returns per pathway (EmPredictor.predictMany). */
export interface PredictedEm {
  emPredicted: number;
  emStd: number;
  pGood: number;
  model: string;
  /** Applicability warnings (stored with the prediction). */
  warnings?: readonly string[];
}

/** Anything that predicts Em for path structures, e.g. `(xs) => predictor.predictMany(xs)`. */
export type PredictFn = (inputs: { structure: Structure; isImage: Uint8Array }[]) => Promise<(PredictedEm | Error)[]>;

export interface PredictOptions {
  /** Pathways to predict; omit for every pathway in the database. */
  pathwayIds?: readonly string[] | null;
  /** Skip pathways this model already predicted (default true); false predicts them again, replacing the stored row. */
  skipPredicted?: boolean;
  /** Record progress on this job (kind "predict"). */
  jobId?: string;
  /** Pathways per call of `predict` (default 256). */
  chunk?: number;
  onProgress?: (done: number, total: number) => void;
}

export interface PredictOutcome {
  predicted: number;
  failed: { pathwayId: string; reason: string }[];
  materials: number;
}

/** Predict pathways with `model` ("name@version", what `predict` reports) and refresh the rankings. */
export async function predictPathways(db: IonRankDb, predict: PredictFn, model: string, o: PredictOptions = {}): Promise<PredictOutcome> {
  if (!o.jobId) return predictAll(db, predict, model, o);
  // A job records the process running it and touches itself while it runs, as imports do: a job whose process
  // died (an API stopped mid-job) is then seen as stopped at once on this host, not after a minute or never.
  const owner = currentOwner();
  await db.prisma.importJob.update({ where: { id: o.jobId }, data: { owner } });
  const heartbeat = startHeartbeat(db, o.jobId, owner);
  try {
    return await predictAll(db, predict, model, o);
  } finally {
    await heartbeat.stop();
  }
}

async function predictAll(db: IonRankDb, predict: PredictFn, model: string, o: PredictOptions): Promise<PredictOutcome> {
  if (!/^[^@\s]+@[^@\s]+$/.test(model)) throw new ValidationError("model", `must be "name@version", got "${model}"`);
  const skip = o.skipPredicted ?? true;
  const failed: PredictOutcome["failed"] = [];
  let ids: string[];
  if (o.pathwayIds) {
    // In slices: Prisma allows SQLite at most 999 parameters in a query like this one (an import batch of 250
    // structures with a few hops each, or a long pathwayIds list, is more), and does not split it itself. One read
    // tells both whether each id exists and whether this model predicted it.
    const asked = [...new Set(o.pathwayIds)];
    const found = new Map<string, boolean>(); // id → already predicted by this model
    for (const slice of inSlices(asked)) {
      const rows = await db.prisma.pathway.findMany({
        where: { id: { in: slice } },
        select: { id: true, predictions: { where: { model }, select: { id: true }, take: 1 } },
      });
      for (const r of rows) found.set(r.id, r.predictions.length > 0);
    }
    ids = asked.filter((id) => found.has(id) && !(skip && found.get(id))).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    // A listed id that is not there (deleted between the caller's check and this read, or never stored) is named as
    // failed: left out of `ids`, it would end as a DONE job that predicted nothing and said nothing of it.
    for (const id of asked) if (!found.has(id)) failed.push({ pathwayId: id, reason: MISSING });
  } else {
    const where = skip ? { predictions: { none: { model } } } : {};
    ids = (await db.prisma.pathway.findMany({ where, select: { id: true }, orderBy: { id: "asc" } })).map((p) => p.id);
  }
  if (o.jobId) await db.prisma.importJob.update({ where: { id: o.jobId }, data: { status: "RUNNING", total: ids.length + failed.length, processed: failed.length, failed: failed.length } });
  const chunk = o.chunk ?? 256;
  const materials = new Set<string>();
  let predicted = 0;
  for (let i = 0; i < ids.length; i += chunk) {
    const slice = ids.slice(i, i + chunk);
    const rows = await db.prisma.pathway.findMany({ where: { id: { in: slice } }, include: { material: { select: { structure: true } } } });
    // Pathways deleted (deleteMaterials) since the job listed them: counted and named, not silently skipped.
    const read = new Set(rows.map((r) => r.id));
    for (const id of slice) if (!read.has(id)) failed.push({ pathwayId: id, reason: DELETED });
    const inputs: { structure: Structure; isImage: Uint8Array }[] = [];
    const ok: typeof rows = [];
    for (const r of rows) {
      await yieldToEventLoop();
      try {
        inputs.push(pathStructureOf(r.material, r));
        ok.push(r);
      } catch (e) {
        failed.push({ pathwayId: r.id, reason: (e as Error).message });
      }
    }
    const results = inputs.length ? await predict(inputs) : [];
    const data: { pathwayId: string; model: string; emPredicted: number; emStd: number; pGood: number; warnings: string }[] = [];
    results.forEach((res, k) => {
      const r = ok[k]!;
      if (res instanceof Error) failed.push({ pathwayId: r.id, reason: res.message });
      else if (res.model !== model) failed.push({ pathwayId: r.id, reason: `predicted by ${res.model}, not ${model}` });
      else {
        data.push({ pathwayId: r.id, model, emPredicted: res.emPredicted, emStd: res.emStd, pGood: res.pGood, warnings: JSON.stringify(res.warnings ?? []) });
        materials.add(r.materialId);
      }
    });
    // One row per (pathway, model): replace what this model stored before. Jobs racing on the same pathways
    // on PostgreSQL can both find nothing to delete and both insert; the unique key refuses the second
    // transaction whole, and its retry deletes the winner's rows and writes its own (same model, same numbers).
    // A unique clash (a concurrent job on the same pathways), a foreign-key refusal (a pathway deleted after the check
    // inside, on PostgreSQL) or SQLite refusing a snapshot another process wrote past (a delete or an import there)
    // rolls the transaction back whole: run it again.
    const stored = await retryWrite(
      () =>
        db.prisma.$transaction(async (tx) => {
          // Only pathways that still exist: one deleted while it was predicted has no row to hang a prediction on.
          const present = new Set(data.length ? (await tx.pathway.findMany({ where: { id: { in: data.map((d) => d.pathwayId) } }, select: { id: true } })).map((p) => p.id) : []);
          const keep = data.filter((d) => present.has(d.pathwayId));
          if (keep.length) {
            await tx.prediction.deleteMany({ where: { model, pathwayId: { in: keep.map((d) => d.pathwayId) } } });
            await tx.prediction.createMany({ data: keep });
          }
          if (o.jobId) {
            await tx.importJob.update({ where: { id: o.jobId }, data: { processed: { increment: slice.length }, imported: { increment: keep.length }, failed: { increment: slice.length - keep.length } } });
          }
          return keep;
        }),
      (error) => isUniqueViolation(error) || isForeignKeyViolation(error) || isBusy(error),
      (error, attempt) => (isBusy(error) ? 20 * attempt : 0),
    );
    if (stored.length < data.length) {
      const kept = new Set(stored.map((d) => d.pathwayId));
      for (const d of data) if (!kept.has(d.pathwayId)) failed.push({ pathwayId: d.pathwayId, reason: DELETED });
    }
    predicted += stored.length;
    o.onProgress?.(Math.min(ids.length, i + chunk), ids.length);
  }
  await refreshRankings(db, [...materials], model);
  if (o.jobId) {
    if (failed.length) {
      await db.prisma.importItemError.createMany({ data: failed.slice(0, 10_000).map((f, index) => ({ jobId: o.jobId!, name: `pathway ${f.pathwayId}`, index, reason: f.reason })) });
    }
    await db.prisma.importJob.update({ where: { id: o.jobId }, data: { status: predicted === 0 && failed.length > 0 ? "FAILED" : "DONE", finishedAt: new Date() } });
  }
  return { predicted, failed, materials: materials.size };
}

/** Register a model version (its card as JSON) and optionally make it the active one. */
export async function registerModel(db: IonRankDb, card: { name: string; version: string }, options: { active?: boolean } = {}): Promise<void> {
  await db.prisma.$transaction(async (tx) => {
    if (options.active) await tx.model.updateMany({ where: { active: true }, data: { active: false } });
    await tx.model.upsert({
      where: { name_version: { name: card.name, version: card.version } },
      create: { name: card.name, version: card.version, card: JSON.stringify(card), active: options.active ?? false },
      update: { card: JSON.stringify(card), ...(options.active ? { active: true } : {}) },
    });
  });
}

/** Make "name@version" the active model (the one rankings and filters use by default). */
export async function setActiveModel(db: IonRankDb, model: string): Promise<void> {
  const at = model.lastIndexOf("@");
  const name = model.slice(0, at);
  const version = model.slice(at + 1);
  const found = await db.prisma.model.findUnique({ where: { name_version: { name, version } } });
  if (!found) throw new ValidationError("model", `no registered model ${model}`);
  await db.prisma.$transaction([db.prisma.model.updateMany({ where: { active: true }, data: { active: false } }), db.prisma.model.update({ where: { id: found.id }, data: { active: true } })]);
}
