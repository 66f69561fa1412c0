import { InvalidStructureError } from "./errors.js";
import type { Structure } from "./structure.js";

/**
 * Neighbours of every site, in compressed-sparse-row form: the neighbours of centre i are the
 * entries offsets[i] … offsets[i+1]−1, sorted by distance (distances equal to ~1e-12 relative come in
 * a deterministic scan order).
 */
export interface NeighbourList {
  /** Length natoms + 1. */
  readonly offsets: Int32Array;
  /** Neighbour site index per entry. */
  readonly index: Int32Array;
  /** Lattice translation (3 integers per entry) to add to the neighbour's stored fractional coordinates. */
  readonly image: Int32Array;
  /** Distance in Å per entry. */
  readonly distance: Float64Array;
  /** Cartesian vector from centre to neighbour image in Å (3 per entry). */
  readonly vector: Float64Array;
}

export interface NeighbourOptions {
  /** Only search around these centres; other centres get no entries. Defaults to every site. */
  centres?: readonly number[];
}

/**
 * All neighbours within `cutoff` Å of every site, across periodic images. Self-pairs at zero
 * translation are excluded; a site's own periodic images are included (small cells).
 *
 * Uses a cell list in fractional space, so cost is linear in the number of pairs for large cells, and
 * per-axis search ranges from the lattice plane spacings, so it is exact for any triclinic cell and for
 * cutoffs larger than the cell (many images).
 */
export function neighbourList(structure: Structure, cutoff: number, options: NeighbourOptions = {}): NeighbourList {
  if (!(cutoff > 0) || !Number.isFinite(cutoff)) throw new InvalidStructureError(`neighbour cutoff must be a positive number of Å, got ${cutoff}`);
  const n = structure.sites.length;
  const lat = structure.lattice;
  const L = lat.matrix;
  const spacing = lat.planeSpacings;
  const reach = [cutoff / spacing[0], cutoff / spacing[1], cutoff / spacing[2]];

  // Wrapped fractional and Cartesian coordinates, and the integer shift that wrapping applied.
  const f = new Float64Array(3 * n);
  const shift = new Int32Array(3 * n);
  const x = new Float64Array(3 * n);
  structure.sites.forEach((s, i) => {
    for (let a = 0; a < 3; a++) {
      const fa = s.frac[a]!;
      const fl = Math.floor(fa);
      let w = fa - fl;
      let sh = fl;
      if (w >= 1) {
        w = 0;
        sh += 1;
      }
      f[3 * i + a] = w;
      shift[3 * i + a] = sh;
    }
    const c = lat.toCartesian([f[3 * i]!, f[3 * i + 1]!, f[3 * i + 2]!]);
    x.set(c, 3 * i);
  });

  // Bins: as many per axis as fit with width ≥ cutoff, capped so empty bins do not dominate.
  // Bins half the cutoff wide: each centre scans only the bins its sphere's bounding box touches.
  const m = spacing.map((d) => Math.max(1, Math.floor((2 * d) / cutoff)));
  while (m[0]! * m[1]! * m[2]! > Math.max(8, 2 * n)) {
    const a = m.indexOf(Math.max(...m));
    m[a] = Math.max(1, Math.floor(m[a]! / 2));
  }
  const [m0, m1, m2] = m as [number, number, number];
  const nb = m0 * m1 * m2;
  const binOf = new Int32Array(n);
  const binCount = new Int32Array(nb + 1);
  for (let i = 0; i < n; i++) {
    const b0 = Math.min(m0 - 1, Math.floor(f[3 * i]! * m0));
    const b1 = Math.min(m1 - 1, Math.floor(f[3 * i + 1]! * m1));
    const b2 = Math.min(m2 - 1, Math.floor(f[3 * i + 2]! * m2));
    binOf[i] = (b0 * m1 + b1) * m2 + b2;
    binCount[binOf[i]! + 1]!++;
  }
  for (let b = 0; b < nb; b++) binCount[b + 1]! += binCount[b]!;
  const binStart = binCount;
  const binAtoms = new Int32Array(n);
  const fill = binStart.slice(0, nb);
  for (let i = 0; i < n; i++) binAtoms[fill[binOf[i]!]!++] = i;

  const centres = options.centres ?? null;
  const isCentre = centres ? new Uint8Array(n) : null;
  if (centres && isCentre) for (const c of centres) {
    if (!(c >= 0 && c < n)) throw new InvalidStructureError(`neighbour centre ${c} is not a site index`);
    isCentre[c] = 1;
  }

  // Refuse work that cannot finish: a nearly flat cell or a huge cutoff would scan billions of images.
  const scanned = (centres?.length ?? n) * [0, 1, 2].reduce((p, a) => p * (2 * reach[a]! * m[a]! + 2), 1);
  const expected = estimateEntries(structure, cutoff, centres?.length ?? n);
  if (scanned > 5e8 || expected > 2e8) {
    throw new InvalidStructureError(
      `neighbour search within ${cutoff} Å would scan ~${scanned.toExponential(1)} image cells for ~${expected.toExponential(1)} pairs: ` +
        `the cell is nearly flat or the cutoff too large for ${n} sites`,
    );
  }
  const out = new Builder(expected);
  const offsets = new Int32Array(n + 1);
  const r2 = cutoff * cutoff;
  const La = L[0], Lb = L[1], Lc = L[2];

  for (let i = 0; i < n; i++) {
    offsets[i] = out.length;
    if (isCentre && !isCentre[i]) continue;
    const fi0 = f[3 * i]!, fi1 = f[3 * i + 1]!, fi2 = f[3 * i + 2]!;
    const xi0 = x[3 * i]!, xi1 = x[3 * i + 1]!, xi2 = x[3 * i + 2]!;
    const lo0 = Math.floor((fi0 - reach[0]!) * m0), hi0 = Math.floor((fi0 + reach[0]!) * m0);
    const lo1 = Math.floor((fi1 - reach[1]!) * m1), hi1 = Math.floor((fi1 + reach[1]!) * m1);
    const lo2 = Math.floor((fi2 - reach[2]!) * m2), hi2 = Math.floor((fi2 + reach[2]!) * m2);
    const start = out.length;
    for (let b0 = lo0; b0 <= hi0; b0++) {
      const n0 = Math.floor(b0 / m0), w0 = b0 - n0 * m0;
      for (let b1 = lo1; b1 <= hi1; b1++) {
        const n1 = Math.floor(b1 / m1), w1 = b1 - n1 * m1;
        for (let b2 = lo2; b2 <= hi2; b2++) {
          const n2 = Math.floor(b2 / m2), w2 = b2 - n2 * m2;
          const bin = (w0 * m1 + w1) * m2 + w2;
          const t0 = n0 * La[0] + n1 * Lb[0] + n2 * Lc[0] - xi0;
          const t1 = n0 * La[1] + n1 * Lb[1] + n2 * Lc[1] - xi1;
          const t2 = n0 * La[2] + n1 * Lb[2] + n2 * Lc[2] - xi2;
          const self = n0 === 0 && n1 === 0 && n2 === 0;
          for (let p = binStart[bin]!, e = binStart[bin + 1]!; p < e; p++) {
            const j = binAtoms[p]!;
            if (self && j === i) continue;
            const v0 = x[3 * j]! + t0, v1 = x[3 * j + 1]! + t1, v2 = x[3 * j + 2]! + t2;
            const d2 = v0 * v0 + v1 * v1 + v2 * v2;
            if (d2 > r2) continue;
            // Report the image relative to the stored (unwrapped) coordinates.
            out.push(
              j,
              n0 - shift[3 * j]! + shift[3 * i]!,
              n1 - shift[3 * j + 1]! + shift[3 * i + 1]!,
              n2 - shift[3 * j + 2]! + shift[3 * i + 2]!,
              Math.sqrt(d2),
              v0, v1, v2,
            );
          }
        }
      }
    }
    out.sortRange(start, out.length);
  }
  offsets[n] = out.length;
  return out.finish(offsets);
}

export interface NearestNeighbourOptions {
  /** Number of neighbours per site (ALIGNN: 12). */
  k?: number;
  /** Largest distance considered, Å (ALIGNN: 8). */
  cutoff?: number;
  /** Neighbours within this of the k-th distance count as tied with it, Å. */
  tieTolerance?: number;
  /**
   * Pairs (centre, neighbour) that are never neighbours: they neither appear in the list nor take one of
   * the centre's k places (e.g. a path image and the same ion's other images).
   */
  exclude?: (centre: number, neighbour: number) => boolean;
}

/**
 * The k nearest neighbours of every site within a cutoff — the atom graph of ALIGNN-style models.
 *
 * Ties: every neighbour at the k-th distance (within `tieTolerance`) is kept, so a site may have more
 * than k neighbours (bcc iron with k = 12 gets 8 + 6 = 14). Cutting a tie would depend on site order and
 * break the permutation invariance a graph must have. A site with fewer than k neighbours inside the
 * cutoff keeps only those (the cutoff is never silently extended).
 */
export function nearestNeighbours(structure: Structure, options: NearestNeighbourOptions = {}): NeighbourList {
  const k = options.k ?? 12;
  const cutoff = options.cutoff ?? 8;
  const tol = options.tieTolerance ?? 1e-4;
  if (!Number.isInteger(k) || k < 1) throw new InvalidStructureError(`k must be a positive integer, got ${k}`);
  const n = structure.sites.length;
  // Search a radius expected to hold ~2k neighbours first; redo only the sites it did not settle.
  const guess = Math.min(cutoff, Math.cbrt((3 * 2 * k) / (4 * Math.PI * Math.max(structure.numberDensity, 1e-6))) + 0.5);
  const exclude = options.exclude;
  // Excluded pairs are dropped from the candidate lists first, so the k nearest are chosen among the rest.
  const full = without(neighbourList(structure, guess), exclude);
  const unsettled: number[] = [];
  if (guess < cutoff) {
    for (let i = 0; i < n; i++) {
      const cnt = full.offsets[i + 1]! - full.offsets[i]!;
      if (cnt < k || full.distance[full.offsets[i]! + k - 1]! + tol >= guess) unsettled.push(i);
    }
  }
  let wide: NeighbourList | null = null;
  if (unsettled.length > 0) wide = without(neighbourList(structure, cutoff, { centres: unsettled }), exclude);

  const out = new Builder(n * (k + 2));
  const offsets = new Int32Array(n + 1);
  for (let i = 0; i < n; i++) {
    offsets[i] = out.length;
    const src = wide && wide.offsets[i + 1]! > wide.offsets[i]! ? wide : full;
    const s = src.offsets[i]!, e = src.offsets[i + 1]!;
    if (e - s === 0) continue;
    const kth = src.distance[Math.min(s + k, e) - 1]!;
    for (let p = s; p < e && (p < s + k || src.distance[p]! <= kth + tol); p++) {
      out.push(
        src.index[p]!,
        src.image[3 * p]!, src.image[3 * p + 1]!, src.image[3 * p + 2]!,
        src.distance[p]!,
        src.vector[3 * p]!, src.vector[3 * p + 1]!, src.vector[3 * p + 2]!,
      );
    }
  }
  offsets[n] = out.length;
  return out.finish(offsets);
}

/** The list without the entries `exclude(centre, neighbour)` rejects (the list itself when there is no filter). */
function without(list: NeighbourList, exclude: ((centre: number, neighbour: number) => boolean) | undefined): NeighbourList {
  if (!exclude) return list;
  const n = list.offsets.length - 1;
  const out = new Builder(list.index.length);
  const offsets = new Int32Array(n + 1);
  for (let i = 0; i < n; i++) {
    offsets[i] = out.length;
    for (let p = list.offsets[i]!; p < list.offsets[i + 1]!; p++) {
      if (exclude(i, list.index[p]!)) continue;
      out.push(list.index[p]!, list.image[3 * p]!, list.image[3 * p + 1]!, list.image[3 * p + 2]!, list.distance[p]!,
        list.vector[3 * p]!, list.vector[3 * p + 1]!, list.vector[3 * p + 2]!);
    }
  }
  offsets[n] = out.length;
  return out.finish(offsets);
}

/** Number of neighbours of site i. */
export function coordination(list: NeighbourList, i: number): number {
  return list.offsets[i + 1]! - list.offsets[i]!;
}

function estimateEntries(structure: Structure, cutoff: number, centres: number): number {
  const perAtom = (4 / 3) * Math.PI * cutoff ** 3 * structure.numberDensity;
  return Math.max(64, Math.ceil(centres * perAtom * 1.1));
}

/** Local indices fit the low 12 mantissa bits (relative distance resolution 2^-40, ~1e-12). */
const SORT_INDEX_MASK = 0xfff;
let keyBuf = new Float64Array(256);
function scratchKeys(n: number): Float64Array {
  if (keyBuf.length < n) keyBuf = new Float64Array(2 * n);
  return keyBuf;
}
let entryBuf = { index: new Int32Array(256), distance: new Float64Array(256), image: new Int32Array(768), vector: new Float64Array(768) };
function scratchEntries(n: number) {
  if (entryBuf.index.length < n) {
    entryBuf = { index: new Int32Array(2 * n), distance: new Float64Array(2 * n), image: new Int32Array(6 * n), vector: new Float64Array(6 * n) };
  }
  return entryBuf;
}

/** Growable typed-array storage for neighbour entries. */
class Builder {
  length = 0;
  private index: Int32Array;
  private image: Int32Array;
  private distance: Float64Array;
  private vector: Float64Array;

  constructor(capacity: number) {
    this.index = new Int32Array(capacity);
    this.image = new Int32Array(3 * capacity);
    this.distance = new Float64Array(capacity);
    this.vector = new Float64Array(3 * capacity);
  }

  push(j: number, n0: number, n1: number, n2: number, d: number, v0: number, v1: number, v2: number): void {
    if (this.length === this.index.length) this.grow();
    const p = this.length++;
    this.index[p] = j;
    this.image[3 * p] = n0;
    this.image[3 * p + 1] = n1;
    this.image[3 * p + 2] = n2;
    this.distance[p] = d;
    this.vector[3 * p] = v0;
    this.vector[3 * p + 1] = v1;
    this.vector[3 * p + 2] = v2;
  }

  /**
   * Sort entries [start, end) by distance; exact ties keep scan order, which is deterministic.
   * Fast path: the entry's local index is written into the low mantissa bits of its distance, so a
   * native Float64Array sort (no comparator) orders entries — the stored distances stay exact.
   */
  sortRange(start: number, end: number): void {
    const cnt = end - start;
    if (cnt < 2) return;
    if (cnt > SORT_INDEX_MASK) return this.sortRangeSlow(start, end);
    const keys = scratchKeys(cnt);
    const bits = new Uint32Array(keys.buffer, 0, 2 * cnt);
    for (let q = 0; q < cnt; q++) {
      keys[q] = this.distance[start + q]!;
      // Little-endian: the low word holds the least significant mantissa bits.
      bits[2 * q] = (bits[2 * q]! & ~SORT_INDEX_MASK) | q;
    }
    keys.subarray(0, cnt).sort();
    this.permute(start, cnt, (q) => bits[2 * q]! & SORT_INDEX_MASK);
  }

  private sortRangeSlow(start: number, end: number): void {
    const order = Array.from({ length: end - start }, (_, q) => q);
    order.sort((p, q) => this.distance[start + p]! - this.distance[start + q]! || p - q);
    this.permute(start, end - start, (q) => order[q]!);
  }

  /** Reorder entries so that new local entry q is old local entry from(q). */
  private permute(start: number, cnt: number, from: (q: number) => number): void {
    const t = scratchEntries(cnt);
    for (let q = 0; q < cnt; q++) {
      const p = start + from(q);
      t.index[q] = this.index[p]!;
      t.distance[q] = this.distance[p]!;
      for (let a = 0; a < 3; a++) {
        t.image[3 * q + a] = this.image[3 * p + a]!;
        t.vector[3 * q + a] = this.vector[3 * p + a]!;
      }
    }
    this.index.set(t.index.subarray(0, cnt), start);
    this.distance.set(t.distance.subarray(0, cnt), start);
    this.image.set(t.image.subarray(0, 3 * cnt), 3 * start);
    this.vector.set(t.vector.subarray(0, 3 * cnt), 3 * start);
  }

  finish(offsets: Int32Array): NeighbourList {
    const n = this.length;
    return {
      offsets,
      index: this.index.slice(0, n),
      image: this.image.slice(0, 3 * n),
      distance: this.distance.slice(0, n),
      vector: this.vector.slice(0, 3 * n),
    };
  }

  private grow(): void {
    const cap = Math.max(64, this.index.length * 2);
    const grow = <T extends Int32Array | Float64Array>(a: T, size: number): T => {
      const b = new (a.constructor as new (n: number) => T)(size);
      b.set(a);
      return b;
    };
    this.index = grow(this.index, cap);
    this.image = grow(this.image, 3 * cap);
    this.distance = grow(this.distance, cap);
    this.vector = grow(this.vector, 3 * cap);
  }
}
