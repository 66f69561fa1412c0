import { EmPredictor, type RegressionMetrics } from "@ionrank/inference";
import { noPositionals, numberFlag, parseArgs } from "../args.js";
import { loadPathItems } from "../inputs.js";
import { resolveModel } from "../model-path.js";
import { progressBar } from "../progress.js";
import { checkOutput, UsageError, writeOutput, type Output } from "../io.js";
import { errorLine, predictItems, warnDuplicateIds } from "./predict.js";

export const evaluateHelp = `ionrank evaluate --data FILE [--threshold 0.65] [--out FILE] [--model NAME]

Predict every labelled entry of a dataset file and print {count, mae, rmse, r2, accuracy, precision,
recall} (eV; "good conductor" = Em < threshold). --out writes per-entry predictions as JSON.`;

/** The model card's metric set (RegressionMetrics), with the entry count named as the CLI prints it. */
export type Metrics = Omit<RegressionMetrics, "n"> & { count: number };

/** The same figures as the training core's regression_metrics. */
export function metrics(y: number[], p: number[], threshold: number): Metrics {
  const n = y.length;
  const err = p.map((v, i) => v - y[i]!);
  const mean = y.reduce((a, b) => a + b, 0) / n;
  const ssRes = err.reduce((a, e) => a + e * e, 0);
  const ssTot = y.reduce((a, v) => a + (v - mean) ** 2, 0);
  let tp = 0, fp = 0, fn = 0, right = 0;
  y.forEach((v, i) => {
    const t = v < threshold;
    const q = p[i]! < threshold;
    if (t && q) tp++;
    if (!t && q) fp++;
    if (t && !q) fn++;
    if (t === q) right++;
  });
  return {
    count: n,
    mae: err.reduce((a, e) => a + Math.abs(e), 0) / n,
    rmse: Math.sqrt(ssRes / n),
    r2: ssTot > 0 ? 1 - ssRes / ssTot : null,
    accuracy: right / n,
    precision: tp + fp ? tp / (tp + fp) : null,
    recall: tp + fn ? tp / (tp + fn) : null,
  };
}

export async function evaluate(argv: readonly string[], out: Output): Promise<number> {
  const args = parseArgs(argv, { values: ["data", "threshold", "out", "model"], booleans: [] });
  const data = args.flags.get("data");
  if (typeof data !== "string") throw new UsageError("evaluate needs --data FILE");
  noPositionals(args, "evaluate", "give the dataset as --data FILE");
  const threshold = numberFlag(args, "threshold", 0.65, (t) => t > 0 && t <= 20, "a barrier in eV, 0 < t ≤ 20");
  const file = args.flags.get("out") as string | undefined;
  if (file !== undefined) checkOutput(file);
  const items = await loadPathItems([data], {});
  warnDuplicateIds(items, out);
  // An entry without a usable label cannot be scored: it is a failure to report, never silently left out.
  const failed: { id: string; error: string }[] = [];
  const labelled = items.filter((i) => {
    if ("error" in i) failed.push(i);
    else if (i.labelError !== undefined) failed.push({ id: i.id, error: i.labelError });
    return !("error" in i) && i.labelError === undefined;
  });
  if (labelled.length === 0) {
    // Nothing to score: say why without loading the model first.
    for (const f of failed) out.stderr(`error: ${errorLine(f.id, f.error)}\n`);
    out.stderr(`error: no entry of ${data} could be read with a label\n`);
    return 1;
  }
  const predictor = await EmPredictor.load(resolveModel(args.flags.get("model") as string | undefined), { log: (l) => out.stderr(l + "\n"), threshold });
  let rows;
  try {
    rows = await predictItems(predictor, labelled, progressBar("evaluate", out.stderr));
  } finally {
    await predictor.close();
  }
  for (const i of labelled) if ("error" in i) failed.push(i); // predictItems appends the entries that failed
  for (const f of failed) out.stderr(`error: ${errorLine(f.id, f.error)}\n`);
  if (rows.length === 0) {
    out.stderr("error: no labelled entries could be predicted\n");
    return 1;
  }
  const m = metrics(rows.map((r) => r.target!), rows.map((r) => r.emPredicted), threshold);
  // Print the figures before writing the file, so a bad --out path cannot lose them.
  out.stdout(JSON.stringify({ ...m, threshold, model: rows[0]!.model, failed: failed.length }) + "\n");
  if (file !== undefined) writeOutput(file, JSON.stringify(rows.map(({ hopLength: _h, ...r }) => r)) + "\n");
  return failed.length > 0 ? 1 : 0;
}
