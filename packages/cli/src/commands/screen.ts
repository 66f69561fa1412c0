import { basename } from "node:path";
import { entryBlock, enumerateHops, hopPathway, isElement, noHopsReason, ParseError, percolationDimension, readStructureFileEntries, Composition, type ElementSymbol } from "@ionrank/crystal";
import { walkFiles } from "@ionrank/db";
import { EmPredictor } from "@ionrank/inference";
import { parseArgs } from "../args.js";
import { progressBar } from "../progress.js";
import { resolveModel } from "../model-path.js";
import { UsageError, type Output } from "../io.js";
import { round } from "./predict.js";

export const screenHelp = `ionrank screen DIR|FILE... --ion EL [--max-length 5] [--json] [--model NAME]

Import every structure (folders are searched for structure files), enumerate the ion's hops, predict Em
for each, and rank materials by the lowest barrier at which the ion's network percolates (the barrier
that lets the ion cross the crystal), then by the lowest single hop. Failures are summarised per file.`;

const STRUCTURE_FILE = /\.(cif|vasp|poscar|xyz|extxyz|json)(\.gz)?$|^(POSCAR|CONTCAR)/i;

/**
 * Files to screen: folders are searched recursively for structure files, in name order, as `ionrank import`
 * does (one walk, shared with it: a folder reached again through a symbolic link is skipped and reported).
 */
function expand(paths: readonly string[]): { files: string[]; skipped: { file: string; reason: string }[] } {
  const seen = new Set<string>();
  const files: string[] = [];
  const skipped: { file: string; reason: string }[] = [];
  for (const p of paths) {
    for (const f of walkFiles(p, (name) => STRUCTURE_FILE.test(name), seen)) {
      if (f.error) skipped.push({ file: f.path, reason: f.error });
      else files.push(f.path);
    }
  }
  return { files, skipped };
}

interface Ranked {
  material: string;
  formula: string;
  hops: number;
  percolationBarrier: number | null;
  percolationDimension: number;
  lowestHop: number;
  lowestHopStd: number;
  warnings: string[];
}

export async function screen(argv: readonly string[], out: Output): Promise<number> {
  const args = parseArgs(argv, { values: ["ion", "max-length", "model"], booleans: ["json"] });
  const ion = args.flags.get("ion");
  if (typeof ion !== "string" || !isElement(ion)) throw new UsageError("screen needs --ion EL (an element symbol)");
  if (args.positionals.length === 0) throw new UsageError("screen needs DIR or FILE...");
  const maxLength = Number(args.flags.get("max-length") ?? 5);
  if (!(maxLength > 0)) throw new UsageError("--max-length must be a positive number of Å");
  const { files, skipped } = expand(args.positionals);
  if (files.length === 0) throw new UsageError(`no structure files in ${args.positionals.join(", ")}`);
  const predictor = await EmPredictor.load(resolveModel(args.flags.get("model") as string | undefined), { log: (l) => out.stderr(l + "\n") });
  const failures: { file: string; reason: string }[] = [...skipped];
  const ranked: Ranked[] = [];
  const bar = progressBar("screen", out.stderr);
  try {
    let done = 0;
    for (const file of files) {
      try {
        const structures = await readStructureFileEntries(file);
        for (const s of structures) {
          const name = structures.length > 1 ? `${basename(file)}[${entryBlock(s) ?? ""}]` : basename(file);
          if (s instanceof ParseError) {
            failures.push({ file: name, reason: s.message }); // a bad block of a multi-structure file; the rest go on
            continue;
          }
          try {
            const analysis = enumerateHops(s, ion as ElementSymbol, { maxLength });
            if (analysis.hops.length === 0) throw new Error(noHopsReason(analysis));
            const results = await Promise.all(analysis.hops.map((h) => predictor.predict(hopPathway(s, h).toPathStructure())));
            // Lowest barrier that percolates: add hops in order of predicted Em until the network spans the crystal.
            const order = analysis.hops.map((h, k) => ({ h, r: results[k]! })).sort((a, b) => a.r.emPredicted - b.r.emPredicted);
            // The dimension is the one reached at that barrier (as the database's rankings record it), not with every hop.
            let barrier: number | null = null;
            let dim = 0;
            for (let k = 0; k < order.length && barrier === null; k++) {
              const d = percolationDimension(order.slice(0, k + 1).flatMap((o) => o.h.equivalents));
              if (d > 0) {
                barrier = order[k]!.r.emPredicted;
                dim = d;
              }
            }
            ranked.push({
              material: name,
              formula: Composition.of(s).reducedFormula,
              hops: analysis.hops.length,
              percolationBarrier: barrier === null ? null : round(barrier),
              percolationDimension: dim,
              lowestHop: round(order[0]!.r.emPredicted),
              lowestHopStd: round(order[0]!.r.emStd),
              warnings: [...new Set(order.flatMap((o) => o.r.warnings))],
            });
          } catch (e) {
            failures.push({ file: name, reason: (e as Error).message });
          }
        }
      } catch (e) {
        failures.push({ file, reason: (e as Error).message });
      }
      bar(++done, files.length);
    }
  } finally {
    await predictor.close();
  }
  ranked.sort((a, b) => (a.percolationBarrier ?? Infinity) - (b.percolationBarrier ?? Infinity) || a.lowestHop - b.lowestHop);
  if (args.flags.has("json")) out.stdout(JSON.stringify({ ranked, failures }) + "\n");
  else {
    out.stdout(`rank  material${" ".repeat(22)} formula          percolating Em (eV)  dim  lowest hop (eV)\n`);
    ranked.forEach((r, i) =>
      out.stdout(`${String(i + 1).padStart(4)}  ${r.material.padEnd(30)} ${r.formula.padEnd(16)} ${(r.percolationBarrier?.toFixed(3) ?? "—").padStart(19)}  ${String(r.percolationDimension).padStart(3)}  ${r.lowestHop.toFixed(3)} ± ${r.lowestHopStd.toFixed(3)}\n`),
    );
    if (failures.length > 0) out.stdout(`\n${failures.length} input(s) failed:\n${failures.map((f) => `  ${f.file}: ${f.reason}`).join("\n")}\n`);
  }
  return failures.length > 0 ? 1 : 0;
}
