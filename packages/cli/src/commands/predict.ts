import { isElement } from "@ionrank/crystal";
import { EmPredictor, type EmResult } from "@ionrank/inference";
import { numberFlag, parseArgs } from "../args.js";
import { loadPathItems, type PathItem } from "../inputs.js";
import { resolveModel } from "../model-path.js";
import { progressBar } from "../progress.js";
import { checkOutput, UsageError, writeOutput, type Output } from "../io.js";

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
export async function predictItems(predictor: EmPredictor, items: PathItem[], progress?: (done: number, total: number) => void): Promise<(PredictedRow & { target?: number; hopLength: number })[] | never> {
  const ok = items.filter((i): i is Extract<PathItem, { input: unknown }> => "input" in i);
  // All calls go out at once (the service batches them); each one that settles moves the progress bar.
  let done = 0;
  progress?.(0, ok.length);
  const results = await Promise.all(
    ok.map((i) =>
      predictor.predict(i.input).then(
        (r): EmResult | Error => r,
        (e: unknown) => (e instanceof Error ? e : new Error(String(e))),
      ).finally(() => progress?.(++done, ok.length)),
    ),
  );
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
  const ion = args.flags.get("ion") as string | undefined;
  // A bad --ion is the command's mistake, not each file's: refused before anything is read or loaded.
  if (ion !== undefined && !isElement(ion)) throw new UsageError(`--ion must be an element symbol such as Li, got "${ion}"`);
  const maxLength = numberFlag(args, "max-length", 5, (v) => v > 0, "a positive number of Å");
  const file = args.flags.get("out") as string | undefined;
  if (file !== undefined) checkOutput(file);
  const card = resolveModel(args.flags.get("model") as string | undefined);
  const items = await loadPathItems(args.positionals, {
    ...(ion !== undefined ? { ion } : {}),
    ...(initial ? { initial, final: final! } : {}),
    maxLength,
  });
  // Every input that failed is reported before the output is written, so a failing --out cannot hide them.
  const failed = items.filter((i) => "error" in i);
  for (const f of failed) out.stderr(`error: ${errorLine(f.id, "error" in f ? f.error : "")}\n`);
  warnDuplicateIds(items, out);
  const predictor = await EmPredictor.load(card, { log: (l) => out.stderr(l + "\n") });
  try {
    const before = items.length;
    const rows = (await predictItems(predictor, items, progressBar("predict", out.stderr))).map(({ target: _t, hopLength: _h, ...r }) => r);
    // predictItems appends the items whose prediction failed: they are failures too, never silently missing.
    for (const f of items.slice(before)) if ("error" in f) out.stderr(`error: ${errorLine(f.id, f.error)}\n`);
    const text = format === "json" ? JSON.stringify(rows) + "\n" : format === "csv" ? csv(rows) : table(rows);
    if (file !== undefined) {
      // Nothing was predicted: an existing --out file (an earlier run's results) is kept, not replaced by nothing.
      if (rows.length === 0 && items.length > 0) out.stderr(`error: nothing was predicted; ${file} was not written\n`);
      else writeOutput(file, text);
    } else out.stdout(text);
    return items.length > before ? 1 : failed.length > 0 ? 1 : 0;
  } finally {
    await predictor.close();
  }
}

/** "id: reason", without naming the input twice when the reason already starts with it. */
export function errorLine(id: string, why: string): string {
  return why.startsWith(id) ? why : `${id}: ${why}`;
}

/** Two outputs with one id cannot be told apart: say which ids repeat (the entries are all still predicted). */
export function warnDuplicateIds(items: readonly PathItem[], out: Output): void {
  const count = new Map<string, number>();
  for (const i of items) if ("input" in i) count.set(i.id, (count.get(i.id) ?? 0) + 1);
  const dupes = [...count].filter(([, n]) => n > 1);
  if (dupes.length > 0) out.stderr(`warning: ${dupes.length} id(s) occur more than once, so their rows cannot be told apart: ${dupes.slice(0, 10).map(([id, n]) => `${id} (×${n})`).join(", ")}${dupes.length > 10 ? ", …" : ""}\n`);
}

function csv(rows: PredictedRow[]): string {
  const q = (s: string) => (/[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
  return ["id,formula,ion,emPredicted,emStd,pGood,model,warnings", ...rows.map((r) => [q(r.id), q(r.formula), r.ion, r.emPredicted, r.emStd, r.pGood, q(r.model), q(r.warnings.join("; "))].join(","))].join("\n") + "\n";
}

/** An id as one table cell: a newline or other control character in it would break the table's rows. */
const cell = (s: string) => s.replace(/\p{Cc}/gu, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);

function table(rows: PredictedRow[]): string {
  const ids = rows.map((r) => cell(r.id));
  const w = Math.max(4, ...ids.map((id) => id.length));
  const head = `${"id".padEnd(w)}  ${"formula".padEnd(16)} ion  Em (eV)  ±σ (eV)  P(Em<0.65)  warnings`;
  return [head, ...rows.map((r, k) => `${ids[k]!.padEnd(w)}  ${r.formula.padEnd(16)} ${r.ion.padEnd(3)}  ${r.emPredicted.toFixed(3).padStart(7)}  ${r.emStd.toFixed(3).padStart(7)}  ${r.pGood.toFixed(2).padStart(10)}  ${r.warnings.join("; ")}`)].join("\n") + "\n";
}
