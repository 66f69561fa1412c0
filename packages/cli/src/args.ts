import { UsageError } from "./io.js";

export interface ParsedArgs {
  positionals: string[];
  /** Last value of each flag (true for booleans). */
  flags: Map<string, string | true>;
  /** Every value of the flags named in `repeatable`, in order. */
  lists: Map<string, string[]>;
}

/**
 * Parse `--flag`, `--flag value` and `--flag=value`. `spec` names the flags that take a value;
 * any other flag is boolean. Unknown flags are usage errors, so typos never pass silently.
 */
export function parseArgs(
  argv: readonly string[],
  spec: { values: readonly string[]; booleans: readonly string[]; repeatable?: readonly string[] },
): ParsedArgs {
  const positionals: string[] = [];
  const flags = new Map<string, string | true>();
  const lists = new Map<string, string[]>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--") {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith("--")) {
      // "-x" is a mistyped option, not a file name ("-" alone is left to the command; "./-x" names such a file).
      if (/^-[^-]/.test(arg)) throw new UsageError(`unknown option ${arg}`);
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf("=");
    const name = arg.slice(2, eq >= 0 ? eq : undefined);
    if (spec.values.includes(name)) {
      const value = eq >= 0 ? arg.slice(eq + 1) : argv[++i];
      if (value === undefined) throw new UsageError(`--${name} needs a value`);
      // "--out --format json" must not write a file named "--format": a value that looks like an option is
      // a forgotten value (one that really starts with "--" can be given as --name=VALUE).
      if (eq < 0 && value.startsWith("--")) throw new UsageError(`--${name} needs a value (got the option ${value}; write --${name}=${value} if that is the value)`);
      if (flags.has(name) && !spec.repeatable?.includes(name)) throw new UsageError(`--${name} given twice`);
      flags.set(name, value);
      lists.set(name, [...(lists.get(name) ?? []), value]);
    } else if (spec.booleans.includes(name)) {
      if (eq >= 0) throw new UsageError(`--${name} takes no value`);
      flags.set(name, true);
    } else {
      throw new UsageError(`unknown option --${name}`);
    }
  }
  return { positionals, flags, lists };
}

/**
 * A numeric flag: a plain decimal number (no "0x1", "Infinity" or blanks, which Number() would accept),
 * or `dflt` when absent; `ok` says what the command accepts, `what` describes it in the error.
 */
export function numberFlag(args: ParsedArgs, name: string, dflt: number, ok: (v: number) => boolean, what: string): number {
  const raw = args.flags.get(name);
  if (raw === undefined) return dflt;
  const v = typeof raw === "string" && /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(raw) ? Number(raw) : NaN;
  if (!Number.isFinite(v) || !ok(v)) throw new UsageError(`--${name} must be ${what} (got "${String(raw)}")`);
  return v;
}

/** Refuse arguments a command does not take, so that they are never silently ignored. */
export function noPositionals(args: ParsedArgs, command: string, hint = ""): void {
  if (args.positionals.length > 0) throw new UsageError(`${command} takes no FILE arguments (got "${args.positionals[0]}")${hint ? `: ${hint}` : ""}`);
}
