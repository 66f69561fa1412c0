import type { Vec3 } from "./lattice.js";
import { neighbourList } from "./neighbours.js";
import { Structure } from "./structure.js";

/**
 * Closest approach, in Å, of any atom of `structure` (any periodic copy) to the straight segment between the
 * fractional points `from` and `to`; null when nothing comes within `within` Å. `skip(site, v)` leaves out
 * the atoms that make up the move itself; `v` is the copy's Cartesian position relative to the segment's
 * midpoint.
 */
export function segmentClearance(
  structure: Structure,
  from: ArrayLike<number>,
  to: ArrayLike<number>,
  skip: (site: number, v: Vec3) => boolean,
  within = 4,
): number | null {
  const mid: Vec3 = [0, 1, 2].map((a) => (from[a]! + to[a]!) / 2) as Vec3;
  const half = structure.lattice.toCartesian([0, 1, 2].map((a) => (to[a]! - from[a]!) / 2));
  const hh = half[0] * half[0] + half[1] * half[1] + half[2] * half[2];
  // A probe at the midpoint finds every atom copy near the segment in one neighbour search.
  const probe = new Structure(structure.lattice, [...structure.sites, { element: "H", frac: mid }]);
  const p = structure.length;
  const nl = neighbourList(probe, Math.sqrt(hh) + within, { centres: [p] });
  let best: number | null = null;
  for (let e = nl.offsets[p]!; e < nl.offsets[p + 1]!; e++) {
    const k = nl.index[e]!;
    if (k === p) continue;
    const v: Vec3 = [nl.vector[3 * e]!, nl.vector[3 * e + 1]!, nl.vector[3 * e + 2]!];
    if (skip(k, v)) continue;
    // Distance from v to the segment [−half, +half].
    const t = hh > 0 ? Math.max(-1, Math.min(1, (v[0] * half[0] + v[1] * half[1] + v[2] * half[2]) / hh)) : 0;
    const dist = Math.hypot(v[0] - t * half[0], v[1] - t * half[1], v[2] - t * half[2]);
    if (best === null || dist < best) best = dist;
  }
  return best === null || best > within ? null : best;
}
