import { ParseError, quoteValue } from "../errors.js";
import { isElement, parseTypeSymbol, type ElementSymbol } from "../elements.js";
import { Lattice, type Vec3 } from "../lattice.js";
import { Structure, type Site } from "../structure.js";
import { structureProblem } from "./problems.js";

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Obj = { [k: string]: Json };

interface Where {
  file: string | undefined;
  block: string | undefined;
}

/**
 * Parse JSON text, turning syntax errors into a ParseError with a line number. Python's `json.dump` writes
 * NaN, Infinity and -Infinity, which JSON has not: they are read as the strings "NaN", "Infinity" and
 * "-Infinity", so the check of that value names the entry and field (a missing label is that entry's problem,
 * not a reason to refuse every entry of the file).
 */
export function parseJsonText(text: string, file?: string): Json {
  let error: Error;
  let source = text;
  try {
    return JSON.parse(text) as Json;
  } catch (e) {
    error = e as Error;
  }
  const lenient = nonFiniteAsStrings(text);
  if (lenient !== null) {
    try {
      return JSON.parse(lenient) as Json;
    } catch (e) {
      // Not only that: report the first real error (quoting added no lines, so its line is the text's).
      error = e as Error;
      source = lenient;
    }
  }
  const msg = error.message;
  const pos = /position (\d+)/.exec(msg);
  const line = pos ? source.slice(0, Number(pos[1])).split("\n").length : undefined;
  throw new ParseError(`invalid JSON: ${msg}`, { file, ...(line !== undefined ? { line } : {}) });
}

/** `text` with Python's bare NaN / Infinity / -Infinity tokens (outside strings) quoted; null when it has none. */
function nonFiniteAsStrings(text: string): string | null {
  let out = "";
  let from = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === "\\") i++;
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') {
      inString = true;
      continue;
    }
    const m = /^-?(?:NaN|Infinity)/.exec(text.slice(i, i + 9));
    if (m) {
      // A bare word before ":" is an unquoted key ({NaN: 1}), not a number Python wrote: left invalid.
      let next = i + m[0].length;
      while (/\s/.test(text[next] ?? "")) next++;
      if (text[next] === ":") {
        i = next - 1;
        continue;
      }
      out += text.slice(from, i) + `"${m[0]}"`;
      i += m[0].length - 1;
      from = i + 1;
    }
  }
  return from === 0 ? null : out + text.slice(from);
}

/**
 * Read structures from any JSON form IonRank knows: pymatgen `Structure.as_dict()`, OPTIMADE structure
 * resources (single, list, or a full response with `data`), a JARVIS `atoms` dict, or a dataset list of
 * entries `{jid|id|sys_name, atoms, …}` such as IonRank's training data.
 */
export function readJsonStructures(input: string | Json, options: { file?: string } = {}): Structure[] {
  const file = options.file;
  const doc = typeof input === "string" ? parseJsonText(input, file) : input;
  const out: Structure[] = [];
  const visit = (node: Json, block: string | undefined, depth: number): void => {
    const where: Where = { file, block };
    // Structure documents nest a few levels; deeper is garbage, and recursing into it would overflow the stack.
    if (depth > MAX_DEPTH) throw new ParseError(`JSON nested more than ${MAX_DEPTH} lists deep: not a structure document`, { file });
    if (Array.isArray(node)) {
      if (node.length === 0) throw new ParseError("empty JSON list: no structures", { file });
      node.forEach((item, i) => visit(item, entryName(item) ?? (block !== undefined ? `${block}[${i}]` : `entry ${i}`), depth + 1));
      return;
    }
    if (!isObj(node)) throw new ParseError("expected a JSON object describing a structure", { file, block });
    if (Array.isArray(node.data) || isObj(node.data)) {
      visit(node.data, block, depth + 1); // OPTIMADE response envelope
      return;
    }
    const s = objectToStructure(node, where);
    const problem = structureProblem(s);
    if (problem) throw new ParseError(problem, where);
    out.push(s);
  };
  visit(doc, undefined, 0);
  return out;
}

const MAX_DEPTH = 32;

function entryName(item: Json): string | undefined {
  if (!isObj(item)) return undefined;
  for (const key of ["id", "sys_name", "jid", "name"]) {
    const v = item[key];
    if (typeof v === "string" || typeof v === "number") return String(v);
  }
  return undefined;
}

function objectToStructure(o: Obj, where: Where): Structure {
  try {
    if (isObj(o.atoms)) return fromJarvis(o.atoms, where);
    if (isObj(o.attributes)) return fromOptimade(o.attributes, where);
    if ("lattice_vectors" in o) return fromOptimade(o, where);
    if ("lattice_mat" in o) return fromJarvis(o, where);
    if (isObj(o.lattice) && Array.isArray(o.sites)) return fromPymatgen(o, where);
  } catch (e) {
    if (e instanceof ParseError) throw e;
    throw new ParseError((e as Error).message, where);
  }
  throw new ParseError(
    "JSON object is not a structure: expected pymatgen (lattice + sites), OPTIMADE (lattice_vectors), or JARVIS (lattice_mat / atoms)",
    where,
  );
}

function isObj(x: Json | undefined): x is Obj {
  return typeof x === "object" && x !== null && !Array.isArray(x);
}

function matrix(x: Json | undefined, what: string, where: Where): Vec3[] {
  if (!Array.isArray(x) || x.length !== 3) throw new ParseError(`${what} must be a 3×3 array`, where);
  return x.map((row, i) => vec3(row, `${what}[${i}]`, where));
}

function vec3(x: Json | undefined, what: string, where: Where): Vec3 {
  if (!Array.isArray(x) || x.length !== 3 || !x.every((v) => typeof v === "number" && Number.isFinite(v))) {
    throw new ParseError(`${what} must be three finite numbers`, where);
  }
  return x as Vec3;
}

function source(where: Where): { file?: string; block?: string } {
  return { ...(where.file !== undefined ? { file: where.file } : {}), ...(where.block !== undefined ? { block: where.block } : {}) };
}

/** JARVIS-Tools `Atoms.to_dict()`: lattice_mat (rows), coords, elements, cartesian. */
function fromJarvis(a: Obj, where: Where): Structure {
  const lattice = new Lattice(matrix(a.lattice_mat, "lattice_mat", where));
  const elements = a.elements;
  const coords = a.coords;
  if (!Array.isArray(elements) || !Array.isArray(coords)) throw new ParseError("atoms needs elements and coords arrays", where);
  if (elements.length !== coords.length) {
    throw new ParseError(`atoms has ${elements.length} elements but ${coords.length} coordinates`, where);
  }
  // JARVIS writes a boolean; "true"/"false" strings are read as such, anything else is refused, not guessed.
  const flag = a.cartesian;
  if (!(flag === undefined || flag === null || typeof flag === "boolean" || flag === "true" || flag === "false")) {
    throw new ParseError(`atoms.cartesian is ${JSON.stringify(flag).slice(0, 40)}, not true or false`, where);
  }
  const cartesian = flag === true || flag === "true";
  const sites: Site[] = elements.map((e, i) => {
    const el = typeof e === "string" && isElement(e) ? e : undefined;
    if (!el) throw new ParseError(`atom ${i}: ${quoteValue(String(e))} is not an element symbol`, where);
    const p = vec3(coords[i], `coords[${i}]`, where);
    return { element: el, frac: cartesian ? lattice.toFractional(p) : p };
  });
  return new Structure(lattice, sites, source(where));
}

/** An occupancy as written: a number or a numeric string; absent is 1; anything else is refused, never defaulted. */
function occupancy(x: Json | undefined, what: string, where: Where): number {
  if (x === undefined || x === null) return 1;
  const v = typeof x === "number" ? x : typeof x === "string" && x.trim() !== "" ? Number(x) : NaN;
  if (!Number.isFinite(v)) throw new ParseError(`${what} is ${JSON.stringify(x).slice(0, 40)}, not a number`, where);
  return v;
}

/** pymatgen `Structure.as_dict()`; a site with several species becomes one site per species. */
function fromPymatgen(o: Obj, where: Where): Structure {
  const lat = o.lattice as Obj;
  if (Array.isArray(lat.pbc) && lat.pbc.some((p) => p === false)) {
    throw new ParseError(`lattice.pbc is ${JSON.stringify(lat.pbc)}: not a 3D periodic crystal`, where);
  }
  const lattice = new Lattice(matrix(lat.matrix, "lattice.matrix", where));
  const sites: Site[] = [];
  (o.sites as Json[]).forEach((s, i) => {
    if (!isObj(s)) throw new ParseError(`sites[${i}] is not an object`, where);
    const frac = Array.isArray(s.abc) ? vec3(s.abc, `sites[${i}].abc`, where) : lattice.toFractional(vec3(s.xyz, `sites[${i}].xyz`, where));
    const species = s.species;
    if (!Array.isArray(species) || species.length === 0) throw new ParseError(`sites[${i}] has no species`, where);
    for (const sp of species) {
      if (!isObj(sp)) throw new ParseError(`sites[${i}].species entry is not an object`, where);
      const name = String(sp.element ?? "");
      const el = isElement(name) ? name : undefined;
      if (!el) throw new ParseError(`sites[${i}]: ${quoteValue(name)} is not an element (dummy species are not supported)`, where);
      const occ = occupancy(sp.occu, `sites[${i}] (${el}) occu`, where);
      sites.push({
        element: el,
        frac,
        ...(occ < 1 ? { occupancy: occ } : {}),
        ...(typeof s.label === "string" && s.label !== el ? { label: s.label } : {}),
      });
    }
  });
  return new Structure(lattice, sites, source(where));
}

/** OPTIMADE structure attributes: lattice_vectors, cartesian_site_positions, species_at_sites, species. */
function fromOptimade(a: Obj, where: Where): Structure {
  const lv = a.lattice_vectors;
  if (Array.isArray(lv) && lv.some((r) => !Array.isArray(r) || r.some((x) => x === null))) {
    throw new ParseError("structure is not periodic in three dimensions (null lattice vector)", where);
  }
  const dims = a.dimension_types;
  if ((Array.isArray(dims) && dims.some((d) => d !== 1)) || (typeof a.nperiodic_dimensions === "number" && a.nperiodic_dimensions !== 3)) {
    const given = Array.isArray(dims) ? `dimension_types ${JSON.stringify(dims)}` : `nperiodic_dimensions ${String(a.nperiodic_dimensions)}`;
    throw new ParseError(`${given}: not a 3D periodic crystal`, where);
  }
  const lattice = new Lattice(matrix(lv, "lattice_vectors", where));
  const pos = a.cartesian_site_positions;
  const names = a.species_at_sites;
  if (!Array.isArray(pos) || !Array.isArray(names) || pos.length !== names.length) {
    throw new ParseError("cartesian_site_positions and species_at_sites must be arrays of the same length", where);
  }
  const speciesDefs = new Map<string, { symbols: ElementSymbol[]; conc: number[] }>();
  if (Array.isArray(a.species)) {
    for (const sp of a.species) {
      if (!isObj(sp) || typeof sp.name !== "string" || !Array.isArray(sp.chemical_symbols)) {
        throw new ParseError("species entries need name and chemical_symbols", where);
      }
      const symbols: ElementSymbol[] = [];
      const conc: number[] = [];
      const given = sp.concentration;
      if (given !== undefined && given !== null && (!Array.isArray(given) || given.length !== sp.chemical_symbols.length)) {
        throw new ParseError(`species ${sp.name}: concentration must list one number per chemical symbol (${sp.chemical_symbols.length})`, where);
      }
      const name = sp.name;
      sp.chemical_symbols.forEach((sym, k) => {
        if (sym === "vacancy") return;
        const el = typeof sym === "string" && isElement(sym) ? sym : undefined;
        if (!el) throw new ParseError(`species ${name}: ${quoteValue(String(sym))} is not an element`, where);
        symbols.push(el);
        const c = Array.isArray(given) ? given[k] : 1;
        if (typeof c !== "number" || !Number.isFinite(c)) throw new ParseError(`species ${name}: concentration of ${el} is ${JSON.stringify(c)}, not a number`, where);
        conc.push(c);
      });
      speciesDefs.set(sp.name, { symbols, conc });
    }
  }
  const sites: Site[] = [];
  names.forEach((n, i) => {
    const name = String(n);
    const cart = vec3(pos[i], `cartesian_site_positions[${i}]`, where);
    const frac = lattice.toFractional(cart);
    const def = speciesDefs.get(name);
    if (def) {
      def.symbols.forEach((el, k) => sites.push({ element: el, frac, ...(def.conc[k]! < 1 ? { occupancy: def.conc[k]! } : {}) }));
      return;
    }
    const el = parseTypeSymbol(name);
    if (!el || speciesDefs.size > 0) throw new ParseError(`site ${i}: species ${quoteValue(name)} is not defined`, where);
    sites.push({ element: el, frac });
  });
  return new Structure(lattice, sites, source(where));
}

/** pymatgen `Structure.as_dict()` form. */
export function toPymatgenDict(s: Structure): Record<string, unknown> {
  const p = s.lattice.parameters;
  return {
    "@module": "pymatgen.core.structure",
    "@class": "Structure",
    charge: 0,
    lattice: { matrix: s.lattice.matrix, pbc: [true, true, true], ...p, volume: s.lattice.volume },
    sites: s.sites.map((site) => ({
      species: [{ element: site.element, occu: site.occupancy ?? 1 }],
      abc: site.frac,
      xyz: s.lattice.toCartesian(site.frac),
      label: site.label ?? site.element,
      properties: {},
    })),
  };
}

/** OPTIMADE structure resource attributes (the subset that describes geometry and species). */
export function toOptimade(s: Structure, id = s.source?.block ?? "structure"): Record<string, unknown> {
  const species = new Map<string, { name: string; chemical_symbols: string[]; concentration: number[] }>();
  const names = s.sites.map((site) => {
    const occ = site.occupancy ?? 1;
    const name = occ < 1 ? `${site.element}_${occ}` : site.element;
    if (!species.has(name)) {
      species.set(name, {
        name,
        chemical_symbols: occ < 1 ? [site.element, "vacancy"] : [site.element],
        concentration: occ < 1 ? [occ, 1 - occ] : [1],
      });
    }
    return name;
  });
  return {
    id,
    type: "structures",
    attributes: {
      lattice_vectors: s.lattice.matrix,
      dimension_types: [1, 1, 1],
      nperiodic_dimensions: 3,
      cartesian_site_positions: s.cartCoords,
      species_at_sites: names,
      species: [...species.values()],
      nsites: s.length,
    },
  };
}

/** JARVIS-Tools `atoms` dict with fractional coordinates (the training data's form). */
export function toJarvisAtoms(s: Structure): Record<string, unknown> {
  s.assertOrdered("Writing a JARVIS atoms dict");
  const p = s.lattice.parameters;
  return {
    lattice_mat: s.lattice.matrix,
    coords: s.fracCoords,
    elements: s.elements,
    abc: [p.a, p.b, p.c],
    angles: [p.alpha, p.beta, p.gamma],
    cartesian: false,
    props: s.sites.map(() => ""),
  };
}
