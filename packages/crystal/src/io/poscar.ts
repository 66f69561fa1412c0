import { ParseError, quoteValue } from "../errors.js";
import { isElement, type ElementSymbol } from "../elements.js";
import { Lattice, det3, type Vec3 } from "../lattice.js";
import { Structure } from "../structure.js";
import { structureProblem } from "./problems.js";

export interface PoscarReadOptions {
  file?: string;
  /** Species in order, for VASP 4 files that have no species line. */
  species?: readonly string[];
}

/**
 * Read a VASP POSCAR/CONTCAR: VASP 5 (species line) or VASP 4 (species supplied), a scale factor
 * (negative = target volume in Å³; three values = per-axis scale), Direct or Cartesian coordinates,
 * optional Selective dynamics. Velocities and predictor blocks after the coordinates are ignored.
 */
export function readPoscar(text: string, options: PoscarReadOptions = {}): Structure {
  const file = options.file;
  const lines = text.split(/\r\n|\r|\n/);
  let ln = 0; // 0-based index of the next line
  const fail = (reason: string, line = ln): never => {
    throw new ParseError(reason, { file, line: line + 1 });
  };
  const next = (what: string): string[] => {
    if (ln >= lines.length) fail(`file ends where ${what} should be`, lines.length - 1);
    return lines[ln++]!.trim().split(/\s+/).filter((w) => w.length > 0);
  };
  const num = (w: string | undefined, what: string, line: number): number => {
    const x = Number(w);
    if (w === undefined || w === "" || !Number.isFinite(x)) fail(`${what} is ${quoteValue(w ?? "")}, not a number`, line);
    return x;
  };

  const comment = lines[ln++] ?? "";
  const scaleWords = next("the scale factor");
  const scaleLine = ln - 1;
  if (scaleWords.length !== 1 && scaleWords.length !== 3) fail("scale line must hold one number or three", scaleLine);
  const scale = scaleWords.map((w) => num(w, "scale factor", scaleLine));
  const rows: Vec3[] = [];
  for (let r = 0; r < 3; r++) {
    const w = next(`lattice vector ${r + 1}`);
    if (w.length < 3) fail(`lattice vector ${r + 1} needs three numbers`, ln - 1);
    rows.push([0, 1, 2].map((c) => num(w[c], `lattice vector ${r + 1}`, ln - 1)) as Vec3);
  }
  let factor: Vec3;
  if (scale.length === 3) {
    if (!scale.every((s) => s > 0)) fail("per-axis scale factors must be positive", scaleLine);
    factor = scale as Vec3;
  } else if (scale[0]! < 0) {
    const v = Math.abs(det3(rows));
    if (!(v > 1e-10)) fail("lattice vectors are coplanar", scaleLine + 1);
    const f = Math.cbrt(-scale[0]! / v);
    factor = [f, f, f];
  } else if (scale[0]! > 0) {
    factor = [scale[0]!, scale[0]!, scale[0]!];
  } else {
    return fail("scale factor is zero", scaleLine);
  }
  const matrix = rows.map((r) => r.map((x, c) => x * factor[c]!)) as [Vec3, Vec3, Vec3];

  let words = next("species or counts");
  let species: string[];
  if (words.length > 0 && words.every((w) => /^[A-Za-z]/.test(w))) {
    // VASP 5; POTCAR-style names such as "Li_sv" or "Fe/abc" keep only the element.
    species = words.map((w) => w.split(/[_/]/)[0]!);
    words = next("the species counts");
  } else if (options.species) {
    species = [...options.species];
  } else {
    return fail("this is a VASP 4 file (no species line): pass the species in order", ln - 1);
  }
  const countLine = ln - 1;
  const counts = words.map((w) => {
    const c = num(w, "species count", countLine);
    if (!Number.isInteger(c) || c < 0) fail(`species count ${quoteValue(w)} is not a non-negative integer`, countLine);
    return c;
  });
  if (counts.length !== species.length) {
    fail(`${species.length} species (${species.join(" ")}) but ${counts.length} counts`, countLine);
  }
  const total = counts.reduce((a, b) => a + b, 0);
  // Checked before allocating, so a corrupt count cannot make the reader build a huge array.
  if (total > lines.length) fail(`species counts add up to ${total} atoms but the file has only ${lines.length} lines`, countLine);
  const elements: ElementSymbol[] = [];
  species.forEach((s, k) => {
    if (!isElement(s)) fail(`species ${quoteValue(s)} is not an element symbol`, countLine - 1);
    for (let c = 0; c < counts[k]!; c++) elements.push(s as ElementSymbol);
  });
  if (elements.length === 0) fail("no atoms", countLine);

  let mode = next("the coordinate mode");
  if (/^s/i.test(mode[0] ?? "")) mode = next("the coordinate mode"); // Selective dynamics
  const modeWord = mode[0] ?? "";
  if (!/^[cdkCDK]/.test(modeWord)) fail(`coordinate mode ${quoteValue(modeWord)} is neither Direct nor Cartesian`, ln - 1);
  const cartesian = /^[ckCK]/.test(modeWord);

  const coords: Vec3[] = [];
  for (let i = 0; i < elements.length; i++) {
    const w = next(`coordinates of atom ${i + 1} of ${elements.length}`);
    if (w.length < 3) fail(`atom ${i + 1} needs three coordinates`, ln - 1);
    const p = [0, 1, 2].map((c) => num(w[c], `coordinate of atom ${i + 1}`, ln - 1)) as Vec3;
    // Cartesian positions are scaled like the lattice.
    coords.push(cartesian ? (p.map((x, c) => x * factor[c]!) as Vec3) : p);
  }
  // More coordinate lines straight after the atoms (VASP puts a blank line before velocities) mean the counts are wrong.
  let extra = 0;
  while (ln + extra < lines.length && /^\s*[-+]?[\d.]+(?:[eE][-+]?\d+)?\s+[-+]?[\d.]+(?:[eE][-+]?\d+)?\s+[-+]?[\d.]+(?:[eE][-+]?\d+)?(?:\s|$)/.test(lines[ln + extra]!)) extra++;
  if (extra > 0) {
    fail(`the counts say ${elements.length} atoms but ${elements.length + extra} coordinate lines follow`, ln);
  }
  const source = { ...(file !== undefined ? { file } : {}), block: comment.trim() };
  let structure: Structure;
  try {
    const lattice = new Lattice(matrix);
    structure = cartesian
      ? Structure.fromCartesian(lattice, elements, coords, source)
      : new Structure(lattice, elements.map((element, i) => ({ element, frac: coords[i]! })), source);
  } catch (e) {
    if (e instanceof ParseError) throw e;
    throw new ParseError((e as Error).message, { file });
  }
  const problem = structureProblem(structure);
  if (problem) throw new ParseError(problem, { file });
  return structure;
}

export interface PoscarWriteOptions {
  comment?: string;
  /** Write Cartesian instead of Direct coordinates. */
  cartesian?: boolean;
}

/** Write VASP 5 POSCAR text. Sites are grouped by element in order of first appearance (VASP needs contiguous species). */
export function writePoscar(structure: Structure, options: PoscarWriteOptions = {}): string {
  structure.assertOrdered("Writing a POSCAR");
  const order: ElementSymbol[] = [];
  for (const e of structure.elements) if (!order.includes(e)) order.push(e);
  const groups = order.map((el) => structure.sites.filter((s) => s.element === el));
  const f = (x: number) => x.toFixed(12).padStart(20);
  const lines = [
    (options.comment ?? structure.source?.block ?? "IonRank structure").replace(/\n/g, " "),
    "1.0",
    ...structure.lattice.matrix.map((r) => r.map(f).join("")),
    order.join(" "),
    groups.map((g) => g.length).join(" "),
    options.cartesian ? "Cartesian" : "Direct",
    ...groups.flat().map((s) => (options.cartesian ? structure.lattice.toCartesian(s.frac) : s.frac).map(f).join("")),
  ];
  return lines.join("\n") + "\n";
}
