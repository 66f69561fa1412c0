import { readFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { enumerateHops, readCif, readJsonStructures, symmetryOf, type Structure, type SymmetryInfo } from "../src/index.js";
import { primitiveReduction, siteLocator } from "../src/primitive.js";
import { moyoSymmetryOf } from "../src/symmetry.js";

const fixture = (name: string) => readCif(readFileSync(fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url)), "utf8"))[0]!;
const opKey = (op: SymmetryInfo["operations"][number]) => JSON.stringify([op.rotation, op.translation.map((x) => Math.round(x * 1e6) / 1e6 === 1 ? 0 : Math.round(x * 1e6) / 1e6)]);

/** Does every operation map the structure onto itself (each atom onto an atom of its element)? */
function mapsOntoItself(s: Structure, info: SymmetryInfo): boolean {
  const locate = siteLocator(s, 0.02);
  return info.operations.every((op) =>
    s.sites.every((x) => {
      const f = x.frac;
      const y = [0, 1, 2].map((i) => op.rotation[i]![0] * f[0] + op.rotation[i]![1] * f[1] + op.rotation[i]![2] * f[2] + op.translation[i]!);
      const hit = locate(y);
      return hit !== null && s.sites[hit.site]!.element === x.element;
    }),
  );
}

describe("symmetry of supercells through their primitive cell", () => {
  it("finds the pure translations and the primitive cell of a supercell, and nothing in a primitive one", () => {
    const r = primitiveReduction(fixture("NaCl.cif").supercell([2, 2, 2]), 0.01)!;
    expect(r.translations).toHaveLength(32); // 64 atoms, 2 in the primitive cell
    expect(r.primitive.length).toBe(2);
    expect(Math.abs(r.primitive.lattice.volume * 32 - fixture("NaCl.cif").supercell([2, 2, 2]).lattice.volume)).toBeLessThan(1e-6);
    expect(primitiveReduction(fixture("LiFePO4.cif"), 0.01)).toBeNull();
  });

  it.each([
    ["NaCl.cif", [2, 2, 2]],
    ["LiCoO2.cif", [2, 2, 2]],
    ["LiFePO4.cif", [2, 2, 1]],
    ["LiFePO4.cif", [1, 1, 3]],
    ["LiMn2O4.cif", [2, 1, 1]],
    ["LiMn2O4.cif", [2, 2, 2]],
    ["LiTi2PO43.cif", [1, 1, 1]],
    ["LiTi2PO43.cif", [2, 1, 1]],
    ["LiTi2PO43.cif", [1, 1, 3]],
  ] as const)("%s %j: the same space group, operations, orbits and Wyckoff letters as moyo on the whole cell", (name, m) => {
    const s = fixture(name).supercell([...m]);
    expect(s.length).toBeGreaterThanOrEqual(64); // the primitive route is taken
    const ours = symmetryOf(s);
    const direct = moyoSymmetryOf(s);
    expect([ours.number, ours.symbol]).toEqual([direct.number, direct.symbol]);
    expect(new Set(ours.operations.map(opKey))).toEqual(new Set(direct.operations.map(opKey)));
    expect(ours.orbits).toEqual(direct.orbits);
    expect(ours.wyckoffs).toEqual(direct.wyckoffs);
  });

  it("agrees with moyo on the whole cell for the real structures of 64+ atoms in a pre-training file (one with round-off)", () => {
    const file = fileURLToPath(new URL("../../../../shared/data/pretrain/gv.json.gz", import.meta.url));
    const large = readJsonStructures(JSON.parse(gunzipSync(readFileSync(file)).toString("utf8")), { file }).filter((s) => s.length >= 64 && s.sites.every((x) => (x.occupancy ?? 1) === 1));
    expect(large.length).toBeGreaterThan(20);
    for (const s of large) {
      const ours = symmetryOf(s);
      const direct = moyoSymmetryOf(s);
      expect(ours.number).toBe(direct.number);
      expect(new Set(ours.operations.map(opKey))).toEqual(new Set(direct.operations.map(opKey)));
      expect(ours.orbits).toEqual(direct.orbits);
      expect(ours.wyckoffs).toEqual(direct.wyckoffs);
    }
  }, 30_000);

  it("gives only operations that map the structure onto itself (moyo on a 1×1×3 spinel supercell does not)", () => {
    const s = fixture("LiMn2O4.cif").supercell([1, 1, 3]);
    const ours = symmetryOf(s);
    expect(ours.operations).toHaveLength(192); // 16 rotations that keep the a×a×3a cell, × 12 translations
    expect(mapsOntoItself(s, ours)).toBe(true);
    expect(mapsOntoItself(s, moyoSymmetryOf(s))).toBe(false);
  });

  it("enumerates the hops of a 1,000-atom rock-salt supercell (moyo on the whole cell took about 2 minutes)", () => {
    const r = enumerateHops(fixture("NaCl.cif").supercell([5, 5, 5]), "Na");
    expect(r.spaceGroup.number).toBe(225);
    expect(r.hops).toHaveLength(1);
    expect(r.hops[0]!.multiplicity).toBe(3000); // 500 Na × 12 neighbours / 2
  }, 20_000);
});
