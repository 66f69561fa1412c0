import { existsSync, mkdirSync, readdirSync, renameSync, rmdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { endianness } from "node:os";
import { basename, dirname, join, resolve, sep } from "node:path";
import { CrystalError, parseJsonText, Pathway, ParseError, readJsonStructures, readTextFile, unwritableLocation, type Structure } from "@ionrank/crystal";
import { bulkFeaturizerVersion, checkFeaturizerConfig, DEFAULT_FEATURIZER_CONFIG, featurizerVersion, type FeaturizerConfig } from "./config.js";
import { ELEMENT_FEATURES, ELEMENT_FEATURE_LENGTH, MAX_ATOMIC_NUMBER } from "./encoding.js";
import { isolatedAtoms, pathwayGraphs, structureGraph, type CrystalGraph } from "./graph.js";

/** On-disk format name and version, written into every manifest. */
export const DATASET_FORMAT = "ionrank-graph-dataset";
export const DATASET_FORMAT_VERSION = 1;

export type DatasetKind = "pathway" | "bulk";

export interface DatasetInput {
  /** JSON or gzip JSON list of entries `{jid|id|sys_name, target?, atoms}`. */
  file: string;
  /** Target name; defaults to the file's base name, or its folder for train/test/val files ("em/train.json" → "em"). */
  property?: string;
}

export interface FeaturizeDatasetOptions {
  config?: FeaturizerConfig;
  /** "pathway": entries are N-image path structures (images flagged); "bulk": plain crystals; "auto": pathway if every entry of a file is one. */
  kind?: DatasetKind | "auto";
  onProgress?: (done: number, total: number) => void;
}

/** An entry whose graph has atoms without bonds: the network sees only their element. */
export interface IsolatedAtoms {
  file: string;
  id: string;
  /** Atom indices in the entry's atoms list. */
  atoms: number[];
  elements: string[];
}

export interface DatasetSummary {
  out: string;
  graphs: number;
  atoms: number;
  edges: number;
  bytes: number;
  properties: string[];
  kinds: Record<string, DatasetKind>;
  featurizerVersion: string;
  /**
   * Entries featurized although some of their atoms have no neighbour within the cutoff (a slab's stray atom):
   * the shipped pre-training data has such entries (10 in fe.json.gz), so they are reported, not refused.
   */
  isolated: IsolatedAtoms[];
}

/** An entry of a dataset file could not be featurized; names the file and entry. */
export class DatasetError extends CrystalError {
  override name = "DatasetError";
}

interface Entry {
  id: string;
  target: number | null;
  atoms: unknown;
}

function propertyName(file: string): string {
  const base = basename(file).replace(/\.gz$/, "").replace(/\.json$/, "");
  return ["train", "test", "val", "validation"].includes(base) ? basename(dirname(resolve(file))) : base;
}

function loadEntries(file: string): { entries: Entry[]; sha256: string } {
  let read: { raw: Buffer; text: string };
  try {
    read = readTextFile(file);
  } catch (e) {
    // Node cannot hold more than ~512 MiB of text in one string: a bigger (or inflated) file is no crash.
    if ((e as NodeJS.ErrnoException).code === "ERR_STRING_TOO_LONG") throw new ParseError("too large to read as one JSON text (over 512 MiB): split it into several files", { file });
    throw e;
  }
  const { raw, text } = read;
  const sha256 = createHash("sha256").update(raw).digest("hex");
  const doc = parseJsonText(text, file);
  if (!Array.isArray(doc)) throw new ParseError("a dataset is a JSON list of entries {id, target, atoms}", { file });
  if (doc.length === 0) throw new ParseError("the list has no entries", { file });
  const entries = doc.map((raw, i): Entry => {
    const o = raw as Record<string, unknown> | null;
    if (o === null || typeof o !== "object" || Array.isArray(o)) throw new ParseError(`entry ${i} is not an object`, { file, block: `entry ${i}` });
    const idRaw = o.id ?? o.sys_name ?? o.jid;
    // An id that is there but unusable ({}, "") would silently become "entry i": the entry could not be found by it.
    if (idRaw !== undefined && idRaw !== null && !((typeof idRaw === "string" && idRaw.trim() !== "") || typeof idRaw === "number")) {
      throw new ParseError(`the id is ${JSON.stringify(idRaw).slice(0, 40)}, not a name or number`, { file, block: `entry ${i}` });
    }
    const id = idRaw === undefined || idRaw === null ? `entry ${i}` : String(idRaw);
    const t = o.target;
    if (t !== undefined && t !== null && (typeof t !== "number" || !Number.isFinite(t))) {
      throw new ParseError(`target is ${typeof t === "number" ? String(t) : JSON.stringify(t)}, not a finite number`, { file, block: id });
    }
    // Targets are stored as float32: a larger value would be stored as ±Infinity.
    if (typeof t === "number" && !Number.isFinite(Math.fround(t))) {
      throw new ParseError(`target is ${t}, beyond the float32 range (±3.4e38) the dataset stores targets in`, { file, block: id });
    }
    if (o.atoms === undefined) throw new ParseError("entry has no atoms", { file, block: id });
    return { id, target: typeof t === "number" ? t : null, atoms: o.atoms };
  });
  return { entries, sha256 };
}

/**
 * Where the dataset goes, checked before any work: not under /proc or /sys (mkdir there spins forever in Node
 * 20), not a file, inside a folder, and either new, empty or an earlier IonRank dataset (which it replaces).
 */
function checkOutput(out: string): string {
  const target = resolve(out);
  const unwritable = unwritableLocation(target);
  if (unwritable) throw new DatasetError(unwritable);
  let at = dirname(target);
  while (!existsSync(at)) at = dirname(at);
  if (!statSync(at).isDirectory()) throw new DatasetError(`${out}: ${at} is a file, not a folder`);
  if (existsSync(target)) {
    if (!statSync(target).isDirectory()) throw new DatasetError(`${out} is a file: give a folder for the dataset`);
    const names = readdirSync(target);
    if (names.length === 0) return target;
    // The whole folder is replaced: only a folder that holds an IonRank dataset and nothing else may go (any other
    // program's manifest.json, or the input file itself, inside it would be deleted with it).
    const own = datasetFiles(target);
    if (!own) throw new DatasetError(`${out} exists and is not an IonRank dataset: refusing to overwrite it`);
    const foreign = names.filter((n) => !own.has(n));
    if (foreign.length > 0) {
      const list = foreign.slice(0, 3).join(", ") + (foreign.length > 3 ? ` (and ${foreign.length - 3} more)` : "");
      throw new DatasetError(`${out} holds ${list} besides an IonRank dataset: refusing to overwrite it (give an empty or new folder)`);
    }
  }
  return target;
}

/** The file names of the IonRank dataset in `dir` (manifest and arrays), or null when its manifest.json is not one. */
function datasetFiles(dir: string): Set<string> | null {
  const path = join(dir, "manifest.json");
  if (!existsSync(path) || !statSync(path).isFile()) return null;
  let m: { format?: unknown; arrays?: unknown };
  try {
    m = JSON.parse(readTextFile(path).text) as typeof m;
  } catch {
    return null;
  }
  if (m === null || typeof m !== "object" || m.format !== DATASET_FORMAT || m.arrays === null || typeof m.arrays !== "object") return null;
  const files = Object.values(m.arrays as Record<string, { file?: unknown } | null>).map((a) => a?.file);
  return new Set(["manifest.json", ...files.filter((f): f is string => typeof f === "string")]);
}

/**
 * After a failed write, remove the parent folders this run created (from `dir` up to `created`, the outermost),
 * so a typo'd or full-disk `--out a/b/c` leaves nothing behind. Only while empty: another program may have
 * put something there meanwhile.
 */
function removeCreatedParents(dir: string, created: string | undefined): void {
  if (created === undefined) return;
  const top = resolve(created);
  // `created` is tmp itself when the parent existed: nothing above it is ours.
  if (!(dir === top || dir.startsWith(top + sep))) return;
  for (let at = dir; ; at = dirname(at)) {
    try {
      rmdirSync(at);
    } catch {
      return;
    }
    if (at === top) return;
  }
}

/** Temporary folders left by runs that were killed while writing (their process is gone). */
function removeStalePartials(target: string): void {
  const prefix = `${basename(target)}.partial-`;
  if (!existsSync(dirname(target))) return;
  for (const name of readdirSync(dirname(target))) {
    if (!name.startsWith(prefix)) continue;
    const pid = Number(name.slice(prefix.length));
    if (!Number.isInteger(pid) || pid === process.pid || alive(pid)) continue;
    rmSync(join(dirname(target), name), { recursive: true, force: true });
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Growable typed-array column. */
class Column<T extends Int32Array | Float32Array | Uint8Array | Float64Array> {
  length = 0;
  constructor(private data: T) {}
  push(values: ArrayLike<number>): void {
    if (this.length + values.length > this.data.length) {
      const bigger = new (this.data.constructor as new (n: number) => T)(Math.max(2 * this.data.length, this.length + values.length));
      bigger.set(this.data);
      this.data = bigger;
    }
    this.data.set(values, this.length);
    this.length += values.length;
  }
  get values(): T {
    return this.data.subarray(0, this.length) as T;
  }
}

/** How close (Å) an atom must be to the next point of an evenly spaced row to continue it. */
const ROW_TOLERANCE = 0.1;

/**
 * Whether a structure that reads as a path structure (its first `images` atoms one element, evenly spaced on
 * a line) is a row of atoms in a crystal instead: a supercell listed translation by translation starts with
 * such a row. A path's row ends at the ion's initial and final sites (one more step would put an atom of the
 * ion a fraction of a hop from its own site); a crystal's row goes on, so an atom of that element sits one
 * step before the first or after the last. None of the 559 shipped pathways has one.
 */
function rowContinues(s: Structure, images: number): boolean {
  const lat = s.lattice;
  const first = s.sites[0]!.frac;
  const last = s.sites[images - 1]!.frac;
  const step = lat.minimumImage(first, s.sites[1]!.frac).frac;
  const before: [number, number, number] = [first[0] - step[0], first[1] - step[1], first[2] - step[2]];
  const after: [number, number, number] = [last[0] + step[0], last[1] + step[1], last[2] + step[2]];
  const ion = s.sites[0]!.element;
  return s.sites.some((t) => t.element === ion && (lat.minimumImage(before, t.frac).distance < ROW_TOLERANCE || lat.minimumImage(after, t.frac).distance < ROW_TOLERANCE));
}

/** "a, b, c (and 4 more)" */
function someOf(names: readonly string[], shown = 5): string {
  return names.slice(0, shown).join(", ") + (names.length > shown ? ` (and ${names.length - shown} more)` : "");
}

/**
 * Featurize dataset files into one graph dataset directory: raw little-endian arrays plus manifest.json
 * (see README for the layout). Everything is featurized in memory first and written to a temporary folder
 * that replaces `out` only on success, so a bad entry never leaves a partial dataset. Output is
 * byte-for-byte deterministic for the same inputs and featurizer.
 */
export function featurizeDataset(inputs: readonly DatasetInput[], out: string, options: FeaturizeDatasetOptions = {}): DatasetSummary {
  if (endianness() !== "LE") throw new DatasetError("featurized datasets are little-endian; this machine is big-endian");
  if (inputs.length === 0) throw new DatasetError("no input files");
  const config = options.config ?? DEFAULT_FEATURIZER_CONFIG;
  checkFeaturizerConfig(config);
  const target = checkOutput(out);
  const loaded = inputs.map((inp) => ({ ...inp, ...loadEntries(inp.file), property: inp.property ?? propertyName(inp.file) }));
  // The same file twice would put every graph in the dataset twice (and across cross-validation folds).
  loaded.forEach((l, i) => {
    const first = loaded.findIndex((m) => m.sha256 === l.sha256);
    if (first !== i) throw new DatasetError(`${l.file} has the same content as ${loaded[first]!.file}: give each input once`);
  });
  // Ids name the graphs (cross-validation folds and parity entries in model cards are keyed by them): two entries
  // with one id would be one entry downstream.
  const seen = new Map<string, string>();
  for (const l of loaded) {
    for (const e of l.entries) {
      const first = seen.get(e.id);
      if (first !== undefined) {
        const where = first === l.file ? "an earlier entry" : `an entry of ${first}`;
        throw new DatasetError(`${l.file}, entry ${e.id}: ${where} has the same id: give every entry its own id (entries without one are named by position)`);
      }
      seen.set(e.id, l.file);
    }
  }
  const properties = [...new Set(loaded.map((l) => l.property))];
  const total = loaded.reduce((n, l) => n + l.entries.length, 0);

  const ids: string[] = [];
  const atomOffsets = [0];
  const edgeOffsets = [0];
  const z = new Column(new Int32Array(1 << 16));
  const img = new Column(new Uint8Array(1 << 16));
  const nb = new Column(new Int32Array(1 << 20));
  const vec = new Column(new Float32Array(3 << 20));
  const len = new Column(new Float32Array(1 << 20));
  const targets = new Float32Array(total * properties.length).fill(NaN);
  const mask = new Uint8Array(total * properties.length);
  const source = new Int32Array(total);
  const kinds: Record<string, DatasetKind> = {};
  const isolated: IsolatedAtoms[] = [];
  let done = 0;
  let nAtoms = 0;
  let nEdges = 0;

  loaded.forEach((l, fileIndex) => {
    const structures = l.entries.map((e) => {
      let found;
      try {
        found = readJsonStructures(e.atoms as never, { file: l.file });
      } catch (err) {
        const reason = err instanceof ParseError ? err.reason : (err as Error).message;
        throw new DatasetError(`${l.file}, entry ${e.id}: ${reason}`);
      }
      // atoms may be a list or an OPTIMADE response; all but the first structure would be dropped silently.
      if (found.length !== 1) throw new DatasetError(`${l.file}, entry ${e.id}: atoms holds ${found.length} structures; an entry is one structure`);
      return found[0]!;
    });
    // "auto": a file is pathways when its entries are path structures, bulk when none is; a file where some are
    // and some are not is an error naming them (one bad path must not turn the whole file into bulk crystals).
    // The datasets carry no path marker, so the shape decides: the first `images` atoms one element, evenly
    // spaced on a line whose row of atoms stops there (a crystal's rows go on).
    const isPath = (s: Structure) => {
      try {
        Pathway.fromImageStructure(s, config.images);
      } catch {
        return false;
      }
      return !rowContinues(s, config.images);
    };
    let kind: DatasetKind;
    if (options.kind === "pathway" || options.kind === "bulk") kind = options.kind;
    else {
      const paths = structures.map(isPath);
      const mixed = paths.some(Boolean) && !paths.every(Boolean);
      if (mixed) {
        const odd = l.entries.filter((_, k) => !paths[k]).map((e) => e.id);
        const pathLike = l.entries.filter((_, k) => paths[k]).map((e) => e.id);
        // Mostly bulk crystals: the few that look like paths are the question (a crystal can start with a row of
        // evenly spaced atoms of one element that stops after `images`).
        if (pathLike.length < odd.length) {
          throw new DatasetError(
            `${l.file}: entries ${someOf(pathLike)} look like ${config.images}-image path structures (the first ${config.images} atoms one element, evenly spaced on a line) while the others are bulk crystals: give --kind bulk or --kind pathway`,
          );
        }
        throw new DatasetError(`${l.file}: entries ${someOf(odd)} are not ${config.images}-image path structures while the others are: fix them, or give --kind pathway to see why`);
      }
      kind = paths[0] ? "pathway" : "bulk";
    }
    kinds[l.file] = kind;
    const p = properties.indexOf(l.property);
    structures.forEach((s, k) => {
      const e = l.entries[k]!;
      let g: CrystalGraph;
      let uncropped: CrystalGraph;
      try {
        // A bulk crystal with two atoms on top of each other has a zero-length bond (no bond angle). Path
        // structures are not checked: three published Em entries have such hosts, and the service warns on them.
        if (kind === "bulk") s.assertSeparated("Featurizing");
        if (kind === "pathway") ({ graph: g, uncropped } = pathwayGraphs(Pathway.fromImageStructure(s, config.images), config));
        else g = uncropped = structureGraph(s, undefined, config);
      } catch (err) {
        throw new DatasetError(`${l.file}, entry ${e.id}: ${(err as Error).message}`);
      }
      // Atoms without bonds before cropping have nothing within the cutoff (cropping cuts bonds by design). The
      // path structure keeps the entry's atom order (images first), so indices are the entry's own.
      const alone = isolatedAtoms(uncropped);
      if (alone.length > 0) {
        const atoms = someOf(alone.map((i) => `${i} (${s.sites[i]!.element})`));
        // No bond at all: the graph is a bag of elements. A path image without bonds: the Em readout reads it.
        if (alone.length === uncropped.numAtoms) {
          throw new DatasetError(`${l.file}, entry ${e.id}: no atom has a neighbour within ${config.cutoff} Å (atoms ${atoms}): the graph would have no bonds (a vacuum cell?)`);
        }
        const images = alone.filter((i) => uncropped.isImage[i] === 1);
        if (images.length > 0) {
          throw new DatasetError(`${l.file}, entry ${e.id}: path image${images.length > 1 ? "s" : ""} ${someOf(images.map(String))} ha${images.length > 1 ? "ve" : "s"} no bond within ${config.cutoff} Å: the network could say nothing about the path there`);
        }
        isolated.push({ file: l.file, id: e.id, atoms: alone, elements: alone.map((i) => s.sites[i]!.element) });
      }
      const gi = ids.length;
      ids.push(e.id);
      source[gi] = fileIndex;
      if (e.target !== null) {
        targets[gi * properties.length + p] = e.target;
        mask[gi * properties.length + p] = 1;
      }
      z.push(g.atomicNumber);
      img.push(g.isImage);
      for (let i = 0; i < g.numAtoms; i++) edgeOffsets.push(nEdges + g.edgeOffsets[i + 1]!);
      nb.push(g.edgeNeighbour);
      vec.push(g.edgeVector);
      len.push(g.edgeLength);
      nAtoms += g.numAtoms;
      nEdges += g.numEdges;
      atomOffsets.push(nAtoms);
      done++;
      options.onProgress?.(done, total);
    });
  });

  const arrays: Record<string, { dtype: string; shape: number[]; data: ArrayBufferView }> = {
    element_features: { dtype: "<f4", shape: [MAX_ATOMIC_NUMBER, ELEMENT_FEATURE_LENGTH], data: ELEMENT_FEATURES },
    atom_offsets: { dtype: "<i8", shape: [ids.length + 1], data: BigInt64Array.from(atomOffsets, BigInt) },
    atomic_number: { dtype: "<i4", shape: [nAtoms], data: z.values },
    is_image: { dtype: "|u1", shape: [nAtoms], data: img.values },
    edge_offsets: { dtype: "<i8", shape: [nAtoms + 1], data: BigInt64Array.from(edgeOffsets, BigInt) },
    edge_neighbour: { dtype: "<i4", shape: [nEdges], data: nb.values },
    edge_vector: { dtype: "<f4", shape: [nEdges, 3], data: vec.values },
    edge_length: { dtype: "<f4", shape: [nEdges], data: len.values },
    targets: { dtype: "<f4", shape: [ids.length, properties.length], data: targets },
    target_mask: { dtype: "|u1", shape: [ids.length, properties.length], data: mask },
    graph_source: { dtype: "<i4", shape: [ids.length], data: source },
  };
  const manifest = {
    format: DATASET_FORMAT,
    formatVersion: DATASET_FORMAT_VERSION,
    featurizer: { version: featurizerVersion(config), bulkVersion: bulkFeaturizerVersion(config), config },
    count: ids.length,
    atoms: nAtoms,
    edges: nEdges,
    properties,
    sources: loaded.map((l) => ({ file: basename(l.file), property: l.property, kind: kinds[l.file], entries: l.entries.length, sha256: l.sha256 })),
    arrays: Object.fromEntries(Object.entries(arrays).map(([name, a]) => [name, { file: `${name}.bin`, dtype: a.dtype, shape: a.shape }])),
    ids,
  };

  // Write everything into a sibling temporary folder, then swap it in.
  const tmp = `${target}.partial-${process.pid}`;
  let bytes = 0;
  // The outermost folder this run creates for a nested new `out` (undefined when its parent exists).
  let created: string | undefined;
  try {
    removeStalePartials(target);
    rmSync(tmp, { recursive: true, force: true });
    created = mkdirSync(tmp, { recursive: true });
    for (const [name, a] of Object.entries(arrays)) {
      const buf = new Uint8Array(a.data.buffer, a.data.byteOffset, a.data.byteLength);
      writeFileSync(join(tmp, `${name}.bin`), buf);
      bytes += buf.byteLength;
    }
    const text = JSON.stringify(manifest, null, 1) + "\n";
    writeFileSync(join(tmp, "manifest.json"), text);
    bytes += Buffer.byteLength(text);
    rmSync(target, { recursive: true, force: true });
    renameSync(tmp, target);
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    removeCreatedParents(dirname(tmp), created);
    throw new DatasetError(`writing ${out} failed: ${(e as Error).message}`);
  }
  return { out: target, graphs: ids.length, atoms: nAtoms, edges: nEdges, bytes, properties, kinds, featurizerVersion: manifest.featurizer.version, isolated };
}
