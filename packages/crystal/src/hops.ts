import { CrystalError } from "./errors.js";
import type { ElementSymbol } from "./elements.js";
import type { Vec3 } from "./lattice.js";
import { segmentClearance } from "./clearance.js";
import { neighbourList } from "./neighbours.js";
import { Structure } from "./structure.js";
import { siteLocator } from "./primitive.js";
import { symmetryOf, type SymmetryOperation } from "./symmetry.js";

/** One symmetry-distinct hop of the working ion between two of its sites. */
export interface Hop {
  /** Site indices in the structure: the ion moves from `fromSite` to `toSite` displaced by `image` cells. */
  fromSite: number;
  toSite: number;
  image: Vec3;
  /** Fractional start and end (end = site `toSite` + image, so the straight segment is the hop). */
  from: Vec3;
  to: Vec3;
  /** Straight-line length, Å. */
  length: number;
  /** Symmetry-equivalent copies of this hop per cell (each counted once, not per direction). */
  multiplicity: number;
  /** Closest approach of any other atom to the straight path, Å (null when none lies within 4 Å of it). */
  minClearance: number | null;
  /** Percolation dimension (0–3) of the ion's site network using every hop up to this one's length. */
  dimensionality: number;
  /** Every directed copy of this hop in the cell (i → j + n), for percolation analyses by other criteria. */
  equivalents: { i: number; j: number; n: Vec3 }[];
}

export interface HopOptions {
  /** Longest hop considered, Å (default 5). */
  maxLength?: number;
  /** Symmetry tolerance, Å (default 0.01). */
  symprec?: number;
}

export interface HopAnalysis {
  ion: ElementSymbol;
  /** Longest hop considered, Å. */
  maxLength: number;
  spaceGroup: { number: number; symbol: string };
  /** Symmetry-distinct hops, shortest first. */
  hops: Hop[];
  /** Shortest hop length (Å) that makes the ion's network percolate in 1, 2 and 3 dimensions (null: not within maxLength). */
  percolation: { "1": number | null; "2": number | null; "3": number | null };
  /**
   * Shortest distance between two of the ion's sites, Å: the first hop's length, or — when no hop is within
   * maxLength — the nearest separation up to 3 × maxLength (null: none that close). Says why a list is empty.
   */
  nearestSeparation: number | null;
}

/** Most directed ion–ion hops one enumeration handles (a 100-ion cell at 5 Å has a few thousand). */
export const MAX_DIRECTED_HOPS = 50_000;

/** The working ion has no sites, or some other reason hops cannot be enumerated. */
export class HopError extends CrystalError {
  override name = "HopError";
}

interface DirectedHop {
  i: number;
  j: number;
  n: Vec3;
  d: number;
}

/**
 * Enumerate the candidate hops of `ion` between its sites in `structure`, up to `maxLength`, one per
 * symmetry-distinct hop (equivalence under the space group found by moyo, both directions of a hop being
 * the same hop), with multiplicity, closest approach of other atoms to the straight path, and the
 * percolation dimension reached with hops up to each length.
 */
export function enumerateHops(structure: Structure, ion: ElementSymbol, options: HopOptions = {}): HopAnalysis {
  const maxLength = options.maxLength ?? 5;
  if (!(maxLength > 0)) throw new HopError(`maximum hop length must be positive, got ${maxLength}`);
  structure.assertOrdered("Hop enumeration");
  structure.assertSeparated("Hop enumeration");
  const sites = structure.sites.flatMap((s, i) => (s.element === ion ? [i] : []));
  if (sites.length === 0) throw new HopError(`the structure has no ${ion} sites`);
  const sym = symmetryOf(structure, options.symprec ?? 0.01);

  // Refuse before searching: the ion–ion pairs expected within maxLength at this density.
  const expected = (sites.length * sites.length * (4 / 3) * Math.PI * maxLength ** 3) / structure.lattice.volume;
  if (expected > 2 * MAX_DIRECTED_HOPS) {
    throw new HopError(`about ${Math.round(expected)} hops of ${ion} within ${maxLength} Å (at most ${MAX_DIRECTED_HOPS}): use a shorter maximum hop length`);
  }
  // Every directed hop i → j + n between ion sites within maxLength.
  const nl = neighbourList(structure, maxLength, { centres: sites });
  const hops: DirectedHop[] = [];
  const key = (i: number, j: number, n: ArrayLike<number>) => `${i},${j},${n[0]},${n[1]},${n[2]}`;
  const index = new Map<string, number>();
  for (const i of sites) {
    for (let p = nl.offsets[i]!; p < nl.offsets[i + 1]!; p++) {
      const j = nl.index[p]!;
      if (structure.sites[j]!.element !== ion) continue;
      const n: Vec3 = [nl.image[3 * p]!, nl.image[3 * p + 1]!, nl.image[3 * p + 2]!];
      index.set(key(i, j, n), hops.length);
      hops.push({ i, j, n, d: nl.distance[p]! });
    }
  }
  // The symmetry and percolation analyses below grow faster than linearly with the hop count.
  if (hops.length > MAX_DIRECTED_HOPS) {
    throw new HopError(`${hops.length} hops of ${ion} within ${maxLength} Å (at most ${MAX_DIRECTED_HOPS}): use a shorter maximum hop length`);
  }

  // Union hops related by a symmetry operation or by reversal.
  const parent = hops.map((_, h) => h);
  const find = (h: number): number => {
    while (parent[h] !== h) h = parent[h] = parent[parent[h]!]!;
    return h;
  };
  const union = (a: number, b: number) => {
    const ra = find(a);
    const rb = find(b);
    if (ra !== rb) parent[Math.max(ra, rb)] = Math.min(ra, rb);
  };
  // Union each hop with its images under every operation and reversal. A hop already reached as the image of
  // another needs no operations of its own (its images are that hop's images): the work is classes × operations,
  // not hops × operations — a supercell has thousands of both (its translations are operations).
  const locate = siteLocator(structure, 0.1, sites); // which ion site (and lattice image) a point is, within 0.1 Å
  const seen = new Uint8Array(hops.length);
  const reverseOf = (h: DirectedHop) => index.get(key(h.j, h.i, [-h.n[0], -h.n[1], -h.n[2]]));
  hops.forEach((h, k) => {
    if (seen[k]) return;
    seen[k] = 1;
    const fi = structure.sites[h.i]!.frac;
    const fj = structure.sites[h.j]!.frac;
    for (const op of sym.operations) {
      const a = locate(apply(op, fi));
      const b = locate(apply(op, [fj[0] + h.n[0], fj[1] + h.n[1], fj[2] + h.n[2]]));
      if (!a || !b) throw new HopError("a symmetry operation does not map the ion sites onto themselves (symprec too large or too small?)");
      const other = index.get(key(a.site, b.site, [b.image[0] - a.image[0], b.image[1] - a.image[1], b.image[2] - a.image[2]]));
      if (other === undefined) continue;
      union(k, other);
      seen[other] = 1;
      const rev = reverseOf(hops[other]!);
      if (rev !== undefined) {
        union(k, rev);
        seen[rev] = 1;
      }
    }
  });

  const classes = new Map<number, number[]>();
  hops.forEach((_, k) => {
    const r = find(k);
    classes.set(r, [...(classes.get(r) ?? []), k]);
  });
  const reps = [...classes.entries()]
    .map(([r, members]) => ({ rep: hops[r]!, members }))
    .sort((x, y) => x.rep.d - y.rep.d || x.rep.i - y.rep.i || x.rep.j - y.rep.j);

  const out: Hop[] = [];
  const percolation: HopAnalysis["percolation"] = { "1": null, "2": null, "3": null };
  let reached = 0;
  reps.forEach(({ rep, members }, c) => {
    // Every hop of every class up to this length (classes of equal length count together). Adding hops never
    // lowers the dimension, so once the network percolates in 3D the rest need no analysis (large cells have
    // thousands of classes).
    const upTo = reached === 3 ? [] : reps.filter((r, k) => k <= c || r.rep.d <= rep.d + 1e-6).flatMap((r) => r.members.map((m) => hops[m]!));
    const dim = reached === 3 ? 3 : percolationDimension(upTo);
    reached = dim;
    for (const dd of [1, 2, 3] as const) if (dim >= dd && percolation[dd] === null) percolation[dd] = Number(rep.d.toFixed(6));
    const fi = structure.sites[rep.i]!.frac;
    const fj = structure.sites[rep.j]!.frac;
    const to: Vec3 = [fj[0] + rep.n[0], fj[1] + rep.n[1], fj[2] + rep.n[2]];
    out.push({
      fromSite: rep.i,
      toSite: rep.j,
      image: rep.n,
      from: [...fi] as Vec3,
      to,
      length: rep.d,
      multiplicity: members.length / 2,
      minClearance: clearance(structure, rep),
      dimensionality: dim,
      equivalents: members.map((m) => ({ i: hops[m]!.i, j: hops[m]!.j, n: hops[m]!.n })),
    });
  });
  return { ion, maxLength, spaceGroup: { number: sym.number, symbol: sym.symbol }, hops: out, percolation, nearestSeparation: out[0]?.length ?? nearestSeparation(structure, ion, sites, 3 * maxLength) };
}

/** Shortest distance between two sites of `ion` (periodic images included) up to `cutoff` Å, else null. */
function nearestSeparation(structure: Structure, ion: ElementSymbol, sites: number[], cutoff: number): number | null {
  const nl = neighbourList(structure, cutoff, { centres: sites });
  let best = Infinity;
  for (const i of sites) {
    for (let p = nl.offsets[i]!; p < nl.offsets[i + 1]!; p++) {
      if (structure.sites[nl.index[p]!]!.element === ion && nl.distance[p]! < best) best = nl.distance[p]!;
    }
  }
  return Number.isFinite(best) ? best : null;
}

/** Why an ion has no hops within `maxLength`, in words, e.g. for an import's notice or a CLI message. */
export function noHopsReason(analysis: HopAnalysis): string {
  const { maxLength, nearestSeparation: d } = analysis;
  return (
    `no ${analysis.ion} hops up to ${formatLength(maxLength, 3)} Å between its ${analysis.ion} sites: ` +
    (d === null ? `no two are within ${formatLength(3 * maxLength, 3)} Å` : `the nearest two are ${formatLength(d, 2)} Å apart`) +
    ` (hops through vacant sites must be given as pathways: endpoint pairs or path images)`
  );
}

/**
 * A length in Å for a message, trailing zeros dropped: `decimals` places (3 for a length the user gave, so 7.125
 * reads back as written; 2 for a measured one), more below 1 Å so 3 significant digits remain (0.0003, not 0).
 * Never the float's full expansion (0.00030000000000000003).
 */
function formatLength(x: number, decimals: number): string {
  if (!Number.isFinite(x) || x === 0) return String(x);
  const places = Math.min(100, Math.max(decimals, 2 - Math.floor(Math.log10(Math.abs(x)))));
  const s = x.toFixed(places);
  return s.includes(".") ? s.replace(/0+$/, "").replace(/\.$/, "") : s;
}

function apply(op: SymmetryOperation, f: ArrayLike<number>): Vec3 {
  const R = op.rotation;
  return [0, 1, 2].map((r) => R[r]![0]! * f[0]! + R[r]![1]! * f[1]! + R[r]![2]! * f[2]! + op.translation[r]!) as Vec3;
}

/** Closest approach of any atom other than the two endpoints to the straight segment of a hop, Å. */
function clearance(structure: Structure, h: DirectedHop): number | null {
  const fi = structure.sites[h.i]!.frac;
  const fj = structure.sites[h.j]!.frac;
  const to: Vec3 = [fj[0] + h.n[0], fj[1] + h.n[1], fj[2] + h.n[2]];
  const half = structure.lattice.toCartesian([0, 1, 2].map((a) => (to[a]! - fi[a]!) / 2));
  // The endpoints themselves sit at ∓half from the midpoint.
  return segmentClearance(structure, fi, to, (k, v) => (k === h.i && near(v, half, -1)) || (k === h.j && near(v, half, 1)));
}

function near(v: ArrayLike<number>, half: ArrayLike<number>, sign: number): boolean {
  return Math.hypot(v[0]! - sign * half[0]!, v[1]! - sign * half[1]!, v[2]! - sign * half[2]!) < 1e-6;
}

/**
 * Percolation dimension of a periodic network of sites joined by hops (i → j + n): 0 when no connected
 * component wraps around the crystal, else the largest rank (1–3) of the lattice translations its cycles span.
 */
export function percolationDimension(hops: readonly { i: number; j: number; n: ArrayLike<number> }[]): number {
  const adj = new Map<number, { j: number; n: ArrayLike<number> }[]>();
  for (const h of hops) {
    adj.set(h.i, [...(adj.get(h.i) ?? []), { j: h.j, n: h.n }]);
    adj.set(h.j, [...(adj.get(h.j) ?? []), { j: h.i, n: [-h.n[0]!, -h.n[1]!, -h.n[2]!] }]);
  }
  const offset = new Map<number, Vec3>();
  let best = 0;
  for (const start of adj.keys()) {
    if (offset.has(start)) continue;
    offset.set(start, [0, 0, 0]);
    const basis: Vec3[] = [];
    const queue = [start];
    while (queue.length > 0) {
      const i = queue.pop()!;
      const oi = offset.get(i)!;
      for (const { j, n } of adj.get(i)!) {
        const oj: Vec3 = [oi[0] + n[0]!, oi[1] + n[1]!, oi[2] + n[2]!];
        const seen = offset.get(j);
        if (!seen) {
          offset.set(j, oj);
          queue.push(j);
        } else {
          const cycle: Vec3 = [oj[0] - seen[0], oj[1] - seen[1], oj[2] - seen[2]];
          if (cycle.some((x) => x !== 0)) addToBasis(basis, cycle);
        }
      }
    }
    best = Math.max(best, basis.length);
    if (best === 3) break;
  }
  return best;
}

/** Keep `basis` a set of linearly independent integer vectors (Gaussian elimination in floating point). */
function addToBasis(basis: Vec3[], v: Vec3): void {
  if (basis.length === 3) return;
  // Rank of the stacked vectors via elimination (on a copy).
  const a = [...basis, v].map((r) => [...r]);
  let rank = 0;
  for (let col = 0; col < 3 && rank < a.length; col++) {
    let piv = -1;
    for (let r = rank; r < a.length; r++) if (Math.abs(a[r]![col]!) > 1e-9 && (piv < 0 || Math.abs(a[r]![col]!) > Math.abs(a[piv]![col]!))) piv = r;
    if (piv < 0) continue;
    [a[rank], a[piv]] = [a[piv]!, a[rank]!];
    for (let r = 0; r < a.length; r++) {
      if (r === rank) continue;
      const f = a[r]![col]! / a[rank]![col]!;
      for (let c = 0; c < 3; c++) a[r]![c]! -= f * a[rank]![c]!;
    }
    rank++;
  }
  if (rank > basis.length) basis.push(v);
}
