// The ranking view's state lives in the URL (so a view can be shared): parsed here for the page and the CSV export.
import { gql } from "@/lib/api";

export const IONS = ["Li", "Na", "K", "Mg", "Ca", "Zn", "Al"] as const;
export const SORTS = ["EM", "PGOOD", "FORMULA", "DATE"] as const;

export interface RankingQuery {
  ion: string;
  emMin: number | null;
  emMax: number | null;
  goodOnly: boolean;
  structureClass: string | null;
  elementsAll: string[];
  elementsNone: string[];
  hasDft: boolean | null;
  model: string | null;
  sort: (typeof SORTS)[number];
  first: number;
  after: string | null;
  /**
   * The `after` of each page before this one, oldest first ("" for the first page): what "Previous page" goes back
   * to. The API pages forwards only, so the way back travels in the URL (at most MAX_BACK pages of it).
   */
  back: string[];
  /** URL parameters that are not valid values (e.g. first=abc): the view is not shown, rather than a different one. */
  invalid: string[];
}

type Params = Record<string, string | string[] | undefined>;
const one = (p: Params, k: string) => {
  const v = p[k];
  return (Array.isArray(v) ? v[0] : v)?.trim() || null;
};
const num = (s: string | null) => (s !== null && s !== "" && Number.isFinite(Number(s)) ? Number(s) : null);
/** Element symbols in any case ("fe" is Fe); anything else goes to the API, which says what is wrong with it. */
export const symbol = (x: string) => (/^[a-z]{1,3}$/i.test(x) ? x[0]!.toUpperCase() + x.slice(1).toLowerCase() : x);
const list = (s: string | null) => (s ? s.split(/[\s,]+/).filter(Boolean).map(symbol) : []);
/** A material's name when it says more than its formula ("LiCoO2.cif" does not; "LiCoO2_s012.POSCAR" does), else null. */
export const distinctName = (name: string, reducedFormula: string) => (name.replace(/\.(cif|vasp|poscar|contcar|xyz|extxyz|json)$/i, "") === reducedFormula ? null : name);
/** A parameter's value as a message quotes it: cut, so a pasted blob does not fill the page. */
const quote = (s: string) => JSON.stringify(s.length > 40 ? `${s.slice(0, 40)}…` : s);
const MAX_FIRST = 200;
/** Pages of history a URL keeps for "Previous page"; further back, "First page" still goes to the start. */
export const MAX_BACK = 50;

export function parseRanking(p: Params): RankingQuery {
  const invalid: string[] = [];
  const sortIn = one(p, "sort");
  const sort = sortIn === null ? "EM" : SORTS.find((s) => s === sortIn.toUpperCase());
  if (!sort) invalid.push(`sort: ${quote(sortIn!)} is not one of ${SORTS.join(", ")}`);
  /** A whole number in lo … hi, or the default when absent. */
  const whole = (k: string, lo: number, hi: number, fallback: number, what: string) => {
    const s = one(p, k);
    if (s === null) return fallback;
    const n = Number(s);
    if (/^\d+$/.test(s) && n >= lo && n <= hi) return n;
    invalid.push(`${k}: ${quote(s)} is not ${what}`);
    return fallback;
  };
  const ev = (k: string) => {
    const s = one(p, k);
    if (s !== null && num(s) === null) invalid.push(`${k}: ${quote(s)} is not a barrier in eV`);
    return num(s);
  };
  const choice = <T>(k: string, values: Record<string, T>, fallback: T) => {
    const s = one(p, k);
    if (s === null) return fallback;
    if (Object.hasOwn(values, s)) return values[s]!;
    invalid.push(`${k}: ${quote(s)} is not one of ${Object.keys(values).join(", ")}`);
    return fallback;
  };
  return {
    ion: symbol(one(p, "ion") ?? "Li"),
    emMin: ev("emMin"),
    emMax: ev("emMax"),
    goodOnly: choice("goodOnly", { "1": true, "0": false }, false),
    structureClass: one(p, "class"),
    elementsAll: list(one(p, "with")),
    elementsNone: list(one(p, "without")),
    hasDft: choice<boolean | null>("hasDft", { yes: true, no: false }, null),
    model: one(p, "model"),
    sort: sort ?? "EM",
    first: whole("first", 1, MAX_FIRST, 25, `a page size (a whole number 1 … ${MAX_FIRST})`),
    after: one(p, "after"),
    back: ([] as string[]).concat(p.back ?? []).slice(-MAX_BACK),
    invalid,
  };
}

/** What is wrong with a view before asking the API: invalid parameters, or an Em range whose minimum is above its maximum. */
export function rankingProblems(q: RankingQuery): string[] {
  return [
    ...q.invalid,
    ...(q.emMin !== null && q.emMax !== null && q.emMin > q.emMax ? [`the Em range's minimum ${q.emMin} eV is above its maximum ${q.emMax} eV: no material can match`] : []),
  ];
}

/** The URL query string of a view (the inverse of parseRanking), with some fields replaced. */
export function rankingSearch(q: RankingQuery, patch: Partial<RankingQuery> = {}): string {
  const v = { ...q, ...patch };
  const s = new URLSearchParams();
  s.set("ion", v.ion);
  if (v.emMin !== null) s.set("emMin", String(v.emMin));
  if (v.emMax !== null) s.set("emMax", String(v.emMax));
  if (v.goodOnly) s.set("goodOnly", "1");
  if (v.structureClass) s.set("class", v.structureClass);
  if (v.elementsAll.length) s.set("with", v.elementsAll.join(","));
  if (v.elementsNone.length) s.set("without", v.elementsNone.join(","));
  if (v.hasDft !== null) s.set("hasDft", v.hasDft ? "yes" : "no");
  if (v.model) s.set("model", v.model);
  s.set("sort", v.sort);
  if (v.first !== 25) s.set("first", String(v.first));
  if (v.after) {
    s.set("after", v.after);
    for (const b of v.back) s.append("back", b); // without `after` this is the first page: nothing to go back to
  }
  return s.toString();
}

/** The view of the next page (this page joins the way back) and of the previous one, when known. */
export function nextPage(q: RankingQuery, endCursor: string): string {
  return rankingSearch(q, { after: endCursor, back: [...q.back, q.after ?? ""].slice(-MAX_BACK) });
}
export function previousPage(q: RankingQuery): string | null {
  if (!q.after || q.back.length === 0) return null;
  return rankingSearch(q, { after: q.back.at(-1) || null, back: q.back.slice(0, -1) });
}

export interface RankingRow {
  cursor: string;
  /** 1-based position in the whole view (the API counts it: pages after the first go on numbering). */
  position: number;
  node: { id: string; name: string; formula: string; reducedFormula: string; spaceGroup: number | null; structureClass: string | null };
  ranking: { rankEm: number; emStd: number; pGood: number; percolationEm: number | null; percolationDim: number; lowestEm: number; hops: number; hasDft: boolean } | null;
}

export interface RankingPage {
  edges: RankingRow[];
  pageInfo: { endCursor: string | null; hasNextPage: boolean };
  model: string | null;
}

const QUERY = `query Ranking($filter: MaterialFilter, $sort: MaterialSort, $first: Int, $after: String) {
  materials(filter: $filter, sort: $sort, first: $first, after: $after) {
    model
    edges { cursor position node { id name formula reducedFormula spaceGroup structureClass }
            ranking { rankEm emStd pGood percolationEm percolationDim lowestEm hops hasDft } }
    pageInfo { endCursor hasNextPage }
  }
}`;

export async function fetchRanking(q: RankingQuery, override: { first?: number; after?: string | null } = {}): Promise<RankingPage> {
  const filter = {
    ion: q.ion,
    ...(q.emMin !== null ? { emMin: q.emMin } : {}),
    ...(q.emMax !== null ? { emMax: q.emMax } : {}),
    ...(q.goodOnly ? { goodOnly: true } : {}),
    ...(q.structureClass ? { structureClass: q.structureClass } : {}),
    ...(q.elementsAll.length ? { elementsAll: q.elementsAll } : {}),
    ...(q.elementsNone.length ? { elementsNone: q.elementsNone } : {}),
    ...(q.hasDft !== null ? { hasDft: q.hasDft } : {}),
    ...(q.model ? { model: q.model } : {}),
  };
  const data = await gql<{ materials: RankingPage }>(QUERY, { filter, sort: q.sort, first: override.first ?? q.first, after: override.after === undefined ? q.after : override.after });
  return data.materials;
}
