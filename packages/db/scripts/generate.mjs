// `prisma generate` into src/generated/prisma, skipped when the schema and Prisma version are unchanged
// since the last run (a stamp file records both). Skipping keeps build, typecheck and test, which turbo may
// run side by side, from rewriting the generated client under each other's feet.
import { createHash } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { runPrisma } from "./prisma.mjs";

const require = createRequire(import.meta.url);
const schema = fileURLToPath(new URL("../../../prisma/schema.prisma", import.meta.url));
const out = fileURLToPath(new URL("../src/generated/", import.meta.url));
const stampFile = `${out}.stamp`;

const version = JSON.parse(readFileSync(require.resolve("prisma/package.json"), "utf8")).version;
const stamp = createHash("sha256").update(`${version}\n`).update(readFileSync(schema)).digest("hex");

const upToDate =
  existsSync(`${out}prisma/client.ts`) && existsSync(stampFile) && readFileSync(stampFile, "utf8").trim() === stamp;
if (!upToDate || process.argv.includes("--force")) {
  const status = runPrisma(["generate"]);
  if (status !== 0) process.exit(status);
  writeFileSync(stampFile, `${stamp}\n`);
}
