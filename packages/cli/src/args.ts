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
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf("=");
    const name = arg.slice(2, eq >= 0 ? eq : undefined);
    if (spec.values.includes(name)) {
      const value = eq >= 0 ? arg.slice(eq + 1) : argv[++i];
      if (value === undefined) throw new UsageError(`--${name} needs a value`);
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
