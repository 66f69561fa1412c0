// Import sources as streams of items: directories, tar archives (optionally gzipped), NDJSON, JSON arrays and
// single structure files. Items come out in a fixed order (directories sorted by name), so a re-run of the
// same source sees the same item at the same index — what lets a killed import resume.
import { createReadStream, readdirSync, readFileSync, realpathSync, statSync } from "node:fs";
import path from "node:path";
import { createInterface } from "node:readline";
import { Readable } from "node:stream";
import { createGunzip, gunzipSync } from "node:zlib";
import { decodeText } from "@ionrank/crystal";

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

/** Items of a file or directory, recursively, in a stable order. */
export async function* readSource(p: string): AsyncGenerator<SourceItem> {
  for (const f of walkFiles(p, (name) => ARCHIVE.test(name) || STRUCTURE_FILE.test(name))) {
    if (f.error) yield { name: f.path, error: f.error };
    else yield* readFileItems(f.path);
  }
}

/**
 * The files under `p` (or `p` itself when it is not a folder), recursively, folders in name order, skipping
 * names that start with "." and those `accept` refuses. A folder reached again through a symbolic link (a link
 * back up the tree would loop forever) or an entry that cannot be read comes out with the reason instead.
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
    yield { path: p };
    return;
  }
  const real = realpathSync(p);
  if (seen.has(real)) {
    yield { path: p, error: `folder already read (a symbolic link to ${real}): skipped` };
    return;
  }
  seen.add(real);
  for (const name of readdirSync(p).sort()) {
    if (name.startsWith(".")) continue;
    const child = path.join(p, name);
    let cst;
    try {
      cst = statSync(child);
    } catch (e) {
      yield { path: child, error: `cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}` };
      continue;
    }
    if (cst.isDirectory()) yield* walkFiles(child, accept, seen);
    else if (accept(name)) yield { path: child };
  }
}

/** The items of one file: an archive's members, an NDJSON file's lines, or a structure file's entries. */
async function* readFileItems(p: string): AsyncGenerator<SourceItem> {
  const base = path.basename(p);
  if (ARCHIVE.test(base)) {
    yield* readTar(createReadStream(p), base, /gz$/i.test(base));
    return;
  }
  if (/\.(ndjson|jsonl)(\.gz)?$/i.test(base)) {
    yield* readNdjson(/\.gz$/i.test(base) ? createReadStream(p).pipe(createGunzip()) : createReadStream(p), base);
    return;
  }
  const text = gunzipIfNeeded(base, readFileSync(p));
  if (typeof text !== "string") yield { name: base, error: text.error };
  else yield* itemsOfText(base, text, provenanceNextTo(p));
}

/** A file's text, gunzipped when its name ends in .gz; a corrupt or truncated gzip is that item's error. */
function gunzipIfNeeded(name: string, raw: Buffer): string | { error: string } {
  if (!/\.gz$/i.test(name)) return decodeText(raw);
  let inflated: Buffer;
  try {
    inflated = gunzipSync(raw);
  } catch (e) {
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
      list = JSON.parse(text) as unknown[];
    } catch (e) {
      yield { name, error: `not valid JSON: ${(e as Error).message}` };
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
        entry = JSON.parse(l);
      } catch (e) {
        yield { name: `${name}:${line}`, error: `line ${line} is not valid JSON: ${(e as Error).message}` };
        continue;
      }
      yield { name: `${name}:${line}`, entry };
    }
  } catch (e) {
    // readline rethrows its input's error here, e.g. a gzip stream that is cut short.
    yield { name: `${name}:${line + 1}`, error: `cannot read past line ${line}: ${(e as Error).message}` };
  }
}

/** A streaming reader of (ustar/GNU) tar archives: only regular files, in archive order. */
async function* readTar(file: Readable, archive: string, gzip: boolean): AsyncGenerator<SourceItem> {
  const stream = gzip ? file.pipe(createGunzip()) : file;
  let buf = Buffer.alloc(0);
  let longName: string | null = null;
  const chunks = stream[Symbol.asyncIterator]();
  const need = async (n: number): Promise<boolean> => {
    while (buf.length < n) {
      const { value, done } = await chunks.next();
      if (done) return false;
      buf = Buffer.concat([buf, value as Buffer]);
    }
    return true;
  };
  try {
    yield* tarEntries();
  } catch (e) {
    // A corrupt or truncated gzip stream: what was read stands, the rest is this item's error.
    yield { name: archive, error: `cannot read the archive: ${(e as Error).message}` };
  }
  async function* tarEntries(): AsyncGenerator<SourceItem> {
    for (;;) {
      if (!(await need(512))) return;
      const header = buf.subarray(0, 512);
      if (header.every((b) => b === 0)) return; // end-of-archive blocks
      const field = (o: number, n: number) => header.subarray(o, o + n).toString("utf8").replace(/\0.*$/s, "");
      const size = parseInt(field(124, 12).trim() || "0", 8);
      const type = String.fromCharCode(header[156]!);
      const prefix = field(345, 155);
      const name = longName ?? (prefix ? `${prefix}/${field(0, 100)}` : field(0, 100));
      const padded = Math.ceil(size / 512) * 512;
      if (!Number.isFinite(size) || !(await need(512 + padded))) {
        yield { name: `${archive}:${name}`, error: "archive is truncated" };
        return;
      }
      const body = buf.subarray(512, 512 + size);
      buf = buf.subarray(512 + padded);
      if (type === "L") {
        longName = body.toString("utf8").replace(/\0.*$/s, "");
        continue;
      }
      longName = null;
      if (type !== "0" && type !== "\0") continue; // directories, links, pax headers
      const base = path.basename(name);
      if (!STRUCTURE_FILE.test(base)) continue;
      const text = gunzipIfNeeded(base, body);
      if (typeof text !== "string") yield { name: `${archive}:${name}`, error: text.error };
      else if (/\.(ndjson|jsonl)$/i.test(base.replace(/\.gz$/i, ""))) yield* readNdjson(Readable.from([text]), `${archive}:${name}`);
      else yield* itemsOfText(`${archive}:${name}`, text);
    }
  }
}
