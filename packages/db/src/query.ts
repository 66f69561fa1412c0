import { createHash } from "node:crypto";
import type { Material, MaterialRanking, Pathway, Prisma } from "./generated/prisma/client.js";
import { isElement } from "@ionrank/crystal";
import { ValidationError } from "./errors.js";
import type { IonRankDb } from "./open.js";
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from "./repository.js";

/** How a list of materials can be narrowed. Energies in eV. */
export interface MaterialFilter {
  /**
   * Mobile ion: materials containing this element or with hops of it (a dataset entry's host has its moving
   * ion taken out, so MnBO3 can host a Li hop); also selects the ranking figures shown.
   */
  ion?: string | null;
  /** Materials containing every one of these elements … */
  elementsAll?: readonly string[] | null;
  /** … and none of these. */
  elementsNone?: readonly string[] | null;
  structureClass?: string | null;
  spaceGroup?: number | null;
  /** Ranking Em (percolating barrier, else lowest hop) at least / at most this (needs ion). */
  emMin?: number | null;
  emMax?: number | null;
  /** Only materials whose ranking Em is below the good-conductor threshold (needs ion). */
  goodOnly?: boolean | null;
  /** Only materials with (true) / without (false) a DFT-labelled pathway (of `ion`, when given). */
  hasDft?: boolean | null;
  /** Predictions of this model ("name@version"); default the active model. */
  model?: string | null;
}

/** EM: lowest ranking Em first; PGOOD: most likely good conductors first; FORMULA: A→Z; DATE: newest first. */
export type MaterialSort = "EM" | "PGOOD" | "FORMULA" | "DATE";
export const MATERIAL_SORTS: readonly MaterialSort[] = ["EM", "PGOOD", "FORMULA", "DATE"];

export interface SearchMaterialsOptions {
  filter?: MaterialFilter;
  sort?: MaterialSort;
  first?: number;
  after?: string | null;
  /** Good-conductor threshold, eV (default 0.65). */
  threshold?: number;
}

export interface MaterialHit {
  material: Material;
  /** The ranking figures for (filter.ion, model), when the filter names an ion and they exist. */
  ranking: MaterialRanking | null;
  cursor: string;
  /** 1-based position of this row in the whole list (the rank, when sorted by EM). */
  position: number;
}

export interface SearchResult {
  items: MaterialHit[];
  pageInfo: { endCursor: string | null; hasNextPage: boolean };
  /** The model whose predictions were used (null when none is active and none was named). */
  model: string | null;
}

export const GOOD_CONDUCTOR_EV = 0.65;
const SYMBOL = /^[A-Z][a-z]{0,2}$/;

/** The active model's "name@version", or null when no model is registered as active. */
export async function activeModel(db: IonRankDb): Promise<string | null> {
  const m = await db.prisma.model.findFirst({ where: { active: true }, orderBy: { createdAt: "desc" } });
  return m ? `${m.name}@${m.version}` : null;
}

/** A mobile ion as the client gave it: an element symbol, or a typed error (never an empty list). */
function checkIon(field: string, ion: string | null | undefined): void {
  if (ion != null && !isElement(ion)) throw new ValidationError(field, `"${ion}" is not an element symbol (e.g. Li, Na, Mg)`);
}

/** A model the client named must be one this database knows: registered, or with rankings stored. */
async function checkModel(db: IonRankDb, model: string | null | undefined): Promise<void> {
  if (model == null) return;
  const at = model.lastIndexOf("@");
  const registered = at > 0 && (await db.prisma.model.count({ where: { name: model.slice(0, at), version: model.slice(at + 1) } })) > 0;
  if (registered || (await db.prisma.materialRanking.count({ where: { model } })) > 0) return;
  const known = (await db.prisma.model.findMany({ select: { name: true, version: true } })).map((m) => `${m.name}@${m.version}`);
  throw new ValidationError("model", `no model "${model}" here (known: ${known.join(", ") || "none"})`);
}

/** Prisma condition: the comma-separated `elements` column contains `el` (exact symbol, not a prefix). */
export function hasElement(el: string): Prisma.MaterialWhereInput {
  if (!SYMBOL.test(el) || !isElement(el)) throw new ValidationError("elements", `"${el}" is not an element symbol`);
  return { OR: [{ elements: el }, { elements: { startsWith: `${el},` } }, { elements: { endsWith: `,${el}` } }, { elements: { contains: `,${el},` } }] };
}

function materialWhere(f: MaterialFilter): Prisma.MaterialWhereInput {
  const and: Prisma.MaterialWhereInput[] = [];
  if (f.ion) and.push({ OR: [hasElement(f.ion), { pathways: { some: { ion: f.ion } } }] });
  for (const el of f.elementsAll ?? []) and.push(hasElement(el));
  for (const el of f.elementsNone ?? []) and.push({ NOT: hasElement(el) });
  if (f.structureClass) and.push({ structureClass: f.structureClass });
  if (f.spaceGroup != null) {
    if (!Number.isInteger(f.spaceGroup) || f.spaceGroup < 1 || f.spaceGroup > 230) throw new ValidationError("spaceGroup", "must be an integer 1 … 230");
    and.push({ spaceGroup: f.spaceGroup });
  }
  if (f.hasDft != null) {
    const labelled: Prisma.PathwayWhereInput = { emDft: { not: null }, ...(f.ion ? { ion: f.ion } : {}) };
    and.push(f.hasDft ? { pathways: { some: labelled } } : { pathways: { none: labelled } });
  }
  return and.length ? { AND: and } : {};
}

/**
 * A keyset cursor: which list (materials or pathways), its sort, the last row's sort key and id, the filter it
 * was made under (a fingerprint: the same key means other rows under another filter, so a cursor carried over to
 * another filter would skip rows silently), and the row's 1-based position (so later pages can number their rows).
 */
interface CursorData {
  l: "materials" | "pathways";
  s: MaterialSort;
  k: number | string | null;
  id: string;
  f: string;
  n: number;
}

/**
 * A short fingerprint of a list's filter (with the model its rankings come from), for its cursors. Values that
 * filter nothing are left out, so a filter given in another but equivalent form keeps its cursors: null, an empty
 * list and an empty text (both ignored by the queries) are the same as absent.
 */
function filterPrint(filter: object): string {
  const norm = Object.entries(filter)
    .filter(([, v]) => v !== null && v !== undefined && v !== "" && !(Array.isArray(v) && v.length === 0))
    .map(([k, v]) => [k, Array.isArray(v) ? [...new Set(v as string[])].sort() : v] as const)
    .sort(([a], [b]) => (a < b ? -1 : 1));
  return createHash("sha256").update(JSON.stringify(norm)).digest("base64url").slice(0, 12);
}

function encode(c: CursorData): string {
  return Buffer.from(JSON.stringify(c), "utf8").toString("base64url");
}

/** Check every part of a cursor before it reaches a query: a bad one is the client's error, never a crash. */
function decode(cursor: string, list: CursorData["l"], sort: MaterialSort, filter: string): CursorData {
  let c: CursorData;
  try {
    c = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")) as CursorData;
  } catch {
    throw new ValidationError("after", "not a cursor returned by this list");
  }
  if (typeof c !== "object" || c === null || typeof c.id !== "string" || !c.id) throw new ValidationError("after", "not a cursor returned by this list");
  if (c.l !== list) throw new ValidationError("after", `this cursor belongs to ${typeof c.l === "string" ? `the ${c.l} list` : "another list"}, not ${list}`);
  if (c.s !== sort) throw new ValidationError("after", `this cursor belongs to a list sorted by ${String(c.s)}, not ${sort}`);
  const validKey =
    list === "pathways"
      ? c.k === null
      : sort === "DATE"
        ? typeof c.k === "string" && !Number.isNaN(Date.parse(c.k))
        : sort === "FORMULA"
          ? typeof c.k === "string"
          : typeof c.k === "number" && Number.isFinite(c.k);
  if (!validKey) throw new ValidationError("after", "not a cursor returned by this list (its sort key is malformed)");
  // Cursors from before filters were fingerprinted carry none: say so, rather than blame the filter.
  if (c.f === undefined) throw new ValidationError("after", "this cursor is from an older version of IonRank: start again from the first page");
  if (c.f !== filter) throw new ValidationError("after", "this cursor belongs to another filter (or model): start again from the first page");
  if (!Number.isInteger(c.n) || c.n < 1) throw new ValidationError("after", "not a cursor returned by this list (its position is malformed)");
  return c;
}

function pageSize(first: number | undefined): number {
  const n = first ?? DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(n) || n < 0 || n > MAX_PAGE_SIZE) throw new ValidationError("first", `must be an integer 0 … ${MAX_PAGE_SIZE}`);
  return n;
}

/**
 * Materials matching `filter`, in `sort` order, keyset-paginated (cursor = last row's sort key and id, so
 * pages stay stable while rows are added). Sorting by EM or PGOOD, and the Em filters, rank materials by the
 * figures of one mobile ion under one model: they need `filter.ion`, and list only materials with predictions.
 */
export async function searchMaterials(db: IonRankDb, o: SearchMaterialsOptions = {}): Promise<SearchResult> {
  const f = o.filter ?? {};
  const sort = o.sort ?? "DATE";
  if (!MATERIAL_SORTS.includes(sort)) throw new ValidationError("sort", `must be one of ${MATERIAL_SORTS.join(", ")}`);
  const first = pageSize(o.first);
  const threshold = o.threshold ?? GOOD_CONDUCTOR_EV;
  for (const [k, v] of [["emMin", f.emMin], ["emMax", f.emMax]] as const) {
    if (v != null && !Number.isFinite(v)) throw new ValidationError(k, "must be a finite energy in eV");
  }
  checkIon("filter.ion", f.ion);
  await checkModel(db, f.model);
  const ranked = sort === "EM" || sort === "PGOOD" || f.emMin != null || f.emMax != null || f.goodOnly === true;
  const model = f.model ?? (await activeModel(db));
  // goodOnly: false filters nothing, as absent does (only true narrows the list).
  const print = filterPrint({ ...f, goodOnly: f.goodOnly === true ? true : null, model, threshold });
  const after = o.after ? decode(o.after, "materials", sort, print) : null;
  const start = after ? after.n + 1 : 1;

  if (ranked) {
    if (!f.ion) throw new ValidationError("filter.ion", "ranking by predicted Em needs the mobile ion: a material's barrier depends on which ion moves");
    if (!model) return { items: [], pageInfo: { endCursor: null, hasNextPage: false }, model: null };
    const em: Prisma.FloatFilter = {};
    if (f.emMin != null) em.gte = f.emMin;
    if (f.emMax != null) em.lte = f.emMax;
    if (f.goodOnly) em.lt = Math.min(threshold, em.lt ?? Infinity);
    // The ion and hasDft are on the ranking row itself, which spares a subquery over all pathways.
    const mw = materialWhere({ ...f, ion: null, hasDft: null });
    const where: Prisma.MaterialRankingWhereInput = {
      ion: f.ion,
      model,
      rankEm: em,
      ...(f.hasDft != null ? { hasDft: f.hasDft } : {}),
      ...(Object.keys(mw).length ? { material: mw } : {}),
    };
    const key = sort === "PGOOD" ? "pGood" : "rankEm";
    const desc = sort === "PGOOD";
    const orderBy: Prisma.MaterialRankingOrderByWithRelationInput[] =
      sort === "FORMULA"
        ? [{ material: { reducedFormula: "asc" } }, { materialId: "asc" }]
        : sort === "DATE"
          ? [{ material: { createdAt: "desc" } }, { materialId: "desc" }]
          : [{ [key]: desc ? "desc" : "asc" }, { materialId: desc ? "desc" : "asc" }];
    let keyset: Prisma.MaterialRankingWhereInput = {};
    if (after) {
      if (sort === "FORMULA") keyset = { OR: [{ material: { reducedFormula: { gt: String(after.k) } } }, { material: { reducedFormula: String(after.k) }, materialId: { gt: after.id } }] };
      else if (sort === "DATE") keyset = { OR: [{ material: { createdAt: { lt: new Date(String(after.k)) } } }, { material: { createdAt: new Date(String(after.k)) }, materialId: { lt: after.id } }] };
      else {
        const k = Number(after.k);
        keyset = desc
          ? { OR: [{ [key]: { lt: k } }, { [key]: k, materialId: { lt: after.id } }] }
          : { OR: [{ [key]: { gt: k } }, { [key]: k, materialId: { gt: after.id } }] };
      }
    }
    const rows = await db.prisma.materialRanking.findMany({ where: { AND: [where, keyset] }, orderBy, take: first + 1, include: { material: true } });
    const page = rows.slice(0, first);
    const items = page.map(({ material, ...ranking }, i) => ({
      material,
      ranking,
      position: start + i,
      cursor: encode({ l: "materials", s: sort, k: sort === "FORMULA" ? material.reducedFormula : sort === "DATE" ? material.createdAt.toISOString() : ranking[key], id: material.id, f: print, n: start + i }),
    }));
    return { items, pageInfo: { endCursor: items.at(-1)?.cursor ?? null, hasNextPage: rows.length > first }, model };
  }

  const where = materialWhere(f);
  let keyset: Prisma.MaterialWhereInput = {};
  let orderBy: Prisma.MaterialOrderByWithRelationInput[];
  if (sort === "FORMULA") {
    orderBy = [{ reducedFormula: "asc" }, { id: "asc" }];
    if (after) keyset = { OR: [{ reducedFormula: { gt: String(after.k) } }, { reducedFormula: String(after.k), id: { gt: after.id } }] };
  } else {
    orderBy = [{ createdAt: "desc" }, { id: "desc" }];
    if (after) keyset = { OR: [{ createdAt: { lt: new Date(String(after.k)) } }, { createdAt: new Date(String(after.k)), id: { lt: after.id } }] };
  }
  const rows = await db.prisma.material.findMany({
    where: { AND: [where, keyset] },
    orderBy,
    take: first + 1,
    ...(f.ion && model ? { include: { rankings: { where: { ion: f.ion, model } } } } : {}),
  });
  const page = rows.slice(0, first) as (Material & { rankings?: MaterialRanking[] })[];
  const items = page.map(({ rankings, ...material }, i) => ({
    material,
    ranking: rankings?.[0] ?? null,
    position: start + i,
    cursor: encode({ l: "materials", s: sort, k: sort === "FORMULA" ? material.reducedFormula : material.createdAt.toISOString(), id: material.id, f: print, n: start + i }),
  }));
  return { items, pageInfo: { endCursor: items.at(-1)?.cursor ?? null, hasNextPage: rows.length > first }, model };
}

export interface PathwayFilter {
  materialId?: string | null;
  ion?: string | null;
  hasDft?: boolean | null;
}

/** Pathways in a stable order (by id), keyset-paginated. */
export async function listPathways(db: IonRankDb, o: { filter?: PathwayFilter; first?: number; after?: string | null } = {}) {
  const f = o.filter ?? {};
  const first = pageSize(o.first);
  checkIon("filter.ion", f.ion);
  const print = filterPrint(f);
  const after = o.after ? decode(o.after, "pathways", "DATE", print) : null;
  const afterId = after?.id ?? null;
  const start = after ? after.n + 1 : 1;
  const where: Prisma.PathwayWhereInput = {
    ...(f.materialId ? { materialId: f.materialId } : {}),
    ...(f.ion ? { ion: f.ion } : {}),
    ...(f.hasDft == null ? {} : f.hasDft ? { emDft: { not: null } } : { emDft: null }),
    ...(afterId ? { id: { gt: afterId } } : {}),
  };
  const rows: Pathway[] = await db.prisma.pathway.findMany({ where, orderBy: { id: "asc" }, take: first + 1 });
  const items = rows.slice(0, first).map((p, i) => ({ pathway: p, position: start + i, cursor: encode({ l: "pathways", s: "DATE", k: null, id: p.id, f: print, n: start + i }) }));
  return { items, pageInfo: { endCursor: items.at(-1)?.cursor ?? null, hasNextPage: rows.length > first } };
}

export interface Stats {
  materials: number;
  pathways: number;
  labelledPathways: number;
  model: string | null;
  /** Histogram of materials' ranking Em (eV) under the model, in bins of `binWidth` from `binStart`. */
  emHistogram: { binStart: number; binWidth: number; counts: number[] };
  byIon: { ion: string; pathways: number; materials: number }[];
  byClass: { structureClass: string | null; materials: number }[];
}

/** Database-wide counts and the Em distribution, for dashboards. */
/** Most bins a histogram may have (a tiny binWidth would otherwise allocate without bound). */
const MAX_BINS = 10_000;

export async function stats(db: IonRankDb, o: { model?: string | null; ion?: string | null; binWidth?: number } = {}): Promise<Stats> {
  checkIon("ion", o.ion);
  await checkModel(db, o.model);
  const model = o.model ?? (await activeModel(db));
  const binWidth = o.binWidth ?? 0.1;
  if (!(binWidth > 0)) throw new ValidationError("binWidth", "must be a positive energy in eV");
  const [materials, pathways, labelledPathways, byIonPath, byClass, ems] = await Promise.all([
    db.prisma.material.count(),
    db.prisma.pathway.count(),
    db.prisma.pathway.count({ where: { emDft: { not: null } } }),
    db.prisma.pathway.groupBy({ by: ["ion"], _count: { _all: true }, orderBy: { ion: "asc" } }),
    db.prisma.material.groupBy({ by: ["structureClass"], _count: { _all: true }, orderBy: { structureClass: "asc" } }),
    model ? db.prisma.materialRanking.findMany({ where: { model, ...(o.ion ? { ion: o.ion } : {}) }, select: { rankEm: true } }) : Promise.resolve([]),
  ]);
  // Materials per ion: one grouped query over (ion, material) pairs rather than one query per ion.
  const pairs = await db.prisma.pathway.groupBy({ by: ["ion", "materialId"], orderBy: [{ ion: "asc" }, { materialId: "asc" }] });
  const materialsOf = new Map<string, number>();
  for (const p of pairs) materialsOf.set(p.ion, (materialsOf.get(p.ion) ?? 0) + 1);
  const byIon = byIonPath.map((g) => ({ ion: g.ion, pathways: g._count._all, materials: materialsOf.get(g.ion) ?? 0 }));
  // Bins by integer index k = floor(v / binWidth): recomputing a bin's start in floating point and measuring
  // from there put a value on a bin edge (1.7 with 0.1 eV bins) below the first bin, and dropped it.
  const bin = (v: number) => Math.floor(v / binWidth + 1e-9);
  const ks = ems.map((e) => bin(e.rankEm));
  const kLo = ks.length ? ks.reduce((a, b) => Math.min(a, b)) : 0;
  const kHi = ks.length ? ks.reduce((a, b) => Math.max(a, b)) : -1;
  if (kHi - kLo + 1 > MAX_BINS) throw new ValidationError("binWidth", `${binWidth} eV makes ${kHi - kLo + 1} bins over these barriers; at most ${MAX_BINS}`);
  const counts = new Array<number>(kHi - kLo + 1).fill(0);
  for (const k of ks) counts[k - kLo]!++;
  const lo = kLo * binWidth;
  return {
    materials,
    pathways,
    labelledPathways,
    model,
    emHistogram: { binStart: Number(lo.toFixed(6)), binWidth, counts },
    byIon,
    byClass: byClass.map((g) => ({ structureClass: g.structureClass, materials: g._count._all })),
  };
}
