import { Composition, ParseError, readStructureFileEntries, type Structure } from "@ionrank/crystal";
import { parseArgs } from "../args.js";
import { UsageError, type Output } from "../io.js";

export const inspectHelp = `ionrank inspect FILE... [--json] [--species El,El,...]

Read structure files (CIF, POSCAR/CONTCAR, extended XYZ, pymatgen/OPTIMADE/JARVIS JSON, .gz) and print
one line per structure. --json prints one JSON object per structure:
{file, block, formula, reducedFormula, natoms, lattice: {a, b, c, alpha, beta, gamma, volume},
 elements, frac, occupancy?}. Errors go to stderr, one line each; the exit code is 1 if any input failed.
--species gives the species of VASP 4 POSCARs that lack a species line.`;

/** The JSON record `inspect --json` prints for one structure. */
export function describeStructure(s: Structure, file: string): Record<string, unknown> {
  const comp = Composition.of(s);
  const p = s.lattice.parameters;
  const round = (x: number, d = 6) => Number(x.toFixed(d));
  const occupancy = s.sites.map((site) => site.occupancy ?? 1);
  return {
    file,
    block: s.source?.block ?? null,
    formula: comp.formula,
    reducedFormula: comp.reducedFormula,
    natoms: s.length,
    lattice: {
      a: round(p.a),
      b: round(p.b),
      c: round(p.c),
      alpha: round(p.alpha),
      beta: round(p.beta),
      gamma: round(p.gamma),
      volume: round(s.lattice.volume),
    },
    elements: s.elements,
    frac: s.fracCoords.map((f) => f.map((x) => round(x, 8))),
    ...(s.isOrdered ? {} : { occupancy }),
  };
}

export async function inspect(argv: readonly string[], out: Output): Promise<number> {
  const args = parseArgs(argv, { values: ["species"], booleans: ["json"] });
  if (args.positionals.length === 0) throw new UsageError("inspect needs at least one FILE");
  const species = args.flags.get("species");
  const json = args.flags.has("json");
  let failed = 0;
  for (const file of args.positionals) {
    try {
      const structures = await readStructureFileEntries(file, typeof species === "string" ? { species: species.split(",") } : {});
      for (const s of structures) {
        if (s instanceof ParseError) {
          failed++; // one bad block of a multi-structure file: reported, the other blocks still printed
          out.stderr(`error: ${s.message.replace(/\n/g, " ")}\n`);
          continue;
        }
        const d = describeStructure(s, file);
        if (json) out.stdout(JSON.stringify(d) + "\n");
        else {
          const l = d.lattice as Record<string, number>;
          out.stdout(
            `${file}${d.block ? ` [${String(d.block)}]` : ""}: ${String(d.formula)} (${String(d.reducedFormula)}), ${s.length} sites, ` +
              `a=${l.a!.toFixed(4)} b=${l.b!.toFixed(4)} c=${l.c!.toFixed(4)} Å, ` +
              `α=${l.alpha!.toFixed(2)} β=${l.beta!.toFixed(2)} γ=${l.gamma!.toFixed(2)}°, V=${l.volume!.toFixed(3)} Å³` +
              (s.isOrdered ? "" : `, ${s.partiallyOccupiedSites.length} partially occupied sites`) +
              "\n",
          );
        }
      }
    } catch (e) {
      if (!(e instanceof ParseError)) throw e;
      failed++;
      out.stderr(`error: ${e.message.replace(/\n/g, " ")}\n`);
    }
  }
  return failed > 0 ? 1 : 0;
}
