// The only place the CLI reads environment variables.
import { resolve } from "node:path";

/** Where the commands that write to the database find it: DATABASE_URL, else IONRANK_DATA_DIR (or --data-dir) /ionrank.db. */
export function databaseTarget(dataDirFlag: string | undefined, env: NodeJS.ProcessEnv = process.env): { url: string } | { dataDir: string } {
  if (env.DATABASE_URL) return { url: env.DATABASE_URL };
  return { dataDir: resolve(dataDirFlag ?? (env.IONRANK_DATA_DIR || "data")) };
}
