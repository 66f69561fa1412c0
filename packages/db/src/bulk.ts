// Bulk import: items from a source are validated and turned into rows, written in transactions of a bounded
// number of items together with the job's counters and per-item errors — so a killed process loses nothing
// it committed, and a re-run (resume) skips exactly what was committed.
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import {
  Composition,
  entryBlock,
  enumerateHops,
  isElement,
  noHopsReason,
  ParseError,
  Pathway as CrystalPathway,
  readJsonStructures,
  readStructureEntries,
  type ElementSymbol,
  type Hop,
  type Structure,
  type StructureFormat,
} from "@ionrank/crystal";
import { ConcurrentWriteError, JobClaimedError, ValidationError } from "./errors.js";
import { yieldToEventLoop } from "./event-loop.js";
import { currentOwner, IMPORT_STALE_MS, jobLiveness, startHeartbeat } from "./job-owner.js";
import type { ImportJob } from "./generated/prisma/client.js";
import type { IonRankDb } from "./open.js";
import { structureOf } from "./rankings.js";
import { contentHash, inSlices, isBarrier, isBusy, isUniqueViolation, lockMaterialWrites, MAX_BARRIER_EV, pathwayHash, retryWrite, type StoredStructure } from "./repository.js";
import { STRUCTURE_KEY_STEPS, structureKey } from "./structure-key.js";
import { parseProvenance, provenanceKey, readSource, type SourceItem } from "./sources.js";

/** Where dataset (5-image JSON) labels come from. */
/** The published training set's provenance table (sys_name + barrier → functional), shipped in published/. */
const publishedProvenance = (() => {
  let table: Map<string, string> | undefined;
  return () => (table ??= parseProvenance(readFileSync(new URL("../published/em-train-provenance.csv", import.meta.url), "utf8")));
})();

export const DATASET_CITATION = "Devi, Butler & Sai Gautam, npj Comput. Mater. (2026), doi:10.1038/s41524-026-01972-8 (compiled literature DFT-NEB)";

export interface ImportOptions {
  /** Enumerate this ion's symmetry-distinct hops of every structure and store them as pathways. */
  ion?: string | null;
  /** Items per transaction (default 250). */
  batchSize?: number;
  /** Continue this job: the items it already committed are skipped. */
  resumeJob?: string | null;
  /** Called once the job exists (before any item is read), with its id: what --resume needs. */
  onStart?: (jobId: string) => void;
  /** Called after every committed batch. */
  onProgress?: (job: JobCounts) => void;
  /**
   * Called with the ids of each batch's pathways, new and already stored (e.g. to predict those not yet
   * predicted); the pathways it reports as failed become notices on the item that holds them.
   */
  onPathways?: (ids: string[]) => Promise<void | { failed: readonly { pathwayId: string; reason: string }[] }>;
  /** Recorded on the job: what was imported. */
  source?: string;
}

export interface JobCounts {
  id: string;
  processed: number;
  imported: number;
  duplicates: number;
  failed: number;
}

export interface ImportError {
  name: string;
  index: number;
  reason: string;
}

/**
 * What an import notice is about: the structure has no site of the ion (NO_ION), has the ion but no hops of it
 * (NO_HOPS), a stored pathway could not be predicted (UNPREDICTED), or the item was already stored, so nothing
 * new was written (DUPLICATE). NOTE: a notice from before kinds were recorded.
 */
export type ImportNoticeKind = "NO_ION" | "NO_HOPS" | "UNPREDICTED" | "DUPLICATE" | "UNLABELLED" | "NOTE";

/** An item that was stored, with something the user must know (e.g. no hops of the ion were found). */
export interface ImportNotice {
  name: string;
  index: number;
  kind: ImportNoticeKind;
  message: string;
}

export interface ImportOutcome extends JobCounts {
  status: "DONE" | "FAILED";
  errors: ImportError[];
  notices: ImportNotice[];
  /** Pathways created by this run. */
  pathways: number;
}

interface MaterialRow {
  id: string;
  name: string;
  formula: string;
  reducedFormula: string;
  elements: string;
  spaceGroup: number | null;
  structureClass: string | null;
  sourceFile: string | null;
  contentHash: string;
  /** The tolerant identity (see structureKey): an item with another hash but this key is the stored material. */
  structureKey: string;
  structure: string;
  citation: string | null;
  functional: string | null;
}

interface PathwayRow {
  id: string;
  materialHash: string;
  ion: string;
  initial: string;
  final: string;
  images: string;
  hopLength: number;
  multiplicity: number | null;
  emDft: number | null;
  emDftSource: string | null;
  equivalents: string;
  contentHash: string;
}

interface Prepared {
  index: number;
  name: string;
  materials: MaterialRow[];
  pathways: PathwayRow[];
  notices: { kind: ImportNoticeKind; message: string }[];
  /** Blocks of a multi-structure item that could not be stored (the item's good blocks are). */
  blockErrors: { name: string; reason: string }[];
  /**
   * The item's pathways were given (a NEB dataset entry's images), not enumerated as the ion's hops of its
   * structure: on a stored structure of the same key they are kept, not enumerated again.
   */
  givenPathways?: boolean;
  error?: string;
}

export function storedStructure(s: Structure): StoredStructure {
  return {
    lattice: s.lattice.matrix.map((r) => [r[0], r[1], r[2]] as [number, number, number]),
    sites: s.sites.map((site) => ({
      species: site.element,
      frac: [site.frac[0], site.frac[1], site.frac[2]] as [number, number, number],
      ...(site.occupancy !== undefined && site.occupancy < 1 ? { occupancy: site.occupancy } : {}),
      ...(site.label ? { label: site.label } : {}),
    })),
  };
}

function materialRow(s: Structure, name: string, extra: Partial<MaterialRow> = {}): MaterialRow {
  const comp = Composition.of(s);
  const stored = storedStructure(s);
  return {
    id: randomUUID(),
    name,
    formula: comp.formula,
    reducedFormula: comp.reducedFormula,
    elements: [...new Set(comp.elements)].sort().join(","),
    spaceGroup: null,
    structureClass: null,
    sourceFile: name,
    contentHash: contentHash(stored),
    structureKey: structureKey(stored),
    structure: JSON.stringify(stored),
    citation: null,
    functional: null,
    ...extra,
  };
}

const isDatasetEntry = (e: unknown): e is { atoms: unknown; target?: number; sys_name?: string; jid?: unknown; class?: string } =>
  typeof e === "object" && e !== null && "atoms" in e && ("target" in e || "sys_name" in e);

/** Validate one item and turn it into rows (throws with the reason when it is bad). */
function prepare(item: SourceItem & { format?: string | null }, ion: ElementSymbol | null): Omit<Prepared, "index"> {
  if (item.error) throw new ParseError(item.error);
  const out: Omit<Prepared, "index"> = { name: item.name, materials: [], pathways: [], notices: [], blockErrors: [] };
  if (isDatasetEntry(item.entry)) {
    out.givenPathways = true;
    // A NEB dataset entry: the 5-image path structure with its DFT barrier.
    const e = item.entry;
    const s = readJsonStructures(e as never, { file: item.name })[0];
    if (!s) throw new ParseError("entry holds no structure");
    const p = CrystalPathway.fromImageStructure(s);
    const label = e.sys_name ?? String(e.jid ?? item.name);
    const target = e.target;
    if (target !== undefined && !isBarrier(target)) {
      throw new ValidationError("target", `must be a barrier in eV, 0 … ${MAX_BARRIER_EV} (got ${JSON.stringify(target)})`);
    }
    // Where the label comes from: the published dataset, credited only for the entries its provenance table
    // lists (same name, same barrier); else the entry's own "citation" (DOI) and "functional". A barrier with
    // neither is not stored as a DFT label (a number nobody can trace): the pathway is, with a notice saying why.
    const key = provenanceKey(label, Number(target));
    const publishedFunctional = item.provenance?.get(key) ?? publishedProvenance().get(key);
    const published = publishedFunctional !== undefined;
    const text = (v: unknown) => (typeof v === "string" && v.trim() !== "" ? v.trim() : null);
    const own = { citation: text((e as { citation?: unknown }).citation) ?? text((e as { doi?: unknown }).doi), functional: text((e as { functional?: unknown }).functional) };
    const traced = own.citation !== null && own.functional !== null;
    const source = target === undefined ? null : published ? `${DATASET_CITATION}; ${publishedFunctional} NEB` : traced ? `${own.citation}; ${own.functional}` : null;
    if (target !== undefined && source === null) {
      out.notices.push({ kind: "UNLABELLED", message: `its barrier ${target} eV was not stored as a DFT label: give the entry "citation" (DOI) and "functional", or label the pathway later (labelPathway); stored without it` });
    }
    const m = materialRow(p.host, label, {
      structureClass: e.class ?? null,
      citation: published ? DATASET_CITATION : own.citation,
      functional: publishedFunctional ?? own.functional,
      sourceFile: item.name,
    });
    out.materials.push(m);
    const images = p.images.map((f) => [f[0], f[1], f[2]]);
    out.pathways.push({
      id: randomUUID(),
      materialHash: m.contentHash,
      ion: p.ion,
      initial: JSON.stringify(images[0]),
      final: JSON.stringify(images.at(-1)),
      images: JSON.stringify(images),
      hopLength: p.length,
      multiplicity: null,
      emDft: source === null ? null : target!,
      emDftSource: source,
      equivalents: "[]",
      contentHash: pathwayHash(m.contentHash, p.ion, images[0]!, images.at(-1)!, images),
    });
    return out;
  }
  const entries =
    item.entry !== undefined
      ? readJsonStructures(item.entry as never, { file: item.name })
      : readStructureEntries(item.text ?? "", { file: item.name, ...(item.format ? { format: item.format as StructureFormat } : {}) });
  if (entries.length === 0) throw new ParseError("no structure found");
  const multi = entries.length > 1;
  entries.forEach((s, k) => {
    const name = multi ? `${item.name} [${entryBlock(s) ?? k}]` : item.name;
    try {
      if (s instanceof ParseError) throw s;
      if (s.length === 0) throw new ParseError("structure has no sites");
      s.assertSeparated("Import");
      // A structure without the ion is still a material; it just has no hops of that ion to enumerate.
      const hops = ion && s.sites.some((x) => x.element === ion) ? enumerateHops(s, ion) : null;
      const m = materialRow(s, name, { spaceGroup: hops?.spaceGroup.number ?? null });
      const pathways = hopRows(hops?.hops ?? [], ion!, m.contentHash);
      out.materials.push(m);
      out.pathways.push(...pathways);
      // Stored, but the user asked for this ion's hops and there are none: say so and why.
      const why = !ion ? null : !hops ? `the structure has no ${ion} sites` : hops.hops.length === 0 ? noHopsReason(hops) : null;
      if (why) out.notices.push({ kind: hops ? "NO_HOPS" : "NO_ION", message: `${multi ? `${name}: ` : ""}${why}; stored without ${ion} pathways` });
    } catch (e) {
      if (!multi) throw e;
      // One bad block of a multi-structure file is that block's error; the good blocks are stored.
      out.blockErrors.push({ name, reason: (e as Error).message });
    }
  });
  return out;
}

/** Pathway rows for enumerated hops of `ion` in the material with content hash `materialHash`. */
function hopRows(hops: readonly Hop[], ion: ElementSymbol, materialHash: string): PathwayRow[] {
  return hops.map((h) => {
    const images = [0, 0.25, 0.5, 0.75, 1].map((t) => h.from.map((x, a) => x + t * (h.to[a]! - x)));
    return {
      id: randomUUID(),
      materialHash,
      ion,
      initial: JSON.stringify(h.from),
      final: JSON.stringify(h.to),
      images: JSON.stringify(images),
      hopLength: h.length,
      multiplicity: h.multiplicity,
      emDft: null,
      emDftSource: null,
      equivalents: JSON.stringify(h.equivalents),
      contentHash: pathwayHash(materialHash, ion, h.from, h.to, images),
    };
  });
}

/** Two paths' images agree within the structure key's fractional step. */
function samePath(a: readonly (readonly number[])[], b: readonly (readonly number[])[]): boolean {
  return a.length === b.length && a.every((p, i) => p.every((x, k) => Math.abs(x - b[i]![k]!) < STRUCTURE_KEY_STEPS.fractional));
}

/**
 * An item whose structure has another content hash than a stored material's (or an earlier item's of the batch) but
 * the same structure key — the same crystal from another file format, site order or float digits — is that
 * material: its row is turned into that material's (hash and structure), so commit() counts it as a duplicate or adds
 * only what the material lacks. Its hops are enumerated again on that material's structure, since pathway hashes and
 * the site indices in `equivalents` refer to the stored site order. Given pathways (a dataset entry's images, in the
 * same frame since the key requires the same cell and origin) are moved onto that material; one whose images are
 * within the key's fractional step of a pathway of the same ion it already has is that pathway. Runs before the
 * transaction, so enumerating large cells does not hold the write lock; commit() checks that no writer came between.
 */
async function adoptStoredStructures(db: IonRankDb, batch: Prepared[], ion: ElementSymbol | null): Promise<void> {
  const good = batch.filter((b) => !b.error);
  const keys = [...new Set(good.flatMap((b) => b.materials.map((m) => m.structureKey)))];
  if (keys.length === 0) return;
  // Without the structure text: it is read only for the rare item adopted by a stored material (below). In slices of
  // keys: Prisma allows SQLite 999 parameters in an ordered query (a CIF of 1,000 blocks failed the whole import), and
  // a key's rows all come from one slice, in the order that picks its holder.
  const stored: { contentHash: string; structureKey: string | null; structure?: string }[] = [];
  for (const slice of inSlices(keys)) {
    stored.push(
      ...(await db.prisma.material.findMany({
        where: { structureKey: { in: slice } },
        select: { contentHash: true, structureKey: true },
        orderBy: [{ createdAt: "asc" }, { id: "asc" }],
      })),
    );
  }
  // The oldest row of a key holds it (rows stored before keys existed may share one); then the batch's first item.
  const holder = new Map<string, { contentHash: string; structure?: string }>();
  const storedHashes = new Set(stored.map((m) => m.contentHash));
  for (const m of stored) if (!holder.has(m.structureKey!)) holder.set(m.structureKey!, m);
  for (const b of good) {
    for (const m of b.materials) {
      const h = holder.get(m.structureKey);
      if (!h) holder.set(m.structureKey, m);
      if (!h || h.contentHash === m.contentHash || storedHashes.has(m.contentHash)) continue;
      h.structure ??= (await db.prisma.material.findUniqueOrThrow({ where: { contentHash: h.contentHash }, select: { structure: true } })).structure;
      const held = h as { contentHash: string; structure: string };
      const own = b.pathways.filter((p) => p.materialHash === m.contentHash);
      const others = b.pathways.filter((p) => p.materialHash !== m.contentHash);
      let pathways: PathwayRow[];
      if (b.givenPathways) {
        const had = [
          ...(await db.prisma.pathway.findMany({ where: { material: { contentHash: h.contentHash } }, select: { ion: true, images: true, contentHash: true } })),
          ...good.flatMap((x) => x.pathways.filter((p) => p.materialHash === h.contentHash)),
        ];
        pathways = own.map((p) => {
          const images = JSON.parse(p.images) as number[][];
          const same = had.find((q) => q.ion === p.ion && samePath(JSON.parse(q.images) as number[][], images));
          return { ...p, materialHash: h.contentHash, contentHash: same?.contentHash ?? pathwayHash(h.contentHash, p.ion, images[0]!, images.at(-1)!, images) };
        });
      } else {
        // Enumerated only if the item had hops of the ion: the same crystal has the same hops.
        try {
          pathways = own.length && ion ? hopRows(enumerateHops(structureOf(held), ion).hops, ion, h.contentHash) : [];
        } catch (e) {
          b.error = `${m.name}: the same structure as a stored material, on which finding the ${ion} hops failed: ${(e as Error).message}`;
          break;
        }
        await yieldToEventLoop();
      }
      m.contentHash = h.contentHash;
      m.structure = held.structure;
      b.pathways = [...others, ...pathways];
    }
  }
}

/**
 * Write one batch, the job's counters and its errors in one transaction. Returns the ids of the pathways it
 * created and of every pathway in the batch (already stored ones included, so a re-import can predict them).
 */
async function commit(db: IonRankDb, jobId: string, owner: string, batch: Prepared[], counts: JobCounts): Promise<{ created: string[]; all: string[]; owner: Map<string, Prepared> }> {
  const good = batch.filter((b) => !b.error);
  const mHashes = [...new Set(good.flatMap((b) => b.materials.map((m) => m.contentHash)))];
  const pHashes = [...new Set(good.flatMap((b) => b.pathways.map((p) => p.contentHash)))];
  return db.prisma.$transaction(async (tx) => {
    // Write first: on SQLite this takes the write lock before anything is read, so a concurrent import makes
    // this wait (busy timeout) instead of failing on a stale snapshot when it gets to its inserts.
    // Only while this process owns the job: one that lost it to a resumer stops instead of counting items twice.
    const mine = await tx.importJob.updateMany({ where: { id: jobId, owner }, data: { processed: { increment: batch.length } } });
    if (mine.count === 0) throw new JobClaimedError(jobId);
    await lockMaterialWrites(tx, db.provider);
    const stored = await tx.material.findMany({ where: { contentHash: { in: mHashes } }, select: { id: true, name: true, contentHash: true } });
    const existingM = new Map(stored.map((m) => [m.contentHash, m.id]));
    // adoptStoredStructures() ran before this transaction: a material of a new structure key stored since (by a
    // concurrent import) would be stored twice. Roll back; flush() adopts it and commits again.
    const newKeys = [...new Set(good.flatMap((b) => b.materials.filter((m) => !existingM.has(m.contentHash)).map((m) => m.structureKey)))];
    const raced = newKeys.length ? await tx.material.findFirst({ where: { structureKey: { in: newKeys } }, select: { name: true } }) : null;
    if (raced) throw new ConcurrentWriteError(`"${raced.name}" was stored with the same structure as an item of this batch while the batch was prepared`);
    // Which material holds each content (to say where a duplicate already is): stored ones, then this batch's.
    const holder = new Map(stored.map((m) => [m.contentHash, m.name]));
    const existingP = new Map((await tx.pathway.findMany({ where: { contentHash: { in: pHashes } }, select: { id: true, contentHash: true } })).map((p) => [p.contentHash, p.id]));
    const newM: MaterialRow[] = [];
    const newP: (Omit<PathwayRow, "materialHash"> & { materialId: string })[] = [];
    let imported = 0;
    let duplicates = 0;
    const notices: { jobId: string; name: string; index: number; kind: ImportNoticeKind; message: string }[] = [];
    for (const b of good) {
      const multi = b.materials.length > 1;
      for (const m of b.materials) {
        // A structure (block) is a duplicate when it and every pathway of it were stored before.
        let old = existingM.has(m.contentHash);
        if (!old) {
          existingM.set(m.contentHash, m.id);
          holder.set(m.contentHash, m.name);
          newM.push(m);
        }
        for (const { materialHash, ...p } of b.pathways) {
          if (materialHash !== m.contentHash || existingP.has(p.contentHash)) continue;
          old = false;
          existingP.set(p.contentHash, p.id);
          newP.push({ ...p, materialId: existingM.get(materialHash)! });
        }
        imported++;
        if (!old) continue;
        duplicates++;
        const where = holder.get(m.contentHash)!;
        notices.push({ jobId, name: b.name, index: b.index, kind: "DUPLICATE", message: `${multi ? `${m.name}: ` : ""}already stored${where === m.name ? "" : ` as "${where}"`}; nothing new written` });
      }
      notices.push(...b.notices.map((n) => ({ jobId, name: b.name, index: b.index, ...n })));
    }
    if (newM.length) await tx.material.createMany({ data: newM.map(storable) });
    if (newP.length) await tx.pathway.createMany({ data: newP.map(storable) });
    const errors = batch.flatMap((b) => (b.error ? [{ jobId, name: b.name, index: b.index, reason: b.error }] : b.blockErrors.map((x) => ({ jobId, name: x.name, index: b.index, reason: x.reason }))));
    if (errors.length) await tx.importItemError.createMany({ data: errors.map(storable) });
    if (notices.length) await tx.importItemNotice.createMany({ data: notices.map(storable) });
    await tx.importJob.update({
      where: { id: jobId },
      data: { imported: { increment: imported }, duplicates: { increment: duplicates }, failed: { increment: errors.length } },
    });
    counts.processed += batch.length;
    counts.imported += imported;
    counts.duplicates += duplicates;
    counts.failed += errors.length;
    const itemOf = new Map<string, Prepared>();
    for (const b of good) for (const p of b.pathways) if (!itemOf.has(existingP.get(p.contentHash)!)) itemOf.set(existingP.get(p.contentHash)!, b);
    return { created: newP.map((p) => p.id), all: pHashes.map((h) => existingP.get(h)!), owner: itemOf };
  }, COMMIT_TX);
}

/**
 * A row whose text may hold U+0000 (a binary file's bytes quoted in a parse error, a NUL in a CIF block name)
 * made fit for PostgreSQL, whose text type cannot hold it: the insert failed and took the whole import down,
 * while SQLite stored it. Shown as U+FFFD, the replacement character, on both. Hashes are of the real content.
 */
function storable<T extends object>(row: T): T {
  const out = { ...row };
  for (const [k, v] of Object.entries(out)) if (typeof v === "string" && v.includes("\0")) (out as Record<string, unknown>)[k] = v.replaceAll("\0", "\uFFFD");
  return out;
}

/** A batch of large structures can take longer than Prisma's default 5 s, and a concurrent import's commit is waited for. */
const COMMIT_TX = { maxWait: 30_000, timeout: 120_000 };


/**
 * Import a stream of items as one ImportJob (or continue `options.resumeJob`). Every item is validated; good
 * ones are stored once per content hash (a re-import creates nothing new), bad ones are recorded with their
 * name, index and reason, and the rest continue.
 */
export async function importItems(db: IonRankDb, items: AsyncIterable<SourceItem & { format?: string | null }> | Iterable<SourceItem & { format?: string | null }>, options: ImportOptions = {}): Promise<ImportOutcome> {
  if (options.ion != null && !isElement(options.ion)) throw new ValidationError("ion", `"${options.ion}" is not an element symbol`);
  const ion = (options.ion ?? null) as ElementSymbol | null;
  const batchSize = options.batchSize ?? 250;
  const me = currentOwner();
  let job;
  if (options.resumeJob) {
    job = await db.prisma.importJob.findUnique({ where: { id: options.resumeJob } });
    if (!job) throw new ValidationError("resumeJob", `no import job ${options.resumeJob}`);
    if (job.status === "DONE") throw new ValidationError("resumeJob", `import job ${job.id} has already finished`);
    // Resuming skips the items the job committed: from another source that would skip items never imported.
    if (options.source && job.source && options.source !== job.source) {
      throw new ValidationError("resumeJob", `import job ${job.id} imported ${job.source}, not ${options.source}: resume it with that path`);
    }
    if (job.kind !== "import") throw new ValidationError("resumeJob", `job ${job.id} is a ${job.kind} job, not an import`);
    if (job.status === "RUNNING") {
      // Another process may still be importing it: both would skip the committed items and count the rest twice.
      const live = jobLiveness(job);
      if (live.alive) {
        const wait = live.byHeartbeat ? `; if that process was stopped, the job can be resumed ${Math.max(1, Math.ceil((job.updatedAt.getTime() + IMPORT_STALE_MS - Date.now()) / 1000))} s from now, once its heartbeat is ${IMPORT_STALE_MS / 1000} s old` : "";
        throw new ValidationError("resumeJob", `import job ${job.id} is still running (${live.by}, last heartbeat ${live.heartbeatAge} s ago): let it finish, or stop that process and resume it then${wait}`);
      }
    }
    // Claim it by compare-and-set on what was read: of two resumers, the one whose update comes second matches no
    // row and is refused. The new updatedAt differs from the one read even within the same millisecond.
    const read = job;
    // Run again while SQLite's write lock stays held past the busy timeout (the winning resumer's first commit).
    const claimed = await retryWrite(
      () =>
        db.prisma.importJob.updateMany({
          where: { id: read.id, status: read.status, owner: read.owner, updatedAt: read.updatedAt },
          data: { status: "RUNNING", owner: me, updatedAt: new Date(Math.max(Date.now(), read.updatedAt.getTime() + 1)) },
        }),
      isBusy,
      (_, attempt) => 100 * attempt,
    );
    if (claimed.count !== 1) throw new ValidationError("resumeJob", `import job ${job.id} changed while this process was resuming it (another process resumed it, or its own process is still running): check its status before resuming it again`);
  } else {
    job = await db.prisma.importJob.create({ data: { status: "RUNNING", kind: "import", source: options.source ?? null, owner: me } });
  }
  const heartbeat = startHeartbeat(db, job.id, me);
  try {
    return await runJob(db, items, options, job, me, ion, batchSize);
  } catch (e) {
    // Failed (a source that threw, a database error): resumable. Not when another process owns the job now
    // (JobClaimedError), nor once it is DONE: that status is not this failure's to change.
    await db.prisma.importJob.updateMany({ where: { id: job.id, owner: me, status: "RUNNING" }, data: { status: "FAILED", finishedAt: new Date() } }).catch(() => {});
    throw e;
  } finally {
    await heartbeat.stop();
  }
}

/** importItems() once this process owns the job (`job` as it was read before being claimed). */
async function runJob(
  db: IonRankDb,
  items: AsyncIterable<SourceItem & { format?: string | null }> | Iterable<SourceItem & { format?: string | null }>,
  options: ImportOptions,
  job: ImportJob,
  me: string,
  ion: ElementSymbol | null,
  batchSize: number,
): Promise<ImportOutcome> {
  options.onStart?.(job.id);
  if (options.resumeJob && options.onPathways && job.processed > 0) {
    // The batch committed last before a kill may never have reached onPathways (e.g. its prediction): hand over
    // again every pathway stored while the job ran; callers skip what they already handled, as on a re-import.
    const window = { createdAt: { gte: job.createdAt, lte: job.updatedAt } };
    const said = new Set((await db.prisma.importItemNotice.findMany({ where: { jobId: job.id, kind: "UNPREDICTED" }, select: { message: true } })).map((n) => n.message.split(" ")[1]));
    for (let after: string | undefined; ; ) {
      const ids = (await db.prisma.pathway.findMany({ where: { ...window, ...(after ? { id: { gt: after } } : {}) }, select: { id: true }, orderBy: { id: "asc" }, take: batchSize })).map((p) => p.id);
      if (ids.length === 0) break;
      after = ids.at(-1);
      const result = await options.onPathways(ids);
      const notices = (result?.failed ?? []).filter((f) => !said.has(f.pathwayId)).map((f) => ({ jobId: job.id, name: `pathway ${f.pathwayId}`, index: -1, kind: "UNPREDICTED", message: `pathway ${f.pathwayId} could not be predicted: ${f.reason}` }));
      if (notices.length) await db.prisma.importItemNotice.createMany({ data: notices });
    }
  }
  const counts: JobCounts = { id: job.id, processed: job.processed, imported: job.imported, duplicates: job.duplicates, failed: job.failed };
  const skip = job.processed;
  let index = 0;
  let pathways = 0;
  let batch: Prepared[] = [];
  const flush = async () => {
    if (batch.length === 0) return;
    // Two imports storing the same content at once (PostgreSQL): the later insert hits the unique key and its
    // whole transaction rolls back; run again, it finds the other's rows and counts them as duplicates.
    // A concurrent import held SQLite's write lock past the busy timeout, or stored a structure of this batch since
    // it was adopted: the batch rolled back, run it again (after a pause only for the lock).
    const ids = await retryWrite(
      async () => {
        await adoptStoredStructures(db, batch, ion);
        return commit(db, job.id, me, batch, counts);
      },
      (e) => isUniqueViolation(e) || isBusy(e) || e instanceof ConcurrentWriteError,
      (e, attempt) => (isBusy(e) ? 100 * attempt : 0),
    );
    pathways += ids.created.length;
    batch = [];
    options.onProgress?.({ ...counts });
    if (ids.all.length && options.onPathways) {
      const result = await options.onPathways(ids.all);
      // A pathway stored but not predicted is said, on the item it came from.
      const notices = (result?.failed ?? []).map((f) => {
        const item = ids.owner.get(f.pathwayId);
        return { jobId: job.id, name: item?.name ?? `pathway ${f.pathwayId}`, index: item?.index ?? -1, kind: "UNPREDICTED", message: `pathway ${f.pathwayId} could not be predicted: ${f.reason}` };
      });
      if (notices.length) await db.prisma.importItemNotice.createMany({ data: notices });
    }
  };
  for await (const item of items) {
    const i = index++;
    if (i < skip) continue;
    try {
      batch.push({ index: i, ...prepare(item, ion) });
    } catch (e) {
      batch.push({ index: i, name: item.name, materials: [], pathways: [], notices: [], blockErrors: [], error: (e as Error).message });
    }
    await yieldToEventLoop(); // parsing a large cell and enumerating its hops can take ~1 s
    if (batch.length >= batchSize) await flush();
  }
  await flush();
  const status = counts.imported === 0 && counts.failed > 0 ? "FAILED" : "DONE";
  const finished = await db.prisma.importJob.updateMany({ where: { id: job.id, owner: me }, data: { status, total: index, finishedAt: new Date() } });
  if (finished.count === 0) throw new JobClaimedError(job.id);
  const errors = await db.prisma.importItemError.findMany({ where: { jobId: job.id }, orderBy: { index: "asc" }, take: 1000 });
  // Up to 1000 of each: a re-imported folder's thousands of duplicates must not hide the other notices.
  const [others, dupes] = await Promise.all(
    [{ not: "DUPLICATE" }, { equals: "DUPLICATE" }].map((kind) => db.prisma.importItemNotice.findMany({ where: { jobId: job.id, kind }, orderBy: [{ index: "asc" }, { kind: "asc" }, { name: "asc" }], take: 1000 })),
  );
  // The order GraphQL's ImportJob.notices gives: by item, then kind (an item's DUPLICATE first), then name.
  const notices = [...others!, ...dupes!].sort((a, b) => a.index - b.index || a.kind.localeCompare(b.kind) || a.name.localeCompare(b.name));
  return {
    ...counts,
    status,
    errors: errors.map(({ name, index: ix, reason }) => ({ name, index: ix, reason })),
    notices: notices.map(({ name, index: ix, kind, message }) => ({ name, index: ix, kind: kind as ImportNoticeKind, message })),
    pathways,
  };
}

/** Import a file or directory (see readSource for what it reads). */
export function importPath(db: IonRankDb, p: string, options: ImportOptions = {}): Promise<ImportOutcome> {
  return importItems(db, readSource(p), { source: p, ...options });
}

/** One structure text to import, as the API and CLI receive it. */
export interface StructureText {
  name: string;
  /** cif, poscar, extxyz, json, or undefined for auto-detection. */
  format?: string | null;
  content: string;
}

const FORMATS = ["cif", "poscar", "extxyz", "json"];

/** Import structure texts given inline (the GraphQL mutation). */
export function importStructureTexts(db: IonRankDb, texts: readonly StructureText[], options: ImportOptions = {}): Promise<ImportOutcome> {
  const items = texts.flatMap((t): (SourceItem & { format?: string | null })[] => {
    if (t.format != null && !FORMATS.includes(t.format)) return [{ name: t.name, error: `format must be one of ${FORMATS.join(", ")}, not "${t.format}"` }];
    // JSON may hold a list of entries (structures, or the Em dataset's pathways with their labels).
    if (t.format === "json" || (t.format == null && /\.json$/i.test(t.name))) {
      try {
        const doc = JSON.parse(t.content) as unknown;
        if (Array.isArray(doc)) return doc.map((entry, i) => ({ name: `${t.name}#${i}`, entry }));
        return [{ name: t.name, entry: doc }];
      } catch (e) {
        return [{ name: t.name, error: `not valid JSON: ${(e as Error).message}` }];
      }
    }
    return [{ name: t.name, text: t.content, format: t.format ?? null }];
  });
  return importItems(db, items, { source: "graphql", ...options });
}
