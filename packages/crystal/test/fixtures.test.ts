import { describe, expect, it } from "vitest";
import { Composition, neighbourList, readStructures, type Structure } from "../src/index.js";
import { fixture } from "./helpers.js";
import expected from "./fixtures/expected.json" with { type: "json" };

interface Expected {
  file: string;
  block: string;
  natoms: number;
  formula: string;
  reducedFormula: string;
  a: number;
  b: number;
  c: number;
  alpha: number;
  beta: number;
  gamma: number;
  volume: number;
  firstSite: Record<string, { frac: number[]; occu: number }>;
  neighbors: Record<string, number[]>;
}

const SPECIES: Record<string, string[]> = { "NaCl_vasp4.POSCAR": ["Na", "Cl"] };

function load(file: string): Structure[] {
  return readStructures(fixture(file), { file, ...(SPECIES[file] ? { species: SPECIES[file] } : {}) });
}

/** Element amounts of a formula string, with bracketed groups multiplied out. */
function amounts(formula: string): Record<string, number> {
  let f = formula;
  for (let g = /\(([^()]*)\)([\d.]*)/.exec(f); g; g = /\(([^()]*)\)([\d.]*)/.exec(f)) {
    const k = Number(g[2] || 1);
    f = f.replace(g[0], g[1]!.replace(/([A-Z][a-z]?)([\d.]*)/g, (_, el: string, n: string) => el + Number(n || 1) * k));
  }
  const out: Record<string, number> = {};
  for (const m of f.matchAll(/([A-Z][a-z]?)([\d.]*)/g)) out[m[1]!] = (out[m[1]!] ?? 0) + Number(m[2] || 1);
  return out;
}

/** Index of the site of `element` at fractional position `frac` (modulo lattice translations). */
function siteAt(s: Structure, element: string, frac: number[]): number {
  const i = s.sites.findIndex(
    (site) => site.element === element && site.frac.every((x, k) => Math.abs(((x - frac[k]! + 0.5) % 1 + 1) % 1 - 0.5) < 2e-4),
  );
  if (i < 0) throw new Error(`no ${element} site at ${frac.join(", ")}`);
  return i;
}

describe("structures read from fixtures agree with pymatgen", () => {
  const byFile = new Map<string, Expected[]>();
  for (const e of expected as unknown as Expected[]) byFile.set(e.file, [...(byFile.get(e.file) ?? []), e]);

  for (const [file, blocks] of byFile) {
    it(`${file}: ${blocks.map((b) => b.block).join(", ")}`, () => {
      const structures = load(file);
      expect(structures).toHaveLength(blocks.length);
      blocks.forEach((exp, k) => {
        const s = structures[k]!;
        const comp = Composition.of(s);
        expect(s.length).toBe(exp.natoms);
        expect(amounts(comp.formula)).toEqual(amounts(exp.formula));
        // pymatgen writes polyanions in brackets ("LiTi2(PO4)3"); compare the reduced amounts instead.
        expect(amounts(comp.reducedFormula)).toEqual(amounts(exp.reducedFormula));
        const p = s.lattice.parameters;
        for (const key of ["a", "b", "c", "alpha", "beta", "gamma"] as const) expect(p[key]).toBeCloseTo(exp[key], 3);
        expect(s.lattice.volume).toBeCloseTo(exp.volume, 2);
        const nl = neighbourList(s, 3.2);
        for (const [el, site] of Object.entries(exp.firstSite)) {
          const i = siteAt(s, el, site.frac);
          expect(s.sites[i]!.occupancy ?? 1).toBeCloseTo(site.occu, 6);
          const d = Array.from(nl.distance.subarray(nl.offsets[i]!, nl.offsets[i + 1]!));
          const want = exp.neighbors[el]!;
          expect(d).toHaveLength(want.length);
          d.forEach((x, q) => expect(Math.abs(x - want[q]!)).toBeLessThan(1.5e-4));
        }
      });
    });
  }
});

describe("known chemistry", () => {
  const shell = (s: Structure, element: string, cutoff: number) => {
    const nl = neighbourList(s, cutoff);
    const i = s.sites.findIndex((x) => x.element === element);
    return Array.from(nl.distance.subarray(nl.offsets[i]!, nl.offsets[i + 1]!));
  };

  it("rock-salt NaCl: 8 sites, Na octahedral at a/2", () => {
    const [s] = load("NaCl.cif");
    expect(s!.length).toBe(8);
    const d = shell(s!, "Na", 3.0);
    expect(d).toHaveLength(6);
    for (const x of d) expect(x).toBeCloseTo(5.6402 / 2, 4);
  });

  it("LiCoO2 (R-3m): 12 sites, CoO6 octahedra at 1.92 Å, Li–Li in-plane a = 2.8156 Å", () => {
    const [s] = load("LiCoO2.cif");
    expect(Composition.of(s!).reducedFormula).toBe("LiCoO2");
    expect(Composition.of(s!).anonymousFormula).toBe("ABC2");
    const co = shell(s!, "Co", 2.2);
    expect(co).toHaveLength(6);
    for (const x of co) expect(x).toBeCloseTo(1.9218, 3);
    const nl = neighbourList(s!, 3.0);
    const li = s!.sites.findIndex((x) => x.element === "Li");
    const liLi = [...Array(nl.offsets[li + 1]! - nl.offsets[li]!).keys()]
      .map((q) => nl.offsets[li]! + q)
      .filter((p) => s!.sites[nl.index[p]!]!.element === "Li");
    expect(liLi).toHaveLength(6);
    for (const p of liLi) expect(nl.distance[p]).toBeCloseTo(2.8156, 4);
  });

  it("olivine LiFePO4 (Pnma): 28 sites, PO4 tetrahedra, FeO6 octahedra", () => {
    const [s] = load("LiFePO4.cif");
    expect(s!.length).toBe(28);
    expect(Composition.of(s!).reducedFormula).toBe("LiFePO4");
    expect(shell(s!, "P", 1.7)).toHaveLength(4);
    expect(shell(s!, "Fe", 2.4)).toHaveLength(6);
    expect(s!.lattice.volume).toBeCloseTo(10.332 * 6.01 * 4.692, 1);
  });

  it("spinel LiMn2O4 (Fd-3m): 56 sites, tetrahedral Li and octahedral Mn", () => {
    const [s] = load("LiMn2O4.cif");
    expect(s!.length).toBe(56);
    expect(Composition.of(s!).formula).toBe("Li8Mn16O32");
    expect(shell(s!, "Li", 2.2)).toHaveLength(4);
    expect(shell(s!, "Mn", 2.2)).toHaveLength(6);
  });

  it("NASICON LiTi2(PO4)3 (R-3c): 108 sites", () => {
    const [s] = load("LiTi2PO43.cif");
    expect(s!.length).toBe(108);
    expect(Composition.of(s!).reducedFormula).toBe("LiTi2P3O12");
  });

  it("garnet LLZO keeps partial occupancy and refuses order-dependent operations", () => {
    const [s] = load("Li7La3Zr2O12.cif");
    expect(s!.isOrdered).toBe(false);
    expect(s!.partiallyOccupiedSites.length).toBe(24 + 96);
    expect(() => s!.assertOrdered("Building a graph")).toThrowError(/Building a graph needs an ordered structure.*partially occupied/);
  });

  it("every fixture reads as the same structure from CIF, POSCAR (Direct, Cartesian with volume scale)", () => {
    const [cif] = load("LiCoO2.cif");
    const [direct] = load("LiCoO2.POSCAR");
    const [cart] = load("LiCoO2_cart_sd.POSCAR");
    for (const s of [direct!, cart!]) {
      expect(s.lattice.volume).toBeCloseTo(cif!.lattice.volume, 3);
      expect(Composition.of(s).formula).toBe("Li3Co3O6");
      const a = neighbourList(s, 3.2);
      const b = neighbourList(cif!, 3.2);
      expect(Array.from(a.distance).sort().map((x) => x.toFixed(4))).toEqual(Array.from(b.distance).sort().map((x) => x.toFixed(4)));
    }
  });
});
