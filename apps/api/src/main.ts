#!/usr/bin/env node
import { readEnv } from "./env.js";
import { startApi } from "./server.js";

const env = readEnv();
const { url, stop } = await startApi(env);
console.log(`IonRank GraphQL API at ${url} (data in ${env.databaseUrl ? "DATABASE_URL" : env.dataDir})`);
for (const sig of ["SIGINT", "SIGTERM"] as const) process.once(sig, () => void stop().then(() => process.exit(0)));
