import { DisorderedStructureError, InvalidStructureError } from "./errors.js";
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
const SHARED_OCCUPANCY_TOLERANCE = 0.02;

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
      if (!isElement(s.element)) throw new InvalidStructureError(`site ${i}: "${String(s.element)}" is not an element symbol`);
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
    const partial = this.sites.flatMap((s, i) => ((s.occupancy ?? 1) < 1 ? [i] : []));
    if (partial.length === 0) return;
    const seen = new Set<number>();
    for (const i of partial) {
      if (seen.has(i)) continue;
      let sum = this.sites[i]!.occupancy ?? 1;
      const together = [i];
      this.sites.forEach((t, j) => {
        if (j === i || seen.has(j)) return;
        const d = this.sites[i]!.frac.map((x, a) => x - t.frac[a]!);
        const c = this.lattice.toCartesian(d.map((x) => x - Math.round(x)));
        if (Math.hypot(c[0], c[1], c[2]) < SAME_POSITION) {
          sum += t.occupancy ?? 1;
          together.push(j);
        }
      });
      together.forEach((j) => seen.add(j));
      if (sum > 1 + SHARED_OCCUPANCY_TOLERANCE) {
        const who = together.map((j) => `${j} (${this.sites[j]!.element} ${this.sites[j]!.occupancy ?? 1})`).join(", ");
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
    const thinnest = Math.min(...this.lattice.planeSpacings);
    if (thinnest < minDistance) return `the cell is only ${thinnest.toFixed(3)} Å thick between lattice planes, less than ${minDistance} Å`;
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

export function wrap01(x: number): number {
  const w = x - Math.floor(x);
  // x - floor(x) can round up to exactly 1 for tiny negative x.
  return w >= 1 ? 0 : w;
}
