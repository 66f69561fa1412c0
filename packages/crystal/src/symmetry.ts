import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { analyze_cell, initSync } from "@spglib/moyo-wasm";
import { CrystalError } from "./errors.js";
import { atomicNumber } from "./elements.js";
import { Lattice, matmul, type Mat3, type Vec3 } from "./lattice.js";
import { primitiveReduction, type PrimitiveReduction } from "./primitive.js";
import { wrap01, type Structure } from "./structure.js";

/** A symmetry operation x' = R·x + t on fractional coordinates of the structure's own cell. */
export interface SymmetryOperation {
  rotation: [Vec3, Vec3, Vec3];
  translation: Vec3;
}

export interface SymmetryInfo {
  /** International Tables space-group number, 1–230. */
  number: number;
  /** Hermann–Mauguin symbol, e.g. "R -3 m". */
  symbol: string;
  /** Every operation of the space group in the input cell (pure lattice translations of a supercell included). */
  operations: SymmetryOperation[];
  /** orbits[i] = lowest index of a site symmetry-equivalent to site i. */
  orbits: number[];
  /** Wyckoff letter of each site. */
  wyckoffs: string[];
}

/** Space-group detection failed (overlapping atoms, a tolerance that cannot work, …). */
export class SymmetryError extends CrystalError {
  override name = "SymmetryError";
}

let ready = false;
function init(): void {
  if (ready) return;
  // The package is built for browsers; in Node its wasm is loaded synchronously from disk.
  const require = createRequire(import.meta.url);
  const wasm = require.resolve("@spglib/moyo-wasm/moyo_wasm_bg.wasm");
  initSync({ module: readFileSync(wasm) });
  ready = true;
}

/**
 * Space group and symmetry operations of an ordered structure, found by moyo (the spglib team's Rust
 * successor to spglib, compiled to WebAssembly: @spglib/moyo-wasm). `symprec` is a distance in Å.
 * moyo returns each rotation column by column; here rotation[i][j] multiplies x_j in row i.
 */
export function symmetryOf(structure: Structure, symprec = 0.01): SymmetryInfo {
  structure.assertOrdered("Symmetry analysis");
  // A large supercell is analysed through its primitive cell (moyo's cost grows as operations × atoms).
  const reduced = structure.length >= PRIMITIVE_FIRST ? primitiveReduction(structure, symprec) : null;
  return reduced ? liftToSupercell(moyo(reduced.primitive, symprec), reduced) : moyo(structure, symprec);
}

/** From this many atoms, a structure is checked for pure translations before moyo runs. */
const PRIMITIVE_FIRST = 64;

/**
 * The supercell's symmetry from its primitive cell's: every primitive operation whose rotation is an integer
 * matrix in the supercell's basis (those keep the supercell's lattice, as moyo reports for a supercell),
 * combined with every pure translation; orbits and Wyckoff letters through each site's primitive site.
 * (moyo on the supercell itself can do worse: for a 1×1×3 spinel supercell, 48 of its 240 operations do not map
 * the structure onto itself.)
 */
function liftToSupercell(p: SymmetryInfo, r: PrimitiveReduction): SymmetryInfo {
  // Column vectors: x_p = A x_s with A = (basisᵀ)⁻¹, so R_s = Bᵀ R_p (Bᵀ)⁻¹ and t_s = Bᵀ t_p.
  const bt = [0, 1, 2].map((i) => [0, 1, 2].map((j) => r.basis[j]![i]!)) as Mat3;
  const btInv = new Lattice(bt).inverse;
  const point: SymmetryOperation[] = [];
  for (const op of p.operations) {
    const rs = matmul(matmul(bt, op.rotation), btInv);
    if (rs.some((row) => row.some((x) => Math.abs(x - Math.round(x)) > 1e-6))) continue;
    const t = [0, 1, 2].map((i) => bt[i]![0]! * op.translation[0] + bt[i]![1]! * op.translation[1] + bt[i]![2]! * op.translation[2]) as Vec3;
    point.push({ rotation: rs.map((row) => row.map((x) => Math.round(x) + 0)) as [Vec3, Vec3, Vec3], translation: t });
  }
  const operations: SymmetryOperation[] = [];
  for (const op of point) {
    for (const tau of r.translations) {
      operations.push({ rotation: op.rotation, translation: op.translation.map((x, a) => clean(x + tau[a]!)) as Vec3 });
    }
  }
  // Orbits as moyo gives them for a supercell: those of the whole space group, i.e. of each site's primitive site.
  const first = new Map<number, number>();
  const orbits = r.siteOf.map((q, i) => {
    const key = p.orbits[q]!;
    if (!first.has(key)) first.set(key, i);
    return first.get(key)!;
  });
  return { number: p.number, symbol: p.symbol, operations, orbits, wyckoffs: r.siteOf.map((q) => p.wyckoffs[q]!) };
}

/** A translation component in [0, 1), with round-off around 0 and 1 made exactly 0. */
const clean = (t: number): number => wrap01(t, 1e-12);

function moyo(structure: Structure, symprec: number): SymmetryInfo {
  init();
  const cell = {
    lattice: { basis: structure.lattice.matrix.flat() },
    positions: structure.sites.map((s) => [...s.frac]),
    numbers: structure.sites.map((s) => atomicNumber(s.element)!),
  };
  let d: { number: number; hm_symbol: string; operations: { rotation: number[]; translation: number[] }[]; orbits: number[]; wyckoffs: string[] };
  try {
    d = analyze_cell(JSON.stringify(cell), symprec, "Standard") as typeof d;
  } catch (e) {
    // moyo throws plain strings.
    throw new SymmetryError(`space-group detection failed: ${typeof e === "string" ? e : (e as Error).message}`);
  }
  return {
    number: d.number,
    symbol: d.hm_symbol,
    operations: d.operations.map((op) => ({
      rotation: [0, 1, 2].map((i) => [0, 1, 2].map((j) => op.rotation[i + 3 * j]!)) as [Vec3, Vec3, Vec3],
      translation: op.translation.map(clean) as Vec3,
    })),
    orbits: d.orbits,
    wyckoffs: d.wyckoffs,
  };
}

/** moyo on the cell as given, without the primitive-cell route (what symmetryOf is checked against in tests). */
export function moyoSymmetryOf(structure: Structure, symprec = 0.01): SymmetryInfo {
  structure.assertOrdered("Symmetry analysis");
  return moyo(structure, symprec);
}
