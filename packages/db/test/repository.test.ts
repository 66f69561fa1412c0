import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  NotFoundError,
  ValidationError,
  addPrediction,
  listMaterials,
  stats,
  upsertMaterial,
  upsertPathway,
  type IonRankDb,
} from "../src/index.js";
import { BACKENDS, licl } from "./helpers.js";

describe.each(BACKENDS)("on $name", ({ open }) => {
  let db: IonRankDb;
  beforeEach(async () => {
    db = await open();
  });
  afterEach(async () => {
    await db.close();
  });

  describe("upsertMaterial", () => {
    it("is idempotent by content hash", async () => {
      const a = await upsertMaterial(db, licl());
      expect(a.created).toBe(true);
      const b = await upsertMaterial(db, { ...licl(), name: "same structure, other name" });
      expect(b).toEqual({ id: a.id, created: false });
      expect(await db.prisma.material.count()).toBe(1);
      const row = await db.prisma.material.findUniqueOrThrow({ where: { id: a.id } });
      expect(row.name).toBe("LiCl-0");
      expect(row.elements).toBe("Cl,Li");
      expect(JSON.parse(row.structure)).toEqual(licl().structure);
    });

    it("hashes the structure canonically (key order does not matter)", async () => {
      const m = licl();
      const reordered = { ...m, structure: { sites: m.structure.sites, lattice: m.structure.lattice } };
      const a = await upsertMaterial(db, m);
      const b = await upsertMaterial(db, reordered);
      expect(b).toEqual({ id: a.id, created: false });
    });

    it("keeps one row when the same structure is upserted concurrently", async () => {
      const results = await Promise.all([1, 2, 3, 4].map(() => upsertMaterial(db, licl(0.25))));
      expect(new Set(results.map((r) => r.id)).size).toBe(1);
      expect(results.filter((r) => r.created)).toHaveLength(1);
      expect(await db.prisma.material.count()).toBe(1);
    });

    it("is one row for the same crystal within the structure key's tolerance (site order, labels, wrapped coordinates), also when upserted at once", async () => {
      const a = await upsertMaterial(db, licl(0.25));
      const [li, cl] = licl(0.25).structure.sites;
      const same = { ...licl(0.25), name: "from another program", structure: { lattice: licl().structure.lattice, sites: [{ ...cl!, label: "Cl1" }, { species: "Li", frac: [0.2500000001, 0.99999999, -1e-9] as [number, number, number] }] } };
      expect(li!.frac).toEqual([0.25, 0, 0]);
      expect(await upsertMaterial(db, same)).toEqual({ id: a.id, created: false });
      expect((await upsertMaterial(db, licl(0.26))).created).toBe(true);
      expect(await db.prisma.material.count()).toBe(2);
      // Writers of one crystal under four content hashes at once: one row.
      const noisy = [0, 1, 2, 3].map((k) => ({ ...licl(0.5), structure: { ...licl(0.5).structure, sites: [{ species: "Li", frac: [0.5 + k * 1e-9, 0, 0] as [number, number, number] }, cl!] } }));
      const results = await Promise.all(noisy.map((m) => upsertMaterial(db, m)));
      expect(new Set(results.map((r) => r.id)).size).toBe(1);
      expect(results.filter((r) => r.created)).toHaveLength(1);
      expect(await db.prisma.material.count()).toBe(3);
    });

    it("rejects bad input with a ValidationError naming the field, writing nothing", async () => {
      const bad = licl();
      bad.structure.sites[0]!.frac = [0, Number.NaN, 0];
      const error = await upsertMaterial(db, bad).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).field).toBe("structure.sites[0].frac[1]");
      await expect(upsertMaterial(db, { ...licl(), elements: ["li"] })).rejects.toBeInstanceOf(ValidationError);
      expect(await db.prisma.material.count()).toBe(0);
    });
  });

  describe("upsertPathway and addPrediction", () => {
    it("a prediction records the model version that produced it", async () => {
      const { id: materialId } = await upsertMaterial(db, licl());
      const hop = { materialId, ion: "Li", initial: [0, 0, 0], final: [0.5, 0, 0], hopLength: 2.57 } as const;
      const p = await upsertPathway(db, { ...hop, emDft: 0.31, emDftSource: "10.1000/example; PBE NEB" });
      expect(p.created).toBe(true);
      expect(await upsertPathway(db, hop)).toEqual({ id: p.id, created: false });

      const a = await addPrediction(db, { pathwayId: p.id, model: "alignn-em@1.2.0", emPredicted: 0.35, emStd: 0.04, pGood: 0.8 });
      const b = await addPrediction(db, {
        pathwayId: p.id,
        model: { name: "alignn-em", version: "1.3.0" },
        emPredicted: 0.33,
        emStd: 0.03,
        pGood: 0.85,
      });
      expect(a.model).toBe("alignn-em@1.2.0");
      expect(b.model).toBe("alignn-em@1.3.0");
      const stored = await db.prisma.prediction.findMany({ where: { pathwayId: p.id, model: "alignn-em@1.3.0" } });
      expect(stored).toHaveLength(1);
      expect(stored[0]).toMatchObject({ emPredicted: 0.33, emStd: 0.03, pGood: 0.85, warnings: "[]" });
      // A model predicts a pathway once: recording it again replaces the row, warnings included.
      const c = await addPrediction(db, { pathwayId: p.id, model: "alignn-em@1.3.0", emPredicted: 0.36, emStd: 0.02, pGood: 0.9, warnings: ["Te is absent from the training data"] });
      const again = await db.prisma.prediction.findMany({ where: { pathwayId: p.id, model: "alignn-em@1.3.0" } });
      expect(again).toEqual([c]);
      expect(again[0]).toMatchObject({ emPredicted: 0.36, warnings: '["Te is absent from the training data"]' });
      expect(await db.prisma.prediction.count({ where: { pathwayId: p.id } })).toBe(2);
      const pathway = await db.prisma.pathway.findUniqueOrThrow({ where: { id: p.id } });
      expect(pathway).toMatchObject({ emDft: 0.31, emDftSource: "10.1000/example; PBE NEB", hopLength: 2.57 });
    });

    it("requires provenance for DFT barriers and versions for predictions", async () => {
      const { id: materialId } = await upsertMaterial(db, licl());
      const hop = { materialId, ion: "Li", initial: [0, 0, 0], final: [0.5, 0, 0], hopLength: 2.57 } as const;
      await expect(upsertPathway(db, { ...hop, emDft: 0.3 })).rejects.toBeInstanceOf(ValidationError);
      const { id: pathwayId } = await upsertPathway(db, hop);
      const pred = { pathwayId, emPredicted: 0.3, emStd: 0.1, pGood: 0.5 };
      await expect(addPrediction(db, { ...pred, model: "alignn-em" })).rejects.toBeInstanceOf(ValidationError);
      await expect(addPrediction(db, { ...pred, model: "m@1", pGood: 1.5 })).rejects.toBeInstanceOf(ValidationError);
      await expect(addPrediction(db, { ...pred, model: "m@1", pathwayId: "nope" })).rejects.toBeInstanceOf(NotFoundError);
      await expect(upsertPathway(db, { ...hop, materialId: "nope" })).rejects.toBeInstanceOf(NotFoundError);
      expect(await db.prisma.prediction.count()).toBe(0);
    });

    it("enforces foreign keys in the database itself", async () => {
      await expect(
        db.prisma.prediction.create({ data: { pathwayId: "missing", model: "m@1", emPredicted: 0, emStd: 0, pGood: 0 } }),
      ).rejects.toThrow();
    });
  });

  describe("listMaterials", () => {
    it("pages through every material exactly once, in a stable order", async () => {
      const ids: string[] = [];
      for (let i = 0; i < 23; i++) ids.push((await upsertMaterial(db, licl(i / 100))).id);

      const seen: string[] = [];
      let after: string | null = null;
      let pages = 0;
      for (;;) {
        const page = await listMaterials(db, { first: 5, after });
        seen.push(...page.items.map((m) => m.id));
        pages++;
        if (!page.pageInfo.hasNextPage) break;
        after = page.pageInfo.endCursor;
      }
      expect(pages).toBe(5);
      expect(seen).toEqual([...ids].sort());

      // Same cursor, same page — even after rows are added and the cursor's own row is deleted.
      const p1 = await listMaterials(db, { first: 5 });
      const p2 = await listMaterials(db, { first: 5, after: p1.pageInfo.endCursor });
      await db.prisma.material.delete({ where: { id: p1.items.at(-1)!.id } });
      const again = await listMaterials(db, { first: 5, after: p1.pageInfo.endCursor });
      expect(again.items.map((m) => m.id)).toEqual(p2.items.map((m) => m.id));
    });

    it("filters by ion with exact element matching", async () => {
      await upsertMaterial(db, licl());
      await upsertMaterial(db, {
        ...licl(),
        name: "NaCl",
        formula: "Na1 Cl1",
        reducedFormula: "NaCl",
        elements: ["Na", "Cl"],
        structure: { ...licl().structure, sites: [{ species: "Na", frac: [0, 0, 0] }, { species: "Cl", frac: [0.5, 0.5, 0.5] }] },
      });
      const li = await listMaterials(db, { ion: "Li" });
      expect(li.items.map((m) => m.reducedFormula)).toEqual(["LiCl"]);
      expect((await listMaterials(db, { ion: "C" })).items).toEqual([]);
      expect((await listMaterials(db, { ion: "Cl" })).items).toHaveLength(2);
    });

    it("rejects bad cursors and page sizes", async () => {
      await expect(listMaterials(db, { after: "garbage" })).rejects.toBeInstanceOf(ValidationError);
      await expect(listMaterials(db, { first: -1 })).rejects.toBeInstanceOf(ValidationError);
      expect((await listMaterials(db, { first: 0 })).items).toEqual([]);
    });
  });
  describe("stats", () => {
    it("counts every material in the Em histogram, those on a bin edge too, and bounds the number of bins", async () => {
      const ems = [1.7, 1.75, 2.3, 0.3];
      for (const [i, rankEm] of ems.entries()) {
        const m = await upsertMaterial(db, licl(i / 100));
        await db.prisma.materialRanking.create({ data: { materialId: m.id, ion: "Li", model: "stub@1", hops: 1, lowestEm: rankEm, percolationEm: null, percolationDim: 0, rankEm, emStd: 0.1, pGood: 0.5, hasDft: false } });
      }
      const h = (await stats(db, { model: "stub@1", ion: "Li" })).emHistogram;
      // 1.7 / 0.1 is 16.999999999999996 in floating point: it belongs to the bin starting at 1.7, not below 0.3's.
      expect(h).toEqual({ binStart: 0.3, binWidth: 0.1, counts: [1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 1] });
      expect((await stats(db, { model: "stub@1", ion: "Li", binWidth: 0.5 })).emHistogram).toEqual({ binStart: 0, binWidth: 0.5, counts: [1, 0, 0, 2, 1] });
      await expect(stats(db, { model: "stub@1", binWidth: 1e-9 })).rejects.toThrow(/bins over these barriers; at most 10000/);
    });
  });
});
