import { CrystalError, enumerateHops, isElement, noHopsReason, readStructureFile } from "@ionrank/crystal";
import { numberFlag, parseArgs } from "../args.js";
import { UsageError, type Output } from "../io.js";

export const hopsHelp = `ionrank hops FILE --ion EL [--max-length 5] [--symprec 0.01] [--json]

List the candidate hops of the working ion EL between its sites in the structure, one per
symmetry-distinct hop (space group found with moyo), shortest first. --json prints an array of
{from, to (fractional), length (Å), multiplicity, minClearance (Å), dimensionality} where dimensionality
is the percolation dimension (0–3) of the ion's network using every hop up to that one's length.`;

export async function hops(argv: readonly string[], out: Output): Promise<number> {
  const args = parseArgs(argv, { values: ["ion", "max-length", "symprec"], booleans: ["json"] });
  if (args.positionals.length !== 1) throw new UsageError("hops needs exactly one FILE");
  const ion = args.flags.get("ion");
  if (typeof ion !== "string" || !isElement(ion)) throw new UsageError(`--ion must be an element symbol such as Li, got ${String(ion ?? "nothing")}`);
  const maxLength = numberFlag(args, "max-length", 5, (v) => v > 0, "a positive number of Å");
  const symprec = numberFlag(args, "symprec", 0.01, (v) => v > 0, "a positive number of Å");
  const file = args.positionals[0]!;
  const structures = await readStructureFile(file);
  if (structures.length !== 1) throw new UsageError(`${file} holds ${structures.length} structures; hops reads one`);
  let r;
  try {
    r = enumerateHops(structures[0]!, ion, { maxLength, symprec });
  } catch (e) {
    if (!(e instanceof CrystalError)) throw e;
    out.stderr(`error: ${file}: ${e.message}\n`);
    return 1;
  }
  const round = (x: number, d = 6) => Number(x.toFixed(d));
  const rows = r.hops.map((h) => ({
    from: h.from.map((x) => round(x, 8)),
    to: h.to.map((x) => round(x, 8)),
    length: round(h.length),
    multiplicity: h.multiplicity,
    minClearance: h.minClearance === null ? null : round(h.minClearance),
    dimensionality: h.dimensionality,
  }));
  if (args.flags.has("json")) out.stdout(JSON.stringify(rows) + "\n");
  else {
    out.stdout(`${file}: ${ion} hops up to ${maxLength} Å in space group ${r.spaceGroup.symbol} (${r.spaceGroup.number})\n`);
    for (const h of rows) {
      out.stdout(`  ${h.length.toFixed(3)} Å  ×${h.multiplicity}  clearance ${h.minClearance?.toFixed(3) ?? "> 4"} Å  percolates in ${h.dimensionality}-D\n`);
    }
    if (rows.length === 0) out.stdout(`  none: ${noHopsReason(r)}\n`);
  }
  return 0;
}
