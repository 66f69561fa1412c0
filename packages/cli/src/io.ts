/** Where a command writes: injected so tests can run commands in-process as well as through the real binary. */
export interface Output {
  stdout(text: string): void;
  stderr(text: string): void;
}

/** A command-line usage problem (unknown flag, missing argument). Exit code 2. */
export class UsageError extends Error {
  override name = "UsageError";
}
