import { deleteMaterials, openDatabase } from "@ionrank/db";
import { parseArgs } from "../args.js";
import { databaseTarget } from "../env.js";
import { UsageError, type Output } from "../io.js";

export const deleteHelp = `ionrank delete MATERIAL_ID... [--json] [--data-dir DIR]

Delete materials (ids as the API and the dashboard show them) with everything stored for them: their pathways
and DFT labels, every model's predictions and their ranking rows. All of them or, when an id is unknown or an
import or predict job is running, none (exit 1, saying which). The database is IONRANK_DATA_DIR/ionrank.db
(default ./data), or DATABASE_URL when set.`;

export async function deleteCommand(argv: readonly string[], out: Output): Promise<number> {
  const args = parseArgs(argv, { values: ["data-dir"], booleans: ["json"] });
  if (args.positionals.length === 0) throw new UsageError("give the ids of the materials to delete");
  const db = await openDatabase(databaseTarget(args.flags.get("data-dir") as string | undefined));
  try {
    const r = await deleteMaterials(db, args.positionals);
    if (args.flags.has("json")) out.stdout(JSON.stringify(r) + "\n");
    else out.stdout(`deleted ${r.materials} material(s) with ${r.pathways} pathway(s), ${r.predictions} prediction(s) and ${r.rankings} ranking row(s)\n`);
  } finally {
    await db.close();
  }
  return 0;
}
