import { resolve } from "node:path";
import { existsSync } from "node:fs";
import { importPath, openDatabase, predictPathways, registerModel, ValidationError } from "@ionrank/db";
import { EmPredictor } from "@ionrank/inference";
import { parseArgs } from "../args.js";
import { databaseTarget } from "../env.js";
import { UsageError, type Output } from "../io.js";
import { resolveModel } from "../model-path.js";

/** How many already stored items the text output names one by one. */
const SHOWN_DUPLICATES = 10;

export const importHelp = `ionrank import PATH... [--ion EL] [--predict] [--model CARD] [--batch N] [--resume JOB] [--data-dir DIR] [--json]

Import structures into the IonRank database: files (CIF, POSCAR, extXYZ, JSON, NDJSON, .gz), directories
(recursively, in name order), tar archives (.tar, .tar.gz) and the Em dataset's JSON files (which bring their
DFT barriers with them). Each structure is validated; good ones are written in transactions of --batch items
(default 250), bad ones are listed with their file, index and reason while the rest continue. Re-importing
the same content creates nothing new. If the process is killed, --resume JOB (the job id printed at the start)
skips what was committed and finishes the job; it refuses a job whose import is still running (e.g. in
another terminal), and of two resumers of one job only one proceeds. --ion enumerates that ion's hops;
--predict predicts them with the model (default the bundled one). The database is IONRANK_DATA_DIR/ionrank.db (default ./data), or
DATABASE_URL when set. Exit status 1 when any item failed.`;

export async function importCommand(argv: readonly string[], out: Output): Promise<number> {
  const args = parseArgs(argv, { values: ["ion", "model", "batch", "resume", "data-dir"], booleans: ["predict", "json", "quiet"] });
  if (args.positionals.length === 0) throw new UsageError("import needs at least one PATH");
  if (args.flags.has("resume") && args.positionals.length !== 1) throw new UsageError("--resume continues one PATH: give exactly the path of that job");
  for (const p of args.positionals) if (!existsSync(p)) throw new UsageError(`${p}: no such file or directory`);
  const batch = Number(args.flags.get("batch") ?? 250);
  if (!Number.isInteger(batch) || batch < 1 || batch > 100_000) throw new UsageError("--batch must be an integer 1 … 100000");
  const ion = (args.flags.get("ion") as string | undefined) ?? null;
  const db = await openDatabase(databaseTarget(args.flags.get("data-dir") as string | undefined));
  let predictor: EmPredictor | null = null;
  try {
    if (args.flags.has("predict")) {
      predictor = await EmPredictor.load(resolveModel(args.flags.get("model") as string | undefined), { log: (l) => out.stderr(`${l}\n`) });
      await registerModel(db, predictor.card, { active: (await db.prisma.model.count({ where: { active: true } })) === 0 });
    }
    let failed = 0;
    const results = [];
    for (const p of args.positionals) {
      const quiet = args.flags.has("quiet") || args.flags.has("json");
      const r = await importPath(db, p, {
        ion,
        batchSize: batch,
        resumeJob: (args.flags.get("resume") as string | undefined) ?? null,
        source: resolve(p),
        onStart: (id) => out.stderr(`job ${id}: importing ${p}\n`),
        onProgress: (c) => quiet || out.stderr(`\rimport ${p}: ${c.processed} read, ${c.imported} stored (${c.duplicates} already there), ${c.failed} failed   `),
        ...(predictor ? { onPathways: (ids: string[]) => predictPathways(db, (xs) => predictor!.predictMany(xs), predictor!.modelVersion, { pathwayIds: ids }) } : {}),
      });
      if (!quiet) out.stderr("\n");
      failed += r.failed;
      results.push({ path: p, ...r });
      if (!args.flags.has("json")) {
        out.stdout(`job ${r.id}: ${r.status}, ${r.imported} structures (${r.duplicates} already stored), ${r.pathways} new pathways, ${r.failed} failed\n`);
        for (const e of r.errors) out.stdout(`  failed: ${e.name} (item ${e.index}): ${e.reason}\n`);
        for (const n of r.notices) if (n.kind !== "DUPLICATE") out.stdout(`  notice: ${n.name} (item ${n.index}): ${n.message}\n`);
        // Which items were already stored: the first few by name, so a re-imported folder stays readable.
        const dupes = r.notices.filter((n) => n.kind === "DUPLICATE");
        for (const n of dupes.slice(0, SHOWN_DUPLICATES)) out.stdout(`  duplicate: ${n.name} (item ${n.index}): ${n.message}\n`);
        if (r.duplicates > SHOWN_DUPLICATES) out.stdout(`  … and ${r.duplicates - SHOWN_DUPLICATES} more already stored (query importJob(id: "${r.id}") { notices(kind: DUPLICATE) } for all)\n`);
        if (r.failed > r.errors.length) out.stdout(`  … and ${r.failed - r.errors.length} more (query importJob(id: "${r.id}") for all)\n`);
      }
    }
    if (args.flags.has("json")) out.stdout(JSON.stringify(results) + "\n");
    return failed > 0 ? 1 : 0;
  } catch (e) {
    if (e instanceof ValidationError) throw new UsageError(e.message);
    throw e;
  } finally {
    await predictor?.close();
    await db.close();
  }
}
