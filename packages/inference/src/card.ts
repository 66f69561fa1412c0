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
  /** Members are fold models of the cross-validation (`fold`) or networks trained on every entry (`seed`, em@2.4.0 on). */
  ensemble: { members: { file: string; sha256: string; bytes: number; fold?: number; seed?: number }[]; combine: "mean"; uncertainty: string; trained_on?: string };
  calibration: {
    scale: number;
    raw: { within1sigma: number; within2sigma: number };
    calibrated: { within1sigma: number; within2sigma: number };
    /** How the scale was fitted; seed-calibrated cards also give the coverage on each fold of a scale fitted on the others. */
    method?: string;
    nested_within1sigma?: number;
    nested_within2sigma?: number;
  };
  threshold: { good_conductor_below_ev: number };
  cv: {
    folds: number;
    stratified_by: string;
    pretrained: { metrics: RegressionMetrics; epochs: number; seconds: number };
    /** The same recipe with other seeds on the same folds: metrics of every entry's held-out predictions averaged over the runs. */
    seed_runs?: { init_seeds: number[]; metrics: RegressionMetrics; per_run: RegressionMetrics[] } | null;
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
  checkCard(card, path);
  assertFeaturizerVersion(card.featurizer.version, `model ${card.name}@${card.version} (${path})`, card.featurizer.config);
  const memberPaths = card.ensemble.members.map((m) => {
    const p = join(dirname(path), m.file);
    let bytes: Buffer;
    try {
      bytes = readFileSync(p);
    } catch (e) {
      // Missing is the usual case; a folder or an unreadable file of that name is said as such.
      const code = (e as NodeJS.ErrnoException).code;
      throw new ModelCardError(`${path}: member file ${m.file} ${code === "ENOENT" ? "is missing" : `cannot be read: ${(e as Error).message}`}`);
    }
    // Said as such: the SHA-256 of nothing can match a card, and ONNX Runtime's words for it name no file.
    if (bytes.length === 0) throw new ModelCardError(`${path}: member file ${m.file} is empty (0 bytes), not an ONNX model`);
    const sum = createHash("sha256").update(bytes).digest("hex");
    if (sum !== m.sha256.toLowerCase()) throw new ModelCardError(`${path}: member file ${m.file} has SHA-256 ${sum.slice(0, 12)}…, the card says ${m.sha256.slice(0, 12)}…`);
    return p;
  });
  return { card, path, memberPaths, modelVersion: `${card.name}@${card.version}` };
}

const isObject = (x: unknown): x is Record<string, unknown> => typeof x === "object" && x !== null && !Array.isArray(x);
const isFiniteNumber = (x: unknown): x is number => typeof x === "number" && Number.isFinite(x);

/**
 * The fields the service relies on, with the types and ranges it needs: a card that passes loads a model that
 * predicts sensible numbers (a calibration scale of 0 would report every prediction as certain).
 */
function checkCard(card: unknown, path: string): asserts card is ModelCard {
  const bad = (why: string): never => {
    throw new ModelCardError(`${path}: ${why}`);
  };
  if (!isObject(card)) bad("a model card is a JSON object");
  const c = card as Record<string, unknown>;
  for (const field of ["name", "version", "featurizer", "ensemble", "calibration", "threshold", "inputs", "outputs"]) {
    if (c[field] === undefined || c[field] === null) bad(`model card has no "${field}"`);
  }
  for (const field of ["name", "version"]) if (typeof c[field] !== "string" || (c[field] as string).trim() === "") bad(`"${field}" must be a non-empty string`);
  const f = c.featurizer;
  if (!isObject(f) || typeof f.version !== "string" || !isObject(f.config)) bad(`"featurizer" must be { version: string, config: object }`);
  for (const field of ["inputs", "outputs"]) {
    const spec = c[field];
    if (!isObject(spec) || Object.keys(spec).length === 0) bad(`"${field}" must map tensor names to { dtype, shape }`);
    for (const [name, t] of Object.entries(spec as Record<string, unknown>)) {
      if (!isObject(t) || typeof t.dtype !== "string" || !Array.isArray(t.shape)) bad(`${field}.${name} must be { dtype: string, shape: [...] }`);
    }
  }
  if (!isObject(c.outputs) || !("em" in c.outputs)) bad(`"outputs" has no "em" tensor, the Em the service reads`);
  // Em is read as float32 eV: an integer em (card and members agreeing on it) loaded, then failed every pathway.
  const emType = ((c.outputs as Record<string, { dtype: string }>).em as { dtype: string }).dtype;
  if (emType !== "float32") bad(`outputs.em is ${emType}; the service reads Em as float32 (eV)`);
  const e = c.ensemble;
  if (!isObject(e) || !Array.isArray(e.members) || e.members.length === 0) bad("model card lists no ensemble members");
  const files = new Set<string>();
  ((e as { members: unknown[] }).members).forEach((m, i) => {
    if (!isObject(m) || typeof m.file !== "string" || typeof m.sha256 !== "string") bad(`ensemble member ${i} must have "file" and "sha256" strings`);
    const { file, sha256 } = m as { file: string; sha256: string };
    // Members live beside their card: a path out of that folder would load someone else's file.
    if (file === "" || /[\\/]/.test(file) || file === "." || file === "..") bad(`ensemble member ${i}: "${file}" is not a file name in the card's folder`);
    if (!/^[0-9a-f]{64}$/i.test(sha256)) bad(`ensemble member ${i} (${file}): "sha256" is not a SHA-256 in hex`);
    if (files.has(file)) bad(`ensemble member ${i}: ${file} is listed twice (its spread would count it twice)`);
    files.add(file);
  });
  const scale = isObject(c.calibration) ? c.calibration.scale : undefined;
  if (!isFiniteNumber(scale) || scale <= 0) bad(`calibration.scale must be a positive number, not ${JSON.stringify(scale)}`);
  const t = isObject(c.threshold) ? c.threshold.good_conductor_below_ev : undefined;
  if (!isFiniteNumber(t) || t <= 0) bad(`threshold.good_conductor_below_ev must be a positive number (eV), not ${JSON.stringify(t)}`);
  if (c.applicability !== undefined) checkApplicability(c.applicability, bad);
}

/**
 * The optional applicability block, as far as the predictor's warnings read it: checked at load, because a
 * malformed one used to load and then fail every prediction with a TypeError that named no card.
 */
function checkApplicability(a: unknown, bad: (why: string) => never): void {
  const strings = (x: unknown) => Array.isArray(x) && x.every((v) => typeof v === "string");
  const numberOrNull = (x: unknown) => x === null || isFiniteNumber(x);
  if (!isObject(a)) bad(`"applicability" must be an object`);
  const app = a as Record<string, unknown>;
  for (const field of ["elements", "ions"]) if (!strings(app[field])) bad(`applicability.${field} must be a list of element symbols, not ${JSON.stringify(app[field])}`);
  const hop = app.hop_length_angstrom;
  const range = (x: unknown): x is [number, number] => Array.isArray(x) && x.length === 2 && x.every(isFiniteNumber) && x[0]! <= x[1]!;
  if (hop !== null && hop !== undefined && !range(hop))
    bad(`applicability.hop_length_angstrom must be null or [shortest, longest] in Å, not ${JSON.stringify(hop)}`);
  if (app.clearance === undefined) return;
  const cl = app.clearance;
  if (!isObject(cl)) bad(`applicability.clearance must be an object`);
  const c = cl as Record<string, unknown>;
  if (!isFiniteNumber(c.warn_below_angstrom) || c.warn_below_angstrom <= 0) bad(`applicability.clearance.warn_below_angstrom must be a positive number (Å), not ${JSON.stringify(c.warn_below_angstrom)}`);
  if (!(Number.isInteger(c.n_below) && (c.n_below as number) >= 0)) bad(`applicability.clearance.n_below must be a count, not ${JSON.stringify(c.n_below)}`);
  if (!isFiniteNumber(c.heldout_mae_all_ev)) bad(`applicability.clearance.heldout_mae_all_ev must be a number (eV), not ${JSON.stringify(c.heldout_mae_all_ev)}`);
  for (const field of ["heldout_mae_below_ev", "heldout_mean_error_below_ev"]) {
    if (!numberOrNull(c[field])) bad(`applicability.clearance.${field} must be a number (eV) or null, not ${JSON.stringify(c[field])}`);
  }
}
