import { basename } from "node:path";
import {
  Composition,
  CrystalError,
  entryBlock,
  enumerateHops,
  hopPathway,
  isElement,
  noHopsReason,
  parseJsonText,
  Pathway,
  readJsonStructures,
  ParseError,
  readStructureFile,
  readStructureFileEntries,
  readTextFile,
  type ElementSymbol,
} from "@ionrank/crystal";
import { isBarrier, MAX_BARRIER_EV } from "@ionrank/db";
import type { PathInput } from "@ionrank/inference";

/** One pathway to predict, or the reason an input could not become one. */
export type PathItem =
  | { id: string; formula: string; ion: string; input: PathInput; target?: number; labelError?: string; hopLength: number }
  | { id: string; error: string };

/** A dataset entry's DFT barrier (eV), or why it has no usable one. */
function label(e: Record<string, unknown>): { target?: number; labelError?: string } {
  if (!("target" in e) || e.target === null) return { labelError: "has no target (DFT barrier)" };
  const t = e.target;
  if (!isBarrier(t)) return { labelError: `target ${typeof t === "number" ? String(t) : (JSON.stringify(t) ?? String(t))} is not a barrier in eV (0 … ${MAX_BARRIER_EV})` };
  return { target: t };
}

function item(id: string, p: Pathway, lab: { target?: number; labelError?: string } = {}): PathItem {
  // The material in the hop's initial state: the host plus the one moving ion.
  const initial = new Composition([...Composition.of(p.host).amounts, [p.ion, 1]]);
  return { id, formula: initial.reducedFormula, ion: p.ion, input: p.toPathStructure(), hopLength: p.length, ...lab };
}

function readJsonFile(file: string): unknown {
  return parseJsonText(readTextFile(file).text, file);
}

/** An entry's own name: sys_name, else jid, else id — only a non-empty string or a number ("[object Object]" names nothing). */
function entryId(e: Record<string, unknown>): string | undefined {
  for (const v of [e.sys_name, e.jid, e.id]) {
    if ((typeof v === "string" && v.trim() !== "") || (typeof v === "number" && Number.isFinite(v))) return String(v);
  }
  return undefined;
}

/** Dataset JSON: a list of entries in the 5-image form ({atoms}) or endpoint pairs ({atoms_ini, atoms_fin}). */
function datasetItems(file: string, doc: unknown[]): PathItem[] {
  return doc.map((raw, i) => {
    if (typeof raw !== "object" || raw === null || Array.isArray(raw)) return { id: `${basename(file)}#${i}`, error: `entry ${i} is not an object (got ${JSON.stringify(raw)?.slice(0, 40) ?? String(raw)})` };
    const e = raw as Record<string, unknown>;
    const id = entryId(e) ?? `${basename(file)}#${i}`;
    const lab = label(e);
    try {
      if (e.atoms === undefined && (e.atoms_ini === undefined || e.atoms_fin === undefined)) throw new Error(`entry ${i} has neither "atoms" (5-image path) nor "atoms_ini" and "atoms_fin" (endpoints)`);
      let p: Pathway;
      if (e.atoms_ini !== undefined && e.atoms_fin !== undefined) {
        const [a] = readJsonStructures(e.atoms_ini as never, { file });
        const [b] = readJsonStructures(e.atoms_fin as never, { file });
        p = Pathway.fromEndpoints(a!, b!).pathway;
      } else {
        const [s] = readJsonStructures(e.atoms as never, { file });
        p = Pathway.fromImageStructure(s!);
      }
      return item(id, p, lab);
    } catch (err) {
      return { id: `${basename(file)}: ${id}`, error: (err as Error).message };
    }
  });
}

/** How to name each file in output: its base name when no other file has the same one, else the path as given. */
export function uniqueNames(files: readonly string[]): (file: string) => string {
  const count = new Map<string, number>();
  for (const f of new Set(files)) count.set(basename(f), (count.get(basename(f)) ?? 0) + 1);
  return (f) => (count.get(basename(f))! > 1 ? f : basename(f));
}

/**
 * Everything `predict`, `evaluate` and `screen` accept: dataset JSON files, structure files with `ion`
 * (every enumerated hop), 5-image path structures without it, or one endpoint pair.
 */
export async function loadPathItems(files: readonly string[], opts: { ion?: string; initial?: string; final?: string; maxLength?: number }): Promise<PathItem[]> {
  const out: PathItem[] = [];
  if (opts.initial || opts.final) {
    try {
      const endpoint = async (file: string, role: string) => {
        const s = await readStructureFile(file);
        // Taking the first of several would predict a hop the user may not have meant, without saying so.
        if (s.length !== 1) throw new CrystalError(`--${role} ${file} holds ${s.length} structures; give a file with exactly one`);
        return s[0]!;
      };
      const p = Pathway.fromEndpoints(await endpoint(opts.initial!, "initial"), await endpoint(opts.final!, "final")).pathway;
      if (opts.ion && p.ion !== opts.ion) throw new CrystalError(`the atom that moves between the endpoints is ${p.ion}, not --ion ${opts.ion}`);
      out.push(item(`${basename(opts.initial!)}→${basename(opts.final!)}`, p));
    } catch (e) {
      out.push({ id: `${opts.initial} → ${opts.final}`, error: (e as Error).message });
    }
  }
  // Files are named by their base name, unless two share it (a/POSCAR, b/POSCAR): then by the path as given.
  const label = uniqueNames(files);
  for (const file of files) {
    try {
      if (/\.json(\.gz)?$/i.test(file)) {
        const doc = readJsonFile(file);
        // A dataset if any entry looks like one: a broken first entry must not turn the rest into one structure.
        const isEntry = (x: unknown) => typeof x === "object" && x !== null && ("atoms" in x || "atoms_ini" in x || "atoms_fin" in x);
        if (Array.isArray(doc) && doc.some(isEntry)) {
          out.push(...datasetItems(file, doc));
          continue;
        }
      }
      // Block by block: one bad block of a multi-structure CIF is that block's error, not the file's.
      const structures = await readStructureFileEntries(file);
      structures.forEach((s, k) => {
        const name = structures.length > 1 ? `${label(file)}[${entryBlock(s) ?? k}]` : label(file);
        if (s instanceof ParseError) {
          out.push({ id: name, error: s.message });
          return;
        }
        try {
          if (opts.ion) {
            if (!isElement(opts.ion)) throw new CrystalError(`--ion ${opts.ion} is not an element`);
            const hops = enumerateHops(s, opts.ion as ElementSymbol, { maxLength: opts.maxLength ?? 5 });
            // One hop that cannot be built is that hop's error: the structure's other hops are still predicted.
            hops.hops.forEach((h, i) => {
              try {
                out.push(item(`${name}#${i}`, hopPathway(s, h)));
              } catch (e) {
                out.push({ id: `${name}#${i}`, error: `hop ${i} (${h.length.toFixed(3)} Å): ${(e as Error).message}` });
              }
            });
            if (hops.hops.length === 0) out.push({ id: name, error: noHopsReason(hops) });
          } else {
            out.push(item(name, Pathway.fromImageStructure(s)));
          }
        } catch (e) {
          const msg = (e as Error).message;
          out.push({ id: name, error: opts.ion ? msg : `${msg} (give --ion EL to predict every hop of a host structure)` });
        }
      });
    } catch (e) {
      out.push({ id: file, error: (e as Error).message });
    }
  }
  return out;
}
