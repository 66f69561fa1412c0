import { atomicNumber, type ElementSymbol } from "./elements.js";
import type { Structure } from "./structure.js";

/**
 * Pauling electronegativities, used only to order elements in formulas the way chemists write them
 * (cation first: "LiCoO2", not "CoLiO2"), the same convention as pymatgen.
 * Source: CRC Handbook of Chemistry and Physics, 97th ed., "Electronegativity" (Pauling scale).
 * Elements without a value (He, Ne, Ar) sort last.
 */
const PAULING: Partial<Record<ElementSymbol, number>> = {
  H: 2.2, Li: 0.98, Be: 1.57, B: 2.04, C: 2.55, N: 3.04, O: 3.44, F: 3.98, Na: 0.93, Mg: 1.31, Al: 1.61,
  Si: 1.9, P: 2.19, S: 2.58, Cl: 3.16, K: 0.82, Ca: 1.0, Sc: 1.36, Ti: 1.54, V: 1.63, Cr: 1.66, Mn: 1.55,
  Fe: 1.83, Co: 1.88, Ni: 1.91, Cu: 1.9, Zn: 1.65, Ga: 1.81, Ge: 2.01, As: 2.18, Se: 2.55, Br: 2.96, Kr: 3.0,
  Rb: 0.82, Sr: 0.95, Y: 1.22, Zr: 1.33, Nb: 1.6, Mo: 2.16, Tc: 1.9, Ru: 2.2, Rh: 2.28, Pd: 2.2, Ag: 1.93,
  Cd: 1.69, In: 1.78, Sn: 1.96, Sb: 2.05, Te: 2.1, I: 2.66, Xe: 2.6, Cs: 0.79, Ba: 0.89, La: 1.1, Ce: 1.12,
  Pr: 1.13, Nd: 1.14, Pm: 1.13, Sm: 1.17, Eu: 1.2, Gd: 1.2, Tb: 1.1, Dy: 1.22, Ho: 1.23, Er: 1.24, Tm: 1.25,
  Yb: 1.1, Lu: 1.27, Hf: 1.3, Ta: 1.5, W: 2.36, Re: 1.9, Os: 2.2, Ir: 2.2, Pt: 2.28, Au: 2.54, Hg: 2.0,
  Tl: 1.62, Pb: 2.33, Bi: 2.02, Po: 2.0, At: 2.2, Rn: 2.2, Fr: 0.7, Ra: 0.9, Ac: 1.1, Th: 1.3, Pa: 1.5,
  U: 1.38, Np: 1.36, Pu: 1.28, Am: 1.13, Cm: 1.28, Bk: 1.3, Cf: 1.3, Es: 1.3, Fm: 1.3, Md: 1.3, No: 1.3, Lr: 1.3,
};

/** Element amounts of a structure (occupancy-weighted), with the usual formula forms. */
export class Composition {
  /** Amount of each element, in formula order (increasing electronegativity). */
  readonly amounts: ReadonlyMap<ElementSymbol, number>;

  constructor(amounts: Iterable<[ElementSymbol, number]>) {
    const merged = new Map<ElementSymbol, number>();
    for (const [el, n] of amounts) merged.set(el, (merged.get(el) ?? 0) + n);
    const order = [...merged.keys()].sort(compareElements);
    this.amounts = new Map(order.map((el) => [el, merged.get(el)!]));
  }

  static of(structure: Structure): Composition {
    return new Composition(structure.sites.map((s) => [s.element, s.occupancy ?? 1] as [ElementSymbol, number]));
  }

  get elements(): ElementSymbol[] {
    return [...this.amounts.keys()];
  }

  get totalAtoms(): number {
    let t = 0;
    for (const n of this.amounts.values()) t += n;
    return t;
  }

  /** Full formula of the cell, e.g. "Li3Co3O6". */
  get formula(): string {
    return formatFormula([...this.amounts]);
  }

  /** Divisor that reduces the formula to smallest integers (1 when amounts are not integers). */
  get reductionFactor(): number {
    const counts = [...this.amounts.values()];
    if (!counts.every(isNearInteger)) return 1;
    return counts.map((c) => Math.round(c)).reduce(gcd, 0) || 1;
  }

  /** Reduced formula, e.g. "LiCoO2". */
  get reducedFormula(): string {
    const f = this.reductionFactor;
    return formatFormula([...this.amounts].map(([el, n]) => [el, n / f]));
  }

  /** Anonymous formula: reduced amounts in increasing order on letters A, B, C… e.g. "ABC2" for LiCoO2. */
  get anonymousFormula(): string {
    const f = this.reductionFactor;
    const amounts = [...this.amounts.values()].map((n) => n / f).sort((a, b) => a - b);
    return amounts.map((n, i) => anonymousLetter(i) + formatAmount(n)).join("");
  }

  toJSON(): Record<string, number> {
    return Object.fromEntries(this.amounts);
  }
}

function compareElements(a: ElementSymbol, b: ElementSymbol): number {
  const xa = PAULING[a] ?? Infinity;
  const xb = PAULING[b] ?? Infinity;
  if (xa !== xb) return xa - xb;
  return (atomicNumber(a) ?? 0) - (atomicNumber(b) ?? 0);
}

function formatFormula(entries: [string, number][]): string {
  return entries.map(([el, n]) => el + formatAmount(n)).join("");
}

function formatAmount(n: number): string {
  if (Math.abs(n - 1) < 1e-6) return "";
  if (isNearInteger(n)) return String(Math.round(n));
  return String(Number(n.toFixed(4)));
}

function isNearInteger(x: number): boolean {
  return Math.abs(x - Math.round(x)) < 1e-6;
}

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

function anonymousLetter(i: number): string {
  // A…Z, then AA, AB… — 26 distinct elements in one compound is already unusual.
  return i < 26 ? String.fromCharCode(65 + i) : String.fromCharCode(64 + Math.floor(i / 26)) + String.fromCharCode(65 + (i % 26));
}
