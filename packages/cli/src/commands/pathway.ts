import { Pathway, PathwayError, readStructureFile, type Structure } from "@ionrank/crystal";
import { noPositionals, numberFlag, parseArgs } from "../args.js";
import { UsageError, type Output } from "../io.js";

export const pathwayHelp = `ionrank pathway --initial A --final B [--images 5] [--tolerance 1.0] [--as-given] [--json]

Build a migration pathway from two NEB endpoint structures (any format inspect reads). Atoms listed in the
same order are paired by position in the file when exactly one moved into a place no atom held (the NEB
convention); otherwise they are matched by element and minimum-image distance and the one ion that moved is
found. Prints
{ion, index (of the moved atom in A, 0-based), length (Å), images: [[x, y, z] × N] (fractional)}.
--tolerance: how far (Å) a host atom may relax between endpoints and still count as unmoved.
--as-given: move the ion by final − initial as written, instead of by the minimum-image displacement.`;

async function one(file: string, role: string): Promise<Structure> {
  const structures = await readStructureFile(file);
  if (structures.length !== 1) throw new UsageError(`--${role} ${file} holds ${structures.length} structures; give a file with exactly one`);
  return structures[0]!;
}

export async function pathway(argv: readonly string[], out: Output): Promise<number> {
  const args = parseArgs(argv, { values: ["initial", "final", "images", "tolerance"], booleans: ["json", "as-given"] });
  const a = args.flags.get("initial");
  const b = args.flags.get("final");
  if (typeof a !== "string" || typeof b !== "string") throw new UsageError("pathway needs --initial A and --final B");
  noPositionals(args, "pathway");
  const images = numberFlag(args, "images", 5, (v) => Number.isInteger(v) && v >= 2, "an integer ≥ 2");
  const tolerance = numberFlag(args, "tolerance", 1.0, (v) => v > 0, "a positive number of Å");
  const [initial, final] = [await one(a, "initial"), await one(b, "final")];
  try {
    const { pathway: p, index } = Pathway.fromEndpoints(initial, final, {
      images,
      tolerance,
      displacement: args.flags.has("as-given") ? "as-given" : "minimum-image",
    });
    const result = { ion: p.ion, index, length: Number(p.length.toFixed(6)), images: p.images.map((f) => f.map((x) => Number(x.toFixed(10)))) };
    out.stdout(args.flags.has("json") ? JSON.stringify(result) + "\n" : `${p.ion} (site ${index} of ${a}) hops ${result.length.toFixed(3)} Å in ${images} images\n`);
    return 0;
  } catch (e) {
    if (e instanceof PathwayError) {
      out.stderr(`error: ${a} → ${b}: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
}
