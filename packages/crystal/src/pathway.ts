import { segmentClearance } from "./clearance.js";
import { Composition } from "./composition.js";
import { CrystalError } from "./errors.js";
import type { ElementSymbol } from "./elements.js";
import type { Vec3 } from "./lattice.js";
import { Structure, type Site } from "./structure.js";

/** A migration pathway could not be built from the given input. */
export class PathwayError extends CrystalError {
  override name = "PathwayError";
}

export interface EndpointOptions {
  /** Atoms that moved less than this between the endpoints (Å) count as the same host atom. */
  tolerance?: number;
  /** Relative tolerance on lattice vectors for "same cell". */
  latticeTolerance?: number;
  /** Number of images (≥ 2). */
  images?: number;
  /**
   * "minimum-image" (default): the ion takes the shortest periodic route between the endpoint sites.
   * "as-given": the ion moves by final − initial exactly as the coordinates are written (unwrapped), for
   * pathways that deliberately cross to a farther image (15 of the 559 training paths do).
   */
  displacement?: "minimum-image" | "as-given";
}

/** The N-image path structure the model reads: images first, then the host, with a per-atom image flag. */
export interface PathStructure {
  structure: Structure;
  isImage: Uint8Array;
}

export const DEFAULT_IMAGES = 5;

/**
 * Closest approach, in Å, of any host atom (any periodic copy) to the straight path from the first to the
 * last image of a path structure; null when none comes within 4 Å. Hops that pass close to a host atom are
 * where the Em model errs most (see models/em.card.json, applicability.clearance).
 */
export function pathClearance(p: PathStructure): number | null {
  const images: number[] = [];
  p.isImage.forEach((flag, i) => flag === 1 && images.push(i));
  if (images.length < 2) throw new PathwayError(`a path structure needs at least 2 images, got ${images.length}`);
  const sites = p.structure.sites;
  return segmentClearance(p.structure, sites[images[0]!]!.frac, sites[images.at(-1)!]!.frac, (k) => p.isImage[k] === 1);
}

/**
 * One hop of a mobile ion through a host: the host structure (without the moving ion), the ion's element,
 * its initial and final fractional positions, and N images placed by linear interpolation along the
 * minimum-image displacement (image 0 = initial, image N−1 = final).
 */
export class Pathway {
  /** `final` is initial + minimum-image displacement, so it may lie outside [0, 1). */
  private constructor(
    readonly host: Structure,
    readonly ion: ElementSymbol,
    readonly initial: Vec3,
    readonly final: Vec3,
    readonly images: readonly Vec3[],
  ) {}

  /** Straight-line hop length in Å. */
  get length(): number {
    const d: Vec3 = [this.final[0] - this.initial[0], this.final[1] - this.initial[1], this.final[2] - this.initial[2]];
    return Math.hypot(...this.host.lattice.toCartesian(d));
  }

  /** Build from a host, the ion and two fractional positions; the displacement is the minimum image. */
  static fromPositions(
    host: Structure,
    ion: ElementSymbol,
    initial: ArrayLike<number>,
    final: ArrayLike<number>,
    images = DEFAULT_IMAGES,
    displacement: "minimum-image" | "as-given" = "minimum-image",
  ): Pathway {
    if (!Number.isInteger(images) || images < 2) throw new PathwayError(`a pathway needs at least 2 images, got ${images}`);
    const start: Vec3 = [initial[0]!, initial[1]!, initial[2]!];
    if (![...start, final[0]!, final[1]!, final[2]!].every(Number.isFinite)) throw new PathwayError("pathway endpoints must be finite fractional coordinates");
    const mi =
      displacement === "minimum-image"
        ? host.lattice.minimumImage(start, final)
        : (() => {
            const frac: Vec3 = [final[0]! - start[0], final[1]! - start[1], final[2]! - start[2]];
            return { frac, distance: Math.hypot(...host.lattice.toCartesian(frac)) };
          })();
    if (mi.distance < 1e-6) throw new PathwayError("initial and final positions are the same site: nothing moves");
    const end: Vec3 = [start[0] + mi.frac[0], start[1] + mi.frac[1], start[2] + mi.frac[2]];
    const pts = Array.from({ length: images }, (_, k) => {
      const t = k / (images - 1);
      return [start[0] + t * mi.frac[0], start[1] + t * mi.frac[1], start[2] + t * mi.frac[2]] as Vec3;
    });
    return new Pathway(host, ion, start, end, pts);
  }

  /**
   * A hop between two sites of a structure: the ion on site `from` moves into site `to`, which is
   * vacated first. Both sites must hold the same element; the host is the structure without them.
   */
  static betweenSites(structure: Structure, from: number, to: number, images = DEFAULT_IMAGES): Pathway {
    const a = structure.sites[from];
    const b = structure.sites[to];
    if (!a || !b) throw new PathwayError(`site ${!a ? from : to} does not exist (structure has ${structure.length} sites)`);
    if (from === to) throw new PathwayError("initial and final site are the same");
    if (a.element !== b.element) throw new PathwayError(`site ${from} holds ${a.element} but site ${to} holds ${b.element}: a hop joins sites of one element`);
    structure.assertOrdered("Building a pathway");
    return Pathway.fromPositions(structure.withoutSites([from, to]), a.element, a.frac, b.frac, images);
  }

  /**
   * From NEB endpoint structures: atoms are matched by element and minimum-image distance; exactly one
   * atom (the ion) must have moved further than `tolerance`. The host is the initial structure without it.
   * Returns the pathway and the index of the moved atom in `initial`.
   */
  static fromEndpoints(initial: Structure, final: Structure, options: EndpointOptions = {}): { pathway: Pathway; index: number } {
    const tol = options.tolerance ?? 1.0;
    const ltol = options.latticeTolerance ?? 1e-3;
    if (initial.length !== final.length) {
      throw new PathwayError(`initial structure has ${initial.length} atoms but final has ${final.length}: endpoints must hold the same atoms`);
    }
    const ci = Composition.of(initial);
    const cf = Composition.of(final);
    if (ci.formula !== cf.formula) throw new PathwayError(`compositions differ: initial ${ci.formula}, final ${cf.formula}`);
    const mi = initial.lattice.matrix.flat();
    const mf = final.lattice.matrix.flat();
    const scale = Math.max(...mi.map(Math.abs));
    if (mi.some((x, k) => Math.abs(x - mf[k]!) > ltol * scale)) {
      throw new PathwayError("lattices differ between the endpoints: give both endpoints in the same cell");
    }
    initial.assertOrdered("Building a pathway");
    const lat = initial.lattice;
    const images = options.images ?? DEFAULT_IMAGES;
    // Fast path, the usual NEB set-up: atoms in the same order and exactly one of them moved — into a place no
    // atom of that element held before. (Ending on another ion's initial site means the files list the ions in
    // another order: the matching by distance below finds the one hop.)
    if (initial.sites.every((s, i) => s.element === final.sites[i]!.element)) {
      const moved = initial.sites.flatMap((s, i) => (lat.minimumImage(s.frac, final.sites[i]!.frac).distance > tol ? [i] : []));
      const dest = moved.length === 1 ? final.sites[moved[0]!]! : null;
      const taken = dest !== null && initial.sites.some((s, k) => k !== moved[0] && s.element === dest.element && lat.minimumImage(s.frac, dest.frac).distance <= tol);
      if (moved.length === 1 && !taken) {
        const index = moved[0]!;
        const pathway = Pathway.fromPositions(initial.withoutSites([index]), initial.sites[index]!.element, initial.sites[index]!.frac, final.sites[index]!.frac, images, options.displacement);
        return { pathway, index };
      }
    }
    // General case: greedy matching of same-element pairs within tolerance, shortest first.
    const pairs: [number, number, number][] = [];
    const cart = (f: ArrayLike<number>) => Math.hypot(...lat.toCartesian([f[0]! - Math.round(f[0]!), f[1]! - Math.round(f[1]!), f[2]! - Math.round(f[2]!)]));
    initial.sites.forEach((s, i) => {
      final.sites.forEach((t, j) => {
        if (s.element !== t.element) return;
        // Rounding gives an upper bound on the minimum-image distance; refine the pairs it does not settle.
        let d = cart([t.frac[0] - s.frac[0], t.frac[1] - s.frac[1], t.frac[2] - s.frac[2]]);
        if (d > tol) d = lat.minimumImage(s.frac, t.frac).distance;
        if (d <= tol) pairs.push([d, i, j]);
      });
    });
    pairs.sort((p, q) => p[0] - q[0] || p[1] - q[1] || p[2] - q[2]);
    const matchI = new Int32Array(initial.length).fill(-1);
    const usedJ = new Uint8Array(final.length);
    for (const [, i, j] of pairs) {
      if (matchI[i] !== -1 || usedJ[j]) continue;
      matchI[i] = j;
      usedJ[j] = 1;
    }
    const movedI = [...matchI.keys()].filter((i) => matchI[i] === -1);
    const movedJ = [...usedJ.keys()].filter((j) => !usedJ[j]);
    if (movedI.length === 0) throw new PathwayError(`no atom moved more than ${tol} Å between the endpoints`);
    if (movedI.length > 1) {
      const names = movedI.map((i) => `${initial.sites[i]!.element} (site ${i})`).join(", ");
      throw new PathwayError(`${movedI.length} atoms moved more than ${tol} Å: ${names}; a pathway moves exactly one ion`);
    }
    const index = movedI[0]!;
    const j = movedJ[0]!;
    const ion = initial.sites[index]!.element;
    const pathway = Pathway.fromPositions(initial.withoutSites([index]), ion, initial.sites[index]!.frac, final.sites[j]!.frac, images, options.displacement);
    return { pathway, index };
  }

  /**
   * From the dataset's image form: the first N atoms are the images of the moving ion (image 1 = initial,
   * image N = final), equally spaced on a line; the rest is the host. The stored image coordinates are kept
   * exactly, so writing the form back reproduces the input.
   */
  static fromImageStructure(structure: Structure, images = DEFAULT_IMAGES, tolerance = 1e-3): Pathway {
    if (structure.length <= images) throw new PathwayError(`structure has ${structure.length} atoms; it needs ${images} images plus a host`);
    const imgs = structure.sites.slice(0, images);
    const ion = imgs[0]!.element;
    const other = imgs.findIndex((s) => s.element !== ion);
    if (other >= 0) throw new PathwayError(`image ${other + 1} is ${imgs[other]!.element}, not ${ion}: the first ${images} atoms must be images of one ion`);
    const lat = structure.lattice;
    const p0 = imgs[0]!.frac;
    const step = lat.minimumImage(p0, imgs[1]!.frac).frac;
    // Each image must sit at initial + k·step (modulo lattice translations), within tolerance in Å.
    imgs.forEach((s, k) => {
      const expect: Vec3 = [p0[0] + k * step[0], p0[1] + k * step[1], p0[2] + k * step[2]];
      const off = lat.minimumImage(expect, s.frac).distance;
      if (off > tolerance) {
        throw new PathwayError(`image ${k + 1} is ${off.toFixed(3)} Å off the straight, equally spaced path: not an image structure`);
      }
    });
    if (Math.hypot(...lat.toCartesian(step)) < 1e-6) throw new PathwayError("images coincide: nothing moves");
    const host = structure.withoutSites(imgs.map((_, k) => k));
    const last = imgs[images - 1]!.frac;
    // Final = initial + (N−1)·step expressed on the same side as the stored last image.
    const final: Vec3 = [p0[0] + (images - 1) * step[0], p0[1] + (images - 1) * step[1], p0[2] + (images - 1) * step[2]];
    const sameImage = final.every((x, a) => Math.abs(x - last[a]!) < 1e-6);
    return new Pathway(host, ion, [...p0] as Vec3, sameImage ? ([...last] as Vec3) : final, imgs.map((s) => [...s.frac] as Vec3));
  }

  /** The structure the model sees: the N images first (the dataset's order), then the host; with image flags. */
  toPathStructure(): PathStructure {
    const n = this.images.length;
    const sites: Site[] = [...this.images.map((frac) => ({ element: this.ion, frac })), ...this.host.sites];
    const isImage = new Uint8Array(sites.length);
    isImage.fill(1, 0, n);
    return { structure: new Structure(this.host.lattice, sites, this.host.source), isImage };
  }

  /** Initial and final endpoint structures (ion first, then the host), e.g. to set up an NEB. */
  toEndpoints(): { initial: Structure; final: Structure } {
    const make = (frac: Vec3) => new Structure(this.host.lattice, [{ element: this.ion, frac }, ...this.host.sites], this.host.source);
    return { initial: make(this.initial), final: make(this.final) };
  }

  /** The same hop with a different number of images. */
  withImages(images: number): Pathway {
    return Pathway.fromPositions(this.host, this.ion, this.initial, this.final, images, "as-given");
  }
}


/** How close (Å) a supercell site must be to an endpoint of the hop to be that endpoint. */
const PLACE_TOLERANCE = 1e-3;
/** Largest supercell hopPathway builds, in atoms (the model's training supercells have up to 1,027). */
const MAX_SUPERCELL_SITES = 200_000;

/**
 * The pathway of a hop found in a (usually small) crystallographic cell, placed in a supercell whose
 * lattice planes are at least `minSpacing` Å apart, so the moving ion does not see its own periodic
 * copies as the model's training supercells (33–1,027 atoms) did not. Both the start site and the
 * destination site are emptied; the ion moves along the hop exactly as enumerated.
 *
 * A hop longer than `minSpacing` gets a larger supercell: its start and destination must be two different
 * supercell sites, which fails when the hop is a supercell lattice vector (an ion hopping to its own image,
 * e.g. along c = 14 Å in LiCoO2). Any non-zero lattice vector is at least as long as the smallest plane
 * spacing, so spacings longer than the hop (plus the placement tolerance) rule that out. Hops up to
 * `minSpacing` keep the supercell `minSpacing` alone gives.
 */
export function hopPathway(structure: Structure, hop: { fromSite: number; toSite: number; image: ArrayLike<number> }, minSpacing = 8, images = DEFAULT_IMAGES): Pathway {
  const from = structure.sites[hop.fromSite];
  const to = structure.sites[hop.toSite];
  if (!from || !to) throw new PathwayError(`hop sites ${hop.fromSite} → ${hop.toSite} are not in the structure`);
  const lat = structure.lattice;
  const end: Vec3 = [to.frac[0] + hop.image[0]!, to.frac[1] + hop.image[1]!, to.frac[2] + hop.image[2]!];
  const length = Math.hypot(...lat.toCartesian([end[0] - from.frac[0], end[1] - from.frac[1], end[2] - from.frac[2]]));
  if (!Number.isFinite(length)) throw new PathwayError("the hop's image must be finite lattice translations");
  const spacing = Math.max(minSpacing, length + 2 * PLACE_TOLERANCE);
  const reps = lat.planeSpacings.map((d) => Math.max(1, Math.ceil(spacing / d))) as Vec3;
  const atoms = reps[0] * reps[1] * reps[2] * structure.length;
  // A hand-made hop across hundreds of cells would otherwise build a supercell no memory holds.
  if (atoms > structure.length && atoms > MAX_SUPERCELL_SITES) {
    throw new PathwayError(`a ${length.toFixed(3)} Å hop needs a ${reps.join("×")} supercell of ${atoms} atoms (at most ${MAX_SUPERCELL_SITES}): use shorter hops`);
  }
  const sc = structure.supercell(reps);
  const a = sc.lattice.toFractional(lat.toCartesian(from.frac));
  const b = sc.lattice.toFractional(lat.toCartesian(end));
  const locate = (f: Vec3) => sc.sites.findIndex((s) => s.element === from.element && sc.lattice.minimumImage(s.frac, f).distance < PLACE_TOLERANCE);
  const ia = locate(a);
  const ib = locate(b);
  // Unreachable for a hop between sites of `structure` (see above); kept for hand-made hops.
  if (ia < 0 || ib < 0 || ia === ib) throw new PathwayError("the hop's sites could not be placed in the supercell (the hop is longer than the supercell allows)");
  return Pathway.fromPositions(sc.withoutSites([ia, ib]), from.element, a, b, images, "as-given");
}
