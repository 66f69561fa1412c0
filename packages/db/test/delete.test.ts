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
  refreshRankings,
  upsertMaterial,
  upsertPathway,
  type IonRankDb,
} from "../src/index.js";
import { BACKENDS, licl } from "./helpers.js";

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
    expect(after).toMatchObject({ status: "DONE", total: ids.length, processed: ids.length, imported: ids.length - gone.length, failed: gone.length });
    expect(await db.prisma.importItemError.count({ where: { jobId: job.id } })).toBe(gone.length);
  });
});
