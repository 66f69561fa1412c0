import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { assertFeaturizerVersion, type FeaturizerConfig } from "@ionrank/featurize";
import { ModelCardError } from "./errors.js";

export interface RegressionMetrics {
  n: number;
  mae: number;
  rmse: number;
  r2: number | null;
  accuracy: number;
  precision: number | null;
  recall: number | null;
}

/** The model card written by the training core next to the ONNX members (`models/<name>.card.json`). */
export interface ModelCard {
  name: string;
  version: string;
  date: string;
  featurizer: { version: string; config: FeaturizerConfig };
  inputs: Record<string, { dtype: string; shape: (string | number)[]; meaning: string }>;
  outputs: Record<string, { dtype: string; shape: (string | number)[]; meaning: string }>;
  architecture: Record<string, unknown> & { parameters: number };
  ensemble: { members: { file: string; sha256: string; bytes: number; fold: number }[]; combine: "mean"; uncertainty: string };
  calibration: { scale: number; raw: { within1sigma: number; within2sigma: number }; calibrated: { within1sigma: number; within2sigma: number } };
  threshold: { good_conductor_below_ev: number };
  cv: {
    folds: number;
    stratified_by: string;
    pretrained: { metrics: RegressionMetrics; epochs: number; seconds: number };
    scratch: { metrics: RegressionMetrics; epochs: number; seconds: number } | null;
  };
  parity: { entries: string[]; pytorch_member_predictions: number[][]; tolerance_ev: number };
  /** What the Em training data covered (cards exported before the clearance table lack `clearance`). */
  applicability?: {
    elements: string[];
    ions: string[];
    hop_length_angstrom: [number, number] | null;
    clearance?: ClearanceApplicability;
  };
  [key: string]: unknown;
}

/** Held-out error by how close the straight path passes to a host atom (Å), from the card's cross-validation. */
export interface ClearanceApplicability {
  warn_below_angstrom: number;
  n_below: number;
  heldout_mae_below_ev: number | null;
  /** Mean of predicted − DFT for those hops (negative: predicted too low). */
  heldout_mean_error_below_ev: number | null;
  heldout_mae_all_ev: number;
  bins: { from_angstrom: number; to_angstrom: number | null; n: number; heldout_mae_ev: number | null; mean_em_dft_ev: number | null }[];
}

/** Ensemble mean and calibrated spread (sample standard deviation of members × the card's scale), eV. */
export function ensembleSummary(members: readonly number[], card: Pick<ModelCard, "calibration">): { mean: number; std: number } {
  const mean = members.reduce((a, b) => a + b, 0) / members.length;
  const sd = members.length > 1 ? Math.sqrt(members.reduce((a, v) => a + (v - mean) ** 2, 0) / (members.length - 1)) : 0;
  return { mean, std: sd * card.calibration.scale };
}

/** A card plus the absolute paths of its member files. */
export interface LoadedCard {
  card: ModelCard;
  path: string;
  memberPaths: string[];
  /** "<name>@<version>", the provenance stored with every prediction. */
  modelVersion: string;
}

/**
 * Read and check a model card: required fields, member files present with the recorded SHA-256, and the
 * featurizer it was trained with equal to the running one (a mismatch is a hard error).
 */
export function loadModelCard(path: string): LoadedCard {
  let card: ModelCard;
  try {
    card = JSON.parse(readFileSync(path, "utf8")) as ModelCard;
  } catch (e) {
    throw new ModelCardError(`${path}: cannot read model card: ${(e as Error).message}`);
  }
  for (const field of ["name", "version", "featurizer", "ensemble", "calibration", "threshold"] as const) {
    if (card[field] === undefined) throw new ModelCardError(`${path}: model card has no "${field}"`);
  }
  if (!Array.isArray(card.ensemble.members) || card.ensemble.members.length === 0) throw new ModelCardError(`${path}: model card lists no ensemble members`);
  assertFeaturizerVersion(card.featurizer.version, `model ${card.name}@${card.version}`, card.featurizer.config);
  const memberPaths = card.ensemble.members.map((m) => {
    const p = join(dirname(path), m.file);
    let bytes: Buffer;
    try {
      bytes = readFileSync(p);
    } catch {
      throw new ModelCardError(`${path}: member file ${m.file} is missing`);
    }
    const sum = createHash("sha256").update(bytes).digest("hex");
    if (sum !== m.sha256) throw new ModelCardError(`${path}: member file ${m.file} has SHA-256 ${sum.slice(0, 12)}…, the card says ${m.sha256.slice(0, 12)}…`);
    return p;
  });
  return { card, path, memberPaths, modelVersion: `${card.name}@${card.version}` };
}
