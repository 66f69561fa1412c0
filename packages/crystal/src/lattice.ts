import { InvalidStructureError } from "./errors.js";

export type Vec3 = [number, number, number];
export type Mat3 = [Vec3, Vec3, Vec3];

export interface LatticeParameters {
  /** Lengths in Å. */
  a: number;
  b: number;
  c: number;
  /** Angles in degrees: alpha between b and c, beta between a and c, gamma between a and b. */
  alpha: number;
  beta: number;
  gamma: number;
}

const DEG = Math.PI / 180;

/** Longest lattice vector accepted, Å: far beyond any crystal cell or supercell used for screening. */
export const MAX_CELL_LENGTH = 10_000;

/**
 * A periodic lattice. `matrix` rows are the lattice vectors a, b, c in Å (Cartesian),
 * so a Cartesian position is frac · matrix.
 */
export class Lattice {
  readonly matrix: Mat3;
  /** Inverse of `matrix`: cart · inverse = frac. */
  readonly inverse: Mat3;
  readonly volume: number;

  constructor(matrix: ArrayLike<ArrayLike<number>>) {
    if (matrix.length !== 3 || [0, 1, 2].some((i) => matrix[i]?.length !== 3)) {
      throw new InvalidStructureError("a lattice needs three vectors of three components");
    }
    const m = [0, 1, 2].map((i) => [0, 1, 2].map((j) => Number(matrix[i]![j]))) as Mat3;
    if (m.flat().some((x) => !Number.isFinite(x))) {
      throw new InvalidStructureError("lattice vectors contain a non-finite number");
    }
    // Beyond this no crystal cell, and the volume overflows (1e200 Å vectors gave "volume NaN").
    const longest = Math.max(...m.map((r) => Math.hypot(r[0], r[1], r[2])));
    if (longest > MAX_CELL_LENGTH) throw new InvalidStructureError(`a lattice vector is ${longest.toPrecision(3)} Å long, more than ${MAX_CELL_LENGTH} Å: not a crystal cell (wrong scale factor or units?)`);
    const det = det3(m);
    if (!(Math.abs(det) > 1e-6)) {
      throw new InvalidStructureError(`lattice vectors are (nearly) coplanar: volume ${det.toPrecision(3)} Å³`);
    }
    this.matrix = m;
    this.volume = Math.abs(det);
    this.inverse = inv3(m, det);
  }

  /**
   * Build from cell parameters with the usual crystallographic orientation:
   * a along x, b in the xy plane, c completing a right-handed set.
   */
  static fromParameters(p: LatticeParameters): Lattice {
    const { a, b, c } = p;
    const [ca, cb, cg] = [p.alpha, p.beta, p.gamma].map((x) => cosDeg(x)) as Vec3;
    const sg = Math.sin(p.gamma * DEG);
    for (const name of ["a", "b", "c", "alpha", "beta", "gamma"] as const) {
      const v = p[name];
      if (!Number.isFinite(v) || v <= 0 || (name.length > 1 && v >= 180)) throw new InvalidStructureError(`cell parameter ${name} is ${v}: lengths must be positive, angles between 0 and 180°`);
    }
    const cy = (ca - cb * cg) / sg;
    const cz2 = 1 - cb * cb - cy * cy;
    if (!(cz2 > 1e-12)) {
      throw new InvalidStructureError(
        `cell angles alpha=${p.alpha}, beta=${p.beta}, gamma=${p.gamma} do not form a valid cell`,
      );
    }
    return new Lattice([
      [a, 0, 0],
      [b * cg, b * sg, 0],
      [c * cb, c * cy, c * Math.sqrt(cz2)],
    ]);
  }

  static cubic(a: number): Lattice {
    return new Lattice([
      [a, 0, 0],
      [0, a, 0],
      [0, 0, a],
    ]);
  }

  get parameters(): LatticeParameters {
    const [va, vb, vc] = this.matrix;
    const a = norm(va);
    const b = norm(vb);
    const c = norm(vc);
    return {
      a,
      b,
      c,
      alpha: angleDeg(vb, vc),
      beta: angleDeg(va, vc),
      gamma: angleDeg(va, vb),
    };
  }

  /**
   * Distance between lattice planes perpendicular to each reciprocal axis, in Å.
   * A sphere of radius r spans r / d[i] in fractional coordinate i — which is what neighbour search needs.
   */
  get planeSpacings(): Vec3 {
    const inv = this.inverse;
    // Column i of the inverse is the reciprocal vector a_i* (without 2π); spacing is 1/|a_i*|.
    return [0, 1, 2].map((i) => 1 / Math.hypot(inv[0][i]!, inv[1][i]!, inv[2][i]!)) as Vec3;
  }

  toCartesian(frac: ArrayLike<number>): Vec3 {
    const m = this.matrix;
    const [x, y, z] = [frac[0]!, frac[1]!, frac[2]!];
    return [
      x * m[0][0] + y * m[1][0] + z * m[2][0],
      x * m[0][1] + y * m[1][1] + z * m[2][1],
      x * m[0][2] + y * m[1][2] + z * m[2][2],
    ];
  }

  toFractional(cart: ArrayLike<number>): Vec3 {
    const m = this.inverse;
    const [x, y, z] = [cart[0]!, cart[1]!, cart[2]!];
    return [
      x * m[0][0] + y * m[1][0] + z * m[2][0],
      x * m[0][1] + y * m[1][1] + z * m[2][1],
      x * m[0][2] + y * m[1][2] + z * m[2][2],
    ];
  }

  /**
   * Shortest periodic displacement from fractional point `from` to `to`, over all lattice images.
   * Exact for any cell shape: after wrapping to the nearest image it searches every image that
   * could still be closer.
   */
  minimumImage(from: ArrayLike<number>, to: ArrayLike<number>): { frac: Vec3; cart: Vec3; distance: number; image: Vec3 } {
    const d0 = [to[0]! - from[0]!, to[1]! - from[1]!, to[2]! - from[2]!];
    const shift = d0.map((x) => -Math.round(x)) as Vec3;
    const w = d0.map((x, i) => x + shift[i]!) as Vec3;
    let best = this.toCartesian(w);
    let bestD = norm(best);
    let bestN: Vec3 = [0, 0, 0];
    const sp = this.planeSpacings;
    const range = sp.map((s) => Math.ceil(bestD / s - 1e-9)) as Vec3;
    for (let i = -range[0]; i <= range[0]; i++)
      for (let j = -range[1]; j <= range[1]; j++)
        for (let k = -range[2]; k <= range[2]; k++) {
          if (i === 0 && j === 0 && k === 0) continue;
          const c = this.toCartesian([w[0] + i, w[1] + j, w[2] + k]);
          const d = norm(c);
          if (d < bestD - 1e-12) {
            best = c;
            bestD = d;
            bestN = [i, j, k];
          }
        }
    const frac: Vec3 = [w[0] + bestN[0], w[1] + bestN[1], w[2] + bestN[2]];
    return {
      frac,
      cart: best,
      distance: bestD,
      image: [shift[0] + bestN[0], shift[1] + bestN[1], shift[2] + bestN[2]],
    };
  }

  /** A lattice whose vectors are integer combinations of this one's (rows of `scaling`). */
  scaled(scaling: Mat3): Lattice {
    return new Lattice(matmul(scaling, this.matrix));
  }

  equals(other: Lattice, tolerance = 1e-6): boolean {
    return this.matrix.every((row, i) => row.every((x, j) => Math.abs(x - other.matrix[i]![j]!) <= tolerance));
  }

  toJSON(): Mat3 {
    return this.matrix;
  }
}

export function norm(v: ArrayLike<number>): number {
  return Math.hypot(v[0]!, v[1]!, v[2]!);
}

export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  return a[0]! * b[0]! + a[1]! * b[1]! + a[2]! * b[2]!;
}

export function cross(a: ArrayLike<number>, b: ArrayLike<number>): Vec3 {
  return [a[1]! * b[2]! - a[2]! * b[1]!, a[2]! * b[0]! - a[0]! * b[2]!, a[0]! * b[1]! - a[1]! * b[0]!];
}

export function det3(m: ArrayLike<ArrayLike<number>>): number {
  return dot(m[0]!, cross(m[1]!, m[2]!));
}

export function matmul(a: ArrayLike<ArrayLike<number>>, b: ArrayLike<ArrayLike<number>>): Mat3 {
  return [0, 1, 2].map((i) => [0, 1, 2].map((j) => a[i]![0]! * b[0]![j]! + a[i]![1]! * b[1]![j]! + a[i]![2]! * b[2]![j]!)) as Mat3;
}

function inv3(m: Mat3, det: number): Mat3 {
  const [r0, r1, r2] = m;
  const c0 = cross(r1, r2);
  const c1 = cross(r2, r0);
  const c2 = cross(r0, r1);
  // inverse = adjugate / det, whose columns are the cross products above.
  return [0, 1, 2].map((i) => [c0[i]! / det, c1[i]! / det, c2[i]! / det]) as Mat3;
}

function cosDeg(x: number): number {
  // Exact zeros for right angles keep orthogonal cells exactly orthogonal.
  if (x === 90) return 0;
  return Math.cos(x * DEG);
}

function angleDeg(u: ArrayLike<number>, v: ArrayLike<number>): number {
  const c = dot(u, v) / (norm(u) * norm(v));
  return Math.acos(Math.max(-1, Math.min(1, c))) / DEG;
}
