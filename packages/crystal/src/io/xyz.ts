import { ParseError, quoteValue, type SourceLocation } from "../errors.js";
import { parseTypeSymbol } from "../elements.js";
import { Lattice } from "../lattice.js";
import { Structure, type Site } from "../structure.js";
import { structureProblem } from "./problems.js";

/** Parse the key=value pairs of an extended-XYZ comment line (values may be "quoted"); a repeated key is refused. */
function parseKeyValues(line: string, fail: (reason: string) => never): Map<string, string> {
  const out = new Map<string, string>();
  const re = /([A-Za-z_][\w-]*)\s*=\s*(?:"([^"]*)"|'([^']*)'|\{([^}]*)\}|(\S+))/g;
  for (const m of line.matchAll(re)) {
    const key = m[1]!.toLowerCase();
    if (out.has(key)) fail(`${m[1]}= is given twice on the comment line`);
    out.set(key, m[2] ?? m[3] ?? m[4] ?? m[5] ?? "");
  }
  return out;
}

function latticeOf(lv: number[], at: SourceLocation): Lattice {
  try {
    return new Lattice([lv.slice(0, 3), lv.slice(3, 6), lv.slice(6, 9)]);
  } catch (e) {
    throw new ParseError((e as Error).message, at);
  }
}

/** Read every frame of an extended XYZ file. Each frame needs `Lattice="ax ay az bx by bz cx cy cz"`. */
export function readExtxyz(text: string, options: { file?: string } = {}): Structure[] {
  const file = options.file;
  const lines = text.split(/\r\n|\r|\n/);
  const out: Structure[] = [];
  let ln = 0;
  while (ln < lines.length) {
    if (lines[ln]!.trim() === "") {
      ln++;
      continue;
    }
    const frame = String(out.length);
    const where = (line: number) => ({ file, block: `frame ${frame}`, line: line + 1 });
    const n = Number(lines[ln]!.trim());
    if (!Number.isInteger(n) || n <= 0) throw new ParseError(`expected an atom count, got ${quoteValue(lines[ln]!.trim())}`, where(ln));
    const info = parseKeyValues(lines[ln + 1] ?? "", (reason) => {
      throw new ParseError(reason, where(ln + 1));
    });
    // pbc="F F F" (a molecule, or a slab) is not a crystal; missing pbc with a Lattice means periodic.
    const pbc = info.get("pbc")?.trim().split(/[\s,]+/);
    if (pbc && (pbc.length !== 3 || !pbc.every((p) => /^(t|true|1)$/i.test(p)))) {
      throw new ParseError(`pbc=${quoteValue(info.get("pbc") ?? "")}: not a 3D periodic crystal`, where(ln + 1));
    }
    const latticeText = info.get("lattice");
    if (latticeText === undefined) throw new ParseError('comment line has no Lattice="…": not a periodic extended XYZ frame', where(ln + 1));
    const lv = latticeText.trim().split(/[\s,]+/).map(Number);
    if (lv.length !== 9 || !lv.every(Number.isFinite)) throw new ParseError("Lattice must hold nine numbers", where(ln + 1));
    // Properties=species:S:1:pos:R:3:… gives the columns; that is also the default.
    const props = (info.get("properties") ?? "species:S:1:pos:R:3").split(":");
    let col = 0;
    let speciesCol = -1;
    let posCol = -1;
    let occCol = -1;
    if (props.length % 3 !== 0) throw new ParseError(`Properties ${quoteValue(props.join(":"))} is not a list of name:type:columns`, where(ln + 1));
    for (let p = 0; p + 2 < props.length; p += 3) {
      const name = props[p]!.toLowerCase();
      const width = Number(props[p + 2]);
      if (!Number.isInteger(width) || width < 1) throw new ParseError(`bad Properties entry ${quoteValue(props.slice(p, p + 3).join(":"))}`, where(ln + 1));
      if (name === "species") speciesCol = col;
      if (name === "pos") posCol = col;
      if (name === "occupancy" || name === "occu") occCol = col;
      col += width;
    }
    if (speciesCol < 0 || posCol < 0) throw new ParseError("Properties must include species and pos", where(ln + 1));
    const sites: Site[] = [];
    const lattice = latticeOf(lv, where(ln + 1));
    for (let i = 0; i < n; i++) {
      const lineIndex = ln + 2 + i;
      const raw = lines[lineIndex];
      if (raw === undefined || raw.trim() === "") throw new ParseError(`frame declares ${n} atoms but the file ends after ${i}`, where(lineIndex - 1));
      const w = raw.trim().split(/\s+/);
      // Every column is described by Properties: more or fewer means the frame is not what it says.
      if (w.length !== col) throw new ParseError(`atom ${i + 1} has ${w.length} columns but Properties describes ${col}`, where(lineIndex));
      const el = parseTypeSymbol(w[speciesCol] ?? "");
      if (!el) throw new ParseError(`${quoteValue(w[speciesCol] ?? "")} is not an element`, where(lineIndex));
      const p = [0, 1, 2].map((c) => Number(w[posCol + c]));
      if (!p.every(Number.isFinite) || w[posCol + 2] === undefined) throw new ParseError(`atom ${i + 1} needs three numeric positions`, where(lineIndex));
      const occ = occCol < 0 ? 1 : Number(w[occCol]);
      if (!Number.isFinite(occ)) throw new ParseError(`atom ${i + 1}: occupancy ${quoteValue(w[occCol] ?? "")} is not a number`, where(lineIndex));
      sites.push({ element: el, frac: lattice.toFractional(p), ...(occ < 1 ? { occupancy: occ } : {}) });
    }
    let s: Structure;
    try {
      s = new Structure(lattice, sites, { ...(file !== undefined ? { file } : {}), block: `frame ${frame}` });
    } catch (e) {
      throw new ParseError((e as Error).message, where(ln + 1));
    }
    const problem = structureProblem(s);
    if (problem) throw new ParseError(problem, where(ln + 1));
    out.push(s);
    ln += 2 + n;
  }
  if (out.length === 0) throw new ParseError("no frames", { file });
  return out;
}

/** Write one extended XYZ frame per structure (Cartesian positions in Å). */
export function writeExtxyz(structures: Structure | readonly Structure[]): string {
  const list: readonly Structure[] = structures instanceof Structure ? [structures] : (structures as readonly Structure[]);
  return list
    .map((s) => {
      s.assertOrdered("Writing extended XYZ");
      const lat = s.lattice.matrix.flat().map((x) => x.toFixed(10)).join(" ");
      const rows = s.sites.map((site) => {
        const c = s.lattice.toCartesian(site.frac);
        return `${site.element.padEnd(3)}${c.map((x) => x.toFixed(10).padStart(18)).join("")}`;
      });
      return [String(s.length), `Lattice="${lat}" Properties=species:S:1:pos:R:3 pbc="T T T"`, ...rows].join("\n");
    })
    .join("\n") + "\n";
}
