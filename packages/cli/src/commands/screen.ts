import { realpathSync } from "node:fs";
import { entryBlock, enumerateHops, hopPathway, isElement, noHopsReason, ParseError, percolationDimension, readStructureFileEntries, Composition, type ElementSymbol } from "@ionrank/crystal";
import { walkFiles } from "@ionrank/db";
import { EmPredictor, type EmResult } from "@ionrank/inference";
import { numberFlag, parseArgs } from "../args.js";
import { progressBar } from "../progress.js";
import { resolveModel } from "../model-path.js";
import { UsageError, type Output } from "../io.js";
import { errorLine, round } from "./predict.js";
import { uniqueNames } from "../inputs.js";

export const screenHelp = `ionrank screen DIR|FILE... --ion EL [--max-length 5] [--json] [--model NAME]

Import every structure (folders are searched for structure files), enumerate the ion's hops, predict Em
for each, and rank materials by the lowest barrier at which the ion's network percolates (the barrier
that lets the ion cross the crystal), then by the lowest single hop. Failures are summarised per file.`;

const STRUCTURE_FILE = /\.(cif|vasp|poscar|xyz|extxyz|json)(\.gz)?$|^(POSCAR|CONTCAR)/i;

/**
 * Files to screen: folders are searched recursively for structure files, in name order, by the walk
 * `ionrank import` uses (problems come out as that entry's reason). A file reached twice (a folder and a file
 * in it, or through a link) is screened once.
 */
function expand(paths: readonly string[]): { files: string[]; skipped: { file: string; reason: string }[] } {
  const files: string[] = [];
  const skipped: { file: string; reason: string }[] = [];
  const folders = new Set<string>();
  const seen = new Set<string>();
  for (const p of paths) {
    for (const f of walkFiles(p, (name) => STRUCTURE_FILE.test(name), folders)) {
      if (f.error) {
        skipped.push({ file: f.path, reason: f.error });
        continue;
      }
      const real = realPath(f.path);
      if (seen.has(real)) continue;
      seen.add(real);
      files.push(f.path);
    }
  }
  return { files, skipped };
}

/** The real path of a file (itself when it is not there: reading it says why). */
function realPath(p: string): string {
  try {
    return realpathSync(p);
  } catch {
    return p;
  }
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
  const maxLength = numberFlag(args, "max-length", 5, (v) => v > 0, "a positive number of Å");
  const { files, skipped } = expand(args.positionals);
  if (files.length === 0) throw new UsageError(`no structure files in ${args.positionals.join(", ")}`);
  const predictor = await EmPredictor.load(resolveModel(args.flags.get("model") as string | undefined), { log: (l) => out.stderr(l + "\n") });
  const failures: { file: string; reason: string }[] = [...skipped];
  const ranked: Ranked[] = [];
  const bar = progressBar("screen", out.stderr);
  // Materials are named by file name, unless two files share it (a/POSCAR, b/POSCAR): then by their path.
  const label = uniqueNames(files);
  try {
    let done = 0;
    for (const file of files) {
      try {
        const structures = await readStructureFileEntries(file);
        for (const s of structures) {
          const name = structures.length > 1 ? `${label(file)}[${entryBlock(s) ?? ""}]` : label(file);
          if (s instanceof ParseError) {
            failures.push({ file: name, reason: s.message }); // a bad block of a multi-structure file; the rest go on
            continue;
          }
          try {
            const analysis = enumerateHops(s, ion as ElementSymbol, { maxLength });
            if (analysis.hops.length === 0) throw new Error(noHopsReason(analysis));
            // Each hop on its own: one that cannot be built or predicted is reported (and named in the material's
            // warnings), the others still rank the material. Every prediction is awaited, so none is left running.
            const built = analysis.hops.map((h, k) => {
              try {
                return { h, k, input: hopPathway(s, h).toPathStructure() };
              } catch (e) {
                return { h, k, error: (e as Error).message };
              }
            });
            const ok = built.filter((b) => b.input !== undefined);
            const results = await predictor.predictMany(ok.map((b) => b.input!));
            const order: { h: (typeof analysis.hops)[number]; r: EmResult }[] = [];
            const lost: string[] = [];
            for (const b of built) {
              const r = b.input === undefined ? null : results[ok.indexOf(b)]!;
              const why = r === null ? b.error! : r instanceof Error ? r.message : null;
              if (why === null) order.push({ h: b.h, r: r as EmResult });
              else {
                lost.push(`hop ${b.k} (${b.h.length.toFixed(3)} Å) not predicted: ${why}`);
                failures.push({ file: `${name}#${b.k}`, reason: `hop ${b.k} (${b.h.length.toFixed(3)} Å): ${why}` });
              }
            }
            if (order.length === 0) throw new Error(`none of its ${analysis.hops.length} ${ion} hop(s) could be predicted`);
            // Lowest barrier that percolates: add hops in order of predicted Em until the network spans the crystal.
            order.sort((a, b) => a.r.emPredicted - b.r.emPredicted);
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
              warnings: [...new Set(order.flatMap((o) => o.r.warnings)), ...lost],
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
    if (failures.length > 0) out.stdout(`\n${failures.length} input(s) failed:\n${failures.map((f) => `  ${errorLine(f.file, f.reason)}`).join("\n")}\n`);
  }
  return failures.length > 0 ? 1 : 0;
}
