import { createHash } from "node:crypto";
import { accessSync, constants, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { DEFAULT_FEATURIZER_CONFIG, featurizeDataset, featurizerVersion, type DatasetInput, type FeaturizerConfig, type ImageBonds } from "@ionrank/featurize";
import { runTrainingCore, TrainingError } from "./python.js";

export type Stage = "featurize" | "pretrain" | "finetune" | "members" | "scratch" | "export";
export const STAGES: readonly Stage[] = ["featurize", "pretrain", "finetune", "members", "scratch", "export"];

export interface ModelSize {
  hidden: number;
  alignnLayers: number;
  gcnLayers: number;
  /** Line graph among each atom's nearest N bonds (0 = all). */
  lineK: number;
  /** What the Em head reads: the mean over all atoms, or also the moving ion's path images ("path"). */
  readout: Readout;
  /** Space of the fine-tuning loss: Em itself, or log(1 + Em) (outputs are eV either way). */
  target?: TargetSpace;
  /** Dropout in the Em head while training (0 = none). */
  dropout?: number;
}

/** What a model's name may be: it becomes file names in `out` (NAME.card.json, NAME.member0.onnx). */
export const MODEL_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

export type Readout = "mean" | "path";
export const READOUTS: readonly Readout[] = ["mean", "path"];
export type TargetSpace = "identity" | "log1p";
export const TARGET_SPACES: readonly TargetSpace[] = ["identity", "log1p"];

export interface TrainOptions {
  /** Em dataset files (5-image form), e.g. ../shared/data/em/train.json. */
  em: DatasetInput[];
  /** Pre-training files (omit to skip pre-training: the model is then trained from scratch, unless `trunk` is given). */
  pretrain: DatasetInput[];
  /**
   * A trunk pre-trained earlier to fine-tune from instead of pre-training (e.g. the bundled models/em.trunk.pt, with its
   * record em.trunk.json beside it): reruns the shipped model's fine-tuning without its pre-training. Not with `pretrain`.
   */
  trunk?: string;
  /** Working folder for datasets, checkpoints and CV results (resumable); relative paths are from the cwd. */
  work: string;
  /** Where the ONNX members and the model card go. */
  out: string;
  name: string;
  version: string;
  size: ModelSize;
  /** Keep only atoms within this of the path in Em path structures, Å (0 = whole path structure). */
  cropRadius: number;
  /** Which bonds touch the path images (FeaturizerConfig.imageBonds). */
  imageBonds: ImageBonds;
  pretrainEpochs: number;
  finetuneEpochs: number;
  /** Training-time jitter of atom positions while fine-tuning, Å standard deviation (0 or omitted = none). */
  positionNoise?: number;
  folds: number;
  /**
   * Cross-validation runs on the same folds, run r with initialisation seed `seed + 100·r` (default 3). With two or
   * more, every entry has that many held-out predictions from models that never saw it: their spread calibrates the
   * members' spread.
   */
  cvSeeds?: number;
  /**
   * The shipped ensemble: this many members fine-tuned on every entry with the cross-validated recipe, member j with
   * seed `seed + j` (default 5; needs cvSeeds ≥ 2). 0 ships the fold models of the first cross-validation run instead,
   * with a spread calibrated on entries 4 of 5 of them saw (optimistic).
   */
  members?: number;
  batchSize: number;
  seed: number;
  /**
   * Training runs after pre-training (each cross-validation run, the members, the scratch run) are independent: run
   * this many at once (default: one per core), each on 1 torch thread. Fine-tuning on cropped path structures is
   * faster on 1 thread than on 2, and two runs side by side get 1.5× more done than one after the other (measured on
   * 2 cores: see set_threads in ionrank_training/train.py).
   */
  jobs?: number;
  /** Only the first N graphs of each dataset (CI-sized runs). */
  limit?: number;
  /** Run only these stages (default: all, skipping finished ones). */
  stages?: readonly Stage[];
}

/**
 * featurize → pretrain → fine-tune with k-fold CV (several seeds) → the ensemble's members on every entry → the same
 * CV from scratch → export + model card.
 * Every stage writes into `work`; a stage whose output exists is skipped, and the Python stages resume
 * from their per-epoch checkpoints, so a killed pipeline continues where it stopped. Each stage's inputs
 * (file SHA-256s, featurizer config, hyper-parameters) are recorded beside its output: a rerun that
 * changes them is refused, naming what changed, instead of silently reusing the old output.
 * Relative paths are taken from the caller's working directory.
 */
/** Returns the model card's path, or null when this run did not include the export stage. */
export async function trainPipeline(options: TrainOptions, log: (line: string) => void): Promise<{ card: string | null }> {
  const o = { ...options, work: resolve(options.work), out: resolve(options.out) };
  const emInputs = options.em.map((i) => ({ ...i, file: resolve(i.file) }));
  const preInputs = options.pretrain.map((i) => ({ ...i, file: resolve(i.file) }));
  const givenTrunk = options.trunk === undefined ? null : resolve(options.trunk);
  const stages = new Set(o.stages ?? STAGES);
  const stage = (s: Stage) => stages.has(s);
  if (!Number.isInteger(o.seed) || o.seed < 0 || o.seed >= 2 ** 32) throw new TrainingError(`seed ${o.seed} must be an integer in [0, 2^32)`);
  if (givenTrunk) {
    if (preInputs.length > 0) throw new TrainingError("give either --pretrain files (pre-train a trunk) or --trunk FILE (fine-tune from one pre-trained earlier), not both");
    if (!existsSync(givenTrunk) || !statSync(givenTrunk).isFile()) throw new TrainingError(`--trunk ${options.trunk}: no such file (a pretrained.pt, or a model's NAME.trunk.pt)`);
    if (o.stages?.includes("pretrain")) throw new TrainingError(`stage pretrain: --trunk ${options.trunk} is the trunk; there is nothing to pre-train`);
  } else if (preInputs.length === 0) {
    for (const s of ["pretrain", "scratch"] as const) {
      if (o.stages?.includes(s)) throw new TrainingError(`stage ${s} needs pre-training data (--pretrain FILE …): without it there is ${s === "pretrain" ? "nothing to pre-train" : "no pre-trained model to compare with"}`);
    }
  }
  if (!MODEL_NAME.test(o.name)) throw new TrainingError(`model name "${o.name}" must be a plain file name (letters, digits, ".", "_", "-"): it names ${o.name}.card.json in ${o.out}`);
  checkFolder(o.work, "--work", "the working folder");
  checkFolder(o.out, "--out", "the model");
  const card = join(o.out, `${o.name}.card.json`);
  if (stage("export") && existsSync(card) && !statSync(card).isFile()) throw new TrainingError(`${card} is a folder: it is where the model card goes`);

  const emDir = join(o.work, "data-em");
  const preDir = join(o.work, "data-pretrain");
  const pre = join(o.work, "pretrain");
  const pretrained = givenTrunk ?? (preInputs.length > 0 ? join(pre, "pretrained.pt") : null);
  const cvSeeds = o.cvSeeds ?? 3;
  const memberCount = o.members ?? 5;
  if (!Number.isInteger(cvSeeds) || cvSeeds < 1) throw new TrainingError(`cvSeeds ${cvSeeds} must be an integer ≥ 1`);
  if (!Number.isInteger(memberCount) || memberCount < 0) throw new TrainingError(`members ${memberCount} must be an integer ≥ 0`);
  if (memberCount > 0 && cvSeeds < 2) {
    throw new TrainingError(`${memberCount} members trained on every entry need 2 or more cross-validation seeds (got ${cvSeeds}): their held-out spread calibrates the members' spread; or give 0 members to ship the fold models`);
  }
  if (o.jobs !== undefined && (!Number.isInteger(o.jobs) || o.jobs < 1)) throw new TrainingError(`jobs ${o.jobs} must be an integer ≥ 1`);
  if (memberCount === 1) throw new TrainingError("an ensemble of 1 member has no spread: give 0 (the fold models), or 2 or more members");
  const cv = join(o.work, "cv-pretrained");
  // Run r of the cross-validation: the first keeps the folder name it always had.
  const cvRuns = Array.from({ length: cvSeeds }, (_, r) => ({ dir: r === 0 ? cv : `${cv}-seed${r}`, initSeed: o.seed + 100 * r }));
  const membersDir = join(o.work, "members");
  const scratch = join(o.work, "cv-scratch");
  const errorLog = ["--error-log", join(o.work, "error.log")];
  const core = (args: string[]) => runTrainingCore([...errorLog, ...args], log);

  const size = ["--hidden", String(o.size.hidden), "--alignn-layers", String(o.size.alignnLayers), "--gcn-layers", String(o.size.gcnLayers), "--line-k", String(o.size.lineK), "--readout", o.size.readout,
    "--target", o.size.target ?? "identity", "--dropout", String(o.size.dropout ?? 0)];
  const limit = o.limit ? ["--limit", String(o.limit)] : [];
  const common = [...size, "--batch-size", String(o.batchSize), "--seed", String(o.seed), ...limit];
  // A stage run alone needs what the earlier stages wrote: say which, before any work.
  const needs = (s: Stage, file: string, from: Stage) => {
    if (stage(s) && !stage(from) && !existsSync(file)) throw new TrainingError(`stage ${s} needs ${file}, which stage ${from} writes: run --stage ${from} first (same --work)`);
  };
  needs("pretrain", join(preDir, "manifest.json"), "featurize");
  needs("finetune", join(emDir, "manifest.json"), "featurize");
  if (pretrained && !givenTrunk) needs("finetune", pretrained, "pretrain");
  needs("scratch", join(emDir, "manifest.json"), "featurize");
  for (const r of cvRuns) needs("export", join(r.dir, "cv.json"), "finetune");
  if (memberCount > 0) {
    needs("members", join(emDir, "manifest.json"), "featurize");
    if (pretrained && !givenTrunk) needs("members", pretrained, "pretrain");
    needs("export", join(membersDir, "members.json"), "members");
  }
  if (pretrained) needs("export", join(scratch, "cv.json"), "scratch");

  // What each stage's output depends on. Stages this run runs or reads from are checked against what their
  // existing output was made with, before any work.
  const emConfig = { ...DEFAULT_FEATURIZER_CONFIG, cropRadius: o.cropRadius, imageBonds: o.imageBonds };
  const emData = dataInputs(emInputs, emConfig);
  const preData = preInputs.length > 0 ? dataInputs(preInputs, DEFAULT_FEATURIZER_CONFIG) : null;
  const net = { hidden: o.size.hidden, "alignn-layers": o.size.alignnLayers, "gcn-layers": o.size.gcnLayers, "line-k": o.size.lineK, "batch-size": o.batchSize, seed: o.seed, limit: o.limit ?? 0 };
  const preRecord = givenTrunk ? { trunk: `${basename(givenTrunk)}@${fileSha256(givenTrunk).slice(0, 16)}` }
    : preData && { "pre-training data": preData.files, "pretrain featurizer": preData.config, ...net, "batch-size": 2 * o.batchSize, "pretrain-epochs": o.pretrainEpochs };
  const cvRecord = { "Em data": emData.files, featurizer: emData.config, ...net, readout: o.size.readout, target: o.size.target ?? "identity", dropout: o.size.dropout ?? 0,
    folds: o.folds, epochs: o.finetuneEpochs, noise: o.positionNoise ?? 0 };
  const reads: Record<Stage, Stage[]> = {
    featurize: [], pretrain: ["featurize"], finetune: ["featurize", "pretrain"], members: ["featurize", "pretrain"], scratch: ["featurize"],
    export: ["featurize", "pretrain", "finetune", "members", "scratch"],
  };
  const checked = new Set([...stages, ...[...stages].flatMap((s) => reads[s])]);
  if (checked.has("featurize")) {
    checkData(emDir, emData);
    if (preData) checkData(preDir, preData);
  }
  if (preRecord && !givenTrunk && (checked.has("pretrain") || checked.has("finetune"))) checkRecord(pre, preRecord, log);
  const runRecord = (initSeed: number) => ({ ...cvRecord, "pre-trained": preRecord ?? "none", ...(initSeed !== o.seed ? { "init seed": initSeed } : {}) });
  if (checked.has("finetune")) for (const r of cvRuns) checkRecord(r.dir, runRecord(r.initSeed), log);
  const membersRecord = { ...cvRecord, "pre-trained": preRecord ?? "none", members: memberCount };
  delete (membersRecord as Fields).folds;
  if (memberCount > 0 && checked.has("members")) checkRecord(membersDir, membersRecord, log);
  if (preRecord && checked.has("scratch")) checkRecord(scratch, cvRecord, log);

  if (stage("featurize")) {
    if (!existsSync(join(emDir, "manifest.json"))) {
      log("featurize: Em pathways");
      featurizeDataset(emInputs, emDir, { kind: "pathway", config: emConfig });
    }
    if (preInputs.length > 0 && !existsSync(join(preDir, "manifest.json"))) {
      log("featurize: pre-training structures");
      // "auto" sorts each file as `ionrank featurize` does: crystals get the very graphs "bulk" gives, while a file of
      // path structures (an Em dataset) would pass as bulk crystals whose image atoms sit ~1 Å apart. Refuse it.
      const { kinds } = featurizeDataset(preInputs, preDir, { kind: "auto" });
      const paths = preInputs.findIndex((i) => kinds[i.file] === "pathway");
      if (paths >= 0) {
        const first = firstEntry(preDir, paths);
        rmSync(preDir, { recursive: true, force: true }); // never reused as pre-training data by a later run
        throw new TrainingError(
          `${options.pretrain[paths]!.file}: every entry (the first: ${first}) is a ${DEFAULT_FEATURIZER_CONFIG.images}-image path structure, as in an Em dataset, ` +
            "not a bulk crystal: pre-training needs crystals; give path structures with --em",
        );
      }
    }
  }
  // Labels, kind and fold count of the Em data, before hours of pre-training that it would waste.
  if ((stage("finetune") && cvRuns.some((r) => !existsSync(join(r.dir, "cv.json")))) || (stage("scratch") && pretrained && !existsSync(join(scratch, "cv.json")))) {
    await core(["check", "--data", emDir, "--folds", String(o.folds), ...limit]);
  }
  if (stage("pretrain") && preRecord && !givenTrunk && pretrained && !existsSync(pretrained)) {
    log("pretrain: multi-property trunk");
    writeRecord(pre, preRecord);
    // Pre-training runs twice the fine-tuning batch at twice the peak LR (the settings of the shipped trunk).
    const preCommon = [...size, "--batch-size", String(2 * o.batchSize), "--lr", "2e-3", "--seed", String(o.seed), ...limit];
    await core(["pretrain", "--data", preDir, "--out", pre, "--epochs", String(o.pretrainEpochs), ...preCommon]);
  }
  const folds = ["--folds", String(o.folds), "--epochs", String(o.finetuneEpochs), "--noise", String(o.positionNoise ?? 0)];
  const from = pretrained ? ["--pretrained", pretrained] : [];
  // The training runs left to do; each writes only its own folder.
  const runs: { tag: string; start: string; dir: string; record: Fields; args: string[] }[] = [];
  for (const [r, run] of cvRuns.entries()) {
    if (!stage("finetune") || existsSync(join(run.dir, "cv.json"))) continue;
    runs.push({
      tag: cvSeeds > 1 ? `finetune ${r + 1}/${cvSeeds}` : "finetune",
      start: `finetune: ${o.folds}-fold cross-validation${pretrained ? " from the pre-trained trunk" : " (no pre-training data given)"}${cvSeeds > 1 ? `, run ${r + 1}/${cvSeeds} (seed ${run.initSeed})` : ""}`,
      dir: run.dir, record: runRecord(run.initSeed),
      args: ["cv", "--data", emDir, "--out", run.dir, ...folds, ...common, "--init-seed", String(run.initSeed), ...from],
    });
  }
  if (stage("members") && memberCount > 0 && !existsSync(join(membersDir, "members.json"))) {
    runs.push({
      tag: "members", start: `members: ${memberCount} networks fine-tuned on every entry (the shipped ensemble)`, dir: membersDir, record: membersRecord,
      args: ["members", "--data", emDir, "--out", membersDir, "--members", String(memberCount), "--epochs", String(o.finetuneEpochs), "--noise", String(o.positionNoise ?? 0), ...common, "--init-seed", String(o.seed), ...from],
    });
  }
  if (stage("scratch") && pretrained && !existsSync(join(scratch, "cv.json"))) {
    runs.push({ tag: "scratch", start: "scratch: the same network and folds without pre-training", dir: scratch, record: cvRecord, args: ["cv", "--data", emDir, "--out", scratch, ...folds, ...common] });
  }
  // The core fine-tunes on 1 torch thread unless IONRANK_TORCH_THREADS says otherwise.
  const jobs = Math.max(1, Math.min(o.jobs ?? availableParallelism(), runs.length));
  let next = 0;
  let stop = false; // after a failure no further run starts
  const worker = async () => {
    while (!stop && next < runs.length) {
      const run = runs[next++]!;
      log(run.start);
      writeRecord(run.dir, run.record);
      try {
        await runTrainingCore([...errorLog, ...run.args], jobs > 1 ? (line) => log(`[${run.tag}] ${line}`) : log);
      } catch (e) {
        stop = true;
        throw e;
      }
    }
  };
  // Every run ends (or fails) before the pipeline returns: none keeps writing into --work behind its caller's back.
  const settled = await Promise.allSettled(Array.from({ length: jobs }, worker));
  const failed = settled.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failed) throw failed.reason;
  if (!stage("export")) return { card: null }; // no card was written by this run
  log(`export: ONNX members and ${card}`);
  await core(["export", "--data", emDir, ...cvRuns.flatMap((r) => ["--cv", r.dir]), ...(memberCount > 0 ? ["--members", membersDir] : []), "--scratch", scratch, ...(givenTrunk ? ["--trunk", givenTrunk] : pretrained ? ["--pretrain", pre] : []), "--out", o.out, "--name", o.name, "--version", o.version,
    ...limit, ...(o.limit ? ["--parity", String(Math.min(24, o.limit))] : [])]);
  return { card };
}

/**
 * --work and --out are folders (or not there yet, inside a writable folder): a file or a read-only place there
 * would only fail after training, when the export writes the model.
 */
function checkFolder(dir: string, flag: string, what: string): void {
  // Kernel file systems take mkdir in odd ways (Node's recursive mkdir spins under /proc): refuse them by name.
  if (/^\/(proc|sys)(\/|$)/.test(dir)) throw new TrainingError(`${flag} ${dir} is on a kernel file system (/proc, /sys): give a folder on a disk for ${what}`);
  let at = dir;
  while (!existsSync(at)) at = dirname(at);
  if (!statSync(at).isDirectory()) throw new TrainingError(at === dir ? `${flag} ${dir} is a file: give a folder for ${what}` : `${flag} ${dir}: ${at} is a file, not a folder`);
  try {
    accessSync(at, constants.W_OK | constants.X_OK);
  } catch (e) {
    throw new TrainingError(`${flag} ${dir}: ${at} is not writable (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}): give a folder you can write to`);
  }
}

/** Id of the first graph of input file `index` in a featurized dataset (graphs follow the files' order). */
function firstEntry(dir: string, index: number): string {
  const m = JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8")) as { sources: { entries: number }[]; ids: string[] };
  return m.ids[m.sources.slice(0, index).reduce((n, s) => n + s.entries, 0)] ?? "(none)";
}

type Fields = { [key: string]: unknown };

function fileSha256(file: string): string {
  return createHash("sha256").update(readFileSync(file)).digest("hex");
}

/** A dataset's inputs as its manifest records them: each file's name and SHA-256, the featurizer config and version. */
function dataInputs(inputs: readonly DatasetInput[], config: FeaturizerConfig): { files: string; config: Fields; version: string } {
  const files = inputs.map((i) => {
    let raw: Buffer;
    try {
      raw = readFileSync(i.file);
    } catch (e) {
      throw new TrainingError(`${i.file}: cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
    return `${basename(i.file)}@${createHash("sha256").update(raw).digest("hex").slice(0, 16)}`;
  });
  let version: string;
  try {
    version = featurizerVersion(config);
  } catch (e) {
    throw new TrainingError(`featurizer settings: ${(e as Error).message}`); // e.g. a crop radius that is not a distance
  }
  return { files: files.join(", "), config: { ...config }, version };
}

/**
 * An existing featurized dataset must come from the same files (by content), featurizer config and featurizer
 * version: the version also changes with the graph scheme and element table (a newer IonRank), which the config
 * does not show, and a model trained on stale graphs is refused when the service loads its card.
 */
function checkData(dir: string, want: { files: string; config: Fields; version: string }): void {
  const path = join(dir, "manifest.json");
  if (!existsSync(path)) return;
  let m: { sources?: { file: string; sha256: string }[]; featurizer?: { config?: Fields; version?: string } };
  try {
    m = JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    throw new TrainingError(`${path}: not valid JSON (${(e as Error).message}): delete ${dir} to featurize again`);
  }
  const had = { files: (m.sources ?? []).map((s) => `${s.file}@${String(s.sha256).slice(0, 16)}`).join(", "), config: { ...DEFAULT_FEATURIZER_CONFIG, ...m.featurizer?.config } }; // absent options had their defaults
  refuseChange(dir, "was featurized", { files: had.files, ...prefixed("featurizer ", had.config), "featurizer version": m.featurizer?.version },
    { files: want.files, ...prefixed("featurizer ", want.config), "featurizer version": want.version });
}

function prefixed(prefix: string, o: Fields): Fields {
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [prefix + k, v]));
}

const RECORD = "inputs.json";

/** A Python stage's folder must have been made with the same inputs; one made before records existed adopts them. */
function checkRecord(dir: string, want: Fields, log: (line: string) => void): void {
  const path = join(dir, RECORD);
  const outputs = existsSync(dir) ? readdirSync(dir).filter((f) => f !== RECORD && !f.includes(".partial-")) : [];
  if (!existsSync(path)) {
    if (outputs.length > 0) {
      log(`${dir}: recording its inputs (it was made before inputs were recorded)`);
      writeRecord(dir, want);
    }
    return;
  }
  if (outputs.length === 0) return; // nothing made yet: this run's record replaces it
  let had: Fields;
  try {
    had = JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    throw new TrainingError(`${path}: not valid JSON (${(e as Error).message}): delete ${dir} to redo that stage`);
  }
  refuseChange(dir, "was made", flatten(had), flatten(want));
}

function flatten(o: Fields, prefix = ""): Fields {
  return Object.fromEntries(
    Object.entries(o).flatMap(([k, v]) => (v !== null && typeof v === "object" && !Array.isArray(v) ? Object.entries(flatten(v as Fields, `${prefix}${k} `)) : [[prefix + k, v]])),
  );
}

function refuseChange(dir: string, made: string, had: Fields, want: Fields): void {
  for (const key of new Set([...Object.keys(want), ...Object.keys(had)])) {
    if (JSON.stringify(had[key]) === JSON.stringify(want[key])) continue;
    const show = (v: unknown) => (v === undefined ? "(none)" : typeof v === "string" ? v : JSON.stringify(v));
    throw new TrainingError(`${dir} ${made} with ${key} ${show(had[key])}; this run asks for ${show(want[key])}: use another --work, or delete ${dir} to redo it`);
  }
}

function writeRecord(dir: string, record: Fields): void {
  mkdirSync(dir, { recursive: true });
  const tmp = join(dir, `${RECORD}.partial-${process.pid}`);
  writeFileSync(tmp, JSON.stringify(record, null, 1) + "\n");
  renameSync(tmp, join(dir, RECORD));
}
