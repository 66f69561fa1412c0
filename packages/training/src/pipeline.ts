import { existsSync } from "node:fs";
import { join } from "node:path";
import { DEFAULT_FEATURIZER_CONFIG, featurizeDataset, type DatasetInput, type ImageBonds } from "@ionrank/featurize";
import { runTrainingCore, TrainingError } from "./python.js";

export type Stage = "featurize" | "pretrain" | "finetune" | "scratch" | "export";
export const STAGES: readonly Stage[] = ["featurize", "pretrain", "finetune", "scratch", "export"];

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

export type Readout = "mean" | "path";
export const READOUTS: readonly Readout[] = ["mean", "path"];
export type TargetSpace = "identity" | "log1p";
export const TARGET_SPACES: readonly TargetSpace[] = ["identity", "log1p"];

export interface TrainOptions {
  /** Em dataset files (5-image form), e.g. ../shared/data/em/train.json. */
  em: DatasetInput[];
  /** Pre-training files (omit to skip pre-training: the model is then trained from scratch). */
  pretrain: DatasetInput[];
  /** Working folder for datasets, checkpoints and CV results (resumable). */
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
  batchSize: number;
  seed: number;
  /** Only the first N graphs of each dataset (CI-sized runs). */
  limit?: number;
  /** Run only these stages (default: all, skipping finished ones). */
  stages?: readonly Stage[];
}

/**
 * featurize → pretrain → fine-tune with k-fold CV → the same from scratch → export + model card.
 * Every stage writes into `work`; a stage whose output exists is skipped, and the Python stages resume
 * from their per-epoch checkpoints, so a killed pipeline continues where it stopped.
 */
/** Returns the model card's path, or null when this run did not include the export stage. */
export async function trainPipeline(o: TrainOptions, log: (line: string) => void): Promise<{ card: string | null }> {
  const stages = new Set(o.stages ?? STAGES);
  const emDir = join(o.work, "data-em");
  const preDir = join(o.work, "data-pretrain");
  const size = ["--hidden", String(o.size.hidden), "--alignn-layers", String(o.size.alignnLayers), "--gcn-layers", String(o.size.gcnLayers), "--line-k", String(o.size.lineK), "--readout", o.size.readout,
    "--target", o.size.target ?? "identity", "--dropout", String(o.size.dropout ?? 0)];
  const common = [...size, "--batch-size", String(o.batchSize), "--seed", String(o.seed), ...(o.limit ? ["--limit", String(o.limit)] : [])];
  const stage = (s: Stage) => stages.has(s);
  // A stage run alone needs what the earlier stages wrote: say which, before any work.
  const needs = (s: Stage, file: string, from: Stage) => {
    if (stage(s) && !stage(from) && !existsSync(file)) throw new TrainingError(`stage ${s} needs ${file}, which stage ${from} writes: run --stage ${from} first (same --work)`);
  };
  needs("pretrain", join(o.work, "data-pretrain", "manifest.json"), "featurize");
  needs("finetune", join(o.work, "data-em", "manifest.json"), "featurize");
  needs("scratch", join(o.work, "data-em", "manifest.json"), "featurize");
  needs("export", join(o.work, "cv-pretrained", "cv.json"), "finetune");
  if (o.pretrain.length > 0) needs("export", join(o.work, "cv-scratch", "cv.json"), "scratch");

  if (stage("featurize")) {
    if (!existsSync(join(emDir, "manifest.json"))) {
      log("featurize: Em pathways");
      featurizeDataset(o.em, emDir, { kind: "pathway", config: { ...DEFAULT_FEATURIZER_CONFIG, cropRadius: o.cropRadius, imageBonds: o.imageBonds } });
    }
    if (o.pretrain.length > 0 && !existsSync(join(preDir, "manifest.json"))) {
      log("featurize: pre-training structures");
      featurizeDataset(o.pretrain, preDir, { kind: "bulk" });
    }
  }
  const pre = join(o.work, "pretrain");
  const pretrained = o.pretrain.length > 0 ? join(pre, "pretrained.pt") : null;
  if (stage("pretrain") && pretrained && !existsSync(pretrained)) {
    log("pretrain: multi-property trunk");
    // Pre-training runs twice the fine-tuning batch at twice the peak LR (the settings of the shipped trunk).
    const preCommon = [...size, "--batch-size", String(2 * o.batchSize), "--lr", "2e-3", "--seed", String(o.seed), ...(o.limit ? ["--limit", String(o.limit)] : [])];
    await runTrainingCore(["pretrain", "--data", preDir, "--out", pre, "--epochs", String(o.pretrainEpochs), ...preCommon], log);
  }
  const cv = join(o.work, "cv-pretrained");
  const scratch = join(o.work, "cv-scratch");
  const folds = ["--folds", String(o.folds), "--epochs", String(o.finetuneEpochs), "--noise", String(o.positionNoise ?? 0)];
  if (stage("finetune") && !existsSync(join(cv, "cv.json"))) {
    log(`finetune: ${o.folds}-fold cross-validation${pretrained ? " from the pre-trained trunk" : " (no pre-training data given)"}`);
    await runTrainingCore(["cv", "--data", emDir, "--out", cv, ...folds, ...common, ...(pretrained ? ["--pretrained", pretrained] : [])], log);
  }
  if (stage("scratch") && pretrained && !existsSync(join(scratch, "cv.json"))) {
    log(`scratch: the same network and folds without pre-training`);
    await runTrainingCore(["cv", "--data", emDir, "--out", scratch, ...folds, ...common], log);
  }
  const card = join(o.out, `${o.name}.card.json`);
  if (!stage("export")) return { card: null }; // no card was written by this run
  log(`export: ONNX members and ${card}`);
  await runTrainingCore(
    ["export", "--data", emDir, "--cv", cv, "--scratch", scratch, "--pretrain", pre, "--out", o.out, "--name", o.name, "--version", o.version, ...(o.limit ? ["--parity", String(Math.min(24, o.limit))] : [])],
    log,
  );
  return { card };
}
