import { EmPredictor, type EmResult } from "@ionrank/inference";
import { parseArgs } from "../args.js";
import { loadPathItems, type PathItem } from "../inputs.js";
import { resolveModel } from "../model-path.js";
import { UsageError, writeOutput, type Output } from "../io.js";

export const predictHelp = `ionrank predict FILE... [--ion EL] [--initial A --final B] [--format table|csv|json] [--out FILE] [--model NAME]

Predict Em for pathways: dataset JSON files (5-image form or atoms_ini/atoms_fin pairs), 5-image path
structures in any format, one NEB endpoint pair (--initial/--final), or host structures with --ion EL (every
symmetry-distinct hop up to --max-length Å is predicted). JSON output: [{id, formula, ion, emPredicted,
emStd, pGood, model, warnings}]. Inputs that fail are reported on stderr; the exit code is then 1.`;

export interface PredictedRow {
  id: string;
  formula: string;
  ion: string;
  emPredicted: number;
  emStd: number;
  pGood: number;
  model: string;
  warnings: string[];
}

/** Predict every item; failures (bad input or a failed prediction) come back as error rows. */
export async function predictItems(predictor: EmPredictor, items: PathItem[]): Promise<(PredictedRow & { target?: number; hopLength: number })[] | never> {
  const ok = items.filter((i): i is Extract<PathItem, { input: unknown }> => "input" in i);
  const results = await predictor.predictMany(ok.map((i) => i.input));
  return ok.flatMap((it, k) => {
    const r = results[k]!;
    if (r instanceof Error) {
      items.push({ id: it.id, error: r.message });
      return [];
    }
    return [row(it, r)];
  });
}

function row(it: Extract<PathItem, { input: unknown }>, r: EmResult): PredictedRow & { target?: number; hopLength: number } {
  return {
    id: it.id,
    formula: it.formula,
    ion: it.ion,
    emPredicted: round(r.emPredicted),
    emStd: round(r.emStd),
    pGood: round(r.pGood),
    model: r.model,
    warnings: r.warnings,
    hopLength: it.hopLength,
    ...(it.target !== undefined ? { target: it.target } : {}),
  };
}

export const round = (x: number, d = 6) => Number(x.toFixed(d));

export async function predict(argv: readonly string[], out: Output): Promise<number> {
  const args = parseArgs(argv, { values: ["ion", "initial", "final", "format", "out", "model", "max-length"], booleans: [] });
  const format = (args.flags.get("format") as string | undefined) ?? "table";
  if (!["table", "csv", "json"].includes(format)) throw new UsageError(`--format must be table, csv or json, not ${format}`);
  const initial = args.flags.get("initial") as string | undefined;
  const final = args.flags.get("final") as string | undefined;
  if (Boolean(initial) !== Boolean(final)) throw new UsageError("--initial and --final go together");
  if (args.positionals.length === 0 && !initial) throw new UsageError("predict needs FILE... or --initial A --final B");
  const maxLength = Number(args.flags.get("max-length") ?? 5);
  if (!(maxLength > 0)) throw new UsageError("--max-length must be a positive number of Å");
  const card = resolveModel(args.flags.get("model") as string | undefined);
  const items = await loadPathItems(args.positionals, {
    ...(typeof args.flags.get("ion") === "string" ? { ion: args.flags.get("ion") as string } : {}),
    ...(initial ? { initial, final: final! } : {}),
    maxLength,
  });
  // Every input that failed is reported before the output is written, so a failing --out cannot hide them.
  const failed = items.filter((i) => "error" in i);
  for (const f of failed) {
    const why = "error" in f ? f.error : "";
    out.stderr(`error: ${why.startsWith(f.id) ? why : `${f.id}: ${why}`}\n`);
  }
  const predictor = await EmPredictor.load(card, { log: (l) => out.stderr(l + "\n") });
  try {
    const rows = (await predictItems(predictor, items)).map(({ target: _t, hopLength: _h, ...r }) => r);
    const text = format === "json" ? JSON.stringify(rows) + "\n" : format === "csv" ? csv(rows) : table(rows);
    const file = args.flags.get("out");
    if (typeof file === "string") writeOutput(file, text);
    else out.stdout(text);
  } finally {
    await predictor.close();
  }
  return failed.length > 0 ? 1 : 0;
}

function csv(rows: PredictedRow[]): string {
  const q = (s: string) => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
  return ["id,formula,ion,emPredicted,emStd,pGood,model,warnings", ...rows.map((r) => [q(r.id), q(r.formula), r.ion, r.emPredicted, r.emStd, r.pGood, q(r.model), q(r.warnings.join("; "))].join(","))].join("\n") + "\n";
}

function table(rows: PredictedRow[]): string {
  const w = Math.max(4, ...rows.map((r) => r.id.length));
  const head = `${"id".padEnd(w)}  ${"formula".padEnd(16)} ion  Em (eV)  ±σ (eV)  P(Em<0.65)  warnings`;
  return [head, ...rows.map((r) => `${r.id.padEnd(w)}  ${r.formula.padEnd(16)} ${r.ion.padEnd(3)}  ${r.emPredicted.toFixed(3).padStart(7)}  ${r.emStd.toFixed(3).padStart(7)}  ${r.pGood.toFixed(2).padStart(10)}  ${r.warnings.join("; ")}`)].join("\n") + "\n";
}
