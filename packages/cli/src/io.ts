import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";

/** Where a command writes: injected so tests can run commands in-process as well as through the real binary. */
export interface Output {
  stdout(text: string): void;
  stderr(text: string): void;
}

/** A command-line usage problem (unknown flag, missing argument). Exit code 2. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** A file the command was asked to write could not be written (exit code 1). */
export class OutputError extends Error {
  override name = "OutputError";
}

/** Write a command's --out file, creating its folder; a failure names the file and the reason. */
export function writeOutput(file: string, text: string): void {
  try {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, text);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new OutputError(`cannot write ${file}: ${err.code === "EACCES" ? "permission denied" : err.code === "EISDIR" ? "it is a folder" : err.message}`);
  }
}
