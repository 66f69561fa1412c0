import { CrystalError, ParseError, quoteValue } from "../errors.js";
import { parseTypeSymbol, resolveElement } from "../elements.js";
import { Lattice, det3, type Vec3 } from "../lattice.js";
import { SHARED_OCCUPANCY_TOLERANCE, Structure, closeSitePairs, thinCell, wrap01, type Site } from "../structure.js";
import type { SymmetryOperation } from "../symmetry.js";

/** A value as written in the file, with its 1-based line. `?` and `.` unquoted mean "unknown" / "not applicable". */
interface CifValue {
  text: string;
  line: number;
  quoted: boolean;
}

interface CifLoop {
  tags: string[];
  rows: CifValue[][];
  line: number;
}

/** One `data_` block: single-valued items and loops, tags normalised (lower case, DDLm "." → "_"). */
export interface CifBlock {
  name: string;
  line: number;
  items: Map<string, CifValue>;
  loops: CifLoop[];
}

export interface CifReadOptions {
  /** File name for error messages. */
  file?: string;
  /**
   * Symmetry images of one site closer than this (Å) are the same position. By default it follows the
   * precision of each site's coordinates (decimals written, times the cell length), between 0.01 and 0.1 Å.
   */
  mergeTolerance?: number;
}

type Token =
  | { kind: "data"; name: string; line: number }
  | { kind: "loop"; line: number }
  | { kind: "tag"; name: string; line: number }
  | { kind: "value"; value: CifValue }
  | { kind: "save"; name: string; line: number };

/** Split CIF 1.1 / 2.0 text into tokens. Never throws anything but ParseError; always advances. */
function tokenize(text: string, file: string | undefined): Token[] {
  const tokens: Token[] = [];
  const lines = text.split(/\r\n|\r|\n/);
  let i = 0;
  while (i < lines.length) {
    const raw = lines[i]!;
    const lineNo = i + 1;
    // Semicolon text field: a line starting with ';' opens it, the next such line closes it.
    if (raw.startsWith(";")) {
      const parts = [raw.slice(1)];
      let j = i + 1;
      while (j < lines.length && !lines[j]!.startsWith(";")) parts.push(lines[j++]!);
      if (j >= lines.length) throw new ParseError("text field opened with ';' is never closed", { file, line: lineNo });
      tokens.push({ kind: "value", value: { text: parts.join("\n").trim(), line: lineNo, quoted: true } });
      // Anything after the closing ';' on its line is tokenised as ordinary text.
      const rest = lines[j]!.slice(1);
      i = j + (rest.trim() ? tokenizeLine(rest, j + 1) : 1);
      continue;
    }
    const consumed = tokenizeLine(raw, lineNo);
    i += consumed;
  }
  return tokens;

  /** Tokenise one line; returns how many lines were consumed (triple quotes may span lines). */
  function tokenizeLine(line: string, lineNo: number): number {
    let p = 0;
    const n = line.length;
    while (p < n) {
      const c = line[p]!;
      if (c === " " || c === "\t") {
        p++;
        continue;
      }
      if (c === "#") break;
      if ((c === "'" || c === '"') && line.startsWith(c.repeat(3), p)) {
        // CIF 2.0 triple-quoted string, possibly spanning lines.
        const q = c.repeat(3);
        const end = line.indexOf(q, p + 3);
        if (end >= 0) {
          tokens.push({ kind: "value", value: { text: line.slice(p + 3, end), line: lineNo, quoted: true } });
          p = end + 3;
          continue;
        }
        const parts = [line.slice(p + 3)];
        let j = lineNo; // index of the next line
        while (j < lines.length) {
          const l = lines[j]!;
          const e = l.indexOf(q);
          if (e >= 0) {
            parts.push(l.slice(0, e));
            tokens.push({ kind: "value", value: { text: parts.join("\n"), line: lineNo, quoted: true } });
            const rest = l.slice(e + 3);
            const more = rest.trim() ? tokenizeLine(rest, j + 1) : 1;
            return j - lineNo + 1 + more;
          }
          parts.push(l);
          j++;
        }
        throw new ParseError("triple-quoted string is never closed", { file, line: lineNo });
      }
      if (c === "'" || c === '"') {
        // CIF 1.1: a quote closes only when followed by whitespace or the end of the line.
        let e = p + 1;
        while (e < n && !(line[e] === c && (e + 1 === n || line[e + 1] === " " || line[e + 1] === "\t"))) e++;
        if (e >= n) throw new ParseError(`unterminated ${c} quoted string`, { file, line: lineNo });
        tokens.push({ kind: "value", value: { text: line.slice(p + 1, e), line: lineNo, quoted: true } });
        p = e + 1;
        continue;
      }
      if (c === "[" || c === "{") {
        // CIF 2.0 list or table: kept as one opaque value (IonRank reads no list-valued items).
        let depth = 0;
        let e = p;
        for (; e < n; e++) {
          if (line[e] === "[" || line[e] === "{") depth++;
          else if (line[e] === "]" || line[e] === "}") depth--;
          if (depth === 0) break;
        }
        tokens.push({ kind: "value", value: { text: line.slice(p, e + 1), line: lineNo, quoted: true } });
        p = e + 1;
        continue;
      }
      let e = p;
      while (e < n && line[e] !== " " && line[e] !== "\t") e++;
      const word = line.slice(p, e);
      p = e;
      const lower = word.toLowerCase();
      if (lower.startsWith("data_")) tokens.push({ kind: "data", name: word.slice(5), line: lineNo });
      else if (lower === "loop_") tokens.push({ kind: "loop", line: lineNo });
      else if (lower.startsWith("save_")) tokens.push({ kind: "save", name: word.slice(5), line: lineNo });
      else if (lower === "global_" || lower === "stop_") continue;
      else if (word.startsWith("_")) tokens.push({ kind: "tag", name: normaliseTag(word), line: lineNo });
      else tokens.push({ kind: "value", value: { text: word, line: lineNo, quoted: false } });
    }
    return 1;
  }
}

function normaliseTag(tag: string): string {
  return tag.toLowerCase().replace(/\./g, "_");
}

/** Parse CIF text into data blocks (no chemistry yet). */
export function parseCifBlocks(text: string, file?: string): CifBlock[] {
  const tokens = tokenize(text, file);
  const blocks: CifBlock[] = [];
  let block: CifBlock | null = null;
  // Where each tag of the current block was set: a repeated tag would otherwise silently win or lose.
  let tagLines = new Map<string, number>();
  let inSave = false;
  const setOnce = (b: CifBlock, name: string, line: number): void => {
    if (inSave) return; // dictionary save frames repeat tags by design
    const first = tagLines.get(name);
    if (first !== undefined) throw new ParseError(`tag ${name} is given twice, on lines ${first} and ${line}`, { file, block: b.name, line });
    tagLines.set(name, line);
  };
  let t = 0;
  const need = (line: number): CifBlock => {
    if (!block) throw new ParseError("data item found before the first data_ block", { file, line });
    return block;
  };
  while (t < tokens.length) {
    const tok = tokens[t]!;
    if (tok.kind === "data") {
      block = { name: tok.name, line: tok.line, items: new Map(), loops: [] };
      blocks.push(block);
      tagLines = new Map();
      inSave = false;
      t++;
    } else if (tok.kind === "save") {
      inSave = tok.name !== ""; // save_name opens a frame, bare save_ closes it
      t++; // save frames (dictionaries) carry no structure; their items are skipped as ordinary ones
    } else if (tok.kind === "tag") {
      const b = need(tok.line);
      const v = tokens[t + 1];
      if (!v || v.kind !== "value") {
        throw new ParseError(`tag ${tok.name} has no value`, { file, block: b.name, line: tok.line });
      }
      setOnce(b, tok.name, tok.line);
      b.items.set(tok.name, v.value);
      t += 2;
    } else if (tok.kind === "loop") {
      const b = need(tok.line);
      const tags: string[] = [];
      t++;
      while (t < tokens.length && tokens[t]!.kind === "tag") {
        const tag = tokens[t++] as { name: string; line: number };
        setOnce(b, tag.name, tag.line);
        tags.push(tag.name);
      }
      if (tags.length === 0) throw new ParseError("loop_ without tags", { file, block: b.name, line: tok.line });
      const values: CifValue[] = [];
      while (t < tokens.length && tokens[t]!.kind === "value") values.push((tokens[t++] as { value: CifValue }).value);
      if (values.length % tags.length !== 0) {
        const lastRowLine = values[values.length - (values.length % tags.length)]?.line ?? tok.line;
        throw new ParseError(
          `loop of ${tags.length} columns (${tags.slice(0, 3).join(", ")}${tags.length > 3 ? ", …" : ""}) has ${values.length} values, ` +
            `not a multiple of ${tags.length}: a row near this line is incomplete`,
          { file, block: b.name, line: lastRowLine },
        );
      }
      const rows: CifValue[][] = [];
      for (let r = 0; r < values.length; r += tags.length) rows.push(values.slice(r, r + tags.length));
      b.loops.push({ tags, rows, line: tok.line });
    } else {
      const v = tok.value;
      throw new ParseError(`value ${quoteValue(v.text)} has no tag`, { file, block: block?.name, line: v.line });
    }
  }
  return blocks;
}

/** Read every data block of a CIF that describes a structure. Blocks without atom sites are skipped. */
export function readCif(text: string, options: CifReadOptions = {}): Structure[] {
  const entries = readCifEntries(text, options);
  const bad = entries.find((e) => e instanceof ParseError);
  if (bad) throw bad;
  return entries as Structure[];
}

/**
 * The same, block by block: each structure block becomes its Structure or the ParseError that names what is
 * wrong with it, so one bad block of a multi-structure file does not cost the good ones. A file whose syntax
 * is broken (block boundaries unknown) still throws.
 */
export function readCifEntries(text: string, options: CifReadOptions = {}): (Structure | ParseError)[] {
  const file = options.file;
  const blocks = parseCifBlocks(text, file);
  if (blocks.length === 0) throw new ParseError("no data_ block found: not a CIF", { file });
  const out: (Structure | ParseError)[] = [];
  for (const b of blocks) {
    if (!hasTag(b, "_atom_site_fract_x") && !hasTag(b, "_atom_site_cartn_x")) continue;
    try {
      out.push(blockToStructure(b, file, options.mergeTolerance));
    } catch (e) {
      if (!(e instanceof CrystalError)) throw e;
      out.push(e instanceof ParseError ? e : new ParseError(e.message, { file, block: b.name }));
    }
  }
  if (out.length === 0) throw new ParseError("no data block has atom sites (_atom_site_fract_x)", { file });
  return out;
}

function hasTag(b: CifBlock, tag: string): boolean {
  return b.items.has(tag) || b.loops.some((l) => l.tags.includes(tag));
}

/**
 * Rows of the loop (or the single item set) that holds `tag`, as maps from tag to value. Without loop_, the
 * row is every item of the category: `inCategory`, by default the tags sharing `tag`'s prefix.
 */
function table(b: CifBlock, tag: string, inCategory?: (t: string) => boolean): Map<string, CifValue>[] {
  const loop = b.loops.find((l) => l.tags.includes(tag));
  if (loop) return loop.rows.map((r) => new Map(loop.tags.map((t, i) => [t, r[i]!])));
  const v = b.items.get(tag);
  if (!v) return [];
  const prefix = tag.slice(0, tag.lastIndexOf("_"));
  const row = new Map<string, CifValue>([[tag, v]]);
  for (const [k, val] of b.items) if (inCategory ? inCategory(k) : k.startsWith(prefix)) row.set(k, val);
  return [row];
}

/** Items of the atom_site category (not atom_site_aniso or atom_sites). */
const isAtomSiteTag = (t: string): boolean => t.startsWith("_atom_site_") && !t.startsWith("_atom_site_aniso_");

/** Parse "5.4321(3)" → 5.4321. Returns null for ? and . and throws for non-numbers. */
function number(v: CifValue | undefined, what: string, file: string | undefined, block: string): number | null {
  if (!v) return null;
  if (!v.quoted && (v.text === "?" || v.text === ".")) return null;
  const m = /^([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)(?:\(\d+\))?$/.exec(v.text.trim());
  const x = m ? Number(m[1]) : NaN;
  if (!Number.isFinite(x)) throw new ParseError(`${what} is ${quoteValue(v.text)}, not a number`, { file, block, line: v.line });
  return x;
}

/** Merge tolerance bounds, Å: atoms this close are one atom, however the coordinates were rounded. */
const MIN_MERGE = 0.01;
const MAX_MERGE = 0.1;

/** Digits after the decimal point of a number as written ("0.333(2)" → 3, "0" → 0). */
function decimals(text: string): number {
  const dot = text.indexOf(".");
  if (dot < 0) return 0;
  let e = dot + 1;
  while (e < text.length && text.charCodeAt(e) >= 48 && text.charCodeAt(e) <= 57) e++;
  return e - dot - 1;
}

function blockToStructure(b: CifBlock, file: string | undefined, mergeTolerance: number | undefined): Structure {
  const where = (line?: number) => ({ file, block: b.name, line });
  const cell = (tag: string): number => {
    const v = b.items.get(tag);
    const x = number(v, tag, file, b.name);
    if (x === null) throw new ParseError(`${tag} is missing`, where(v?.line ?? b.line));
    if (!(x > 0)) throw new ParseError(`${tag} must be positive, got ${x}`, where(v?.line));
    return x;
  };
  let lattice: Lattice;
  try {
    lattice = Lattice.fromParameters({
      a: cell("_cell_length_a"),
      b: cell("_cell_length_b"),
      c: cell("_cell_length_c"),
      alpha: cell("_cell_angle_alpha"),
      beta: cell("_cell_angle_beta"),
      gamma: cell("_cell_angle_gamma"),
    });
  } catch (e) {
    if (e instanceof ParseError) throw e;
    throw new ParseError((e as Error).message, where(b.items.get("_cell_length_a")?.line));
  }
  const thin = thinCell(lattice);
  if (thin) throw new ParseError(`${thin}: not a crystal cell`, where(b.items.get("_cell_length_a")?.line));
  const p = lattice.parameters;
  const longest = Math.max(p.a, p.b, p.c);

  const ops = symmetryOperations(b, file);

  const xTag = hasTag(b, "_atom_site_fract_x") ? "fract" : "cartn";
  const rows = table(b, `_atom_site_${xTag}_x`, isAtomSiteTag);
  const sites: Site[] = [];
  // Per expanded site: the atom-site row it came from and that row's merge tolerance.
  const rowOf: { label: string; line: number; tolerance: number }[] = [];
  for (const row of rows) {
    const first = row.values().next().value as CifValue;
    const line = first.line;
    const label = row.get("_atom_site_label");
    const type = row.get("_atom_site_type_symbol");
    const calc = row.get("_atom_site_calc_flag")?.text.toLowerCase();
    if (calc === "dum") continue; // dummy atoms mark positions, not atoms
    const speciesText = type && type.text !== "?" && type.text !== "." ? type.text : label?.text;
    if (speciesText === undefined) {
      throw new ParseError("atom site has neither _atom_site_type_symbol nor _atom_site_label", where(line));
    }
    // A type symbol is read strictly (it states the chemistry); a label only when there is no type symbol.
    const typed = speciesText === type?.text;
    const element = typed ? parseTypeSymbol(speciesText) : resolveElement(speciesText);
    if (!element) throw new ParseError(`${typed ? "_atom_site_type_symbol" : "_atom_site_label"} ${quoteValue(speciesText)} does not name an element`, where(type?.line ?? line));
    // The site's precision: the fewest decimals among its rounded coordinates (0, ½, ¼, ⅛ … are exact as written).
    let digits = Infinity;
    const coord = (axis: string): number => {
      const v = row.get(`_atom_site_${xTag}_${axis}`);
      const x = number(v, `_atom_site_${xTag}_${axis}`, file, b.name);
      if (x === null) throw new ParseError(`site ${label?.text ?? speciesText} has no ${axis} coordinate`, where(v?.line ?? line));
      if (xTag === "cartn" || Math.abs(x * 8 - Math.round(x * 8)) > 1e-9) digits = Math.min(digits, decimals(v!.text));
      return x;
    };
    let frac: Vec3 = [coord("x"), coord("y"), coord("z")];
    if (xTag === "cartn") frac = lattice.toFractional(frac);
    const occ = number(row.get("_atom_site_occupancy"), "_atom_site_occupancy", file, b.name) ?? 1;
    if (!(occ > 0 && occ <= 1.001)) {
      throw new ParseError(`site ${label?.text ?? speciesText} has occupancy ${occ}, outside (0, 1]`, where(row.get("_atom_site_occupancy")?.line));
    }
    const base: Site = { element, frac, ...(occ < 1 ? { occupancy: occ } : {}), ...(label ? { label: label.text } : {}) };
    // Coordinates rounded to d decimals put symmetry images of a special position up to ~4 × ½·10^-d apart.
    const tolerance = mergeTolerance ?? (digits === Infinity ? MIN_MERGE : Math.min(MAX_MERGE, Math.max(MIN_MERGE, 2 * 10 ** -digits * (xTag === "fract" ? longest : 1))));
    const images = expandSite(base, ops, lattice, tolerance);
    sites.push(...images);
    const from = { label: label?.text ?? speciesText, line, tolerance };
    for (let k = 0; k < images.length; k++) rowOf.push(from);
  }
  if (sites.length === 0) throw new ParseError("block has an atom-site loop but no atoms", where(b.line));
  // Two rows that land on one position cannot both be fully there (an atom listed twice, e.g. with a symmetry-equivalent copy).
  const occ = (i: number) => sites[i]!.occupancy ?? 1;
  let maxTolerance = 0; // a loop: spreading one argument per atom overflows the stack past ~125k atoms
  for (const r of rowOf) maxTolerance = Math.max(maxTolerance, r.tolerance);
  const [clash] = closeSitePairs(
    lattice,
    sites,
    maxTolerance,
    (i, j, dist) => rowOf[i] !== rowOf[j] && dist < Math.max(rowOf[i]!.tolerance, rowOf[j]!.tolerance) && occ(i) + occ(j) > 1 + SHARED_OCCUPANCY_TOLERANCE,
    1,
  );
  if (clash) {
    const [i, j, dist] = clash;
    const [first, second] = [rowOf[i]!, rowOf[j]!].sort((x, y) => x.line - y.line) as [(typeof rowOf)[number], (typeof rowOf)[number]];
    throw new ParseError(
      `atom sites ${first.label} (line ${first.line}) and ${second.label} put atoms ${dist.toFixed(3)} Å apart, on one position, ` +
        `with occupancies adding up to ${Number((occ(i) + occ(j)).toFixed(4))}, more than 1`,
      where(second.line),
    );
  }
  try {
    return new Structure(lattice, sites, { ...(file !== undefined ? { file } : {}), block: b.name });
  } catch (e) {
    throw new ParseError((e as Error).message, where(b.line));
  }
}


const OP_TAGS = [
  "_space_group_symop_operation_xyz",
  "_symmetry_equiv_pos_as_xyz",
  "_space_group_symop_operation_xyz_",
];

function symmetryOperations(b: CifBlock, file: string | undefined): SymmetryOperation[] {
  for (const tag of OP_TAGS) {
    const rows = table(b, tag);
    if (rows.length > 0) {
      return rows.map((r) => {
        const v = r.get(tag)!;
        try {
          return parseSymmetryOperation(v.text);
        } catch (e) {
          throw new ParseError(`symmetry operation ${quoteValue(v.text)}: ${(e as Error).message}`, { file, block: b.name, line: v.line });
        }
      });
    }
  }
  const hm =
    b.items.get("_space_group_name_h-m_alt") ?? b.items.get("_symmetry_space_group_name_h-m") ?? b.items.get("_space_group_name_h-m");
  const it = b.items.get("_space_group_it_number") ?? b.items.get("_symmetry_int_tables_number");
  // A Hall symbol alone also names the space group ("?" or "." names none).
  const hallValue = b.items.get("_space_group_name_hall") ?? b.items.get("_symmetry_space_group_name_hall");
  const hall = hallValue && !(!hallValue.quoted && (hallValue.text === "?" || hallValue.text === ".")) ? hallValue : undefined;
  const isP1 =
    (hm === undefined || hm.text.replace(/\s/g, "").toUpperCase() === "P1") &&
    (it === undefined || it.text === "1" || it.text === "?") &&
    (hall === undefined || hall.text.replace(/\s/g, "").toUpperCase() === "P1");
  if (!isP1) {
    const named = hm && hm.text.replace(/\s/g, "").toUpperCase() !== "P1" ? hm.text : hall ? `${hall.text} (Hall)` : hm?.text ?? "number " + it?.text;
    throw new ParseError(
      `space group ${named} is given but no symmetry operations ` +
        `(_space_group_symop_operation_xyz or _symmetry_equiv_pos_as_xyz): cannot expand the asymmetric unit`,
      { file, block: b.name, line: (hm ?? hall ?? it)?.line },
    );
  }
  return [{ rotation: [[1, 0, 0], [0, 1, 0], [0, 0, 1]], translation: [0, 0, 0] }];
}

/** Parse a symmetry operation in xyz form, e.g. "-x+1/2, y, z+0.25" or "x-y,x,z+1/6". */
export function parseSymmetryOperation(text: string): SymmetryOperation {
  const parts = text.replace(/^'|'$/g, "").toLowerCase().replace(/\s+/g, "").split(",");
  if (parts.length !== 3) throw new Error("needs three comma-separated components");
  const rotation: [Vec3, Vec3, Vec3] = [[0, 0, 0], [0, 0, 0], [0, 0, 0]];
  const translation: Vec3 = [0, 0, 0];
  parts.forEach((part, row) => {
    if (part.length === 0) throw new Error(`component ${row + 1} is empty`);
    const term = /([+-]?)(\d+(?:\.\d*)?(?:\/\d+(?:\.\d*)?)?|\.\d+)?\*?([xyz])?/gy;
    let pos = 0;
    while (pos < part.length) {
      term.lastIndex = pos;
      const m = term.exec(part);
      if (!m || m[0].length === 0 || (m[2] === undefined && m[3] === undefined)) {
        throw new Error(`cannot read ${quoteValue(part.slice(pos))}`);
      }
      pos = term.lastIndex;
      const sign = m[1] === "-" ? -1 : 1;
      let coef = 1;
      if (m[2] !== undefined) {
        const [num, den] = m[2].split("/");
        coef = Number(num) / (den !== undefined ? Number(den) : 1);
        if (!Number.isFinite(coef)) throw new Error(`bad number ${quoteValue(m[2])}`);
      }
      if (m[3] !== undefined) {
        const r = rotation[row]!;
        const c = "xyz".indexOf(m[3]);
        r[c] = r[c]! + sign * coef;
      } else translation[row] = translation[row]! + sign * coef;
    }
  });
  // A crystallographic operation maps the lattice onto itself: integer rotation part, determinant ±1.
  const bad = rotation.flat().find((x) => !Number.isInteger(x));
  if (bad !== undefined) throw new Error(`rotation coefficient ${bad} is not an integer: not a crystallographic operation`);
  const det = det3(rotation);
  if (Math.abs(det) !== 1) throw new Error(`rotation part has determinant ${det}, not ±1: not a crystallographic operation`);
  return { rotation, translation };
}

/** Apply every operation to a site and keep the distinct images (within `tolerance` Å). */
function expandSite(site: Site, ops: SymmetryOperation[], lattice: Lattice, tolerance: number): Site[] {
  const images: Vec3[] = [];
  const tol2 = tolerance * tolerance;
  for (const op of ops) {
    const f = site.frac;
    const g = [0, 1, 2].map((r) => wrap01(op.rotation[r]![0] * f[0] + op.rotation[r]![1] * f[1] + op.rotation[r]![2] * f[2] + op.translation[r]!)) as Vec3;
    const dup = images.some((h) => {
      const d = [g[0] - h[0], g[1] - h[1], g[2] - h[2]].map((x) => x - Math.round(x)) as Vec3;
      const c = lattice.toCartesian(d);
      return c[0] * c[0] + c[1] * c[1] + c[2] * c[2] < tol2;
    });
    if (!dup) images.push(g);
  }
  return images.map((frac) => ({ ...site, frac }));
}
