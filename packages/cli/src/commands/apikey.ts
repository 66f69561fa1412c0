import { createApiKey, openDatabase } from "@ionrank/db";
import { parseArgs } from "../args.js";
import { databaseTarget } from "../env.js";
import { UsageError, type Output } from "../io.js";

export const apikeyHelp = `ionrank apikey create --role reader|editor|admin [--data-dir DIR]

Create an API key for the GraphQL API (mutations need editor or admin). Only its hash is stored; the key
is printed once, on the last line. The database is IONRANK_DATA_DIR/ionrank.db (default ./data), or
DATABASE_URL when set.`;

export async function apikey(argv: readonly string[], out: Output): Promise<number> {
  const args = parseArgs(argv, { values: ["role", "data-dir"], booleans: [] });
  if (args.positionals[0] !== "create" || args.positionals.length !== 1) throw new UsageError("usage: ionrank apikey create --role editor");
  const role = args.flags.get("role");
  if (role !== "reader" && role !== "editor" && role !== "admin") throw new UsageError("--role must be reader, editor or admin");
  const db = await openDatabase(databaseTarget(args.flags.get("data-dir") as string | undefined));
  try {
    const key = await createApiKey(db, role);
    out.stdout(`created a ${role} key; store it now, it is not shown again:\n${key}\n`);
  } finally {
    await db.close();
  }
  return 0;
}
