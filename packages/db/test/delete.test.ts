import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  JobRunningError,
  MAX_DELETE,
  NotFoundError,
  ValidationError,
  addPrediction,
  currentOwner,
  predictPathways,
  deleteMaterials,
  labelPathway,
  refreshRankings,
  upsertMaterial,
  upsertPathway,
  openDatabase,
  type IonRankDb,
} from "../src/index.js";
import { BACKENDS, licl, tempDir } from "./helpers.js";

describe.each(BACKENDS)("deleteMaterials on $name", ({ open }) => {
  let db: IonRankDb;
  beforeEach(async () => {
    db = await open();
  });
  afterEach(async () => {
    await db.close();
  });

  /** A material with two Li hops (one DFT-labelled), predicted by two models, ranked by both. */
  async function stored(shift: number): Promise<string> {
    const { id: materialId } = await upsertMaterial(db, licl(shift));
    const ends: [number, number, number][] = [[0.5 + shift, 0, 0], [shift, 0.5, 0]];
    for (const [k, final] of ends.entries()) {
      const { id } = await upsertPathway(db, {
        materialId,
        ion: "Li",
        initial: [shift, 0, 0],
        final,
        hopLength: 2.57,
        ...(k === 0 ? { emDft: 0.3, emDftSource: "10.1000/example; PBE NEB" } : {}),
      });
      for (const model of ["em@1.0.0", "em@2.0.0"]) await addPrediction(db, { pathwayId: id, model, emPredicted: 0.3 + k / 10, emStd: 0.05, pGood: 0.9 });
    }
    for (const model of ["em@1.0.0", "em@2.0.0"]) await refreshRankings(db, [materialId], model);
    return materialId;
  }
  const counts = async () => ({
    materials: await db.prisma.material.count(),
    pathways: await db.prisma.pathway.count(),
    predictions: await db.prisma.prediction.count(),
    rankings: await db.prisma.materialRanking.count(),
  });

  it("removes the materials with their pathways, labels, predictions and rankings, and nothing of the others", async () => {
    const a = await stored(0);
    const b = await stored(0.1);
    const c = await stored(0.2);
    const before = await counts();
    expect(before).toEqual({ materials: 3, pathways: 6, predictions: 12, rankings: before.rankings });
    expect(before.rankings).toBeGreaterThanOrEqual(6);
    // A repeated id counts once.
    expect(await deleteMaterials(db, [a, c, a])).toEqual({ materials: 2, pathways: 4, predictions: 8, rankings: (before.rankings / 3) * 2 });
    expect(await counts()).toEqual({ materials: 1, pathways: 2, predictions: 4, rankings: before.rankings / 3 });
    expect((await db.prisma.material.findMany({ select: { id: true } })).map((m) => m.id)).toEqual([b]);
    expect(await db.prisma.pathway.count({ where: { materialId: b } })).toBe(2);
    // Deleted means gone: the same structure imported again is a new material, not a stale id.
    const again = await upsertMaterial(db, licl(0));
    expect(again.created).toBe(true);
    expect(again.id).not.toBe(a);
  });

  it("deletes nothing when one id is unknown, and names it", async () => {
    const a = await stored(0);
    const before = await counts();
    const e = await deleteMaterials(db, [a, "no-such-material"]).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(NotFoundError);
    expect((e as Error).message).toBe("Material no-such-material not found");
    expect(await counts()).toEqual(before);
  });

  it("refuses bad id lists before touching anything", async () => {
    await stored(0);
    const before = await counts();
    for (const ids of [[], [""], Array.from({ length: MAX_DELETE + 1 }, (_, i) => `m${i}`)]) {
      await expect(deleteMaterials(db, ids)).rejects.toBeInstanceOf(ValidationError);
    }
    expect(await counts()).toEqual(before);
  });

  it("deletes MAX_DELETE materials in one call (SQLite takes at most 999 parameters per query), with their pathways and predictions", async () => {
    const keep = await stored(0);
    const ids = Array.from({ length: MAX_DELETE }, (_, i) => `bulk-${i}`);
    await db.prisma.material.createMany({ data: ids.map((id) => ({ id, name: id, formula: "Li1 Cl1", reducedFormula: "LiCl", elements: "Cl,Li", contentHash: `hash-${id}`, structureKey: `key-${id}`, structure: JSON.stringify(licl(0).structure) })) });
    await db.prisma.pathway.createMany({ data: ids.map((id) => ({ id: `p-${id}`, materialId: id, ion: "Li", initial: "[0,0,0]", final: "[0.5,0,0]", hopLength: 2.57, contentHash: `p-hash-${id}` })) });
    await db.prisma.prediction.createMany({ data: ids.map((id) => ({ pathwayId: `p-${id}`, model: "em@1.0.0", emPredicted: 0.3, emStd: 0.05, pGood: 0.9 })) });
    expect(await deleteMaterials(db, ids)).toEqual({ materials: MAX_DELETE, pathways: MAX_DELETE, predictions: MAX_DELETE, rankings: 0 });
    expect(await counts()).toMatchObject({ materials: 1, pathways: 2, predictions: 4 });
    expect((await db.prisma.material.findMany({ select: { id: true } })).map((m) => m.id)).toEqual([keep]);
  });

  it("waits for a running import or predict job (it holds pathway ids), but not for one whose process is gone", async () => {
    const a = await stored(0);
    const before = await counts();
    // This process running an import: alive by its pid.
    const running = await db.prisma.importJob.create({ data: { kind: "import", status: "RUNNING", owner: currentOwner(), source: "x" } });
    const e = await deleteMaterials(db, [a]).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(JobRunningError);
    expect((e as Error).message).toBe(`import job ${running.id} is running: deleting materials waits until it ends (watch it with importJob, or ionrank import --resume after a crash)`);
    expect(await counts()).toEqual(before);
    // A predict job started by an API (no owner) is alive while its heartbeat (updatedAt) is fresh.
    await db.prisma.importJob.update({ where: { id: running.id }, data: { status: "DONE" } });
    const predict = await db.prisma.importJob.create({ data: { kind: "predict", status: "QUEUED", source: "all" } });
    await expect(deleteMaterials(db, [a])).rejects.toBeInstanceOf(JobRunningError);
    // Its process died two minutes ago: no longer in the way.
    await db.prisma.importJob.update({ where: { id: predict.id }, data: { updatedAt: new Date(Date.now() - 120_000) } });
    expect((await deleteMaterials(db, [a])).materials).toBe(1);
    expect(await counts()).toEqual({ materials: 0, pathways: 0, predictions: 0, rankings: 0 });
  });

  it("a predict job whose pathways are deleted under it names them as failed and stores nothing for them", async () => {
    const a = await stored(0);
    const b = await stored(0.1);
    const c = await stored(0.2);
    const ids = (await db.prisma.pathway.findMany({ orderBy: { id: "asc" }, select: { id: true, materialId: true } }));
    const job = await db.prisma.importJob.create({ data: { kind: "predict", status: "QUEUED", source: "all" } });
    let calls = 0;
    // While the first chunk is predicted, another client deletes one material whose pathways were already read
    // (its predictions have nowhere to go) and one whose pathways come later (the job finds them gone).
    const first = ids.slice(0, 2).map((p) => p.materialId);
    const victimRead = first[0]!;
    const victimLater = [a, b, c].find((m) => !first.includes(m))!;
    const predict = async (xs: unknown[]) => {
      if (calls++ === 0) await db.prisma.material.deleteMany({ where: { id: { in: [victimRead, victimLater] } } });
      return xs.map(() => ({ emPredicted: 0.5, emStd: 0.05, pGood: 0.6, model: "stub@1" }));
    };
    // Bypasses deleteMaterials' own check on running jobs: the race it cannot close on PostgreSQL.
    const out = await predictPathways(db, predict as never, "stub@1", { chunk: 2, jobId: job.id, skipPredicted: false });
    const gone = ids.filter((p) => p.materialId === victimRead || p.materialId === victimLater).map((p) => p.id).sort();
    expect(out.failed.map((f) => f.pathwayId).sort()).toEqual(gone);
    expect(new Set(out.failed.map((f) => f.reason))).toEqual(new Set(["the pathway was deleted while the job ran"]));
    expect(out.predicted).toBe(ids.length - gone.length);
    expect(await db.prisma.prediction.count({ where: { model: "stub@1" } })).toBe(ids.length - gone.length);
    const after = await db.prisma.importJob.findUniqueOrThrow({ where: { id: job.id } });
    // The job names the process that ran it (as imports do), so a job whose API process died is seen as stopped.
    expect(after).toMatchObject({ status: "DONE", total: ids.length, processed: ids.length, imported: ids.length - gone.length, failed: gone.length, owner: currentOwner() });
    expect(await db.prisma.importItemError.count({ where: { jobId: job.id } })).toBe(gone.length);
  });
});

describe.each(BACKENDS)("predicting listed pathways that were deleted first, on $name", ({ open }) => {
  it("names every listed id that is gone as failed (the job is FAILED with its reasons, not a silent DONE of nothing)", async () => {
    const db = await open();
    try {
      const { id: materialId } = await upsertMaterial(db, licl(0));
      const { id: kept } = await upsertPathway(db, { materialId, ion: "Li", initial: [0, 0, 0], final: [0.5, 0, 0], hopLength: 2.57 });
      const { id: other } = await upsertMaterial(db, licl(0.1));
      const { id: gone } = await upsertPathway(db, { materialId: other, ion: "Li", initial: [0.1, 0, 0], final: [0.6, 0, 0], hopLength: 2.57 });
      // The API checked that the ids exist, then an admin deleted one material before the job read them.
      await deleteMaterials(db, [other]);
      const predict = async (xs: unknown[]) => xs.map(() => ({ emPredicted: 0.5, emStd: 0.05, pGood: 0.6, model: "stub@1" }));
      const reason = "no such pathway (deleted before the job started, or never stored)";
      const only = await db.prisma.importJob.create({ data: { kind: "predict", status: "QUEUED", source: "1 pathways" } });
      expect(await predictPathways(db, predict as never, "stub@1", { pathwayIds: [gone], jobId: only.id })).toEqual({ predicted: 0, failed: [{ pathwayId: gone, reason }], materials: 0 });
      expect(await db.prisma.importJob.findUniqueOrThrow({ where: { id: only.id } })).toMatchObject({ status: "FAILED", total: 1, processed: 1, imported: 0, failed: 1 });
      expect((await db.prisma.importItemError.findMany({ where: { jobId: only.id } })).map((e) => e.reason)).toEqual([reason]);
      const both = await db.prisma.importJob.create({ data: { kind: "predict", status: "QUEUED", source: "2 pathways" } });
      expect(await predictPathways(db, predict as never, "stub@1", { pathwayIds: [kept, gone, gone], jobId: both.id })).toEqual({ predicted: 1, failed: [{ pathwayId: gone, reason }], materials: 1 });
      expect(await db.prisma.importJob.findUniqueOrThrow({ where: { id: both.id } })).toMatchObject({ status: "DONE", total: 2, processed: 2, imported: 1, failed: 1 });
    } finally {
      await db.close();
    }
  });
});

describe.each(BACKENDS)("writes racing a delete by another client, on $name", ({ open }) => {
  let db: IonRankDb;
  /** Another client of the same database (on SQLite another connection: one client runs one transaction at a time). */
  let other: IonRankDb;
  beforeEach(async () => {
    db = await open();
    other = db.provider === "sqlite" ? await openDatabase({ url: `file:${db.file}` }) : db;
  });
  afterEach(async () => {
    if (other !== db) await other.close();
    await db.close();
  });

  /** `db` with `model.findUnique` hooked: right after its first call returns, the other client deletes `materialId`. */
  function deletedAfter(model: "material" | "pathway", materialId: string): IonRankDb {
    let done = false;
    const after = async <T>(result: T): Promise<T> => {
      if (!done) {
        done = true;
        await deleteMaterials(other, [materialId]);
      }
      return result;
    };
    const prisma =
      model === "material"
        ? db.prisma.$extends({ query: { material: { findUnique: async ({ args, query }) => after(await query(args)) } } })
        : db.prisma.$extends({ query: { pathway: { findUnique: async ({ args, query }) => after(await query(args)) } } });
    return { ...db, prisma: prisma as unknown as IonRankDb["prisma"] };
  }

  it("upsertPathway on a material deleted after its check is NotFoundError (not a raw foreign-key error), nothing stored", async () => {
    const { id: materialId } = await upsertMaterial(db, licl(0));
    const e = await upsertPathway(deletedAfter("material", materialId), { materialId, ion: "Li", initial: [0, 0, 0], final: [0.5, 0, 0], hopLength: 2.57 }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(NotFoundError);
    expect((e as Error).message).toBe(`Material ${materialId} not found`);
    expect(await db.prisma.pathway.count()).toBe(0);
  });

  it("addPrediction for a pathway deleted after its check is NotFoundError, nothing stored", async () => {
    const { id: materialId } = await upsertMaterial(db, licl(0));
    const { id: pathwayId } = await upsertPathway(db, { materialId, ion: "Li", initial: [0, 0, 0], final: [0.5, 0, 0], hopLength: 2.57 });
    const e = await addPrediction(deletedAfter("pathway", materialId), { pathwayId, model: "em@1.0.0", emPredicted: 0.3, emStd: 0.05, pGood: 0.9 }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(NotFoundError);
    expect((e as Error).message).toBe(`Pathway ${pathwayId} not found`);
    expect(await db.prisma.prediction.count()).toBe(0);
  });

  it("labelPathway on a pathway deleted after its transaction read it is NotFoundError, nothing stored", async () => {
    const { id: materialId } = await upsertMaterial(db, licl(0));
    const { id: pathwayId } = await upsertPathway(db, { materialId, ion: "Li", initial: [0, 0, 0], final: [0.5, 0, 0], hopLength: 2.57 });
    const label = { emDft: 0.3, citation: "10.1000/x", functional: "PBE" };
    const e = await labelPathway(deletedAfter("pathway", materialId), pathwayId, label).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(NotFoundError);
    expect((e as Error).message).toBe(`Pathway ${pathwayId} not found`);
    expect(await db.prisma.pathway.count()).toBe(0);
    // Unraced, it stores the label with its source and marks the material's rankings of that ion as labelled.
    const { id: m2 } = await upsertMaterial(db, licl(0.1));
    const { id: p2 } = await upsertPathway(db, { materialId: m2, ion: "Li", initial: [0.1, 0, 0], final: [0.6, 0, 0], hopLength: 2.57 });
    await addPrediction(db, { pathwayId: p2, model: "em@1.0.0", emPredicted: 0.3, emStd: 0.05, pGood: 0.9 });
    await refreshRankings(db, [m2], "em@1.0.0");
    expect(await labelPathway(db, p2, { emDft: 0.25, citation: " 10.1000/y ", functional: "r2SCAN" })).toMatchObject({ id: p2, emDft: 0.25, emDftSource: "10.1000/y; r2SCAN" });
    expect(await db.prisma.materialRanking.findMany({ where: { materialId: m2 }, select: { hasDft: true } })).toEqual([{ hasDft: true }]);
    await expect(labelPathway(db, p2, { emDft: -1, citation: "x", functional: "PBE" })).rejects.toBeInstanceOf(ValidationError);
    await expect(labelPathway(db, p2, { emDft: 0.3, citation: " ", functional: "PBE" })).rejects.toBeInstanceOf(ValidationError);
  });
});

describe.each(BACKENDS)("predicting a long list of pathways, on $name", ({ open }) => {
  it("predicts 1,200 listed pathways (SQLite takes at most 999 parameters per query), skipping the predicted ones", async () => {
    const db = await open();
    try {
      const ids = Array.from({ length: 1200 }, (_, i) => `p-${String(i).padStart(4, "0")}`);
      await db.prisma.material.create({ data: { id: "m", name: "LiCl", formula: "Li1 Cl1", reducedFormula: "LiCl", elements: "Cl,Li", contentHash: "h", structureKey: "k", structure: JSON.stringify(licl(0).structure) } });
      await db.prisma.pathway.createMany({ data: ids.map((id, i) => ({ id, materialId: "m", ion: "Li", initial: "[0,0,0]", final: "[0.5,0,0]", images: JSON.stringify([[0, 0, 0], [0.25, 0, 0], [0.5, 0, 0]]), hopLength: 2.57, contentHash: `h-${i}` })) });
      await addPrediction(db, { pathwayId: ids[7]!, model: "stub@1", emPredicted: 0.4, emStd: 0.05, pGood: 0.6 });
      const predict = async (xs: unknown[]) => xs.map(() => ({ emPredicted: 0.5, emStd: 0.05, pGood: 0.6, model: "stub@1" }));
      const out = await predictPathways(db, predict as never, "stub@1", { pathwayIds: ids });
      expect(out).toEqual({ predicted: 1199, failed: [], materials: 1 });
      expect(await db.prisma.prediction.count({ where: { model: "stub@1" } })).toBe(1200);
    } finally {
      await db.close();
    }
  });
});

describe("deleteMaterials beside another process on one SQLite file", () => {
  it("runs again when another connection committed after its transaction read (SQLITE_BUSY_SNAPSHOT), and answers", async () => {
    const dir = tempDir();
    const writer = await openDatabase({ dataDir: dir });
    const deleter = await openDatabase({ dataDir: dir });
    try {
      const { id } = await upsertMaterial(writer, licl(0));
      const { id: other } = await upsertMaterial(writer, licl(0.1));
      // The other connection (another API process or `ionrank delete`) commits between this transaction's reads
      // and its first write, once: WAL refuses to upgrade the stale snapshot, and the whole transaction must run again.
      let committed = false;
      const racing = {
        ...deleter,
        prisma: deleter.prisma.$extends({
          query: {
            material: {
              async findMany({ args, query }) {
                const rows = await query(args);
                if (!committed) {
                  committed = true;
                  await writer.prisma.material.update({ where: { id: other }, data: { name: "renamed meanwhile" } });
                }
                return rows;
              },
            },
          },
        }) as unknown as IonRankDb["prisma"],
      };
      expect(await deleteMaterials(racing, [id])).toEqual({ materials: 1, pathways: 0, predictions: 0, rankings: 0 });
      expect(committed).toBe(true);
      expect((await writer.prisma.material.findMany({ select: { id: true, name: true } }))).toEqual([{ id: other, name: "renamed meanwhile" }]);
    } finally {
      await deleter.close();
      await writer.close();
    }
  });

  it("a predict job whose store transaction another process wrote past (SQLITE_BUSY_SNAPSHOT) stores its chunk and ends DONE", async () => {
    const dir = tempDir();
    const writer = await openDatabase({ dataDir: dir });
    const api = await openDatabase({ dataDir: dir });
    try {
      const { id: materialId } = await upsertMaterial(api, licl(0));
      const ids: string[] = [];
      for (const final of [[0.5, 0, 0], [0, 0.5, 0]] as [number, number, number][]) ids.push((await upsertPathway(api, { materialId, ion: "Li", initial: [0, 0, 0], final, hopLength: 2.57 })).id);
      const job = await api.prisma.importJob.create({ data: { kind: "predict", status: "QUEUED", source: "all" } });
      let committed = false;
      const racing = {
        ...api,
        prisma: api.prisma.$extends({
          query: {
            pathway: {
              async findMany({ args, query }) {
                const rows = await query(args);
                // The store transaction's check of which pathways still exist (a bare id select, unordered): another
                // process (an import there) commits right after it, before the transaction's first write.
                if (!committed && args.select && !args.orderBy) {
                  committed = true;
                  await upsertMaterial(writer, licl(0.2));
                }
                return rows;
              },
            },
          },
        }) as unknown as IonRankDb["prisma"],
      };
      const predict = async (xs: unknown[]) => xs.map(() => ({ emPredicted: 0.5, emStd: 0.05, pGood: 0.6, model: "stub@1" }));
      const out = await predictPathways(racing, predict as never, "stub@1", { jobId: job.id });
      expect(committed).toBe(true);
      expect(out).toEqual({ predicted: 2, failed: [], materials: 1 });
      expect(await api.prisma.prediction.count({ where: { model: "stub@1", pathwayId: { in: ids } } })).toBe(2);
      expect(await api.prisma.importJob.findUniqueOrThrow({ where: { id: job.id } })).toMatchObject({ status: "DONE", processed: 2, imported: 2, failed: 0 });
    } finally {
      await api.close();
      await writer.close();
    }
  });
});
