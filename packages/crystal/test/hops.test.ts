import { describe, expect, it } from "vitest";
import { enumerateHops, Lattice, noHopsReason, percolationDimension, readCif, Structure, symmetryOf, type Vec3 } from "../src/index.js";
import { fixture } from "./helpers.js";

const load = (f: string) => readCif(fixture(f))[0]!;

describe("space groups from moyo", () => {
  it.each([
    ["NaCl.cif", 225, 192],
    ["LiCoO2.cif", 166, 36],
    ["LiFePO4.cif", 62, 8],
    ["LiMn2O4.cif", 227, 192],
    ["LiTi2PO43.cif", 167, 36],
  ])("%s is space group %i with %i operations, each mapping the structure onto itself", (file, number, nops) => {
    const s = load(file);
    const sym = symmetryOf(s);
    expect(sym.number).toBe(number);
    expect(sym.operations).toHaveLength(nops);
    for (const op of sym.operations) {
      for (const site of s.sites) {
        const f = [0, 1, 2].map((r) => op.rotation[r]![0] * site.frac[0] + op.rotation[r]![1] * site.frac[1] + op.rotation[r]![2] * site.frac[2] + op.translation[r]!);
        const hit = s.sites.some((t) => t.element === site.element && s.lattice.minimumImage(f, t.frac).distance < 0.02);
        expect(hit).toBe(true);
      }
    }
  });

  it("a distorted cell is P1", () => {
    const s = new Structure(Lattice.fromParameters({ a: 4.1, b: 5.3, c: 6.2, alpha: 81, beta: 77, gamma: 69 }), [
      { element: "Li", frac: [0.1, 0.2, 0.3] },
      { element: "O", frac: [0.55, 0.41, 0.77] },
      { element: "O", frac: [0.9, 0.13, 0.52] },
    ]);
    expect(symmetryOf(s).number).toBe(1);
  });
});

describe("hop enumeration against known materials", () => {
  it("NASICON LiTi2(PO4)3: no Li–Li hop within 5 Å (Li hops via vacant sites), and the reason says how far apart they are", () => {
    const s = load("LiTi2PO43.cif");
    const r = enumerateHops(s, "Li");
    expect(r.hops).toEqual([]);
    const wide = enumerateHops(s, "Li", { maxLength: 8 });
    expect(wide.hops.length).toBeGreaterThan(0);
    expect(r.nearestSeparation).toBeGreaterThan(5);
    expect(r.nearestSeparation).toBeCloseTo(wide.hops[0]!.length, 9);
    expect(wide.nearestSeparation).toBe(wide.hops[0]!.length);
    expect(noHopsReason(r)).toBe(`no Li hops up to 5 Å between its Li sites: the nearest two are ${r.nearestSeparation!.toFixed(2)} Å apart (hops through vacant sites must be given as pathways: endpoint pairs or path images)`);
    expect(enumerateHops(s, "Li", { maxLength: 1.5 }).nearestSeparation).toBeNull(); // nothing within 4.5 Å either
  });

  it("says why there are no hops with lengths written for people, never a float's full expansion", () => {
    const s = load("LiCoO2.cif");
    const tail = " (hops through vacant sites must be given as pathways: endpoint pairs or path images)";
    expect(noHopsReason(enumerateHops(s, "Li", { maxLength: 0.0001 }))).toBe(`no Li hops up to 0.0001 Å between its Li sites: no two are within 0.0003 Å${tail}`);
    expect(noHopsReason(enumerateHops(s, "Li", { maxLength: 0.1 + 0.2 }))).toBe(`no Li hops up to 0.3 Å between its Li sites: no two are within 0.9 Å${tail}`);
    // The nearest separation keeps 2 decimals, trailing zeros dropped; a length the user typed reads back as typed.
    const nasicon = enumerateHops(load("LiTi2PO43.cif"), "Li", { maxLength: 5.125 });
    expect(noHopsReason(nasicon)).toBe(`no Li hops up to 5.125 Å between its Li sites: the nearest two are 6.02 Å apart${tail}`);
  });

  it("LiCoO2: the in-plane Li–Li hop is a = 2.8156 Å and percolates in 2-D", () => {
    const r = enumerateHops(load("LiCoO2.cif"), "Li");
    expect(r.spaceGroup.number).toBe(166);
    const first = r.hops[0]!;
    expect(first.length).toBeCloseTo(2.8156, 4);
    expect(first.multiplicity).toBe(9); // 3 Li per cell × 6 in-plane neighbours / 2
    expect(first.dimensionality).toBe(2);
    expect(first.to[2] - first.from[2]).toBeCloseTo(0, 9); // in the Li plane
    expect(r.percolation).toEqual({ "1": 2.8156, "2": 2.8156, "3": 4.958756 });
    // Crossing the CoO2 slab is much longer.
    expect(r.hops.at(-1)!.dimensionality).toBe(3);
  });

  it("olivine LiFePO4: the 1-D channel hop along b is b/2 = 3.005 Å", () => {
    const r = enumerateHops(load("LiFePO4.cif"), "Li");
    const first = r.hops[0]!;
    expect(first.length).toBeCloseTo(3.005, 4);
    expect(first.multiplicity).toBe(4);
    expect(first.dimensionality).toBe(1);
    expect(Math.abs(first.to[1] - first.from[1])).toBeCloseTo(0.5, 6);
    expect(first.to[0] - first.from[0]).toBeCloseTo(0, 6);
    expect(r.percolation["1"]).toBeCloseTo(3.005, 4);
    expect(r.percolation["3"]).toBeNull();
  });

  it("spinel LiMn2O4: the tetrahedral–tetrahedral (8a–8a) hop is a√3/4 = 3.571 Å and percolates in 3-D", () => {
    const r = enumerateHops(load("LiMn2O4.cif"), "Li");
    expect(r.hops).toHaveLength(1);
    expect(r.hops[0]!.length).toBeCloseTo((8.2476 * Math.sqrt(3)) / 4, 4);
    expect(r.hops[0]!.multiplicity).toBe(16); // 8 Li × 4 neighbours / 2
    expect(r.hops[0]!.dimensionality).toBe(3);
    // The straight path passes through the empty 16c octahedron, about 1.85 Å from the oxygens around it.
    expect(r.hops[0]!.minClearance).toBeGreaterThan(1.7);
    expect(r.hops[0]!.minClearance).toBeLessThan(2.0);
  });

  it("counts are per cell and symmetry-invariant: translation, permutation and a supercell", () => {
    const s = load("LiFePO4.cif");
    const base = enumerateHops(s, "Li", { maxLength: 6 });
    const sig = (r: typeof base) => r.hops.map((h) => [h.length.toFixed(5), h.dimensionality, h.minClearance?.toFixed(4)].join("|"));
    expect(sig(enumerateHops(s.translated([0.7, -1.3, 2.1]), "Li", { maxLength: 6 }))).toEqual(sig(base));
    const order = [...s.sites.keys()].reverse();
    expect(sig(enumerateHops(s.permuted(order), "Li", { maxLength: 6 }))).toEqual(sig(base));
    const sc = enumerateHops(s.supercell([1, 2, 1]), "Li", { maxLength: 6 });
    expect(sig(sc)).toEqual(sig(base));
    expect(sc.hops.map((h) => h.multiplicity)).toEqual(base.hops.map((h) => 2 * h.multiplicity));
  });

  it("refuses disordered structures and absent ions", () => {
    expect(() => enumerateHops(load("Li7La3Zr2O12.cif"), "Li")).toThrowError(/Hop enumeration needs an ordered structure/);
    expect(() => enumerateHops(load("LiCoO2.cif"), "Na")).toThrowError(/no Na sites/);
  });
});

describe("percolation dimension", () => {
  const h = (i: number, j: number, n: Vec3) => ({ i, j, n });
  it("is 0 for isolated clusters, 1 for chains, 2 for layers, 3 for frameworks", () => {
    expect(percolationDimension([h(0, 1, [0, 0, 0])])).toBe(0);
    expect(percolationDimension([h(0, 1, [0, 0, 0]), h(1, 0, [1, 0, 0])])).toBe(1);
    expect(percolationDimension([h(0, 0, [1, 0, 0]), h(0, 0, [0, 1, 0])])).toBe(2);
    // Two diagonal translations in a plane still make a layer, not a framework.
    expect(percolationDimension([h(0, 0, [1, 1, 0]), h(0, 0, [1, -1, 0]), h(0, 0, [2, 0, 0])])).toBe(2);
    expect(percolationDimension([h(0, 1, [0, 0, 0]), h(1, 0, [1, 0, 0]), h(1, 0, [0, 1, 0]), h(0, 1, [0, 0, -1])])).toBe(3);
    expect(percolationDimension([])).toBe(0);
  });
});

describe("hop enumeration refuses structures that would make it explode", () => {
  const cubic = (a: number) => Lattice.fromParameters({ a, b: a, c: a, alpha: 90, beta: 90, gamma: 90 });

  it("names atoms closer than 0.5 Å — or a cell thinner than that — instead of searching for ever", () => {
    const t0 = performance.now();
    expect(() => enumerateHops(new Structure(cubic(0.35), [{ element: "Li", frac: [0, 0, 0] }]), "Li")).toThrowError(/cell is only 0\.350 Å thick/);
    const close = new Structure(cubic(5), [{ element: "Li", frac: [0, 0, 0] }, { element: "O", frac: [0.06, 0, 0] }]);
    expect(() => enumerateHops(close, "Li")).toThrowError(/sites 0 \(Li\) and 1 \(O\) are 0\.300 Å apart, closer than 0\.5 Å/);
    expect(performance.now() - t0).toBeLessThan(5_000); // a hang would time out the test instead
  });

  it("lets the split positions of a partly occupied site sit close together", () => {
    const split = new Structure(cubic(5), [
      { element: "Li", frac: [0, 0, 0], occupancy: 0.5 },
      { element: "Li", frac: [0.06, 0, 0], occupancy: 0.5 },
    ]);
    expect(() => split.assertSeparated("Import")).not.toThrow();
  });

  it("refuses a search that would find millions of hops, before searching", () => {
    const s = new Structure(cubic(0.6), [{ element: "Li", frac: [0, 0, 0] }]);
    expect(() => enumerateHops(s, "Li", { maxLength: 100 })).toThrowError(/about \d+ hops of Li within 100 Å \(at most 50000\)/);
    expect(enumerateHops(s, "Li").hops.length).toBeGreaterThan(0); // 0.6 Å apart: odd but allowed, and bounded
  });
});
