import { createHash } from "node:crypto";
import { availableParallelism } from "node:os";
import DataLoader from "dataloader";
import { atomicNumber, ELEMENT_SYMBOLS as ELEMENTS, type Pathway, type Structure } from "@ionrank/crystal";
import { ensembleSummary, loadModelCard, type ModelCard } from "./card.js";
import type { Provider } from "./backend.js";
import { InferenceError, InferenceOptionsError, ModelCardError, PredictionError } from "./errors.js";
import { WorkerPool } from "./pool.js";
import { MODEL_INPUT_RANKS, MODEL_INPUT_TYPES } from "./tensors.js";
import type { SerializedPath } from "./protocol.js";

/** A path structure to predict: the N images first, then the host, with image flags. */
export interface PathInput {
  structure: Structure;
  isImage: Uint8Array;
}

/** What a user gets for one pathway. */
export interface EmResult {
  /** Ensemble mean, eV. */
  emPredicted: number;
  /** Calibrated ensemble spread (≈ 1σ), eV. */
  emStd: number;
  /** Probability that Em is below the threshold (default 0.65 eV) under a normal approximation. */
  pGood: number;
  /** "<name>@<version>". */
  model: string;
  /** Why this prediction may be less reliable (outside what the model was trained on). */
  warnings: string[];
  members: number[];
}

export interface PredictorOptions {
  /** Execution provider to ask for; CUDA falls back to CPU (decided once, at start-up). */
  provider?: Provider;
  /** Worker threads (default: one per core). */
  workers?: number;
  /** ONNX Runtime threads per worker (default 1). */
  threadsPerWorker?: number;
  /** Milliseconds to wait for more calls before running a batch (default 2; 0 = same tick only). */
  batchWaitMs?: number;
  /** Batch concurrent calls (default true); false runs every call on its own (the benchmark's baseline). */
  batch?: boolean;
  /**
   * Most path-structure atoms (before cropping) in one request to a worker; bigger batches are split into
   * requests spread over the workers. A worker then runs its request's graphs in ONNX runs of one neighbour
   * count and at most 256 graph atoms (runs.ts), which bounds each run's atoms, bonds and triplets — and so
   * each member session's memory arena — and keeps every result independent of its batch.
   * Default on CPU 1,024 (≈ 8 of the training set's path structures, 128 atoms on average): a worker groups a
   * request's graphs by neighbour count, so larger requests fill runs better — measured on 2 cores, alternating
   * four times, 512 / 1,024 / 2,048 gave 65.8 / 67.2 / 70.0 pathways/s end to end at 0.45 / 0.53 / 0.63 GiB
   * (differences inside this machine's noise; see `npm run bench`). Default on CUDA 4,096, where a request's overhead is worth amortising (not measured here).
   */
  maxBatchAtoms?: number;
  /**
   * Most calls in one DataLoader batch (default 64): a larger crowd of concurrent calls is served as several
   * batches, so the first results arrive while later ones still run instead of all at the end.
   */
  maxBatchSize?: number;
  /**
   * Milliseconds a worker may take to load the model (default 300,000: generous, since opening members on
   * CUDA can take a minute); one that takes longer fails load() — or, as a crashed worker's replacement, is
   * no replacement — instead of leaving it waiting forever.
   */
  startTimeoutMs?: number;
  /** Cached results (by path-structure content and model version); 0 disables the cache. */
  cacheSize?: number;
  /** Good-conductor threshold, eV (default: the model card's, 0.65). */
  threshold?: number;
  /** Where to say which execution provider was chosen and why (default: console.error). */
  log?: (line: string) => void;
}

export function pathInput(p: Pathway): PathInput {
  return p.toPathStructure();
}

/** Thinnest cell predicted, Å (crystal's MIN_SEPARATION: closer than this, atoms are not separate atoms). */
const MIN_CELL_SPACING = 0.5;
/** Densest host predicted, atoms per Å³: 8× diamond's 0.18 (the Em training hosts reach 0.12). */
const MAX_HOST_DENSITY = 1.5;

function serialize(p: PathInput): SerializedPath {
  const s = p.structure;
  s.assertOrdered("Predicting a migration barrier");
  // Checked here, where the caller's array still is: Uint8Array.from would wrap 256 to 0, and a flag of 2 is
  // an image to some of the featurizer and not to the rest.
  if (p.isImage.length !== s.length) throw new PredictionError(`image flags cover ${p.isImage.length} atoms but the structure has ${s.length}`, "InvalidInput");
  const flag = Array.prototype.findIndex.call(p.isImage, (f: unknown) => f !== 0 && f !== 1);
  if (flag >= 0) throw new PredictionError(`image flag ${flag} is ${String(p.isImage[flag])}; flags are 1 for a path image and 0 for a host atom`, "InvalidInput");
  // Every atom has a periodic copy one plane spacing away: below MIN_CELL_SPACING no crystal, and the neighbour
  // search covers (cutoff / spacing)³ cells: 6 atoms in a 0.08 Å cube held a worker for 2 s, 0.01 Å for ~1,000×.
  const thinnest = Math.min(...s.lattice.planeSpacings);
  if (thinnest < MIN_CELL_SPACING) throw new PredictionError(`the cell is only ${thinnest.toFixed(3)} Å thick between lattice planes, less than ${MIN_CELL_SPACING} Å: not a crystal`, "InvalidInput");
  // Likewise atoms crowded into a cell: the search's work grows with the atoms within the cutoff of each one.
  const host = p.isImage.reduce((a: number, f) => a + (f === 1 ? 0 : 1), 0);
  const density = host / s.lattice.volume;
  if (density > MAX_HOST_DENSITY) throw new PredictionError(`the host has ${density.toPrecision(3)} atoms per Å³, more than ${MAX_HOST_DENSITY}: not a crystal`, "InvalidInput");
  const frac = new Float64Array(3 * s.length);
  s.sites.forEach((site, i) => frac.set(site.frac, 3 * i));
  return {
    lattice: Float64Array.from(s.lattice.matrix.flat()),
    atomicNumber: Int32Array.from(s.sites, (site) => atomicNumber(site.element)!),
    frac,
    isImage: Uint8Array.from(p.isImage),
  };
}

function contentKey(p: SerializedPath, model: string): string {
  const h = createHash("sha256").update(model);
  for (const a of [p.lattice, p.atomicNumber, p.frac, p.isImage]) h.update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  return h.digest("hex");
}

/** Standard normal CDF (Abramowitz–Stegun 7.1.26 on erf; |error| < 1.5e-7). */
export function normalCdf(z: number): number {
  const t = 1 / (1 + 0.3275911 * (Math.abs(z) / Math.SQRT2));
  const y = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-(z * z) / 2);
  return z >= 0 ? 0.5 * (1 + y) : 0.5 * (1 - y);
}

/** A small least-recently-used map for DataLoader's cache. */
class LruMap<K, V> {
  private map = new Map<K, V>();
  constructor(private readonly max: number) {}
  get(k: K): V | undefined {
    const v = this.map.get(k);
    if (v !== undefined) {
      this.map.delete(k);
      this.map.set(k, v);
    }
    return v;
  }
  set(k: K, v: V): this {
    this.map.delete(k);
    this.map.set(k, v);
    if (this.map.size > this.max) this.map.delete(this.map.keys().next().value as K);
    return this;
  }
  delete(k: K): boolean {
    return this.map.delete(k);
  }
  clear(): void {
    this.map.clear();
  }
  get size(): number {
    return this.map.size;
  }
}

/**
 * The Em prediction service: `predict()` calls arriving together are batched by DataLoader, split into
 * runs of at most `maxBatchAtoms` atoms, featurized and run on a pool of worker threads (so the event loop
 * stays free), and split back; results are cached by content hash and model version; one bad item rejects
 * only its own promise.
 */
export class EmPredictor {
  readonly stats = { batches: 0, runs: 0, items: 0 };
  private readonly loader: DataLoader<SerializedPath, EmResult, string>;
  private readonly cache: LruMap<string, Promise<EmResult>> | null;
  private closed = false;

  private constructor(
    readonly card: ModelCard,
    readonly modelVersion: string,
    private readonly pool: WorkerPool,
    private readonly options: Required<Pick<PredictorOptions, "maxBatchAtoms" | "threshold">>,
    batchWaitMs: number,
    cacheSize: number,
    batch: boolean,
    maxBatchSize: number,
  ) {
    this.cache = cacheSize > 0 ? new LruMap(cacheSize) : null;
    this.loader = new DataLoader((keys) => this.runBatch(keys), {
      cacheKeyFn: (k) => contentKey(k, modelVersion),
      ...(this.cache ? { cacheMap: this.cache } : { cache: false }),
      batchScheduleFn: batchWaitMs > 0 ? (cb) => setTimeout(cb, batchWaitMs) : undefined,
      batch,
      maxBatchSize,
    });
  }

  static async load(cardPath: string, options: PredictorOptions = {}): Promise<EmPredictor> {
    checkOptions(options);
    const loaded = loadModelCard(cardPath);
    const spec = (x: ModelCard["inputs"]) => Object.fromEntries(Object.entries(x).map(([n, t]) => [n, { dtype: t.dtype, rank: t.shape.length }]));
    // The card's inputs must be exactly what this service feeds (the members are checked against the card).
    for (const [n, t] of Object.entries(loaded.card.inputs)) {
      if (MODEL_INPUT_TYPES[n] !== t.dtype) throw new ModelCardError(`${cardPath}: input ${n} is ${t.dtype}; this service feeds ${MODEL_INPUT_TYPES[n] ? MODEL_INPUT_TYPES[n] : "no such input"}`);
      // The rank too: a card and members that agree on another one would load, then fail every run.
      if (t.shape.length !== MODEL_INPUT_RANKS[n]) throw new ModelCardError(`${cardPath}: input ${n} has rank ${t.shape.length}; this service feeds rank ${MODEL_INPUT_RANKS[n]}`);
    }
    const missing = Object.keys(MODEL_INPUT_TYPES).filter((n) => !(n in loaded.card.inputs));
    if (missing.length) throw new ModelCardError(`${cardPath}: the card's inputs lack ${missing.join(", ")}, which this service feeds`);
    const workers = options.workers ?? availableParallelism();
    const pool = await WorkerPool.start(workers, {
      memberPaths: loaded.memberPaths,
      memberSha256: loaded.card.ensemble.members.map((m) => m.sha256.toLowerCase()),
      provider: options.provider ?? "cpu",
      threads: options.threadsPerWorker ?? 1,
      cardPath,
      inputs: spec(loaded.card.inputs),
      outputs: spec(loaded.card.outputs),
      featurizer: loaded.card.featurizer.config,
    }, options.startTimeoutMs ?? 300_000);
    (options.log ?? ((l) => console.error(l)))(
      `inference: ${loaded.modelVersion} on ONNX Runtime ${pool.provider.toUpperCase()} (${pool.reason}), ${workers} worker thread(s), ${loaded.memberPaths.length} members`,
    );
    return new EmPredictor(
      loaded.card,
      loaded.modelVersion,
      pool,
      { maxBatchAtoms: options.maxBatchAtoms ?? (pool.provider === "cuda" ? 4_096 : 1_024), threshold: options.threshold ?? loaded.card.threshold.good_conductor_below_ev },
      options.batchWaitMs ?? 2,
      options.cacheSize ?? 10_000,
      options.batch ?? true,
      options.maxBatchSize ?? 64,
    );
  }

  get provider(): Provider {
    return this.pool.provider;
  }

  get cacheSize(): number {
    return this.cache?.size ?? 0;
  }

  /** Predict one path structure (batched with concurrent calls). */
  predict(input: PathInput): Promise<EmResult> {
    // Also for a cached pathway: a closed service answers nothing, rather than some calls and not others.
    if (this.closed) return Promise.reject(new InferenceError("the inference service is closed"));
    let s: SerializedPath;
    try {
      s = serialize(input);
    } catch (e) {
      return Promise.reject(e);
    }
    // Each caller gets its own copy: the cached result is shared, and one caller's edits must not reach others.
    // A failure is not kept: DataLoader caches it, and a crashed worker or a closed service must not answer
    // the same pathway with that error forever.
    return this.loader.load(s).then(copyResult, (e: unknown) => {
      this.loader.clear(s);
      throw e;
    });
  }

  /** Predict many; each entry is a result or the Error for that item. */
  predictMany(inputs: readonly PathInput[]): Promise<(EmResult | Error)[]> {
    return Promise.all(inputs.map((p) => this.predict(p).catch((e: unknown) => (e instanceof Error ? e : new Error(String(e))))));
  }

  private async runBatch(keys: readonly SerializedPath[]): Promise<(EmResult | Error)[]> {
    this.stats.batches++;
    this.stats.items += keys.length;
    // Split into runs bounded by total atoms — and into at least one run per worker — run in parallel.
    const total = keys.reduce((a, k) => a + k.atomicNumber.length, 0);
    const limit = Math.min(this.options.maxBatchAtoms, Math.max(1, Math.ceil(total / this.pool.size)));
    const runs: number[][] = [];
    let cur: number[] = [];
    let atoms = 0;
    keys.forEach((k, i) => {
      const n = k.atomicNumber.length;
      if (cur.length > 0 && atoms + n > limit) {
        runs.push(cur);
        cur = [];
        atoms = 0;
      }
      cur.push(i);
      atoms += n;
    });
    if (cur.length > 0) runs.push(cur);
    const out: (EmResult | Error)[] = new Array(keys.length);
    await Promise.all(
      runs.map(async (idx) => {
        this.stats.runs++;
        try {
          const resp = await this.pool.run(idx.map((i) => keys[i]!));
          resp.results.forEach((r, j) => {
            const i = idx[j]!;
            out[i] = "error" in r ? new PredictionError(r.error, r.kind) : this.result(keys[i]!, r.members, r.clearance, r.overlap);
          });
        } catch (e) {
          for (const i of idx) out[i] = e as Error;
        }
      }),
    );
    return out;
  }

  private result(p: SerializedPath, members: number[], clearance: number | null, overlap: string | null): EmResult {
    const { mean, std } = ensembleSummary(members, this.card);
    const t = this.options.threshold;
    const pGood = std > 0 ? normalCdf((t - mean) / std) : mean < t ? 1 : 0;
    return { emPredicted: mean, emStd: std, pGood, model: this.modelVersion, warnings: this.warnings(p, clearance, overlap), members };
  }

  private warnings(p: SerializedPath, clearance: number | null, overlap: string | null): string[] {
    // Not physical: a structure no DFT label describes (the published Em set has three such entries).
    const w: string[] = overlap ? [`host ${overlap}: not a physical structure, the prediction means little`] : [];
    const app = this.card.applicability;
    if (!app) return w;
    const known = new Set(app.elements);
    const seen = new Set<number>(p.atomicNumber);
    const unknown = [...seen].map((z) => symbolOf(z)).filter((s) => !known.has(s));
    if (unknown.length > 0) w.push(`element(s) ${unknown.join(", ")} absent from the Em training data`);
    // The images wherever they are flagged: a caller may list them after the host.
    const first = p.isImage.indexOf(1);
    const last = p.isImage.lastIndexOf(1);
    const ion = first >= 0 ? symbolOf(p.atomicNumber[first]!) : null;
    if (ion && !app.ions.includes(ion)) w.push(`mobile ion ${ion} absent from the Em training data (trained on ${app.ions.join(", ")})`);
    if (app.hop_length_angstrom && last > first) {
      const d = hopLength(p, first, last);
      const [lo, hi] = app.hop_length_angstrom;
      if (d < lo - 0.05 || d > hi + 0.05) w.push(`hop length ${d.toFixed(2)} Å outside the training range ${lo.toFixed(2)}–${hi.toFixed(2)} Å`);
    }
    // Inside the training range too, hops that squeeze past a host atom are where the model errs most.
    const c = app.clearance;
    if (c && clearance !== null && clearance < c.warn_below_angstrom && c.heldout_mae_below_ev !== null) {
      w.push(
        `the straight path passes ${clearance.toFixed(2)} Å from a host atom: in cross-validation the ${c.n_below} training hops ` +
          `closer than ${c.warn_below_angstrom} Å were predicted with MAE ${c.heldout_mae_below_ev.toFixed(2)} eV ` +
          `(all hops ${c.heldout_mae_all_ev.toFixed(2)} eV)` +
          (c.heldout_mean_error_below_ev !== null && c.heldout_mean_error_below_ev < 0 ? `, on average ${(-c.heldout_mean_error_below_ev).toFixed(2)} eV too low` : ""),
      );
    }
    return w;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.pool.close();
  }
}

/** Options out of range are refused up front (NaN workers or run sizes used to fail later, or silently). */
function checkOptions(o: PredictorOptions): void {
  const bad = (name: string, want: string) => {
    throw new InferenceOptionsError(`${name} must be ${want}, not ${JSON.stringify((o as Record<string, unknown>)[name])}`);
  };
  const int = (name: keyof PredictorOptions, min: number) => {
    const v = o[name];
    if (v !== undefined && !(typeof v === "number" && Number.isInteger(v) && v >= min)) bad(name, `an integer ≥ ${min}`);
  };
  if (o.provider !== undefined && o.provider !== "cpu" && o.provider !== "cuda") bad("provider", `"cpu" or "cuda"`);
  int("workers", 1);
  int("threadsPerWorker", 1);
  int("maxBatchAtoms", 1);
  int("maxBatchSize", 1);
  int("cacheSize", 0);
  int("startTimeoutMs", 1);
  // setTimeout fires at once for a delay beyond 2³¹ − 1 ms, which would fail every load.
  if (o.startTimeoutMs !== undefined && o.startTimeoutMs > 2 ** 31 - 1) bad("startTimeoutMs", `at most ${2 ** 31 - 1} ms`);
  if (o.batchWaitMs !== undefined && !(Number.isFinite(o.batchWaitMs) && o.batchWaitMs >= 0)) bad("batchWaitMs", "a number of milliseconds ≥ 0");
  if (o.threshold !== undefined && !(Number.isFinite(o.threshold) && o.threshold > 0)) bad("threshold", "a positive barrier in eV");
}

function copyResult(r: EmResult): EmResult {
  return { ...r, warnings: [...r.warnings], members: [...r.members] };
}

function symbolOf(z: number): string {
  return ELEMENTS[z - 1] ?? `Z=${z}`;
}

function hopLength(p: SerializedPath, first: number, last: number): number {
  const d = [0, 1, 2].map((a) => p.frac[3 * last + a]! - p.frac[3 * first + a]!);
  const l = p.lattice;
  const c = [0, 1, 2].map((j) => d[0]! * l[j]! + d[1]! * l[3 + j]! + d[2]! * l[6 + j]!);
  return Math.hypot(c[0]!, c[1]!, c[2]!);
}
