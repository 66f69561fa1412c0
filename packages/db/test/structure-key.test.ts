import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { readCif, readPoscar } from "@ionrank/crystal";
import { contentHash, storedStructure, STRUCTURE_KEY_STEPS, structureKey, structureKeyOfJson, UNKEYABLE, type StoredStructure } from "../src/index.js";
import { licl, poscarOfCif } from "./helpers.js";

const FIX = fileURLToPath(new URL("../../crystal/test/fixtures/", import.meta.url));
const cif = readFileSync(path.join(FIX, "LiCoO2.cif"), "utf8");

/** licl()'s structure with its sites and lattice changed by `edit`. */
function variant(edit: (s: StoredStructure) => void): StoredStructure {
  const s = structuredClone(licl(0.25).structure);
  edit(s);
  return s;
}

describe("structureKey", () => {
  it("is one for a crystal read from a CIF and from POSCARs of it (site order, labels, digits, orientation), while the content hashes differ", () => {
    const fromCif = storedStructure(readCif(cif)[0]!);
    const fromFixture = storedStructure(readPoscar(readFileSync(path.join(FIX, "LiCoO2.POSCAR"), "utf8")));
    const fromOther = storedStructure(readPoscar(poscarOfCif(cif)));
    expect(fromCif.sites[0]!.label).toBe("Li1");
    expect(new Set([fromCif, fromFixture, fromOther].map((s) => contentHash(s))).size).toBe(3);
    expect(structureKey(fromFixture)).toBe(structureKey(fromCif));
    expect(structureKey(fromOther)).toBe(structureKey(fromCif));
    expect(structureKey(fromCif)).toMatch(/^[0-9a-f]{64}$/);
  });

  it("rounds coordinates, then wraps them: 0.99999999, -1e-9 and 0 are one value; 1.2e-4 apart are two", () => {
    const key = structureKey(licl(0.25).structure);
    expect(structureKey(variant((s) => (s.sites[1]!.frac = [0.99999999, -1e-9, 0.5])))).toBe(structureKey(variant((s) => (s.sites[1]!.frac = [0, 0, 0.5]))));
    expect(structureKey(variant((s) => (s.sites[0]!.frac = [1.25, 3e-6, -1e-7])))).toBe(key);
    expect(structureKey(variant((s) => (s.sites[0]!.frac = [0.25 + 1.5 * STRUCTURE_KEY_STEPS.fractional, 0, 0])))).not.toBe(key);
    expect(structureKey(variant((s) => (s.sites[0]!.species = "Na")))).not.toBe(key);
  });

  it("keeps lattice lengths apart from 1e-3 Å on, and short decimals off the rounding edges (5.4305 Å with float noise is one length)", () => {
    const withA = (a: number) => variant((s) => (s.lattice = [[a, 0, 0], [0, 5, 0], [0, 0, 6]]));
    expect(structureKey(withA(5.4305 + 1e-12))).toBe(structureKey(withA(5.4305 - 1e-12)));
    expect(structureKey(withA(2.8156))).toBe(structureKey(withA(2.8156 * (1 + 1e-9))));
    expect(structureKey(withA(2.8156))).not.toBe(structureKey(withA(2.8156 + 2e-3)));
    // The cell's orientation does not matter; its handedness does (the mirror image of a chiral crystal).
    expect(structureKey(variant((s) => (s.lattice = [[0, 5.4305, 0], [-5, 0, 0], [0, 0, 6]])))).toBe(structureKey(withA(5.4305)));
    expect(structureKey(variant((s) => (s.lattice = [[5.4305, 0, 0], [0, 5, 0], [0, 0, -6]])))).not.toBe(structureKey(withA(5.4305)));
  });

  it("ignores labels and site order; keeps occupancy (to 2⁻⁸) and the origin", () => {
    const key = structureKey(licl(0.25).structure);
    expect(structureKey(variant((s) => (s.sites = [{ ...s.sites[1]!, label: "Cl1" }, { ...s.sites[0]!, label: "Li7", magmom: 1 }])))).toBe(key);
    expect(structureKey(variant((s) => (s.sites[1]!.occupancy = 0.5)))).not.toBe(key);
    expect(structureKey(variant((s) => (s.sites[1]!.occupancy = 0.333)))).toBe(structureKey(variant((s) => (s.sites[1]!.occupancy = 0.3333))));
    // Same origin and cell setting are required: a shifted origin is another key.
    expect(structureKey(variant((s) => s.sites.forEach((x) => (x.frac = x.frac.map((f) => f + 0.1) as [number, number, number]))))).not.toBe(key);
  });

  it("of stored JSON: the same key, or UNKEYABLE for text that is no lattice and sites", () => {
    const s = licl(0.25).structure;
    expect(structureKeyOfJson(JSON.stringify(s))).toBe(structureKey(s));
    for (const bad of ["{}", "not json", "null", '{"lattice":[[1,0,0],[0,1,0]],"sites":[]}', '{"lattice":[[1,0,0],[0,1,0],[0,0,1]],"sites":[{"species":"Li"}]}']) {
      expect(structureKeyOfJson(bad)).toBe(UNKEYABLE);
    }
  });
});
