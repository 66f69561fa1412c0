import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Lattice, nearestNeighbours, neighbourList, readJsonStructures, Structure, type Mat3, type NeighbourList, type Vec3 } from "../src/index.js";
import oracle from "./fixtures/train-neighbours.json" with { type: "json" };
import { trainingSet } from "./helpers.js";

interface OracleEntry {
  index: number;
  sys_name: string;
  natoms: number;
  volume: number;
  counts: number[];
  first12: number[];
  totalPairs: number;
  shell4First: number[];
  shell4Last: number[];
}

const dists = (nl: NeighbourList, i: number) => Array.from(nl.distance.subarray(nl.offsets[i]!, nl.offsets[i + 1]!));

/** Brute force over a generous block of images: the reference the cell list must agree with. */
function bruteForce(s: Structure, cutoff: number): number[][] {
  const sp = s.lattice.planeSpacings;
  const r = sp.map((d) => Math.ceil(cutoff / d) + 1);
  const cart = s.cartCoords;
  return cart.map((xi, i) => {
    const out: number[] = [];
    for (let a = -r[0]!; a <= r[0]!; a++)
      for (let b = -r[1]!; b <= r[1]!; b++)
        for (let c = -r[2]!; c <= r[2]!; c++)
          cart.forEach((xj, j) => {
            if (i === j && a === 0 && b === 0 && c === 0) return;
            const t = s.lattice.toCartesian([a, b, c]);
            const d = Math.hypot(xj[0] + t[0] - xi[0], xj[1] + t[1] - xi[1], xj[2] + t[2] - xi[2]);
            if (d <= cutoff) out.push(d);
          });
    return out.sort((p, q) => p - q);
  });
}

describe("neighbour search agrees with pymatgen on the training structures", () => {
  const train = trainingSet();
  for (const e of oracle as OracleEntry[]) {
    it(`#${e.index} ${e.sys_name} (${e.natoms} atoms, 8 Å)`, () => {
      const [s] = readJsonStructures(train[e.index] as never);
      expect(s!.length).toBe(e.natoms);
      expect(s!.lattice.volume).toBeCloseTo(e.volume, 4);
      const nl = neighbourList(s!, 8);
      expect(Array.from({ length: e.natoms }, (_, i) => nl.offsets[i + 1]! - nl.offsets[i]!)).toEqual(e.counts);
      expect(nl.index.length).toBe(e.totalPairs);
      const first = dists(nl, 0);
      e.first12.forEach((d, q) => expect(first[q]).toBeCloseTo(d, 4));
      const shell = (i: number) => dists(nl, i).filter((d) => d <= 4);
      const close = (got: number[], want: number[]) => {
        expect(got).toHaveLength(want.length);
        got.forEach((d, q) => expect(Math.abs(d - want[q]!)).toBeLessThan(1e-5));
      };
      close(shell(0), e.shell4First);
      close(shell(e.natoms - 1), e.shell4Last);
    });
  }
});

describe("neighbour search geometry", () => {
  it("finds many images when the cutoff is larger than a tiny triclinic cell", () => {
    const lat = Lattice.fromParameters({ a: 2.1, b: 2.6, c: 3.1, alpha: 71, beta: 83, gamma: 64 });
    const s = new Structure(lat, [
      { element: "Li", frac: [0.1, 0.2, 0.3] },
      { element: "O", frac: [0.6, 0.55, 0.85] },
    ]);
    const nl = neighbourList(s, 7.5);
    const ref = bruteForce(s, 7.5);
    for (let i = 0; i < 2; i++) {
      expect(dists(nl, i)).toHaveLength(ref[i]!.length);
      dists(nl, i).forEach((d, q) => expect(d).toBeCloseTo(ref[i]![q]!, 10));
    }
    expect(ref[0]!.length).toBeGreaterThan(100);
  });

  it("a one-atom cubic cell sees its own images: simple cubic has 6 at a", () => {
    const s = new Structure(Lattice.cubic(3), [{ element: "Po", frac: [0, 0, 0] }]);
    const d = dists(neighbourList(s, 3.01), 0);
    expect(d).toEqual([3, 3, 3, 3, 3, 3]);
  });

  it("vectors, images and distances are consistent with the stored (unwrapped) coordinates", () => {
    const s = new Structure(Lattice.fromParameters({ a: 5, b: 6, c: 7, alpha: 80, beta: 95, gamma: 110 }), [
      { element: "Na", frac: [1.2, -0.3, 2.9] },
      { element: "Cl", frac: [-0.45, 0.5, 0.5] },
    ]);
    const nl = neighbourList(s, 6);
    for (let p = 0; p < nl.index.length; p++) {
      const i = nl.offsets.findIndex((o, k) => o <= p && p < nl.offsets[k + 1]!);
      const j = nl.index[p]!;
      const fj = s.sites[j]!.frac;
      const fi = s.sites[i]!.frac;
      const img = [nl.image[3 * p]!, nl.image[3 * p + 1]!, nl.image[3 * p + 2]!];
      const v = s.lattice.toCartesian([fj[0] + img[0]! - fi[0], fj[1] + img[1]! - fi[1], fj[2] + img[2]! - fi[2]]);
      for (let a = 0; a < 3; a++) expect(nl.vector[3 * p + a]).toBeCloseTo(v[a]!, 9);
      expect(nl.distance[p]).toBeCloseTo(Math.hypot(...v), 9);
    }
  });

  it("minimum image is the true shortest displacement in a strongly sheared cell", () => {
    const lat = new Lattice([
      [4, 0, 0],
      [3.8, 1, 0],
      [0, 0, 5],
    ]);
    const from: Vec3 = [0.05, 0.05, 0];
    const to: Vec3 = [0.95, 0.55, 0.5];
    const mi = lat.minimumImage(from, to);
    let best = Infinity;
    for (let a = -30; a <= 30; a++)
      for (let b = -30; b <= 30; b++)
        for (let c = -3; c <= 3; c++) best = Math.min(best, Math.hypot(...lat.toCartesian([to[0] - from[0] + a, to[1] - from[1] + b, to[2] - from[2] + c])));
    expect(mi.distance).toBeCloseTo(best, 9);
    // Rounding each fractional difference to the nearest integer is not enough in such a cell.
    const naive = Math.hypot(...lat.toCartesian([to[0] - from[0] - 1, to[1] - from[1] - 1, to[2] - from[2]].map((x) => x - Math.round(x))));
    expect(naive).toBeGreaterThan(best + 0.1);
    const back = lat.toCartesian([to[0] + mi.image[0] - from[0], to[1] + mi.image[1] - from[1], to[2] + mi.image[2] - from[2]]);
    expect(Math.hypot(...back)).toBeCloseTo(best, 9);
  });
});

describe("k nearest within a cutoff (the model's atom graph)", () => {
  it("bcc keeps the whole second shell when it ties at the 12th distance: 8 + 6", () => {
    const a = 2.8665;
    const s = new Structure(Lattice.cubic(a), [
      { element: "Fe", frac: [0, 0, 0] },
      { element: "Fe", frac: [0.5, 0.5, 0.5] },
    ]);
    const g = nearestNeighbours(s, { k: 12, cutoff: 8 });
    for (let i = 0; i < 2; i++) {
      const d = dists(g, i);
      expect(d).toHaveLength(14);
      d.slice(0, 8).forEach((x) => expect(x).toBeCloseTo((a * Math.sqrt(3)) / 2, 9));
      d.slice(8).forEach((x) => expect(x).toBeCloseTo(a, 9));
    }
  });

  it("fcc has exactly 12 at a/√2; rock salt has 6 at a/2 with k = 6", () => {
    const a = 3.615;
    const fcc = new Structure(Lattice.cubic(a), [
      [0, 0, 0],
      [0.5, 0.5, 0],
      [0.5, 0, 0.5],
      [0, 0.5, 0.5],
    ].map((f) => ({ element: "Cu" as const, frac: f as Vec3 })));
    const g = nearestNeighbours(fcc);
    for (let i = 0; i < 4; i++) expect(dists(g, i).map((d) => d.toFixed(6))).toEqual(Array(12).fill((a / Math.SQRT2).toFixed(6)));
  });

  it("sites with fewer than k neighbours inside the cutoff keep only those", () => {
    const s = new Structure(Lattice.cubic(10), [
      { element: "Li", frac: [0, 0, 0] },
      { element: "Li", frac: [0.3, 0, 0] },
    ]);
    // Neighbours of atom 0: atom 1 at 3 Å and its image at 7 Å; the next (own images) are at 10 Å.
    expect(dists(nearestNeighbours(s, { k: 12, cutoff: 8 }), 0)).toEqual([3, 7]);
    expect(dists(nearestNeighbours(s, { k: 12, cutoff: 5 }), 0)).toEqual([3]);
  });

  it("excluded pairs neither appear nor take one of the k places: the next atoms fill them", () => {
    const train = trainingSet();
    const [s] = readJsonStructures(train[0] as never);
    // The dataset's first 5 atoms are the moving ion's path images: exclude image–image pairs.
    const image = (i: number) => i < 5;
    const exclude = (i: number, j: number) => image(i) && image(j);
    const g = nearestNeighbours(s!, { k: 12, cutoff: 8, exclude });
    const all = nearestNeighbours(s!, { k: 12, cutoff: 8 });
    const full = neighbourList(s!, 8);
    let imageBondsBefore = 0;
    for (let i = 0; i < s!.length; i++) {
      const got = Array.from(g.index.slice(g.offsets[i]!, g.offsets[i + 1]!));
      if (image(i)) {
        expect(got.some(image)).toBe(false);
        imageBondsBefore += Array.from(all.index.slice(all.offsets[i]!, all.offsets[i + 1]!)).filter(image).length;
        // Oracle: the first 12 admissible entries of the full list (ties aside, none here).
        const admissible: number[] = [];
        for (let p = full.offsets[i]!; p < full.offsets[i + 1]!; p++) if (!image(full.index[p]!)) admissible.push(full.distance[p]!);
        expect(dists(g, i).length).toBeGreaterThanOrEqual(12);
        dists(g, i).slice(0, 12).forEach((d, q) => expect(Math.abs(d - admissible[q]!)).toBeLessThan(1e-9));
      } else {
        // Host atoms are untouched.
        expect(got).toEqual(Array.from(all.index.slice(all.offsets[i]!, all.offsets[i + 1]!)));
      }
    }
    // The images did neighbour each other without the exclusion (the case this option exists for).
    expect(imageBondsBefore).toBeGreaterThan(0);
  });

  it("matches the first k entries of the full list on every sampled training structure", () => {
    const train = trainingSet();
    for (const e of (oracle as OracleEntry[]).slice(0, 8)) {
      const [s] = readJsonStructures(train[e.index] as never);
      const g = nearestNeighbours(s!, { k: 12, cutoff: 8 });
      const full = neighbourList(s!, 8);
      for (let i = 0; i < s!.length; i++) {
        const d = dists(g, i);
        const f = dists(full, i);
        expect(d.length).toBeGreaterThanOrEqual(Math.min(12, f.length));
        // Same distances; entries closer than ~1e-12 Å may come in either order.
        d.forEach((x, q) => expect(Math.abs(x - f[q]!)).toBeLessThan(1e-9));
        // Everything cut is beyond the k-th distance plus the tie tolerance.
        if (f.length > d.length) expect(f[d.length]! - d[Math.min(12, d.length) - 1]!).toBeGreaterThan(1e-4);
      }
    }
  });
});

/** Per-site sorted distance lists, rounded, as a comparable multiset signature. */
function signature(nl: NeighbourList, n: number, order: (i: number) => number = (i) => i): string[][] {
  return Array.from({ length: n }, (_, i) => dists(nl, order(i)).map((d) => d.toFixed(6)));
}

const arbStructure = fc
  .record({
    a: fc.double({ min: 2.5, max: 9, noNaN: true }),
    b: fc.double({ min: 2.5, max: 9, noNaN: true }),
    c: fc.double({ min: 2.5, max: 9, noNaN: true }),
    alpha: fc.double({ min: 65, max: 115, noNaN: true }),
    beta: fc.double({ min: 65, max: 115, noNaN: true }),
    gamma: fc.double({ min: 65, max: 115, noNaN: true }),
    frac: fc.array(fc.tuple(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true })), { minLength: 1, maxLength: 8 }),
  })
  .filter((p) => {
    // Keep cells that are not nearly flat: volume at least a quarter of a·b·c.
    try {
      return Lattice.fromParameters(p).volume > 0.25 * p.a * p.b * p.c;
    } catch {
      return false;
    }
  })
  .map((p) => new Structure(Lattice.fromParameters(p), p.frac.map((f, i) => ({ element: i % 2 ? ("O" as const) : ("Li" as const), frac: f as Vec3 }))));

describe("neighbour lists are invariant (property-based)", () => {
  const cutoff = 5.5;

  it("under translating every atom", () => {
    fc.assert(
      fc.property(arbStructure, fc.tuple(fc.double({ min: -20, max: 20, noNaN: true }), fc.double({ min: -20, max: 20, noNaN: true }), fc.double({ min: -20, max: 20, noNaN: true })), (s, t) => {
        expect(signature(neighbourList(s.translated(t), cutoff), s.length)).toEqual(signature(neighbourList(s, cutoff), s.length));
      }),
      { numRuns: 150, endOnFailure: true },
    );
  });

  it("under permuting sites (up to relabelling)", () => {
    fc.assert(
      fc.property(
        arbStructure.chain((s) => fc.tuple(fc.constant(s), fc.shuffledSubarray([...s.sites.keys()], { minLength: s.length, maxLength: s.length }))),
        ([s, order]) => {
          const p = s.permuted(order);
          // New site i is old site order[i].
          expect(signature(neighbourList(p, cutoff), s.length)).toEqual(signature(neighbourList(s, cutoff), s.length, (i) => order[i]!));
          const g1 = nearestNeighbours(p, { k: 4, cutoff });
          const g0 = nearestNeighbours(s, { k: 4, cutoff });
          expect(signature(g1, s.length)).toEqual(signature(g0, s.length, (i) => order[i]!));
        },
      ),
      { numRuns: 150, endOnFailure: true },
    );
  });

  it("under choosing an equivalent supercell", () => {
    const arbMatrix = fc.constantFrom<Mat3>(
      [[2, 0, 0], [0, 1, 0], [0, 0, 1]],
      [[1, 1, 0], [0, 1, 0], [0, 0, 2]],
      [[1, 0, 0], [1, 2, 0], [0, 1, 1]],
      [[-1, 1, 1], [1, -1, 1], [1, 1, -1]],
    );
    fc.assert(
      fc.property(arbStructure, arbMatrix, (s, m) => {
        const sc = s.supercell(m);
        const n = Math.round(sc.length / s.length);
        const base = signature(neighbourList(s, cutoff), s.length);
        const big = signature(neighbourList(sc, cutoff), sc.length);
        // Supercell sites are listed image by image of each original site.
        big.forEach((sig, i) => expect(sig).toEqual(base[Math.floor(i / n)]));
      }),
      { numRuns: 60, endOnFailure: true },
    );
  });
});
