import { DisorderedStructureError, InvalidStructureError, quoteValue } from "./errors.js";
import { isElement, type ElementSymbol } from "./elements.js";
import { Lattice, type Mat3, type Vec3 } from "./lattice.js";
import { neighbourList } from "./neighbours.js";

/** Closest two atoms may be, Å (shorter than any bond, H–H in H₂ being 0.74 Å). */
export const MIN_SEPARATION = 0.5;

/** One crystallographic site: an element at a fractional position, possibly partially occupied. */
export interface Site {
  element: ElementSymbol;
  /** Fractional coordinates along the lattice vectors (not wrapped into [0, 1)). */
  frac: Vec3;
  /** Fraction of the site the element occupies, 0 < occupancy ≤ 1. Defaults to 1. */
  occupancy?: number;
  /** Crystallographic label ("Li1", "O2a"), when the source had one. */
  label?: string;
}

/** Occupancies within this of 1 count as full (CIFs print 0.9999 for 1). */
export const OCCUPANCY_TOLERANCE = 1e-3;

/** Occupancies printed to two decimals can add up to a little over 1 at a shared site (0.34 + 0.33 + 0.34). */
export const SHARED_OCCUPANCY_TOLERANCE = 0.02;

/** Sites closer than this (Å) are one position for occupancy bookkeeping. */
const SAME_POSITION = 0.05;

/** A periodic crystal structure: a lattice and its sites. Immutable. */
export class Structure {
  readonly lattice: Lattice;
  readonly sites: readonly Readonly<Site>[];
  /** Free-form provenance: where the structure was read from. */
  readonly source: { file?: string; block?: string } | undefined;

  constructor(lattice: Lattice | ArrayLike<ArrayLike<number>>, sites: readonly Site[], source?: { file?: string; block?: string }) {
    this.lattice = lattice instanceof Lattice ? lattice : new Lattice(lattice);
    sites.forEach((s, i) => {
      if (!isElement(s.element)) throw new InvalidStructureError(`site ${i}: ${quoteValue(String(s.element))} is not an element symbol`);
      if (s.frac.length !== 3 || !s.frac.every(Number.isFinite)) {
        throw new InvalidStructureError(`site ${i} (${s.element}): fractional coordinates must be three finite numbers`);
      }
      // Far outside the cell, wrapping loses every significant digit (and symmetry search fails obscurely).
      if (s.frac.some((x) => Math.abs(x) > 1e4)) {
        throw new InvalidStructureError(`site ${i} (${s.element}): fractional coordinate ${s.frac.find((x) => Math.abs(x) > 1e4)} is more than 10,000 cells away: not a position in this cell`);
      }
      const occ = s.occupancy ?? 1;
      if (!(occ > 0 && occ <= 1 + OCCUPANCY_TOLERANCE)) {
        throw new InvalidStructureError(`site ${i} (${s.element}): occupancy ${occ} is outside (0, 1]`);
      }
    });
    this.sites = sites.map((s) => Object.freeze({ ...s, frac: [s.frac[0], s.frac[1], s.frac[2]] as Vec3 }));
    this.source = source;
    Object.freeze(this.sites);
    this.checkSharedOccupancy();
  }

  /** Species sharing one position (a disordered site) cannot fill it more than once. */
  private checkSharedOccupancy(): void {
    const occ = (i: number) => this.sites[i]!.occupancy ?? 1;
    const partial = this.sites.flatMap((s, i) => ((s.occupancy ?? 1) < 1 ? [i] : []));
    if (partial.length === 0) return;
    // Only pairs involving a partial site matter; the grid keeps this linear (pair loops hung on 100k sites).
    const near = new Map<number, number[]>();
    for (const [i, j] of closeSitePairs(this.lattice, this.sites, SAME_POSITION, (a, b) => occ(a) < 1 || occ(b) < 1)) {
      for (const [a, b] of [[i, j], [j, i]] as const) {
        const list = near.get(a);
        if (list) list.push(b);
        else near.set(a, [b]);
      }
    }
    const seen = new Set<number>();
    for (const i of partial) {
      if (seen.has(i)) continue;
      let sum = occ(i);
      const together = [i];
      for (const j of (near.get(i) ?? []).sort((a, b) => a - b)) {
        if (seen.has(j)) continue;
        sum += occ(j);
        together.push(j);
      }
      together.forEach((j) => seen.add(j));
      if (sum > 1 + SHARED_OCCUPANCY_TOLERANCE) {
        const who = together.map((j) => `${j} (${this.sites[j]!.element} ${occ(j)})`).join(", ");
        throw new InvalidStructureError(`sites ${who} share one position but their occupancies add up to ${Number(sum.toFixed(4))}, more than 1`);
      }
    }
  }

  /** Build from Cartesian positions in Å. */
  static fromCartesian(
    lattice: Lattice | ArrayLike<ArrayLike<number>>,
    elements: readonly ElementSymbol[],
    cart: readonly ArrayLike<number>[],
    source?: { file?: string; block?: string },
  ): Structure {
    const lat = lattice instanceof Lattice ? lattice : new Lattice(lattice);
    return new Structure(
      lat,
      elements.map((element, i) => ({ element, frac: lat.toFractional(cart[i]!) })),
      source,
    );
  }

  get length(): number {
    return this.sites.length;
  }

  get elements(): ElementSymbol[] {
    return this.sites.map((s) => s.element);
  }

  get fracCoords(): Vec3[] {
    return this.sites.map((s) => [...s.frac] as Vec3);
  }

  get cartCoords(): Vec3[] {
    return this.sites.map((s) => this.lattice.toCartesian(s.frac));
  }

  /** Indices of sites whose occupancy is below 1. */
  get partiallyOccupiedSites(): number[] {
    const out: number[] = [];
    this.sites.forEach((s, i) => {
      if ((s.occupancy ?? 1) < 1 - OCCUPANCY_TOLERANCE) out.push(i);
    });
    return out;
  }

  get isOrdered(): boolean {
    return this.partiallyOccupiedSites.length === 0;
  }

  /** Throw DisorderedStructureError unless every site is fully occupied. */
  assertOrdered(operation: string): void {
    const partial = this.partiallyOccupiedSites;
    if (partial.length > 0) throw new DisorderedStructureError(operation, partial);
  }

  /**
   * Refuse a structure with two atoms (or an atom and its own periodic copy) closer than `minDistance` Å:
   * no real crystal has them (split positions of a partly occupied site excepted), and analyses that count
   * neighbours (hops, symmetry) explode on such a cell.
   */
  assertSeparated(operation: string, minDistance = MIN_SEPARATION): void {
    const overlap = this.overlap(minDistance);
    if (overlap) throw new InvalidStructureError(`${operation}: ${overlap}: not a physical structure`);
  }

  /**
   * Why this structure is not physical — a cell thinner than `minDistance`, or two fully occupied sites (or a
   * site and its own periodic copy) closer than that — in words, or null when it is not.
   */
  overlap(minDistance = MIN_SEPARATION): string | null {
    // A cell this thin would make the neighbour search itself enumerate millions of cell copies.
    const thin = thinCell(this.lattice, minDistance);
    if (thin) return thin;
    const nl = neighbourList(this, minDistance);
    for (let i = 0; i < this.sites.length; i++) {
      for (let e = nl.offsets[i]!; e < nl.offsets[i + 1]!; e++) {
        const j = nl.index[e]!;
        const d = nl.distance[e]!;
        // Split positions of a disordered site may sit this close: only one of them is occupied at a time.
        if (d >= minDistance || (this.sites[i]!.occupancy ?? 1) < 1 || (this.sites[j]!.occupancy ?? 1) < 1) continue;
        const where = j === i ? `site ${i} (${this.sites[i]!.element}) and its own periodic copy` : `sites ${i} (${this.sites[i]!.element}) and ${j} (${this.sites[j]!.element})`;
        return `${where} are ${d.toFixed(3)} Å apart, closer than ${minDistance} Å`;
      }
    }
    return null;
  }

  /** Density in g/cm³ would need masses; number density (atoms/Å³) is enough for neighbour estimates. */
  get numberDensity(): number {
    return this.sites.length / this.lattice.volume;
  }

  /** Same sites with every fractional coordinate wrapped into [0, 1). */
  wrapped(): Structure {
    return new Structure(
      this.lattice,
      this.sites.map((s) => ({ ...s, frac: s.frac.map(wrap01) as Vec3 })),
      this.source,
    );
  }

  /** Move every site by a Cartesian vector (Å). */
  translated(cart: ArrayLike<number>): Structure {
    const df = this.lattice.toFractional(cart);
    return new Structure(
      this.lattice,
      this.sites.map((s) => ({ ...s, frac: [s.frac[0] + df[0], s.frac[1] + df[1], s.frac[2] + df[2]] as Vec3 })),
      this.source,
    );
  }

  /** Sites reordered: new site i is old site order[i]. */
  permuted(order: readonly number[]): Structure {
    if (order.length !== this.sites.length || new Set(order).size !== order.length) {
      throw new InvalidStructureError("a permutation must list every site index exactly once");
    }
    return new Structure(
      this.lattice,
      order.map((i) => {
        const s = this.sites[i];
        if (s === undefined) throw new InvalidStructureError(`no site ${i}`);
        return s;
      }),
      this.source,
    );
  }

  /**
   * A supercell whose lattice vectors are the rows of `scaling` (integer matrix, non-zero determinant)
   * in terms of this lattice's vectors. Sites are listed image by image of each original site.
   */
  supercell(scaling: Mat3 | Vec3): Structure {
    const S: Mat3 = Array.isArray(scaling[0])
      ? (scaling as Mat3)
      : [
          [scaling[0] as number, 0, 0],
          [0, scaling[1] as number, 0],
          [0, 0, scaling[2] as number],
        ];
    if (!S.flat().every(Number.isInteger)) throw new InvalidStructureError("supercell matrix must be integer");
    const newLattice = this.lattice.scaled(S);
    const n = Math.round(newLattice.volume / this.lattice.volume);
    if (n < 1) throw new InvalidStructureError("supercell matrix is singular");
    // Lattice points of the old lattice inside the new cell: search the bounding box of the new cell's corners.
    const lo = [0, 0, 0];
    const hi = [0, 0, 0];
    for (let c = 0; c < 8; c++) {
      const corner = [0, 1, 2].map((r) => ((c >> r) & 1 ? S[r]! : [0, 0, 0]));
      for (let j = 0; j < 3; j++) {
        const v = corner[0]![j]! + corner[1]![j]! + corner[2]![j]!;
        lo[j] = Math.min(lo[j]!, v);
        hi[j] = Math.max(hi[j]!, v);
      }
    }
    const newLat = newLattice;
    const points: Vec3[] = [];
    for (let i = lo[0]!; i <= hi[0]!; i++)
      for (let j = lo[1]!; j <= hi[1]!; j++)
        for (let k = lo[2]!; k <= hi[2]!; k++) {
          const f = newLat.toFractional(this.lattice.toCartesian([i, j, k]));
          if (f.every((x) => x > -1e-8 && x < 1 - 1e-8)) points.push([i, j, k]);
        }
    if (points.length !== n) throw new InvalidStructureError(`supercell search found ${points.length} of ${n} lattice points`);
    const sites: Site[] = [];
    for (const s of this.sites) {
      for (const p of points) {
        const cart = this.lattice.toCartesian([s.frac[0] + p[0], s.frac[1] + p[1], s.frac[2] + p[2]]);
        sites.push({ ...s, frac: newLat.toFractional(cart) });
      }
    }
    return new Structure(newLat, sites, this.source);
  }

  /** A new structure with sites removed. */
  withoutSites(indices: Iterable<number>): Structure {
    const drop = new Set(indices);
    return new Structure(
      this.lattice,
      this.sites.filter((_, i) => !drop.has(i)),
      this.source,
    );
  }
}

/** Why a cell is too thin to hold atoms (thinner than `minDistance` Å between lattice planes), or null. */
export function thinCell(lattice: Lattice, minDistance = MIN_SEPARATION): string | null {
  const thinnest = Math.min(...lattice.planeSpacings);
  return thinnest < minDistance ? `the cell is only ${thinnest.toFixed(3)} Å thick between lattice planes, less than ${minDistance} Å` : null;
}

/** Sites closer than this (Å) are the same position however they were written: one atom, not two. */
export const COINCIDENT = 0.01;

/**
 * Why a structure just read from a file is not a crystal, or null: no atoms, a cell thinner than
 * MIN_SEPARATION between lattice planes, or two sites on one position (closer than COINCIDENT Å) that
 * together hold more than one atom. Sites 0.014 Å apart stay (the Em dataset has such pairs); sites for which
 * `exempt` holds (a pathway's images, which may pass through a host atom) are not checked for coincidence.
 */
export function readingProblem(s: Structure, exempt: (i: number) => boolean = () => false): string | null {
  if (s.length === 0) return "no atoms";
  const thin = thinCell(s.lattice);
  if (thin) return thin;
  const occ = (i: number) => s.sites[i]!.occupancy ?? 1;
  const [pair] = closeSitePairs(s.lattice, s.sites, COINCIDENT, (i, j) => !exempt(i) && !exempt(j) && occ(i) + occ(j) > 1 + SHARED_OCCUPANCY_TOLERANCE, 1);
  if (!pair) return null;
  const [i, j, d] = pair;
  const who = (k: number) => `${k} (${s.sites[k]!.element}${occ(k) < 1 ? " " + occ(k) : ""})`;
  return `sites ${who(i)} and ${who(j)} are ${d.toFixed(3)} Å apart, the same position, but their occupancies add up to ${Number((occ(i) + occ(j)).toFixed(4))}, more than 1`;
}

/**
 * Pairs [i, j, distance] (i < j) of sites closer than `radius` Å over periodic images, for which `keep` holds,
 * at most `limit` of them. A grid of bins at least 2·`radius` wide makes it linear in the number of sites: a
 * close pair is in one bin or in two bins adjacent across the boundary both sites are nearer to.
 * Exact while `radius` is under half the thinnest plane spacing (far below it for the tolerances used here).
 * Written with plain loops: it runs on every structure read, mostly before the JIT has warmed up.
 */
export function closeSitePairs(
  lattice: Lattice,
  sites: readonly Readonly<Site>[],
  radius: number,
  keep: (i: number, j: number, distance: number) => boolean = () => true,
  limit = Infinity,
): [number, number, number][] {
  const n = sites.length;
  const out: [number, number, number][] = [];
  if (n < 2) return out;
  const spacing = lattice.planeSpacings;
  // A few sites need no bins; otherwise about one bin per site at most (finer bins would only be empty).
  let m0 = 1, m1 = 1, m2 = 1;
  if (n > 64) {
    m0 = Math.max(1, Math.floor(spacing[0] / (2 * radius)));
    m1 = Math.max(1, Math.floor(spacing[1] / (2 * radius)));
    m2 = Math.max(1, Math.floor(spacing[2] / (2 * radius)));
    while (m0 * m1 * m2 > n) {
      if (m0 >= m1 && m0 >= m2) m0 = Math.max(1, Math.floor(m0 / 2));
      else if (m1 >= m2) m1 = Math.max(1, Math.floor(m1 / 2));
      else m2 = Math.max(1, Math.floor(m2 / 2));
    }
  }
  const nb = m0 * m1 * m2;
  const f = new Float64Array(3 * n);
  for (let i = 0; i < n; i++) {
    const p = sites[i]!.frac;
    f[3 * i] = wrap01(p[0]);
    f[3 * i + 1] = wrap01(p[1]);
    f[3 * i + 2] = wrap01(p[2]);
  }
  // Counting sort of sites by bin; once filled, bin b holds members[start[b] … start[b + 1]). One bin: no sort.
  const binOf = new Int32Array(nb > 1 ? n : 0);
  const start = nb > 1 ? new Int32Array(nb + 2) : Int32Array.of(0, n);
  let members = binOf;
  if (nb > 1) {
    for (let i = 0; i < n; i++) {
      const b =
        (Math.min(m0 - 1, Math.floor(f[3 * i]! * m0)) * m1 + Math.min(m1 - 1, Math.floor(f[3 * i + 1]! * m1))) * m2 +
        Math.min(m2 - 1, Math.floor(f[3 * i + 2]! * m2));
      binOf[i] = b;
      start[b + 2]!++;
    }
    for (let b = 2; b < nb + 2; b++) start[b]! += start[b - 1]!;
    members = new Int32Array(n);
    for (let i = 0; i < n; i++) members[start[binOf[i]! + 1]!++] = i;
  }
  const M = lattice.matrix;
  const l00 = M[0][0], l01 = M[0][1], l02 = M[0][2], l10 = M[1][0], l11 = M[1][1], l12 = M[1][2], l20 = M[2][0], l21 = M[2][1], l22 = M[2][2];
  const rr = radius * radius;
  // A pair within `radius` is within radius / spacing along each fractional axis.
  const r0 = radius / spacing[0], r1 = radius / spacing[1], r2 = radius / spacing[2];
  // Per axis: the site's bin and the neighbour across its nearer boundary (every bin when there are two or one).
  const s0 = Math.min(m0, 2), s1 = Math.min(m1, 2), s2 = Math.min(m2, 2);
  const side = (x: number, m: number, c: number, k: number): number => (m <= 2 ? k : k === 0 ? c : x * m - c < 0.5 ? (c + m - 1) % m : (c + 1) % m);
  for (let i = 0; i < n && out.length < limit; i++) {
    const fi0 = f[3 * i]!, fi1 = f[3 * i + 1]!, fi2 = f[3 * i + 2]!;
    const bi = nb > 1 ? binOf[i]! : 0;
    const c2 = bi % m2, c1 = Math.floor(bi / m2) % m1, c0 = Math.floor(bi / (m1 * m2));
    for (let k0 = 0; k0 < s0; k0++) {
      const b0 = side(fi0, m0, c0, k0);
      for (let k1 = 0; k1 < s1; k1++) {
        const b1 = side(fi1, m1, c1, k1);
        for (let k2 = 0; k2 < s2; k2++) {
          const bin = (b0 * m1 + b1) * m2 + side(fi2, m2, c2, k2);
          for (let q = nb > 1 ? start[bin]! : i + 1, e = start[bin + 1]!; q < e; q++) {
            const j = nb > 1 ? members[q]! : q;
            if (j <= i) continue;
            // Nearest image along each axis; most pairs are rejected on the first axis, cheaply.
            let d0 = f[3 * j]! - fi0;
            d0 = d0 > 0.5 ? d0 - 1 : d0 < -0.5 ? d0 + 1 : d0;
            if (d0 > r0 || d0 < -r0) continue;
            let d1 = f[3 * j + 1]! - fi1;
            d1 = d1 > 0.5 ? d1 - 1 : d1 < -0.5 ? d1 + 1 : d1;
            if (d1 > r1 || d1 < -r1) continue;
            let d2 = f[3 * j + 2]! - fi2;
            d2 = d2 > 0.5 ? d2 - 1 : d2 < -0.5 ? d2 + 1 : d2;
            if (d2 > r2 || d2 < -r2) continue;
            const x = d0 * l00 + d1 * l10 + d2 * l20;
            const y = d0 * l01 + d1 * l11 + d2 * l21;
            const z = d0 * l02 + d1 * l12 + d2 * l22;
            const dd = x * x + y * y + z * z;
            if (dd >= rr) continue;
            const d = Math.sqrt(dd);
            if (keep(i, j, d)) out.push([i, j, d]);
          }
        }
      }
    }
  }
  return out;
}

export function wrap01(x: number, eps = 0): number {
  // With eps > 0, values within eps of an integer (round-off around 0 and 1) become exactly 0.
  const w = x - Math.floor(x + eps);
  // x - floor(x) can round up to exactly 1 for tiny negative x.
  return w >= 1 || (w < eps && w > -eps) ? 0 : w;
}
