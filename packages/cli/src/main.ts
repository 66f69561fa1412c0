import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CrystalError } from "@ionrank/crystal";
import { FeaturizerMismatchError } from "@ionrank/featurize";
import { DbError } from "@ionrank/db";
import { InferenceError } from "@ionrank/inference";
import { apikey, apikeyHelp } from "./commands/apikey.js";
import { deleteCommand, deleteHelp } from "./commands/delete.js";
import { importCommand, importHelp } from "./commands/import.js";
import { evaluate, evaluateHelp } from "./commands/evaluate.js";
import { featurize, featurizeHelp } from "./commands/featurize.js";
import { predict, predictHelp } from "./commands/predict.js";
import { screen, screenHelp } from "./commands/screen.js";
import { hops, hopsHelp } from "./commands/hops.js";
import { inspect, inspectHelp } from "./commands/inspect.js";
import { pathway, pathwayHelp } from "./commands/pathway.js";
import { train, trainHelp } from "./commands/train.js";
import { OutputError, UsageError, type Output } from "./io.js";

const COMMANDS: Record<string, { run: (argv: readonly string[], out: Output) => Promise<number>; help: string }> = {
  inspect: { run: inspect, help: inspectHelp },
  hops: { run: hops, help: hopsHelp },
  pathway: { run: pathway, help: pathwayHelp },
  featurize: { run: featurize, help: featurizeHelp },
  train: { run: train, help: trainHelp },
  predict: { run: predict, help: predictHelp },
  evaluate: { run: evaluate, help: evaluateHelp },
  screen: { run: screen, help: screenHelp },
  import: { run: importCommand, help: importHelp },
  delete: { run: deleteCommand, help: deleteHelp },
  apikey: { run: apikey, help: apikeyHelp },
};

const USAGE = `Usage: ionrank <command> [options]

Commands:
${Object.values(COMMANDS)
  .map((c) => "  " + c.help.split("\n")[0])
  .join("\n")}

Run "ionrank <command> --help" for details.`;

/** Run the CLI; returns the exit code. Exit 2 = usage error, 1 = some input failed. */
export async function main(argv: readonly string[], out: Output): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    out.stdout(USAGE + "\n");
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    out.stderr(`error: unknown command "${name}"\n${USAGE}\n`);
    return 2;
  }
  if (rest.includes("--help") || rest.includes("-h")) {
    out.stdout(command.help + "\n");
    return 0;
  }
  try {
    return await command.run(rest, out);
  } catch (e) {
    if (e instanceof UsageError) {
      out.stderr(`error: ${e.message}\n\n${command.help}\n`);
      return 2;
    }
    // DbError: an unreachable database, a wrong password, a failed migration — one line, not a stack trace.
    if (e instanceof CrystalError || e instanceof FeaturizerMismatchError || e instanceof InferenceError || e instanceof OutputError || e instanceof DbError) {
      out.stderr(`error: ${e.message}\n`);
      return 1;
    }
    // A bug, or a failure nobody foresaw (e.g. a database whose tables were dropped): one line that says what
    // happened, and the stack trace in a file for whoever debugs it, as the training core does.
    out.stderr(`error: ${unexpected(e)}\n`);
    return 1;
  }
}

/** "unexpected Name: the message's telling line (full trace in FILE)". */
function unexpected(e: unknown): string {
  const err = e instanceof Error ? e : new Error(String(e));
  const lines = err.message.split("\n").map((l) => l.trim()).filter(Boolean);
  // Prisma's messages start with the invocation ("Invalid `prisma.x.findMany()` invocation:"); the cause is last.
  const line = (/^Invalid `prisma/.test(lines[0] ?? "") ? lines.at(-1) : lines[0]) ?? "(no message)";
  let where: string;
  try {
    const dir = mkdtempSync(join(tmpdir(), "ionrank-error-"));
    where = join(dir, "trace.log");
    writeFileSync(where, `${new Date().toISOString()} ionrank ${process.argv.slice(2).join(" ")}\n${err.stack ?? err.message}\n`);
  } catch {
    where = "(no file could be written)";
  }
  return `unexpected ${err.name}: ${line.slice(0, 300)} (full trace in ${where})`;
}
