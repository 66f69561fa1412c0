import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync, gzipSync } from "node:zlib";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Lattice, Pathway, readCif, readJsonStructures, Structure, type Vec3 } from "@ionrank/crystal";
import {
  assertFeaturizerVersion,
  bulkFeaturizerVersion,
  collate,
  DEFAULT_FEATURIZER_CONFIG,
  ELEMENT_FEATURE_LENGTH,
  elementFeatures,
  ENCODING_SEGMENTS,
  featurizeDataset,
  featurizerVersion,
  checkFeaturizerConfig,
  FeaturizerConfigError,
  FeaturizerMismatchError,
  lineGraph,
  pathStructureGraph,
  pathwayGraph,
  structureGraph,
  type CrystalGraph,
} from "../src/index.js";

const SHARED = fileURLToPath(new URL("../../../../shared/data/", import.meta.url));
const FIX = fileURLToPath(new URL("../../crystal/test/fixtures/", import.meta.url));
const train = JSON.parse(readFileSync(join(SHARED, "em/train.json"), "utf8")) as { sys_name: string; atoms: unknown }[];

/** Per atom: (Z, sorted bond lengths, sorted angle cosines) rounded — a relabelling-invariant signature. */
function atomSignatures(g: CrystalGraph): string[] {
  const lg = lineGraph(g);
  const cosByAtom: number[][] = Array.from({ length: g.numAtoms }, () => []);
  const centreOf = new Int32Array(g.numEdges);
  for (let i = 0; i < g.numAtoms; i++) centreOf.fill(i, g.edgeOffsets[i]!, g.edgeOffsets[i + 1]!);
  for (let t = 0; t < lg.numTriplets; t++) cosByAtom[centreOf[lg.bondA[t]!]!]!.push(lg.cos[t]!);
  return Array.from({ length: g.numAtoms }, (_, i) => {
    const lens = Array.from(g.edgeLength.subarray(g.edgeOffsets[i]!, g.edgeOffsets[i + 1]!)).map((x) => x.toFixed(3));
    const cos = cosByAtom[i]!.map((x) => x.toFixed(3).replace("-0.000", "0.000")).sort();
    return `${g.atomicNumber[i]}|${g.isImage[i]}|${lens.join(",")}|${cos.join(",")}`;
  });
}
const multiset = (xs: string[]) => [...xs].sort();

describe("element encoding", () => {
  it("is 92 long and one-hot per segment, computed from the property table", () => {
    expect(ELEMENT_FEATURE_LENGTH).toBe(92);
    for (let z = 1; z <= 103; z++) {
      const f = elementFeatures(z);
      let base = 0;
      for (const seg of ENCODING_SEGMENTS) {
        const ones = Array.from(f.subarray(base, base + seg.size)).filter((x) => x === 1).length;
        expect(ones, `Z=${z} ${seg.name}`).toBeLessThanOrEqual(1);
        base += seg.size;
      }
    }
    // Lithium: group 1, period 2, s block, one valence electron.
    const li = elementFeatures(3);
    expect(li[0]).toBe(1);
    expect(li[18 + 1]).toBe(1);
    expect(li[18 + 7 + 11 + 10 + 0]).toBe(1);
    expect(li[92 - 10 - 4]).toBe(1);
    // Noble gases use the "electronegativity unknown" slot.
    expect(elementFeatures(10)[18 + 7 + 10]).toBe(1);
    // Different elements get different encodings.
    const rows = new Set(Array.from({ length: 103 }, (_, z) => Array.from(elementFeatures(z + 1)).join("")));
    expect(rows.size).toBeGreaterThan(90);
  });
});

describe("featurizer version", () => {
  it("names every parameter and changes with any of them", () => {
    const v = featurizerVersion();
    expect(v).toMatch(/^ionrank-fz1-k12-c8-cgcnn92\+image-i5-[0-9a-f]{8}$/);
    expect(featurizerVersion({ ...DEFAULT_FEATURIZER_CONFIG, tieTolerance: 1e-3 })).not.toBe(v);
    expect(featurizerVersion({ ...DEFAULT_FEATURIZER_CONFIG, k: 16 })).not.toBe(v);
    expect(() => assertFeaturizerVersion(v)).not.toThrow();
    expect(() => assertFeaturizerVersion("ionrank-fz1-k16-c8-cgcnn92+image-i5-00000000", "model em-v1")).toThrowError(FeaturizerMismatchError);
    expect(() => assertFeaturizerVersion("x", "model em-v1")).toThrowError(/model em-v1 was built with featurizer x, but this IonRank runs ionrank-fz1/);
  });
});

describe("graphs of known crystals", () => {
  it("rock salt with k = 6: six Cl at a/2 around every Na; line graph angles 90° and 180°", () => {
    const [s] = readCif(readFileSync(FIX + "NaCl.cif", "utf8"));
    const g = structureGraph(s!, undefined, { ...DEFAULT_FEATURIZER_CONFIG, k: 6 });
    expect(g.numEdges).toBe(8 * 6);
    for (let e = 0; e < g.numEdges; e++) expect(g.edgeLength[e]).toBeCloseTo(2.8201, 4);
    const lg = lineGraph(g);
    expect(lg.numTriplets).toBe(8 * 6 * 5);
    const counts = new Map<string, number>();
    for (const c of lg.cos) counts.set(c.toFixed(3), (counts.get(c.toFixed(3)) ?? 0) + 1);
    expect(Object.fromEntries(counts)).toEqual({ "0.000": 8 * 24, "-1.000": 8 * 6 });
  });

  it("fcc: 12 at a/√2 with the textbook angle distribution; bcc: ties give 8 + 6 = 14", () => {
    const a = 3.615;
    const fcc = new Structure(Lattice.cubic(a), [[0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]].map((f) => ({ element: "Cu" as const, frac: f as Vec3 })));
    const g = structureGraph(fcc);
    expect(Array.from({ length: 4 }, (_, i) => g.edgeOffsets[i + 1]! - g.edgeOffsets[i]!)).toEqual([12, 12, 12, 12]);
    const counts = new Map<string, number>();
    for (const c of lineGraph(g).cos) counts.set(c.toFixed(3), (counts.get(c.toFixed(3)) ?? 0) + 1);
    // Per neighbour: 4 others at 60°, 2 at 90°, 4 at 120°, 1 at 180°.
    expect(Object.fromEntries(counts)).toEqual({ "0.500": 4 * 48, "0.000": 4 * 24, "-0.500": 4 * 48, "-1.000": 4 * 12 });
    const bcc = new Structure(Lattice.cubic(2.8665), [{ element: "Fe", frac: [0, 0, 0] }, { element: "Fe", frac: [0.5, 0.5, 0.5] }]);
    expect(structureGraph(bcc).numEdges).toBe(28);
  });

  it("a hand-checked triclinic cell: the 12 nearest lattice vectors of a one-atom cell", () => {
    // a = (3,0,0), b = (1,3,0), c = (0,1,4): every neighbour is a lattice vector; by hand the shortest are
    // ±a (3) and ±b (√10); the rest of the 12 are checked against an explicit enumeration of lattice vectors.
    const lat = new Lattice([[3, 0, 0], [1, 3, 0], [0, 1, 4]]);
    const s = new Structure(lat, [{ element: "Po", frac: [0.2, 0.3, 0.4] }]);
    const g = structureGraph(s);
    const lens: number[] = [];
    for (let i = -4; i <= 4; i++) for (let j = -4; j <= 4; j++) for (let k = -4; k <= 4; k++) if (i || j || k) lens.push(Math.hypot(...lat.toCartesian([i, j, k])));
    lens.sort((x, y) => x - y);
    expect(lens.slice(0, 4).map((x) => x.toFixed(4))).toEqual(["3.0000", "3.0000", "3.1623", "3.1623"]);
    const kth = lens[11]!;
    const want = lens.filter((x) => x <= kth + 1e-4);
    expect(Array.from(g.edgeLength).map((x) => x.toFixed(4))).toEqual(want.map((x) => x.toFixed(4)));
  });
});

describe("graphs are invariant (property-based on training pathways)", () => {
  const pick = fc.integer({ min: 0, max: train.length - 1 }).filter((i) => (train[i]!.atoms as { elements: unknown[] }).elements.length < 120);
  const pathOf = (i: number) => Pathway.fromImageStructure(readJsonStructures(train[i] as never)[0]!);

  it("under translation of every atom", () => {
    fc.assert(
      fc.property(pick, fc.tuple(fc.double({ min: -9, max: 9, noNaN: true }), fc.double({ min: -9, max: 9, noNaN: true }), fc.double({ min: -9, max: 9, noNaN: true })), (i, t) => {
        const { structure, isImage } = pathOf(i).toPathStructure();
        expect(multiset(atomSignatures(structureGraph(structure.translated(t), isImage)))).toEqual(multiset(atomSignatures(structureGraph(structure, isImage))));
      }),
      { numRuns: 12, endOnFailure: true },
    );
  });

  it("under permutation of sites (up to relabelling)", () => {
    fc.assert(
      fc.property(pick, fc.integer(), (i, seed) => {
        const { structure, isImage } = pathOf(i).toPathStructure();
        const order = [...structure.sites.keys()];
        let r = seed;
        for (let k = order.length - 1; k > 0; k--) {
          r = (r * 1103515245 + 12345) & 0x7fffffff;
          const j = r % (k + 1);
          [order[k], order[j]] = [order[j]!, order[k]!];
        }
        const g1 = structureGraph(structure.permuted(order), Uint8Array.from(order, (o) => isImage[o]!));
        const g0 = structureGraph(structure, isImage);
        const s0 = atomSignatures(g0);
        expect(atomSignatures(g1)).toEqual(order.map((o) => s0[o]));
      }),
      { numRuns: 12, endOnFailure: true },
    );
  });

  it("under an equivalent supercell (same bonds and angles per atom)", () => {
    fc.assert(
      fc.property(pick.filter((i) => (train[i]!.atoms as { elements: unknown[] }).elements.length < 60), (i) => {
        const [s] = readJsonStructures(train[i] as never);
        const sc = s!.supercell([[1, 1, 0], [0, 1, 0], [0, 0, 2]]);
        const base = atomSignatures(structureGraph(s!));
        const big = atomSignatures(structureGraph(sc));
        big.forEach((sig, k) => expect(sig).toBe(base[Math.floor(k / 2)]));
      }),
      { numRuns: 6, endOnFailure: true },
    );
  });
});

describe("pathway graphs and collate", () => {
  it("path structures flag the five images and keep the dataset's atom order", () => {
    const p = Pathway.fromImageStructure(readJsonStructures(train[0] as never)[0]!);
    const g = pathwayGraph(p);
    expect(Array.from(g.isImage.slice(0, 6))).toEqual([1, 1, 1, 1, 1, 0]);
    expect(g.numAtoms).toBe((train[0]!.atoms as { elements: unknown[] }).elements.length);
    expect(pathwayGraph(p, { ...DEFAULT_FEATURIZER_CONFIG, images: 3 }).numAtoms).toBe(g.numAtoms - 2);
  });

  it("cropping keeps exactly the atoms within R of a path image, and the bonds among them unchanged", () => {
    for (const i of [0, 7, 42]) {
      const p = Pathway.fromImageStructure(readJsonStructures(train[i] as never)[0]!);
      const full = pathwayGraph(p);
      const R = 3.5;
      const crop = pathwayGraph(p, { ...DEFAULT_FEATURIZER_CONFIG, cropRadius: R });
      const { structure, isImage } = p.toPathStructure();
      // Oracle: brute-force minimum-image distance of every atom to every image.
      const kept: number[] = [];
      structure.sites.forEach((s, a) => {
        const d = Math.min(...[0, 1, 2, 3, 4].map((m) => structure.lattice.minimumImage(structure.sites[m]!.frac, s.frac).distance));
        if (isImage[a] || d <= R) kept.push(a);
      });
      expect(crop.numAtoms).toBe(kept.length);
      expect(crop.numAtoms).toBeLessThan(full.numAtoms);
      expect(Array.from(crop.isImage.slice(0, 5))).toEqual([1, 1, 1, 1, 1]);
      kept.forEach((a, k) => expect(crop.atomicNumber[k]).toBe(full.atomicNumber[a]));
      // Every cropped bond is a full-graph bond between kept atoms, with the same vector; none is invented.
      const index = new Map(kept.map((a, k) => [a, k]));
      kept.forEach((a, k) => {
        const expected: string[] = [];
        for (let e = full.edgeOffsets[a]!; e < full.edgeOffsets[a + 1]!; e++) {
          const j = index.get(full.edgeNeighbour[e]!);
          if (j !== undefined) expected.push(`${j}:${Array.from(full.edgeVector.slice(3 * e, 3 * e + 3)).join(",")}`);
        }
        const got: string[] = [];
        for (let e = crop.edgeOffsets[k]!; e < crop.edgeOffsets[k + 1]!; e++) got.push(`${crop.edgeNeighbour[e]}:${Array.from(crop.edgeVector.slice(3 * e, 3 * e + 3)).join(",")}`);
        expect(got).toEqual(expected);
      });
    }
  });

  it("the crop radius is part of the featurizer version; the bulk version ignores it", () => {
    const cropped = { ...DEFAULT_FEATURIZER_CONFIG, cropRadius: 3.5 };
    expect(featurizerVersion(cropped)).toBe(`${featurizerVersion()}-crop3.5`);
    expect(bulkFeaturizerVersion(cropped)).toBe(featurizerVersion());
    // A card written before cropping existed (no cropRadius) is the uncropped featurizer.
    const { cropRadius: _, ...legacy } = DEFAULT_FEATURIZER_CONFIG;
    expect(featurizerVersion(legacy as never)).toBe(featurizerVersion());
    expect(() => assertFeaturizerVersion(featurizerVersion(), "model", cropped)).toThrowError(FeaturizerMismatchError);
  });

  it("imageBonds host: images bond to host atoms only, host atoms keep every bond; probe: nobody bonds to images; bulk unchanged", () => {
    const host = { ...DEFAULT_FEATURIZER_CONFIG, cropRadius: 3.5, imageBonds: "host" as const };
    const all = { ...DEFAULT_FEATURIZER_CONFIG, cropRadius: 3.5 };
    for (const i of [0, 7, 42]) {
      const p = Pathway.fromImageStructure(readJsonStructures(train[i] as never)[0]!);
      const gh = pathwayGraph(p, host);
      const ga = pathwayGraph(p, all);
      expect(gh.numAtoms).toBe(ga.numAtoms);
      let imageImage = 0;
      for (let a = 0; a < ga.numAtoms; a++) {
        const nh = Array.from(gh.edgeNeighbour.slice(gh.edgeOffsets[a]!, gh.edgeOffsets[a + 1]!));
        const na = Array.from(ga.edgeNeighbour.slice(ga.edgeOffsets[a]!, ga.edgeOffsets[a + 1]!));
        if (ga.isImage[a]) {
          imageImage += na.filter((j) => ga.isImage[j]).length;
          expect(nh.filter((j) => gh.isImage[j])).toEqual([]);
          expect(nh.length).toBeGreaterThan(0);
        } else {
          expect(nh).toEqual(na);
        }
      }
      expect(imageImage).toBeGreaterThan(0);
      // probe: no atom lists an image; images keep exactly their "host" neighbours.
      const gp = pathwayGraph(p, { ...host, imageBonds: "probe" });
      expect(Array.from(gp.edgeNeighbour).some((j) => gp.isImage[j])).toBe(false);
      for (let a = 0; a < 5; a++) {
        expect(Array.from(gp.edgeNeighbour.slice(gp.edgeOffsets[a]!, gp.edgeOffsets[a + 1]!))).toEqual(Array.from(gh.edgeNeighbour.slice(gh.edgeOffsets[a]!, gh.edgeOffsets[a + 1]!)));
      }
      expect(Array.from(ga.edgeNeighbour).some((j, e) => ga.isImage[j] && e >= ga.edgeOffsets[5]!)).toBe(true);
    }
    // Bulk structures have no images: identical graphs.
    const [bulk] = readJsonStructures(train[0] as never);
    expect(structureGraph(bulk!, undefined, host).edgeNeighbour).toEqual(structureGraph(bulk!, undefined, all).edgeNeighbour);
  });

  it("imageBonds is part of the path featurizer version, not of the bulk version", () => {
    const host = { ...DEFAULT_FEATURIZER_CONFIG, cropRadius: 3.5, imageBonds: "host" as const };
    expect(featurizerVersion(host)).toBe(`${featurizerVersion()}-crop3.5-ihost`);
    expect(featurizerVersion({ ...host, imageBonds: "probe" })).toBe(`${featurizerVersion()}-crop3.5-iprobe`);
    expect(bulkFeaturizerVersion(host)).toBe(featurizerVersion());
    // A card written before the option existed is "all".
    const { imageBonds: _, ...legacy } = { ...DEFAULT_FEATURIZER_CONFIG, cropRadius: 3.5 };
    expect(featurizerVersion(legacy as never)).toBe(`${featurizerVersion()}-crop3.5`);
    expect(() => assertFeaturizerVersion(`${featurizerVersion()}-crop3.5`, "model", host)).toThrowError(FeaturizerMismatchError);
    // A card from a future IonRank with a setting this one does not know is refused, not read as "all".
    expect(() => featurizerVersion({ ...host, imageBonds: "none" as never })).toThrowError(FeaturizerConfigError);
    expect(() => featurizerVersion({ ...host, imageBonds: "none" as never })).toThrowError(/imageBonds is "none"; this IonRank knows all, host, probe/);
  });

  it("collate concatenates with shifted neighbour indices, offsets and a graph index", () => {
    const gs = [0, 1, 2].map((i) => pathwayGraph(Pathway.fromImageStructure(readJsonStructures(train[i] as never)[0]!)));
    const b = collate(gs);
    expect(b.numGraphs).toBe(3);
    expect(b.numAtoms).toBe(gs.reduce((n, g) => n + g.numAtoms, 0));
    expect(Array.from(b.atomOffsets)).toEqual([0, gs[0]!.numAtoms, gs[0]!.numAtoms + gs[1]!.numAtoms, b.numAtoms]);
    const g1 = gs[1]!;
    const a0 = gs[0]!.numAtoms;
    const e0 = gs[0]!.numEdges;
    expect(b.graphIndex[a0]).toBe(1);
    expect(b.edgeOffsets[a0]).toBe(e0);
    expect(b.edgeNeighbour[e0]).toBe(a0 + g1.edgeNeighbour[0]!);
    expect(b.edgeVector[3 * e0 + 2]).toBe(g1.edgeVector[2]);
    expect(b.maxDegree).toBe(Math.max(...gs.flatMap((g) => Array.from({ length: g.numAtoms }, (_, i) => g.edgeOffsets[i + 1]! - g.edgeOffsets[i]!))));
  });
});

describe("featurized datasets on disk", () => {
  it("are byte-for-byte deterministic and readable by numpy alone", () => {
    const dir = mkdtempSync(join(tmpdir(), "ionrank-fz-"));
    const a = featurizeDataset([{ file: join(SHARED, "em/train.json") }], join(dir, "a"));
    featurizeDataset([{ file: join(SHARED, "em/train.json") }], join(dir, "b"));
    expect(a.graphs).toBe(559);
    expect(a.kinds[join(SHARED, "em/train.json")]).toBe("pathway");
    for (const f of readdirSync(join(dir, "a"))) expect(readFileSync(join(dir, "b", f)).equals(readFileSync(join(dir, "a", f))), f).toBe(true);
    const py = spawnSync(
      "/usr/bin/python3",
      [
        "-c",
        `import json, numpy as np, sys
d = sys.argv[1]; m = json.load(open(d + "/manifest.json"))
A = {k: np.fromfile(d + "/" + v["file"], dtype=v["dtype"]).reshape(v["shape"]) for k, v in m["arrays"].items()}
g = 7; a0, a1 = A["atom_offsets"][g], A["atom_offsets"][g + 1]
e0, e1 = A["edge_offsets"][a0], A["edge_offsets"][a1]
print(json.dumps({"count": m["count"], "natoms7": int(a1 - a0), "edges7": int(e1 - e0), "img7": A["is_image"][a0:a1].tolist()[:6],
  "len": float(A["edge_length"][e0:e1].sum()), "target7": float(A["targets"][g, 0]), "mask": int(A["target_mask"].sum()),
  "feat": A["element_features"][A["atomic_number"][a0] - 1].tolist()}))`,
        join(dir, "a"),
      ],
      { encoding: "utf8" },
    );
    expect(py.stderr).toBe("");
    const r = JSON.parse(py.stdout);
    const g7 = pathwayGraph(Pathway.fromImageStructure(readJsonStructures(train[7] as never)[0]!));
    expect(r.count).toBe(559);
    expect(r.natoms7).toBe(g7.numAtoms);
    expect(r.edges7).toBe(g7.numEdges);
    expect(r.img7).toEqual([1, 1, 1, 1, 1, 0]);
    expect(r.len).toBeCloseTo(Array.from(g7.edgeLength).reduce((x, y) => x + y, 0), 2);
    expect(r.target7).toBeCloseTo((train[7] as unknown as { target: number }).target, 6);
    expect(r.mask).toBe(559);
    expect(r.feat).toEqual(Array.from(elementFeatures(g7.atomicNumber[0]!)));
  });

  it("a bad entry names file and entry, and leaves no partial output", () => {
    const dir = mkdtempSync(join(tmpdir(), "ionrank-fz-"));
    const bad = join(dir, "bad.json");
    const entries = (train.slice(0, 3) as { atoms: { elements: string[] } }[]).map((e) => structuredClone(e));
    entries[2]!.atoms.elements[7] = "Xx";
    writeFileSync(bad, JSON.stringify(entries));
    expect(() => featurizeDataset([{ file: bad }], join(dir, "out"))).toThrowError(/bad\.json, entry .*: atom 7: "Xx" is not an element symbol/);
    expect(existsSync(join(dir, "out"))).toBe(false);
    expect(readdirSync(dir)).toEqual(["bad.json"]);
    writeFileSync(bad, JSON.stringify([{ id: "q", target: "high", atoms: {} }]));
    expect(() => featurizeDataset([{ file: bad }], join(dir, "out"))).toThrowError(/bad\.json, block q: target is "high", not a finite number/);
  });

  it("one entry that is not a path structure is named, not a reason to featurize the whole file as bulk crystals", () => {
    const dir = mkdtempSync(join(tmpdir(), "ionrank-fz-"));
    const entries = (train.slice(0, 3) as { sys_name: string; atoms: { coords: number[][] } }[]).map((e) => structuredClone(e));
    entries[2]!.atoms.coords[2] = [0.9, 0.9, 0.9]; // an image far off the straight path
    writeFileSync(join(dir, "notpath.json"), JSON.stringify(entries));
    expect(() => featurizeDataset([{ file: join(dir, "notpath.json") }], join(dir, "out"))).toThrowError(
      new RegExp(`notpath\\.json: entries ${entries[2]!.sys_name} are not 5-image path structures while the others are`),
    );
    expect(existsSync(join(dir, "out"))).toBe(false);
  });

  it("refuses what would make a wrong dataset: a file given twice, an empty list, atoms on top of each other, an output that is a file", () => {
    const dir = mkdtempSync(join(tmpdir(), "ionrank-fz-"));
    const five = join(dir, "five.json");
    writeFileSync(five, JSON.stringify(train.slice(0, 5)));
    writeFileSync(join(dir, "copy.json"), readFileSync(five));
    expect(() => featurizeDataset([{ file: five }, { file: join(dir, "copy.json") }], join(dir, "out"))).toThrowError(/copy\.json has the same content as .*five\.json: give each input once/);
    writeFileSync(join(dir, "empty.json"), "[]");
    expect(() => featurizeDataset([{ file: join(dir, "empty.json") }], join(dir, "out"))).toThrowError(/empty\.json.*the list has no entries/);
    const cube = [[4, 0, 0], [0, 4, 0], [0, 0, 4]];
    writeFileSync(join(dir, "ov.json"), JSON.stringify([{ id: "LiCl-on-top", target: 1, atoms: { lattice_mat: cube, coords: [[0, 0, 0], [0, 0, 0]], elements: ["Li", "Cl"], cartesian: false } }]));
    expect(() => featurizeDataset([{ file: join(dir, "ov.json") }], join(dir, "out"))).toThrowError(/ov\.json, entry LiCl-on-top: (Featurizing: )?sites 0 \(Li\) and 1 \(Cl\) are 0\.000 Å apart/);
    writeFileSync(join(dir, "plain"), "x");
    expect(() => featurizeDataset([{ file: five }], join(dir, "plain"))).toThrowError(/plain is a file: give a folder for the dataset/);
    expect(() => featurizeDataset([{ file: five }], join(dir, "plain", "sub"))).toThrowError(/is a file, not a folder/);
    expect(() => featurizeDataset([{ file: five }], "/proc/ionrank-nope")).toThrowError(/kernel file system/);
    // A run killed while writing leaves `out.partial-<pid>`; the next run clears it once that process is gone.
    const stale = join(dir, "out.partial-999999");
    mkdirSync(stale);
    expect(featurizeDataset([{ file: five }], join(dir, "out")).graphs).toBe(5);
    expect(existsSync(stale)).toBe(false);
  });
});

describe("what the featurizer refuses instead of guessing", () => {
  it("an output folder is replaced only when it holds an IonRank dataset and nothing else", () => {
    const dir = mkdtempSync(join(tmpdir(), "ionrank-fz-"));
    const five = join(dir, "five.json");
    writeFileSync(five, JSON.stringify(train.slice(0, 5)));
    // Another program's manifest.json (a web app) must not pass for a dataset: the folder would be deleted.
    const app = join(dir, "app");
    mkdirSync(join(app, "src"), { recursive: true });
    writeFileSync(join(app, "manifest.json"), JSON.stringify({ name: "my app", icons: [] }));
    writeFileSync(join(app, "src", "index.js"), "precious");
    expect(() => featurizeDataset([{ file: five }], app)).toThrowError(/app exists and is not an IonRank dataset: refusing to overwrite it/);
    expect(readFileSync(join(app, "src", "index.js"), "utf8")).toBe("precious");
    writeFileSync(join(app, "manifest.json"), "{ not json");
    expect(() => featurizeDataset([{ file: five }], app)).toThrowError(/not an IonRank dataset/);
    // A real dataset with the input file (or anything else) put inside it is not replaced either.
    const out = join(dir, "out");
    expect(featurizeDataset([{ file: five }], out).graphs).toBe(5);
    writeFileSync(join(out, "five.json"), readFileSync(five));
    expect(() => featurizeDataset([{ file: join(out, "five.json") }], out)).toThrowError(/out holds five\.json besides an IonRank dataset: refusing to overwrite it/);
    expect(existsSync(join(out, "five.json"))).toBe(true);
    // Only the dataset's own files: an earlier dataset is replaced as before.
    rmSync(join(out, "five.json"));
    expect(featurizeDataset([{ file: five }], out, { config: { ...DEFAULT_FEATURIZER_CONFIG, cropRadius: 3.5 } }).featurizerVersion).toMatch(/-crop3\.5$/);
  });

  it("entries with one id, an unusable id, several structures or a target float32 cannot hold are named", () => {
    const dir = mkdtempSync(join(tmpdir(), "ionrank-fz-"));
    const entries = (train.slice(0, 3) as { sys_name: string; target: number; atoms: unknown }[]).map((e) => structuredClone(e));
    const write = (name: string, list: unknown[]) => {
      writeFileSync(join(dir, name), JSON.stringify(list));
      return join(dir, name);
    };
    const dup = write("dup.json", [entries[0], entries[1], { ...entries[2]!, sys_name: entries[0]!.sys_name }]);
    expect(() => featurizeDataset([{ file: dup }], join(dir, "out"))).toThrowError(new RegExp(`dup\\.json, entry ${entries[0]!.sys_name}: an earlier entry has the same id`));
    // Across files too (a multi-property dataset's ids name its graphs); entries without ids are named by position.
    const a = write("a.json", [{ target: 1, atoms: entries[0]!.atoms }]);
    const b = write("b.json", [{ target: 2, atoms: entries[1]!.atoms }]);
    expect(() => featurizeDataset([{ file: a }, { file: b }], join(dir, "out"))).toThrowError(/b\.json, entry entry 0: an entry of .*a\.json has the same id/);
    const objId = write("objid.json", [{ id: { a: 1 }, sys_name: "x", target: 1, atoms: entries[0]!.atoms }]);
    expect(() => featurizeDataset([{ file: objId }], join(dir, "out"))).toThrowError(/objid\.json, block entry 0: the id is \{"a":1\}, not a name or number/);
    const two = write("two.json", [{ id: "pair", target: 1, atoms: [entries[0]!.atoms, entries[1]!.atoms] }]);
    expect(() => featurizeDataset([{ file: two }], join(dir, "out"))).toThrowError(/two\.json, entry pair: atoms holds 2 structures; an entry is one structure/);
    const big = write("big.json", [{ id: "huge", target: 1e39, atoms: entries[0]!.atoms }]);
    expect(() => featurizeDataset([{ file: big }], join(dir, "out"))).toThrowError(/big\.json, block huge: target is 1e\+39, beyond the float32 range/);
    expect(existsSync(join(dir, "out"))).toBe(false);
  });

  it("a file too large for one JavaScript string (a gzip that inflates past 512 MiB) is a ParseError naming it, not a crash", () => {
    const dir = mkdtempSync(join(tmpdir(), "ionrank-fz-"));
    const text = Buffer.alloc(0x20000000, 0x20);
    text[0] = 0x5b; // "[" … "]" around 512 MiB of blanks: 500 kB gzipped
    text[text.length - 1] = 0x5d;
    writeFileSync(join(dir, "huge.json.gz"), gzipSync(text, { level: 1 }));
    expect(() => featurizeDataset([{ file: join(dir, "huge.json.gz") }], join(dir, "out"))).toThrowError(/huge\.json\.gz: too large to read as one JSON text \(over 512 MiB\)/);
    expect(existsSync(join(dir, "out"))).toBe(false);
  });

  it("a path structure's image flags must mark exactly `images` atoms (the readout reshapes them per graph)", () => {
    const { structure, isImage } = Pathway.fromImageStructure(readJsonStructures(train[0] as never)[0]!).toPathStructure();
    const flags = (marked: number[]) => Uint8Array.from(isImage, (_, i) => (marked.includes(i) ? 1 : 0));
    expect(pathStructureGraph(structure, isImage).numAtoms).toBe(structure.length);
    // Four here and six in the next graph of a batch would even out and shift one graph's images onto the other.
    expect(() => pathStructureGraph(structure, flags([0, 1, 2, 3]))).toThrowError(/a path structure has 5 path images; its flags mark 4 \(atoms 0, 1, 2, 3\)$/);
    expect(() => pathStructureGraph(structure, flags([0, 1, 2, 3, 4, 5]))).toThrowError(/its flags mark 6 \(atoms 0, 1, 2, 3, 4, 5\)$/);
    expect(() => pathStructureGraph(structure, flags([]), { ...DEFAULT_FEATURIZER_CONFIG, cropRadius: 3.5 })).toThrowError(/its flags mark 0$/);
    expect(pathStructureGraph(structure, flags([0, 1, 2]), { ...DEFAULT_FEATURIZER_CONFIG, images: 3 }).numAtoms).toBe(structure.length);
    // A flag other than 0 or 1 would reach the model's is_image input as that number.
    const two = Uint8Array.from(isImage, (f) => 2 * f);
    expect(() => structureGraph(structure, two)).toThrowError(/image flag 0 is 2; flags are 1 for a path image and 0 for a host atom/);
    expect(() => pathStructureGraph(structure, two)).toThrowError(/image flag 0 is 2/);
    // The images may be listed anywhere (the inference service takes them after the host too).
    const n = structure.length;
    const order = [...Array.from({ length: n - 5 }, (_, i) => i + 5), 0, 1, 2, 3, 4];
    const last = pathStructureGraph(structure.permuted(order), Uint8Array.from(order, (o) => isImage[o]!), { ...DEFAULT_FEATURIZER_CONFIG, cropRadius: 3.5 });
    expect(Array.from(last.isImage.slice(-5))).toEqual([1, 1, 1, 1, 1]);
  });

  it("featurizer settings out of range are refused, not built into a silently different graph", () => {
    const s = new Structure(Lattice.cubic(4), [{ element: "Li", frac: [0, 0, 0] }, { element: "Cl", frac: [0.5, 0.5, 0.5] }]);
    const p = Pathway.fromImageStructure(readJsonStructures(train[0] as never)[0]!);
    const bad: [Partial<Record<string, unknown>>, RegExp][] = [
      [{ tieTolerance: -1 }, /tieTolerance is -1; it must be a finite distance ≥ 0 Å/],
      [{ tieTolerance: NaN }, /tieTolerance is NaN/],
      [{ cropRadius: -1 }, /cropRadius is -1/],
      [{ cropRadius: NaN }, /cropRadius is NaN/],
      [{ cutoff: Infinity }, /cutoff is Infinity/],
      [{ images: 1 }, /images is 1; it must be an integer ≥ 2/],
      [{ k: 2.5 }, /k is 2\.5; it must be a positive integer/],
      [{ features: "cgcnn92" }, /features is "cgcnn92"/],
    ];
    for (const [change, message] of bad) {
      const config = { ...DEFAULT_FEATURIZER_CONFIG, ...change } as never;
      expect(() => structureGraph(s, undefined, config)).toThrowError(message);
      expect(() => checkFeaturizerConfig(config)).toThrowError(FeaturizerConfigError);
      expect(() => pathwayGraph(p, config)).toThrowError(message);
      expect(() => featurizerVersion(config)).toThrowError(message);
      expect(() => assertFeaturizerVersion(featurizerVersion(), "model em@9", config)).toThrowError(/^model em@9 has featurizer settings this IonRank cannot use: /);
    }
    const dir = mkdtempSync(join(tmpdir(), "ionrank-fz-"));
    writeFileSync(join(dir, "one.json"), JSON.stringify(train.slice(0, 1)));
    expect(() => featurizeDataset([{ file: join(dir, "one.json") }], join(dir, "out"), { config: { ...DEFAULT_FEATURIZER_CONFIG, tieTolerance: -1 } })).toThrowError(FeaturizerConfigError);
    // The shipped card's settings (written before imageBonds existed) and the defaults pass.
    const card = JSON.parse(readFileSync(new URL("../../../models/em.card.json", import.meta.url), "utf8")) as { featurizer: { version: string; config: never } };
    expect(() => assertFeaturizerVersion(card.featurizer.version, "em", card.featurizer.config)).not.toThrow();
    expect(() => checkFeaturizerConfig(DEFAULT_FEATURIZER_CONFIG)).not.toThrow();
  });
});

describe("what --kind auto and the graphs cannot tell on their own", () => {
  type Atoms = { lattice_mat: number[][]; coords: number[][]; elements: string[]; cartesian: false };
  /**
   * An n×1×1 supercell of rock-salt LiCl (a = 5.13 Å) listed site by site, translations innermost (as pymatgen's
   * make_supercell does): its first n atoms are Li evenly spaced along a.
   */
  const rockSaltRow = (n: number): Atoms => {
    const a = 5.13;
    const sites: [string, Vec3][] = [["Li", [0, 0, 0]], ["Li", [0.5, 0.5, 0]], ["Li", [0.5, 0, 0.5]], ["Li", [0, 0.5, 0.5]], ["Cl", [0.5, 0, 0]], ["Cl", [0, 0.5, 0]], ["Cl", [0, 0, 0.5]], ["Cl", [0.5, 0.5, 0.5]]];
    const rows = sites.flatMap(([el, f]) => Array.from({ length: n }, (_, i) => [el, [(f[0] + i) / n, f[1], f[2]]] as const));
    return { lattice_mat: [[n * a, 0, 0], [0, a, 0], [0, 0, a]], coords: rows.map((r) => [...r[1]]), elements: rows.map((r) => r[0]), cartesian: false };
  };

  it("auto: a supercell whose first five atoms are a row of one element is bulk; a row that stops there among bulk crystals is named", () => {
    const dir = mkdtempSync(join(tmpdir(), "ionrank-fz-"));
    const file = join(dir, "supercells.json");
    writeFileSync(file, JSON.stringify([5, 6, 8].map((n) => ({ id: `LiCl-${n}x1x1`, target: 1, atoms: rockSaltRow(n) }))));
    const s = readJsonStructures(rockSaltRow(6) as never)[0]!;
    expect(Pathway.fromImageStructure(s).ion).toBe("Li"); // the shape alone reads as a path
    expect(featurizeDataset([{ file }], join(dir, "out")).kinds[file]).toBe("bulk");
    expect(readFileSync(join(dir, "out", "is_image.bin")).every((f) => f === 0)).toBe(true);
    // A crystal whose row of five Li stops (no Li one step further either way) cannot be told from a path by its
    // shape: among bulk crystals it is named, and --kind decides.
    const stop: Atoms = { lattice_mat: [[12, 0, 0], [0, 6, 0], [0, 0, 6]], coords: [0, 1, 2, 3, 4].map((i) => [0.1 + 0.2 * i * 0.5, 0, 0]).concat([[0.1, 0.5, 0.5], [0.5, 0.5, 0.5], [0.9, 0.5, 0.5]]), elements: ["Li", "Li", "Li", "Li", "Li", "Cl", "Cl", "Cl"], cartesian: false };
    const mixed = join(dir, "mixed.json");
    writeFileSync(mixed, JSON.stringify([{ id: "LiCl-6x1x1", target: 1, atoms: rockSaltRow(6) }, { id: "LiCl-8x1x1", target: 1, atoms: rockSaltRow(8) }, { id: "Li5Cl3-row", target: 1, atoms: stop }]));
    expect(() => featurizeDataset([{ file: mixed }], join(dir, "out2"))).toThrowError(
      /mixed\.json: entries Li5Cl3-row look like 5-image path structures \(the first 5 atoms one element, evenly spaced on a line\) while the others are bulk crystals: give --kind bulk or --kind pathway/,
    );
    expect(featurizeDataset([{ file: mixed }], join(dir, "out2"), { kind: "bulk" }).kinds[mixed]).toBe("bulk");
    // The shipped pathways still read as paths (checked for every pretrain file and train.json when this was written).
    writeFileSync(join(dir, "em.json"), JSON.stringify(train.slice(0, 20)));
    expect(featurizeDataset([{ file: join(dir, "em.json") }], join(dir, "out3")).kinds[join(dir, "em.json")]).toBe("pathway");
  });

  it("a graph with no bond at all (a vacuum cell) or a path image without bonds is refused, naming entry and atoms", () => {
    const dir = mkdtempSync(join(tmpdir(), "ionrank-fz-"));
    const box = [[20, 0, 0], [0, 20, 0], [0, 0, 20]];
    const vacuum = join(dir, "vacuum.json");
    writeFileSync(vacuum, JSON.stringify([{ id: "lone-Li", target: 1, atoms: { lattice_mat: box, coords: [[0, 0, 0]], elements: ["Li"], cartesian: false } }]));
    expect(() => featurizeDataset([{ file: vacuum }], join(dir, "out"))).toThrowError(
      /vacuum\.json, entry lone-Li: no atom has a neighbour within 8 Å \(atoms 0 \(Li\)\): the graph would have no bonds \(a vacuum cell\?\)/,
    );
    expect(existsSync(join(dir, "out"))).toBe(false);
    // Five Li images 0.5 Å apart, the host (a LiCl pair) 14 Å away: with imageBonds "host" the images bond to nothing.
    const path = join(dir, "farpath.json");
    const coords = [0, 1, 2, 3, 4].map((i) => [0.1 + 0.025 * i, 0.1, 0.1]).concat([[0.6, 0.6, 0.6], [0.7, 0.6, 0.6]]);
    writeFileSync(path, JSON.stringify([{ id: "far", target: 1, atoms: { lattice_mat: box, coords, elements: ["Li", "Li", "Li", "Li", "Li", "Li", "Cl"], cartesian: false } }]));
    expect(() => featurizeDataset([{ file: path }], join(dir, "out"), { kind: "pathway", config: { ...DEFAULT_FEATURIZER_CONFIG, imageBonds: "host" } })).toThrowError(
      /farpath\.json, entry far: path images 0, 1, 2, 3, 4 have no bond within 8 Å/,
    );
    expect(existsSync(join(dir, "out"))).toBe(false);
  });

  it("atoms with no neighbour in an otherwise bonded entry are featurized unchanged and listed (the shipped fe.json.gz has 10 such entries)", () => {
    const dir = mkdtempSync(join(tmpdir(), "ionrank-fz-"));
    const box = [[20, 0, 0], [0, 20, 0], [0, 0, 20]];
    const file = join(dir, "stray.json");
    const atoms = { lattice_mat: box, coords: [[0, 0, 0], [0.12, 0, 0], [0.5, 0.5, 0.5]], elements: ["Li", "Cl", "K"], cartesian: false };
    writeFileSync(file, JSON.stringify([{ id: "LiCl+K", target: 1, atoms }]));
    const r = featurizeDataset([{ file }], join(dir, "out"));
    expect(r.isolated).toEqual([{ file, id: "LiCl+K", atoms: [2], elements: ["K"] }]);
    expect(r.edges).toBe(structureGraph(readJsonStructures(atoms as never)[0]!).numEdges);
    // Two of the shipped fe.json.gz entries with a stray atom (slabs from JARVIS), between two without.
    const shipped = (JSON.parse(gunzipSync(readFileSync(join(SHARED, "pretrain/fe.json.gz"))).toString()) as { id: string }[]).filter((e) =>
      ["fe-1", "fe-3337", "fe-4737", "fe-2"].includes(e.id),
    );
    writeFileSync(join(dir, "fe.json"), JSON.stringify(shipped));
    const fe = featurizeDataset([{ file: join(dir, "fe.json") }], join(dir, "fe"));
    expect(fe.graphs).toBe(4);
    expect(fe.isolated.map(({ id, atoms, elements }) => ({ id, atoms, elements }))).toEqual([
      { id: "fe-3337", atoms: [4], elements: ["Te"] },
      { id: "fe-4737", atoms: [5], elements: ["Sb"] },
    ]);
    // Cropping leaves atoms without bonds by design (their neighbours are cut away): not listed.
    writeFileSync(join(dir, "em.json"), JSON.stringify(train.slice(0, 60)));
    const cropped = featurizeDataset([{ file: join(dir, "em.json") }], join(dir, "em"), { config: { ...DEFAULT_FEATURIZER_CONFIG, cropRadius: 3.5, imageBonds: "probe" } });
    expect(cropped.isolated).toEqual([]);
  });
});
