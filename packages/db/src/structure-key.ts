// The tolerant identity of a stored structure (Material.structureKey). The exact content hash covers site labels,
// site order and every float digit, so the same crystal read from a CIF (labels, 0.6666666666666666) and from a
// POSCAR (no labels, 0.6666666667, another site order) hashed differently and was stored twice.
import { createHash } from "node:crypto";
import type { PrismaClient } from "./generated/prisma/client.js";
import type { StoredStructure } from "./repository.js";

/**
 * Grid steps the key rounds to. Two structures whose values round to the same grid points are one material: values
 * closer than a step usually do, but two values either side of a grid cell's edge do not (a hash cannot be fully
 * tolerant). The steps are powers of two because the values files hold are short decimals (2.8156, 0.2396, 90.125)
 * or simple fractions (1/3, 1/4): neither ever lies on the edge of a binary grid cell, where float noise of the
 * last digit would split them, while on a decimal grid of 1e-3 a CIF's "5.4305" is exactly on an edge.
 */
export const STRUCTURE_KEY_STEPS = {
  /** Fractional coordinates: 2⁻¹³ ≈ 1.2e-4. */
  fractional: 2 ** -13,
  /** Lattice lengths a, b, c: 2⁻¹⁰ Å ≈ 1.0e-3 Å. */
  length: 2 ** -10,
  /** Lattice angles α, β, γ: 2⁻⁷° ≈ 0.008° (1.4e-4 rad, i.e. ~1e-3 Å across a 7 Å cell). */
  angle: 2 ** -7,
  /** Site occupancy: 2⁻⁸ ≈ 0.004 (a CIF's 0.333 and 0.3333 agree). */
  occupancy: 2 ** -8,
} as const;

/** The structureKey of a row whose structure JSON is not a lattice and sites (never written by IonRank itself). */
export const UNKEYABLE = "unkeyable";

const FRAC_CELLS = 1 / STRUCTURE_KEY_STEPS.fractional;

const norm = (v: readonly number[]) => Math.hypot(v[0]!, v[1]!, v[2]!);
const dot = (u: readonly number[], v: readonly number[]) => u[0]! * v[0]! + u[1]! * v[1]! + u[2]! * v[2]!;
const angle = (u: readonly number[], v: readonly number[]) => (Math.acos(Math.min(1, Math.max(-1, dot(u, v) / (norm(u) * norm(v))))) * 180) / Math.PI;

/**
 * SHA-256 (hex) of the structure's canonical form: lattice parameters a, b, c, α, β, γ (so the cell's orientation in
 * Cartesian space does not matter, as a CIF has none) and its handedness; for each site the species, the occupancy
 * and the fractional coordinates rounded to the grid and then wrapped into [0, 1) (rounding first, so 0.99999999,
 * -1e-9 and 0 coincide); sites sorted; labels and any other per-site metadata ignored. The same origin and the same
 * cell setting are required: a shifted origin or another choice of basis vectors (a supercell, a primitive cell)
 * is another key — recognising those needs a symmetry-aware comparison, not a hash.
 */
export function structureKey(s: Pick<StoredStructure, "lattice" | "sites">): string {
  const [a, b, c] = s.lattice as [[number, number, number], [number, number, number], [number, number, number]];
  const round = (x: number, step: number) => Math.round(x / step);
  const lattice = [
    round(norm(a), STRUCTURE_KEY_STEPS.length),
    round(norm(b), STRUCTURE_KEY_STEPS.length),
    round(norm(c), STRUCTURE_KEY_STEPS.length),
    round(angle(b, c), STRUCTURE_KEY_STEPS.angle),
    round(angle(a, c), STRUCTURE_KEY_STEPS.angle),
    round(angle(a, b), STRUCTURE_KEY_STEPS.angle),
    // A mirrored cell has the same parameters: for a chiral structure that is the other enantiomer.
    Math.sign(dot(a, [b[1]! * c[2]! - b[2]! * c[1]!, b[2]! * c[0]! - b[0]! * c[2]!, b[0]! * c[1]! - b[1]! * c[0]!])),
  ];
  const sites = s.sites
    .map((site): [string, number, number, number, number] => {
      // Round, then wrap: a coordinate that rounds up to 1 becomes 0.
      const [x, y, z] = site.frac.map((f) => (((round(f, STRUCTURE_KEY_STEPS.fractional) % FRAC_CELLS) + FRAC_CELLS) % FRAC_CELLS)) as [number, number, number];
      const occupancy = typeof site.occupancy === "number" ? site.occupancy : 1;
      return [site.species, x, y, z, round(occupancy, STRUCTURE_KEY_STEPS.occupancy)];
    })
    .sort((p, q) => (p[0] < q[0] ? -1 : p[0] > q[0] ? 1 : p[1] - q[1] || p[2] - q[2] || p[3] - q[3] || p[4] - q[4]));
  // Integers and symbols only: the text does not depend on how floats print. "v" versions the canonical form.
  return createHash("sha256").update(JSON.stringify({ v: 1, lattice, sites })).digest("hex");
}

const isVec3 = (v: unknown): v is [number, number, number] => Array.isArray(v) && v.length === 3 && v.every((x) => typeof x === "number" && Number.isFinite(x));

/** The key of a Material.structure text as stored, or UNKEYABLE when it is not a lattice and sites. */
export function structureKeyOfJson(text: string): string {
  let s: unknown;
  try {
    s = JSON.parse(text);
  } catch {
    return UNKEYABLE;
  }
  const { lattice, sites } = (s ?? {}) as { lattice?: unknown; sites?: unknown };
  if (!Array.isArray(lattice) || lattice.length !== 3 || !lattice.every(isVec3)) return UNKEYABLE;
  if (!Array.isArray(sites) || !sites.every((x: { species?: unknown; frac?: unknown } | null) => typeof x?.species === "string" && isVec3(x.frac))) return UNKEYABLE;
  return structureKey({ lattice, sites } as StoredStructure);
}

/** Rows keyed per transaction by backfillStructureKeys. */
const BACKFILL_BATCH = 200;

/**
 * Computes structureKey for every material that has none — rows stored before the column existed (SQL cannot hash
 * on SQLite, so the migration leaves them NULL) and rows an older IonRank wrote since. openDatabase() runs it. Safe to
 * run from several processes at once (a row is only set while still NULL, and to the same value), and resumable:
 * each batch commits by itself. Returns how many rows it keyed.
 */
export async function backfillStructureKeys(prisma: PrismaClient): Promise<number> {
  let keyed = 0;
  for (;;) {
    const rows = await prisma.material.findMany({ where: { structureKey: null }, select: { id: true, structure: true }, orderBy: { id: "asc" }, take: BACKFILL_BATCH });
    if (rows.length === 0) return keyed;
    await prisma.$transaction(rows.map((r) => prisma.material.updateMany({ where: { id: r.id, structureKey: null }, data: { structureKey: structureKeyOfJson(r.structure) } })));
    keyed += rows.length;
  }
}
