import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { analyze_cell, initSync } from "@spglib/moyo-wasm";
import { CrystalError } from "./errors.js";
import { atomicNumber } from "./elements.js";
import type { Vec3 } from "./lattice.js";
import type { Structure } from "./structure.js";

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
      translation: op.translation.map((t) => {
        const w = t - Math.floor(t + 1e-12);
        return Math.abs(w) < 1e-12 ? 0 : w;
      }) as Vec3,
    })),
    orbits: d.orbits,
    wyckoffs: d.wyckoffs,
  };
}
