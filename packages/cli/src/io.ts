import { existsSync, mkdirSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";

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

/**
 * Refuse an --out path that can never be written before any work is done, so a long run does not end by
 * losing its results: no name, a name ending in "/", a folder, or a path through a file.
 */
export function checkOutput(file: string): void {
  if (file === "") throw new OutputError("--out needs a file name");
  if (/[/\\]$/.test(file)) throw new OutputError(`cannot write ${file}: it names a folder; give a file name`);
  for (let p = file; ; p = dirname(p)) {
    const st = statOrNull(p);
    if (st && p === file && st.isDirectory()) throw new OutputError(`cannot write ${file}: it is a folder`);
    if (st && p !== file && !st.isDirectory()) throw new OutputError(`cannot write ${file}: a part of its path is a file, not a folder`);
    if (st || dirname(p) === p) return;
  }
}

function statOrNull(p: string) {
  try {
    return statSync(p);
  } catch {
    return null;
  }
}

/** Write a command's --out file, creating its folder; a failure names the file and the reason. */
export function writeOutput(file: string, text: string): void {
  checkOutput(file);
  // Written beside the target and renamed into place: a full disk or a kill never leaves a partial file.
  const temp = join(dirname(file), `.${basename(file)}.${process.pid}.partial`);
  try {
    mkdirSync(dirname(file), { recursive: true });
    const existing = existsSync(file) ? statSync(file) : null;
    if (existing?.isDirectory()) throw Object.assign(new Error("it is a folder"), { code: "EISDIR" });
    if (existing && !existing.isFile()) {
      writeFileSync(file, text); // a device or a pipe (/dev/stdout): written to, never replaced
      return;
    }
    writeFileSync(temp, text);
    renameSync(temp, file);
  } catch (e) {
    try {
      rmSync(temp, { force: true });
    } catch {
      // the folder is not there (or not a folder): nothing was written
    }
    const err = e as NodeJS.ErrnoException;
    const why =
      err.code === "EACCES" ? "permission denied"
      : err.code === "EISDIR" ? "it is a folder"
      : err.code === "EEXIST" || err.code === "ENOTDIR" ? "a part of its path is a file, not a folder"
      : err.code === "ENOSPC" ? "no space left on the device"
      : err.message;
    throw new OutputError(`cannot write ${file}: ${why}`);
  }
}
