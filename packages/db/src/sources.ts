// Import sources as streams of items: directories, tar archives (optionally gzipped), NDJSON, JSON arrays and
// single structure files. Items come out in a fixed order (directories sorted by name), so a re-run of the
// same source sees the same item at the same index — what lets a killed import resume.
import { createReadStream, readdirSync, readFileSync, realpathSync, statSync } from "node:fs";
import path from "node:path";
import { createInterface } from "node:readline";
import { Readable } from "node:stream";
import { createGunzip, gunzipSync } from "node:zlib";
import { decodeText, fileErrorReason, parseJsonText, ParseError } from "@ionrank/crystal";

/** One thing to import: a structure file's text, or one parsed JSON entry (structure or dataset pathway). */
export interface SourceItem {
  /** File name, with the entry inside an archive or list: "set.tar.gz:LiFePO4.cif", "train.json#12". */
  name: string;
  text?: string;
  entry?: unknown;
  /** Sibling data the entry came with (e.g. the dataset's provenance table). */
  provenance?: Map<string, string>;
  /** Set when the item could not even be read; it is then recorded as failed. */
  error?: string;
}

const STRUCTURE_FILE = /(\.(cif|vasp|poscar|xyz|extxyz|json|ndjson|jsonl)(\.gz)?$)|(^(POSCAR|CONTCAR)([._-].*)?$)/i;
const ARCHIVE = /\.(tar|tar\.gz|tgz)$/i;
/** Archives this reader cannot open: said per file, so a dropped-in zip is not skipped as if it were notes. */
const UNSUPPORTED_ARCHIVE = /\.(zip|7z|rar|tar\.(bz2|xz|zst)|tbz2?|txz)$/i;

/**
 * Largest file or archive member read as one item, in bytes (after gunzip too). A bigger one is that item's
 * error: reading it whole would crash the import (V8 strings end near 512 MiB) or exhaust memory.
 */
export const MAX_ITEM_BYTES = 256 * 1024 * 1024;

export interface ReadSourceOptions {
  /** Default MAX_ITEM_BYTES. */
  maxItemBytes?: number;
}

/**
 * Items of a file or directory, recursively, in a stable order. Items of a folder are named by their path
 * inside it ("sub/POSCAR"): folders of VASP runs hold many files of the same name.
 */
export async function* readSource(p: string, options: ReadSourceOptions = {}): AsyncGenerator<SourceItem> {
  const max = options.maxItemBytes ?? MAX_ITEM_BYTES;
  let root = false;
  try {
    root = statSync(p).isDirectory();
  } catch {
    // not there: reading it says why
  }
  const label = (f: string) => (root ? path.relative(p, f).split(path.sep).join("/") : path.basename(f));
  for (const f of walkFiles(p, (name) => ARCHIVE.test(name) || UNSUPPORTED_ARCHIVE.test(name) || STRUCTURE_FILE.test(name))) {
    if (f.error) yield { name: label(f.path), error: f.error };
    else yield* readFileItems(f.path, label(f.path), max);
  }
}

/**
 * The files under `p` (or `p` itself when it is not a folder), recursively, folders in name order, skipping
 * names that start with "." and those `accept` refuses. A folder reached again through a symbolic link (a link
 * back up the tree would loop forever), a folder that cannot be listed, an entry that cannot be read, or one
 * that is not a regular file (a FIFO or device would block or never end) comes out with the reason instead.
 * `seen` (real paths of the folders read) can be shared across several calls.
 */
export function* walkFiles(p: string, accept: (name: string) => boolean, seen = new Set<string>()): Generator<{ path: string; error?: string }> {
  let st;
  try {
    st = statSync(p);
  } catch {
    yield { path: p }; // not there: reading it says why
    return;
  }
  if (!st.isDirectory()) {
    yield st.isFile() ? { path: p } : { path: p, error: "not a regular file (a FIFO, socket or device): skipped" };
    return;
  }
  const real = realpathSync(p);
  if (seen.has(real)) {
    yield { path: p, error: `folder already read (a symbolic link to ${real}): skipped` };
    return;
  }
  seen.add(real);
  let names: string[];
  try {
    names = readdirSync(p).sort();
  } catch (e) {
    // A folder it may not list is that folder's failure: the rest of the walk goes on.
    yield { path: p, error: `cannot list the folder: ${fileErrorReason(e)}` };
    return;
  }
  for (const name of names) {
    if (name.startsWith(".")) continue;
    const child = path.join(p, name);
    let cst;
    try {
      cst = statSync(child);
    } catch (e) {
      yield { path: child, error: `cannot read: ${fileErrorReason(e)}` };
      continue;
    }
    if (cst.isDirectory()) yield* walkFiles(child, accept, seen);
    else if (!accept(name)) continue;
    else if (cst.isFile()) yield { path: child };
    else yield { path: child, error: "not a regular file (a FIFO, socket or device): skipped" };
  }
}

const mib = (n: number) => (n < 1024 * 1024 ? `${n} bytes` : `${Math.round(n / 1024 / 1024)} MiB`);

/** The items of one file: an archive's members, an NDJSON file's lines, or a structure file's entries. */
async function* readFileItems(p: string, base: string, max: number): AsyncGenerator<SourceItem> {
  if (UNSUPPORTED_ARCHIVE.test(base)) {
    yield { name: base, error: "this kind of archive is not read: unpack it, or pack it as .tar or .tar.gz" };
    return;
  }
  if (ARCHIVE.test(base)) {
    yield* readTar(createReadStream(p), base, /gz$/i.test(base), max);
    return;
  }
  if (/\.(ndjson|jsonl)(\.gz)?$/i.test(base)) {
    yield* readNdjson(/\.gz$/i.test(base) ? createReadStream(p).pipe(createGunzip()) : createReadStream(p), base);
    return;
  }
  let raw: Buffer;
  try {
    const size = statSync(p).size;
    if (size > max) {
      yield { name: base, error: `file is ${mib(size)}, more than the ${mib(max)} one item may have` };
      return;
    }
    raw = readFileSync(p);
  } catch (e) {
    yield { name: base, error: `cannot read: ${fileErrorReason(e)}` };
    return;
  }
  const text = gunzipIfNeeded(base, raw, max);
  if (typeof text !== "string") yield { name: base, error: text.error };
  else yield* itemsOfText(base, text, provenanceNextTo(p));
}

/** A file's text, gunzipped when its name ends in .gz; a corrupt or truncated gzip is that item's error. */
function gunzipIfNeeded(name: string, raw: Buffer, max: number): string | { error: string } {
  if (!/\.gz$/i.test(name)) return decodeText(raw);
  let inflated: Buffer;
  try {
    inflated = gunzipSync(raw, { maxOutputLength: max });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ERR_BUFFER_TOO_LARGE") return { error: `unpacks to more than the ${mib(max)} one item may have` };
    return { error: `corrupt or truncated gzip data (${(e as Error).message})` };
  }
  return decodeText(inflated);
}

/** A dataset's provenance table beside it (train.json → train-provenance.csv): sys_name+barrier → functional. */
function provenanceNextTo(p: string): Map<string, string> | undefined {
  const csv = p.replace(/\.json(\.gz)?$/i, "-provenance.csv");
  if (csv === p) return undefined;
  try {
    return parseProvenance(readFileSync(csv, "utf8"));
  } catch {
    return undefined;
  }
}

export function parseProvenance(text: string): Map<string, string> {
  const lines = text.split(/\r?\n/).filter(Boolean);
  const head = lines[0]!.split(",");
  const iName = head.indexOf("sys_name");
  const iXc = head.indexOf("XC");
  const iEm = head.findIndex((h) => h.startsWith("MIGRATION BARRIER"));
  const map = new Map<string, string>();
  if (iName < 0 || iXc < 0 || iEm < 0) return map;
  for (const line of lines.slice(1)) {
    const c = line.split(",");
    map.set(provenanceKey(c[iName]!, Number(c[iEm])), c[iXc]!);
  }
  return map;
}

export const provenanceKey = (name: string, em: number) => `${name}|${em.toFixed(4)}`;

/** The items of one file's text: a JSON array gives one item per element, anything else one item. */
export function* itemsOfText(name: string, text: string, provenance?: Map<string, string>): Generator<SourceItem> {
  const t = text.trimStart();
  if (/\.json$/i.test(name.replace(/\.gz$/i, "")) && t.startsWith("[")) {
    let list: unknown[];
    try {
      // The reader the other commands use: a line number, and Python's NaN / Infinity read as strings so that
      // the entry holding one fails alone (its label or coordinate check names it).
      list = parseJsonText(text, name) as unknown[];
    } catch (e) {
      yield { name, error: (e as Error).message };
      return;
    }
    for (const [i, entry] of list.entries()) yield { name: `${name}#${i}`, entry, ...(provenance ? { provenance } : {}) };
    return;
  }
  yield { name, text };
}

async function* readNdjson(stream: Readable, name: string): AsyncGenerator<SourceItem> {
  const rl = createInterface({ input: stream, crlfDelay: Infinity });
  let line = 0;
  try {
    for await (const l of rl) {
      line++;
      if (l.trim() === "") continue;
      let entry: unknown;
      try {
        entry = parseJsonText(l);
      } catch (e) {
        yield { name: `${name}:${line}`, error: `line ${line} is not valid JSON: ${e instanceof ParseError ? e.reason : (e as Error).message}` };
        continue;
      }
      yield { name: `${name}:${line}`, entry };
    }
  } catch (e) {
    // readline rethrows its input's error here, e.g. a gzip stream that is cut short.
    yield { name: `${name}:${line + 1}`, error: `cannot read past line ${line}: ${(e as Error).message}` };
  }
}

/** Bytes read from a stream, kept as a list of chunks: joining them once per member keeps a large member linear. */
class ByteQueue {
  private chunks: Buffer[] = [];
  length = 0;
  /** Bytes consumed so far (the archive offset of what comes next). */
  offset = 0;
  constructor(private readonly source: AsyncIterator<unknown>) {}
  /** Whether `n` bytes are there (false at the end of the stream). */
  async need(n: number): Promise<boolean> {
    while (this.length < n) {
      const { value, done } = await this.source.next();
      if (done) return false;
      this.chunks.push(value as Buffer);
      this.length += (value as Buffer).length;
    }
    return true;
  }
  take(n: number): Buffer {
    const all = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.length);
    this.chunks = all.length > n ? [all.subarray(n)] : [];
    this.length -= n;
    this.offset += n;
    return all.subarray(0, n);
  }
  /** Drops `n` bytes without keeping them (a member too large to read); false when the stream ends first. */
  async skip(n: number): Promise<boolean> {
    while (n > 0) {
      if (this.length === 0 && !(await this.need(1))) return false;
      const head = this.chunks[0]!;
      const k = Math.min(n, head.length);
      if (k === head.length) this.chunks.shift();
      else this.chunks[0] = head.subarray(k);
      this.length -= k;
      this.offset += k;
      n -= k;
    }
    return true;
  }
}

/** A pax extended header's records ("<len> <key>=<value>\n"). */
function paxRecords(body: Buffer): Map<string, string> {
  const out = new Map<string, string>();
  let at = 0;
  while (at < body.length) {
    const space = body.indexOf(0x20, at);
    const len = parseInt(body.subarray(at, space).toString("ascii"), 10);
    if (space < 0 || !Number.isFinite(len) || len <= 0) break;
    const record = body.subarray(space + 1, at + len - 1).toString("utf8");
    const eq = record.indexOf("=");
    if (eq > 0) out.set(record.slice(0, eq), record.slice(eq + 1));
    at += len;
  }
  return out;
}

/** A numeric header field: octal text, or GNU's base-256 (high bit set) for large values. */
function tarNumber(field: Buffer): number {
  if (field[0]! & 0x80) return field.subarray(1).reduce((n, b) => n * 256 + b, field[0]! & 0x7f);
  const text = field.toString("ascii").replace(/\0.*$/s, "").trim();
  return text === "" ? 0 : /^[0-7]+$/.test(text) ? parseInt(text, 8) : NaN;
}

/** Whether a 512-byte header's checksum holds (unsigned or, as some old tars wrote it, signed bytes). */
function checksumOk(header: Buffer): boolean {
  const stored = tarNumber(header.subarray(148, 156));
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < 512; i++) {
    const b = i >= 148 && i < 156 ? 0x20 : header[i]!;
    unsigned += b;
    signed += b > 127 ? b - 256 : b;
  }
  return stored === unsigned || stored === signed;
}

/**
 * A streaming reader of tar archives (ustar, GNU long names, pax headers with their UTF-8 and long paths):
 * only regular files, in archive order. A header that fails its checksum ends the archive with that error.
 */
async function* readTar(file: Readable, archive: string, gzip: boolean, max: number): AsyncGenerator<SourceItem> {
  const stream = gzip ? file.pipe(createGunzip()) : file;
  const q = new ByteQueue(stream[Symbol.asyncIterator]());
  let longName: string | null = null;
  let pax = new Map<string, string>();
  try {
    yield* tarEntries();
  } catch (e) {
    // A corrupt or truncated gzip stream: what was read stands, the rest is this item's error.
    yield { name: archive, error: `cannot read the archive: ${(e as Error).message}` };
  }
  async function* tarEntries(): AsyncGenerator<SourceItem> {
    for (let members = 0; ; members++) {
      if (!(await q.need(512))) {
        // An empty file is no archive; one cut inside a header has lost what follows.
        if (q.offset === 0 && q.length === 0) yield { name: archive, error: "the archive is empty" };
        else if (q.length > 0) yield { name: archive, error: `archive is truncated at byte ${q.offset + q.length}` };
        return;
      }
      const at = q.offset;
      const header = q.take(512);
      if (header.every((b) => b === 0)) {
        if (members === 0) yield { name: archive, error: "the archive holds no files" };
        return; // end-of-archive blocks
      }
      if (!checksumOk(header)) {
        yield { name: archive, error: `not a tar archive, or a corrupt one: the header at byte ${at} fails its checksum` };
        return;
      }
      const field = (o: number, n: number) => header.subarray(o, o + n).toString("utf8").replace(/\0.*$/s, "");
      const type = String.fromCharCode(header[156]!);
      // The prefix field is POSIX ustar's; old GNU headers keep other data there.
      const prefix = header.subarray(257, 263).toString("latin1") === "ustar\0" ? field(345, 155) : "";
      const name = pax.get("path") ?? longName ?? (prefix ? `${prefix}/${field(0, 100)}` : field(0, 100));
      const size = pax.has("size") ? Number(pax.get("size")) : tarNumber(header.subarray(124, 136));
      if (!Number.isSafeInteger(size) || size < 0) {
        yield { name: `${archive}:${name}`, error: `corrupt header at byte ${at}: size is not a number` };
        return;
      }
      const padded = Math.ceil(size / 512) * 512;
      const meta = type === "L" || type === "x" || type === "g";
      const wanted = meta || ((type === "0" || type === "\0") && STRUCTURE_FILE.test(path.basename(name)));
      if (!wanted || (!meta && size > max)) {
        if (!(await q.skip(padded))) {
          yield { name: `${archive}:${name}`, error: "archive is truncated" };
          return;
        }
        if (wanted) yield { name: `${archive}:${name}`, error: `member is ${mib(size)}, more than the ${mib(max)} one item may have` };
        if (type !== "g") [longName, pax] = [null, new Map()];
        continue;
      }
      if (meta && size > 1024 * 1024) {
        yield { name: `${archive}:${name}`, error: `corrupt header at byte ${at}: a ${mib(size)} name record` };
        return;
      }
      if (!(await q.need(padded))) {
        yield { name: `${archive}:${name}`, error: "archive is truncated" };
        return;
      }
      const body = q.take(padded).subarray(0, size);
      if (type === "L") {
        longName = body.toString("utf8").replace(/\0.*$/s, "");
        continue;
      }
      if (type === "x") {
        pax = paxRecords(body);
        continue;
      }
      if (type === "g") continue; // global pax header: nothing here needs it
      [longName, pax] = [null, new Map()];
      const base = path.basename(name);
      const text = gunzipIfNeeded(base, body, max);
      if (typeof text !== "string") yield { name: `${archive}:${name}`, error: text.error };
      else if (/\.(ndjson|jsonl)$/i.test(base.replace(/\.gz$/i, ""))) yield* readNdjson(Readable.from([text]), `${archive}:${name}`);
      else yield* itemsOfText(`${archive}:${name}`, text);
    }
  }
}
