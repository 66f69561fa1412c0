// A supercell's pure translations and its primitive cell, so that symmetry analysis runs on the few atoms of
// the primitive cell: moyo's own analysis of a supercell costs about operations × atoms (NaCl 4×4×4, 512 atoms,
// 12,288 operations: 13.7 s; 5×5×5: ~2 min), on the primitive cell it is instant.
import { Lattice, matmul, type Mat3, type Vec3 } from "./lattice.js";
import { Structure, wrap01 } from "./structure.js";

export interface PrimitiveReduction {
  /** The primitive cell (its sites in the order first met in the supercell). */
  primitive: Structure;
  /** Primitive basis vectors as rows, in the supercell's fractional coordinates. */
  basis: Mat3;
  /** Pure translations of the supercell (fractional, in [0, 1)), the zero vector first. */
  translations: Vec3[];
  /** Primitive-cell site of each supercell site. */
  siteOf: number[];
}

/** Finds which site of `structure` sits at a fractional point (any lattice image), within `tolerance` Å. */
export function siteLocator(structure: Structure, tolerance: number, sites: readonly number[] = structure.sites.map((_, i) => i)): (p: ArrayLike<number>) => { site: number; image: Vec3 } | null {
  const lat = structure.lattice;
  const width = Math.max(0.25, 2 * tolerance);
  const [na, nb, nc] = lat.planeSpacings.map((d) => Math.max(1, Math.floor(d / width))) as [number, number, number];
  const cell = (x: number, n: number) => Math.min(n - 1, Math.floor((x - Math.floor(x)) * n));
  const bins = new Map<number, number[]>();
  for (const s of sites) {
    const f = structure.sites[s]!.frac;
    const c = (cell(f[0], na) * nb + cell(f[1], nb)) * nc + cell(f[2], nc);
    const list = bins.get(c);
    if (list) list.push(s);
    else bins.set(c, [s]);
  }
  const mod = (x: number, n: number) => ((x % n) + n) % n;
  const tt = tolerance * tolerance;
  return (p) => {
    const ca = cell(p[0]!, na);
    const cb = cell(p[1]!, nb);
    const cc = cell(p[2]!, nc);
    for (let da = -1; da <= 1; da++)
      for (let db = -1; db <= 1; db++)
        for (let dc = -1; dc <= 1; dc++) {
          for (const s of bins.get((mod(ca + da, na) * nb + mod(cb + db, nb)) * nc + mod(cc + dc, nc)) ?? []) {
            const f = structure.sites[s]!.frac;
            const d: Vec3 = [p[0]! - f[0], p[1]! - f[1], p[2]! - f[2]];
            const n = d.map(Math.round) as Vec3;
            const r = lat.toCartesian([d[0] - n[0], d[1] - n[1], d[2] - n[2]]);
            if (r[0] * r[0] + r[1] * r[1] + r[2] * r[2] < tt) return { site: s, image: n };
          }
        }
    return null;
  };
}

const wrap = (x: number) => wrap01(x, 1e-9);

/**
 * The primitive cell of an ordered structure that is a supercell (has pure translations within `tolerance` Å),
 * or null when it is primitive already.
 */
export function primitiveReduction(structure: Structure, tolerance: number): PrimitiveReduction | null {
  const n = structure.length;
  const sites = structure.sites;
  // Candidate translations: from one site of the rarest element to every other site of that element.
  const count = new Map<string, number[]>();
  sites.forEach((s, i) => count.set(s.element, [...(count.get(s.element) ?? []), i]));
  const rarest = [...count.values()].sort((a, b) => a.length - b.length)[0]!;
  if (rarest.length < 2) return null;
  const locate = siteLocator(structure, tolerance);
  const anchor = sites[rarest[0]!]!.frac;
  const translations: Vec3[] = [[0, 0, 0]];
  for (const j of rarest.slice(1)) {
    const f = sites[j]!.frac;
    const t: Vec3 = [wrap(f[0] - anchor[0]), wrap(f[1] - anchor[1]), wrap(f[2] - anchor[2])];
    const maps = sites.every((s) => {
      const hit = locate([s.frac[0] + t[0], s.frac[1] + t[1], s.frac[2] + t[2]]);
      return hit !== null && sites[hit.site]!.element === s.element;
    });
    if (maps) translations.push(t);
  }
  const m = translations.length;
  if (m === 1 || n % m !== 0) return null;
  // Every translation is a multiple of 1/m in each coordinate: the primitive lattice is the integer lattice spanned
  // by m·t and m·e_i, divided by m. Its Hermite normal form gives a basis.
  const rows: number[][] = [
    [m, 0, 0],
    [0, m, 0],
    [0, 0, m],
    ...translations.slice(1).map((t) => t.map((x) => Math.round(x * m))),
  ];
  if (translations.some((t) => t.some((x) => Math.abs(x * m - Math.round(x * m)) > 1e-3))) return null;
  // Exact multiples of 1/m from here on (the site differences they were found from carry the file's round-off).
  for (const t of translations) for (let a = 0; a < 3; a++) t[a] = wrap(Math.round(t[a]! * m) / m);
  const hnf = hermiteBasis(rows);
  const basis = hnf.map((r) => r.map((x) => x / m)) as Mat3;
  const volume = Math.abs(basis[0][0] * (basis[1][1] * basis[2][2] - basis[1][2] * basis[2][1]) - basis[0][1] * (basis[1][0] * basis[2][2] - basis[1][2] * basis[2][0]) + basis[0][2] * (basis[1][0] * basis[2][1] - basis[1][1] * basis[2][0]));
  if (Math.abs(volume * m - 1) > 1e-9) return null;
  const lattice = new Lattice(matmul(basis, structure.lattice.matrix));
  // Supercell fractional (rows) → primitive fractional: x_p = x_s · basis⁻¹.
  const inv = new Lattice(basis).inverse;
  const primSites: { element: (typeof sites)[number]["element"]; frac: Vec3 }[] = [];
  const siteOf: number[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const f = sites[i]!.frac;
    const p = [0, 1, 2].map((j) => wrap(f[0] * inv[0][j]! + f[1] * inv[1][j]! + f[2] * inv[2][j]!)) as Vec3;
    let found = -1;
    for (let k = 0; k < primSites.length && found < 0; k++) {
      const q = primSites[k]!.frac;
      const d = [p[0] - q[0], p[1] - q[1], p[2] - q[2]].map((x) => x - Math.round(x));
      const c = lattice.toCartesian(d);
      if (c[0] * c[0] + c[1] * c[1] + c[2] * c[2] < tolerance * tolerance && primSites[k]!.element === sites[i]!.element) found = k;
    }
    if (found < 0) {
      found = primSites.length;
      primSites.push({ element: sites[i]!.element, frac: p });
    }
    siteOf[i] = found;
    if (primSites.length > n / m) return null; // not a clean supercell at this tolerance
  }
  if (primSites.length * m !== n) return null;
  return { primitive: new Structure(lattice, primSites), basis, translations, siteOf };
}

/** A basis (3 rows) of the integer lattice spanned by `rows`, by integer row reduction (Hermite normal form). */
function hermiteBasis(input: number[][]): Mat3 {
  const rows = input.map((r) => [...r]);
  const out: number[][] = [];
  for (let col = 0; col < 3; col++) {
    // Euclid on this column among the remaining rows until one row holds the gcd and the others 0.
    for (;;) {
      const nz = rows.filter((r) => r[col] !== 0);
      if (nz.length <= 1) break;
      nz.sort((a, b) => Math.abs(a[col]!) - Math.abs(b[col]!));
      const pivot = nz[0]!;
      for (const r of nz.slice(1)) {
        const q = Math.trunc(r[col]! / pivot[col]!);
        for (let k = 0; k < 3; k++) r[k]! -= q * pivot[k]!;
      }
    }
    const i = rows.findIndex((r) => r[col] !== 0);
    const pivot = rows.splice(i, 1)[0]!;
    out.push(pivot[col]! < 0 ? pivot.map((x) => -x) : pivot);
  }
  return out as Mat3;
}
