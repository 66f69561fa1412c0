#!/usr/bin/env node
import { readEnv } from "./env.js";
import { startApi } from "./server.js";

const env = readEnv();
let started: Awaited<ReturnType<typeof startApi>>;
try {
  started = await startApi(env);
} catch (e) {
  // An unreachable database, a wrong password, a failed migration or a broken model: one line and exit 1.
  console.error(`error: the API could not start: ${(e as Error).message}`);
  process.exit(1);
}
const { url, stop } = started;
console.log(`IonRank GraphQL API at ${url} (data in ${env.databaseUrl ? "DATABASE_URL" : env.dataDir})`);
for (const sig of ["SIGINT", "SIGTERM"] as const) process.once(sig, () => void stop().then(() => process.exit(0)));
