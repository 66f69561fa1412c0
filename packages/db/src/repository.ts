import { createHash } from "node:crypto";
import type { Material, Pathway, Prediction, Prisma } from "./generated/prisma/client.js";
import { NotFoundError, ValidationError } from "./errors.js";
import type { IonRankDb } from "./open.js";
import { structureKey } from "./structure-key.js";

/** A structure as stored: lattice vectors as rows in Å, sites with fractional coordinates. */
export interface StoredStructure {
  lattice: [number, number, number][];
  sites: { species: string; frac: [number, number, number]; [extra: string]: unknown }[];
  [extra: string]: unknown;
}

export interface MaterialInput {
  name: string;
  formula: string;
  reducedFormula: string;
  /** Element symbols; stored sorted, de-duplicated and comma-separated ("Li,O,P"). */
  elements: readonly string[];
  structure: StoredStructure;
  /** Hex digest identifying the structure; default: SHA-256 of the canonical JSON of `structure`. */
  contentHash?: string;
  spaceGroup?: number | null;
  structureClass?: string | null;
  sourceFile?: string | null;
  /** DOI or free-text citation the structure came from. */
  citation?: string | null;
  /** DFT functional of the structure's relaxation, when known. */
  functional?: string | null;
}

export interface PathwayInput {
  materialId: string;
  ion: string;
  /** Fractional coordinates. */
  initial: readonly [number, number, number];
  final: readonly [number, number, number];
  images?: readonly (readonly [number, number, number])[];
  /** Å. */
  hopLength: number;
  multiplicity?: number | null;
  /** DFT migration barrier in eV; requires `emDftSource`. */
  emDft?: number | null;
  /** DOI/citation and functional of emDft, e.g. "10.1039/C9EE02457C; PBE NEB". */
  emDftSource?: string | null;
  /** Every directed copy of the hop in the cell, for percolation analyses. */
  equivalents?: readonly { i: number; j: number; n: readonly number[] }[];
  /** Default: SHA-256 of the canonical JSON of (material content hash, ion, initial, final, images). */
  contentHash?: string;
}

export interface PredictionInput {
  pathwayId: string;
  /** The model that produced the numbers: "name@version", or its parts. */
  model: string | { name: string; version: string };
  /** eV. */
  emPredicted: number;
  /** eV, ensemble standard deviation. */
  emStd: number;
  /** Probability in [0, 1]. */
  pGood: number;
  /** The model's applicability warnings for this pathway (default none). */
  warnings?: readonly string[];
}

export interface UpsertResult {
  id: string;
  /**
   * false when a row with the same content hash, or for a material the same structure key (the same crystal within
   * the key's tolerance, e.g. from another file format), already existed (it is left unchanged).
   */
  created: boolean;
}

export interface ListMaterialsOptions {
  /** Only materials containing this element (exact symbol match), e.g. "Li". */
  ion?: string;
  /** Page size, 0 … MAX_PAGE_SIZE; default DEFAULT_PAGE_SIZE. */
  first?: number;
  /** `endCursor` of the previous page. */
  after?: string | null;
}

export interface MaterialPage {
  items: Material[];
  pageInfo: { endCursor: string | null; hasNextPage: boolean };
}

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 500;

/** Highest migration barrier accepted as a DFT label, eV: anything above is a typo or a unit error. */
export const MAX_BARRIER_EV = 20;

/** Whether a label is a migration barrier in eV (finite, 0 … MAX_BARRIER_EV). */
export function isBarrier(x: unknown): x is number {
  return typeof x === "number" && Number.isFinite(x) && x >= 0 && x <= MAX_BARRIER_EV;
}

/** JSON with object keys sorted at every level: equal values give equal text. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

/** SHA-256 (hex) of canonicalJson(value). */
export function contentHash(value: unknown): string {
  return createHash("sha256").update(canonicalJson(value)).digest("hex");
}

/** A pathway's identity: its material's content hash, the ion and the path (shared by every writer). */
export function pathwayHash(materialHash: string, ion: string, initial: readonly number[], final: readonly number[], images: readonly (readonly number[])[]): string {
  return contentHash({ material: materialHash, ion, initial, final, images });
}

function requireText(field: string, value: unknown): string {
  if (typeof value !== "string" || value.trim() === "") throw new ValidationError(field, "must be a non-empty string");
  return value;
}

function requireFinite(field: string, value: unknown): number {
  if (typeof value !== "number" || !Number.isFinite(value)) throw new ValidationError(field, "must be a finite number");
  return value;
}

function requireVec3(field: string, value: unknown): [number, number, number] {
  if (!Array.isArray(value) || value.length !== 3) throw new ValidationError(field, "must be [x, y, z]");
  return value.map((x, i) => requireFinite(`${field}[${i}]`, x)) as [number, number, number];
}

/** Prisma's P2002: a unique constraint refused the write (a concurrent writer got there first). */
export function isUniqueViolation(error: unknown): boolean {
  return typeof error === "object" && error !== null && (error as { code?: unknown }).code === "P2002";
}

/**
 * Values per `in` list in one query. Prisma allows SQLite at most 999 parameters in a query that orders, nests or
 * deletes (it splits only plain `in` lookups itself), so longer lists go in slices of this many.
 */
export const IN_LIST_MAX = 500;

/** `xs` in consecutive slices of at most `n` (IN_LIST_MAX by default): one query each. */
export function inSlices<T>(xs: readonly T[], n = IN_LIST_MAX): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += n) out.push(xs.slice(i, i + n));
  return out;
}

/** Prisma's P2003: a foreign key refused the write (the row it refers to is gone, e.g. deleted meanwhile). */
export function isForeignKeyViolation(error: unknown): boolean {
  return typeof error === "object" && error !== null && (error as { code?: unknown }).code === "P2003";
}

/**
 * SQLite's "database is locked": another connection holds the write lock, or committed after this transaction
 * read (WAL refuses to upgrade a stale snapshot at once, without waiting). The transaction rolled back whole.
 */
export function isBusy(error: unknown): boolean {
  const e = error as { code?: unknown; meta?: { driverAdapterError?: { cause?: { originalCode?: unknown } } } } | null;
  // A plain SQLITE_BUSY (lock held past the busy timeout) comes wrapped by the driver adapter (P1008, its code in
  // meta); SQLITE_BUSY_SNAPSHOT (a stale snapshot) reaches Prisma unmapped and keeps SQLite's code as the error's own.
  return /^SQLITE_BUSY/.test(String(e?.meta?.driverAdapterError?.cause?.originalCode ?? "")) || /^SQLITE_BUSY/.test(String(e?.code ?? ""));
}

/**
 * Runs a write, and again (up to 5 tries in all) while it fails in a way that rolled it back whole and may pass on
 * a second try — `retryable` says which; `pause` is how long to wait before try `attempt + 1` (0: at once).
 */
export async function retryWrite<T>(write: () => Promise<T>, retryable: (error: unknown) => boolean, pause: (error: unknown, attempt: number) => number): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await write();
    } catch (error) {
      if (!retryable(error) || attempt === 5) throw error;
      const ms = pause(error, attempt);
      if (ms > 0) await new Promise((r) => setTimeout(r, ms));
    }
  }
}

/** Inserts unless a row with `hash` exists; survives a concurrent insert of the same hash. */
async function insertOnce(
  find: () => Promise<{ id: string } | null>,
  create: () => Promise<{ id: string }>,
): Promise<UpsertResult> {
  const existing = await find();
  if (existing) return { id: existing.id, created: false };
  try {
    return { id: (await create()).id, created: true };
  } catch (error) {
    if (!isUniqueViolation(error)) throw error;
    const winner = await find();
    if (!winner) throw error;
    return { id: winner.id, created: false };
  }
}

/**
 * Makes the transactions that decide whether a structure is new (import commits, upsertMaterial) take turns on
 * PostgreSQL, as SQLite's single writer makes them: two of them storing the same crystal under different content
 * hashes would otherwise both see no row with its structure key (which is not unique) and both insert one.
 */
export async function lockMaterialWrites(tx: Prisma.TransactionClient, provider: IonRankDb["provider"]): Promise<void> {
  if (provider === "postgresql") await tx.$executeRawUnsafe("SELECT pg_advisory_xact_lock(72015002)");
}

/** The stored material a structure is: the one with its content hash, else the oldest with its structure key. */
async function findStoredMaterial(tx: Prisma.TransactionClient, hash: string, key: string): Promise<{ id: string } | null> {
  return (
    (await tx.material.findUnique({ where: { contentHash: hash }, select: { id: true } })) ??
    tx.material.findFirst({ where: { structureKey: key }, orderBy: [{ createdAt: "asc" }, { id: "asc" }], select: { id: true } })
  );
}

/**
 * Stores a material once per content hash and structure key. A second call with the same hash, or the same crystal
 * within the key's tolerance (e.g. read from another file format), returns the first row's id.
 */
export async function upsertMaterial(db: IonRankDb, input: MaterialInput): Promise<UpsertResult> {
  const name = requireText("name", input.name);
  const formula = requireText("formula", input.formula);
  const reducedFormula = requireText("reducedFormula", input.reducedFormula);
  if (!Array.isArray(input.elements) || input.elements.length === 0) {
    throw new ValidationError("elements", "must list at least one element symbol");
  }
  const elements = [...new Set(input.elements.map((e, i) => requireText(`elements[${i}]`, e).trim()))];
  if (elements.some((e) => !/^[A-Z][a-z]{0,2}$/.test(e))) {
    throw new ValidationError("elements", `not element symbols: ${elements.join(",")}`);
  }
  const s = input.structure;
  if (typeof s !== "object" || s === null || !Array.isArray(s.lattice) || s.lattice.length !== 3) {
    throw new ValidationError("structure.lattice", "must be three lattice vectors");
  }
  s.lattice.forEach((row, i) => requireVec3(`structure.lattice[${i}]`, row));
  if (!Array.isArray(s.sites) || s.sites.length === 0) throw new ValidationError("structure.sites", "must list at least one site");
  s.sites.forEach((site, i) => {
    requireText(`structure.sites[${i}].species`, site?.species);
    requireVec3(`structure.sites[${i}].frac`, site?.frac);
  });
  if (input.spaceGroup != null && !(Number.isInteger(input.spaceGroup) && input.spaceGroup >= 1 && input.spaceGroup <= 230)) {
    throw new ValidationError("spaceGroup", "must be an integer 1 … 230");
  }
  const hash = input.contentHash === undefined ? contentHash(s) : requireText("contentHash", input.contentHash);
  const key = structureKey(s);

  // Look and insert in one transaction (under the lock on PostgreSQL), so a concurrent writer of the same crystal
  // is seen. A unique-key clash (a writer without the lock) or SQLite refusing a stale snapshot rolls it back whole:
  // run again, it finds the other's row.
  return retryWrite(
    () =>
      db.prisma.$transaction(async (tx) => {
        await lockMaterialWrites(tx, db.provider);
        const existing = await findStoredMaterial(tx, hash, key);
        if (existing) return { id: existing.id, created: false };
        const { id } = await tx.material.create({
          data: {
            name,
            formula,
            reducedFormula,
            elements: elements.sort().join(","),
            spaceGroup: input.spaceGroup ?? null,
            structureClass: input.structureClass ?? null,
            sourceFile: input.sourceFile ?? null,
            contentHash: hash,
            structureKey: key,
            structure: JSON.stringify(s),
            citation: input.citation ?? null,
            functional: input.functional ?? null,
          },
          select: { id: true },
        });
        return { id, created: true };
      }),
    (error) => isUniqueViolation(error) || isBusy(error),
    (_, attempt) => 20 * attempt,
  );
}

/** Stores a pathway once per content hash. A DFT barrier must say where it came from (emDftSource). */
export async function upsertPathway(db: IonRankDb, input: PathwayInput): Promise<UpsertResult> {
  const materialId = requireText("materialId", input.materialId);
  const ion = requireText("ion", input.ion);
  const initial = requireVec3("initial", input.initial);
  const final = requireVec3("final", input.final);
  const images = (input.images ?? []).map((p, i) => requireVec3(`images[${i}]`, p));
  const hopLength = requireFinite("hopLength", input.hopLength);
  if (hopLength <= 0) throw new ValidationError("hopLength", "must be positive (Å)");
  if (input.multiplicity != null && !(Number.isInteger(input.multiplicity) && input.multiplicity >= 1)) {
    throw new ValidationError("multiplicity", "must be a positive integer");
  }
  const emDft = input.emDft == null ? null : requireFinite("emDft", input.emDft);
  const emDftSource = input.emDftSource == null ? null : requireText("emDftSource", input.emDftSource);
  if (emDft !== null && emDftSource === null) {
    throw new ValidationError("emDftSource", "a DFT barrier needs its source (DOI/citation and functional)");
  }
  const material = await db.prisma.material.findUnique({ where: { id: materialId }, select: { contentHash: true } });
  if (!material) throw new NotFoundError("Material", materialId);
  // The same identity as bulk imports use, so a pathway added by hand and by an import is stored once.
  const hash = input.contentHash === undefined ? pathwayHash(material.contentHash, ion, initial, final, images) : requireText("contentHash", input.contentHash);
  return insertOnce(
    () => db.prisma.pathway.findUnique({ where: { contentHash: hash }, select: { id: true } }),
    () =>
      orNotFound(db.prisma.pathway.create({
        data: {
          materialId,
          ion,
          initial: JSON.stringify(initial),
          final: JSON.stringify(final),
          images: JSON.stringify(images),
          hopLength,
          multiplicity: input.multiplicity ?? null,
          emDft,
          emDftSource,
          equivalents: JSON.stringify(input.equivalents ?? []),
          contentHash: hash,
        },
        select: { id: true },
      }), "Material", materialId),
  );
}

/**
 * A write that refers to a row checked just before: a foreign-key refusal means another client deleted that row
 * in between (deleteMaterials), which is the caller's NotFoundError — the same answer the check would have given.
 */
async function orNotFound<T>(write: Promise<T>, entity: string, id: string): Promise<T> {
  try {
    return await write;
  } catch (error) {
    if (isForeignKeyViolation(error)) throw new NotFoundError(entity, id);
    throw error;
  }
}

/** Records a model's prediction for a pathway, labelled with the model's "name@version"; replaces that model's earlier one. */
export async function addPrediction(db: IonRankDb, input: PredictionInput): Promise<Prediction> {
  const pathwayId = requireText("pathwayId", input.pathwayId);
  const model =
    typeof input.model === "string"
      ? input.model
      : `${requireText("model.name", input.model?.name)}@${requireText("model.version", input.model?.version)}`;
  if (!/^[^@\s]+@[^@\s]+$/.test(model)) throw new ValidationError("model", `must be "name@version", got "${model}"`);
  const emPredicted = requireFinite("emPredicted", input.emPredicted);
  const emStd = requireFinite("emStd", input.emStd);
  if (emStd < 0) throw new ValidationError("emStd", "must be ≥ 0 (eV)");
  const pGood = requireFinite("pGood", input.pGood);
  if (pGood < 0 || pGood > 1) throw new ValidationError("pGood", "must be a probability in [0, 1]");

  if (!(await db.prisma.pathway.findUnique({ where: { id: pathwayId }, select: { id: true } }))) {
    throw new NotFoundError("Pathway", pathwayId);
  }
  const warnings = JSON.stringify((input.warnings ?? []).map((w, i) => requireText(`warnings[${i}]`, w)));
  const data = { emPredicted, emStd, pGood, warnings, createdAt: new Date() };
  // One row per (pathway, model): a new prediction replaces the old. Two writers racing on PostgreSQL can
  // both miss the row and both insert; the loser retries as an update.
  const write = () => orNotFound(db.prisma.prediction.upsert({ where: { pathwayId_model: { pathwayId, model } }, create: { pathwayId, model, ...data }, update: data }), "Pathway", pathwayId);
  try {
    return await write();
  } catch (error) {
    if (!isUniqueViolation(error)) throw error;
    return write();
  }
}

/** A DFT label: the barrier in eV and where it came from. */
export interface LabelInput {
  emDft: number;
  /** DOI or citation of the calculation. */
  citation: string;
  /** DFT functional, e.g. "PBE". */
  functional: string;
}

/**
 * Stores a pathway's DFT label (emDftSource: "citation; functional") and marks its material's rankings of that ion as
 * labelled, in one transaction: a label stored while the rankings still say hasDft: false would mislead the filters.
 * A pathway deleted meanwhile (deleteMaterials by another client) is NotFoundError, whenever the delete lands.
 */
export async function labelPathway(db: IonRankDb, id: string, label: LabelInput): Promise<Pathway> {
  requireText("id", id);
  if (!isBarrier(label.emDft)) throw new ValidationError("emDft", `must be a barrier in eV, 0 … ${MAX_BARRIER_EV}`);
  const citation = requireText("citation", label.citation).trim();
  const functional = requireText("functional", label.functional).trim();
  const data = { emDft: label.emDft, emDftSource: `${citation}; ${functional}` };
  return retryWrite(
    () =>
      db.prisma.$transaction(async (tx) => {
        const p = await tx.pathway.findUnique({ where: { id } });
        if (!p) throw new NotFoundError("Pathway", id);
        // updateMany, not update: on PostgreSQL a delete committed since the read leaves no row, and update would
        // throw Prisma's P2025 (a 500) where this says which pathway is gone.
        if ((await tx.pathway.updateMany({ where: { id }, data })).count === 0) throw new NotFoundError("Pathway", id);
        await tx.materialRanking.updateMany({ where: { materialId: p.materialId, ion: p.ion }, data: { hasDft: true } });
        return { ...p, ...data };
      }),
    // SQLite: another process committed after this transaction read (a delete there): run again, and see it.
    isBusy,
    (_, attempt) => 20 * attempt,
  );
}

const CURSOR_PREFIX = "material:";

export function encodeCursor(id: string): string {
  return Buffer.from(`${CURSOR_PREFIX}${id}`, "utf8").toString("base64url");
}

function decodeCursor(cursor: string): string {
  const text = Buffer.from(cursor, "base64url").toString("utf8");
  if (!text.startsWith(CURSOR_PREFIX) || text.length === CURSOR_PREFIX.length) {
    throw new ValidationError("after", "not a cursor returned by listMaterials");
  }
  return text.slice(CURSOR_PREFIX.length);
}

/**
 * One page of materials in a stable order (by id), keyset-paginated: a cursor stays valid when rows are added
 * or deleted, and walking the pages visits every row present throughout exactly once.
 */
export async function listMaterials(db: IonRankDb, options: ListMaterialsOptions = {}): Promise<MaterialPage> {
  const first = options.first ?? DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(first) || first < 0 || first > MAX_PAGE_SIZE) {
    throw new ValidationError("first", `must be an integer 0 … ${MAX_PAGE_SIZE}`);
  }
  const afterId = options.after == null ? undefined : decodeCursor(options.after);
  const ion = options.ion == null ? undefined : requireText("ion", options.ion);
  const rows = await db.prisma.material.findMany({
    where: {
      ...(afterId === undefined ? {} : { id: { gt: afterId } }),
      ...(ion === undefined
        ? {}
        : {
            OR: [
              { elements: ion },
              { elements: { startsWith: `${ion},` } },
              { elements: { endsWith: `,${ion}` } },
              { elements: { contains: `,${ion},` } },
            ],
          }),
    },
    orderBy: { id: "asc" },
    take: first + 1,
  });
  const items = rows.slice(0, first);
  const last = items.at(-1);
  return {
    items,
    pageInfo: { endCursor: last ? encodeCursor(last.id) : null, hasNextPage: rows.length > first },
  };
}

export type { Material, Pathway, Prediction };
