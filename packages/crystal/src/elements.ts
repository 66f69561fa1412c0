/** Element symbols in order of atomic number (index 0 is hydrogen). */
export const ELEMENT_SYMBOLS = [
  "H", "He", "Li", "Be", "B", "C", "N", "O", "F", "Ne", "Na", "Mg", "Al", "Si", "P", "S", "Cl", "Ar",
  "K", "Ca", "Sc", "Ti", "V", "Cr", "Mn", "Fe", "Co", "Ni", "Cu", "Zn", "Ga", "Ge", "As", "Se", "Br", "Kr",
  "Rb", "Sr", "Y", "Zr", "Nb", "Mo", "Tc", "Ru", "Rh", "Pd", "Ag", "Cd", "In", "Sn", "Sb", "Te", "I", "Xe",
  "Cs", "Ba", "La", "Ce", "Pr", "Nd", "Pm", "Sm", "Eu", "Gd", "Tb", "Dy", "Ho", "Er", "Tm", "Yb", "Lu",
  "Hf", "Ta", "W", "Re", "Os", "Ir", "Pt", "Au", "Hg", "Tl", "Pb", "Bi", "Po", "At", "Rn",
  "Fr", "Ra", "Ac", "Th", "Pa", "U", "Np", "Pu", "Am", "Cm", "Bk", "Cf", "Es", "Fm", "Md", "No", "Lr",
  "Rf", "Db", "Sg", "Bh", "Hs", "Mt", "Ds", "Rg", "Cn", "Nh", "Fl", "Mc", "Lv", "Ts", "Og",
] as const;

export type ElementSymbol = (typeof ELEMENT_SYMBOLS)[number];

const Z_BY_SYMBOL = new Map<string, number>(ELEMENT_SYMBOLS.map((s, i) => [s, i + 1]));

/** Atomic number of an element symbol, or undefined when it is not an element. */
export function atomicNumber(symbol: string): number | undefined {
  return Z_BY_SYMBOL.get(symbol);
}

export function isElement(symbol: string): symbol is ElementSymbol {
  return Z_BY_SYMBOL.has(symbol);
}

/**
 * Resolve a crystallographic species string to an element: type symbols with oxidation
 * states ("Li1+", "O2-", "Fe3+"), site labels ("Li1", "O2a", "Co_oct") and case variants ("LI").
 * Two-letter symbols win over one-letter ones ("Co1" is cobalt, not carbon + "o1"), as CIF readers do.
 * Deuterium and tritium map to hydrogen. Returns undefined when no element can be read.
 */
/**
 * Read a type symbol strictly: an element symbol (any case) with an optional oxidation state, "Li", "LI",
 * "Li1+", "O2-", "Fe+3", "Fe3.5+". Anything else ("Cx3+", "Co_oct", a mis-decoded byte) is undefined, never
 * a nearby element: a type symbol states the chemistry, so a wrong guess would silently change it.
 */
export function parseTypeSymbol(text: string): ElementSymbol | undefined {
  const m = /^\s*([A-Za-z]{1,2})(?:\d+(?:\.\d+)?[+-]?|[+-]\d*(?:\.\d+)?)?\s*$/.exec(text);
  if (!m) return undefined;
  const letters = m[1]!;
  const symbol = letters[0]!.toUpperCase() + letters.slice(1).toLowerCase();
  if (symbol === "D" || symbol === "T") return "H";
  return isElement(symbol) ? symbol : undefined;
}

export function resolveElement(species: string): ElementSymbol | undefined {
  // "Cö1" (a mis-decoded "Co1") must not become carbon.
  const next = /^\s*[A-Za-z]{0,2}(.?)/su.exec(species)?.[1] ?? "";
  if (next !== "" && next.charCodeAt(0) > 0x7f) return undefined;
  const m = /^\s*([A-Za-z]{1,2})/.exec(species);
  if (!m) return undefined;
  const letters = m[1]!;
  const two = letters.length === 2 ? letters[0]!.toUpperCase() + letters[1]!.toLowerCase() : undefined;
  if (two !== undefined && isElement(two)) return two;
  const one = letters[0]!.toUpperCase();
  if (one === "D" || one === "T") return "H";
  return isElement(one) ? one : undefined;
}
