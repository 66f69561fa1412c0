import { ParseError } from "../errors.js";
import { parseTypeSymbol, type ElementSymbol } from "../elements.js";
import type { Vec3 } from "../lattice.js";
import { Structure } from "../structure.js";

/** Parse the key=value pairs of an extended-XYZ comment line (values may be "quoted"). */
function parseKeyValues(line: string): Map<string, string> {
  const out = new Map<string, string>();
  const re = /([A-Za-z_][\w-]*)\s*=\s*(?:"([^"]*)"|'([^']*)'|\{([^}]*)\}|(\S+))/g;
  for (const m of line.matchAll(re)) out.set(m[1]!.toLowerCase(), m[2] ?? m[3] ?? m[4] ?? m[5] ?? "");
  return out;
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
    if (!Number.isInteger(n) || n <= 0) throw new ParseError(`expected an atom count, got "${lines[ln]!.trim().slice(0, 40)}"`, where(ln));
    const info = parseKeyValues(lines[ln + 1] ?? "");
    const latticeText = info.get("lattice");
    if (latticeText === undefined) throw new ParseError('comment line has no Lattice="…": not a periodic extended XYZ frame', where(ln + 1));
    const lv = latticeText.trim().split(/[\s,]+/).map(Number);
    if (lv.length !== 9 || !lv.every(Number.isFinite)) throw new ParseError("Lattice must hold nine numbers", where(ln + 1));
    // Properties=species:S:1:pos:R:3:… gives the columns; that is also the default.
    const props = (info.get("properties") ?? "species:S:1:pos:R:3").split(":");
    let col = 0;
    let speciesCol = -1;
    let posCol = -1;
    for (let p = 0; p + 2 < props.length; p += 3) {
      const name = props[p]!.toLowerCase();
      const width = Number(props[p + 2]);
      if (!Number.isInteger(width) || width < 1) throw new ParseError(`bad Properties entry "${props.slice(p, p + 3).join(":")}"`, where(ln + 1));
      if (name === "species") speciesCol = col;
      if (name === "pos") posCol = col;
      col += width;
    }
    if (speciesCol < 0 || posCol < 0) throw new ParseError("Properties must include species and pos", where(ln + 1));
    const elements: ElementSymbol[] = [];
    const cart: Vec3[] = [];
    for (let i = 0; i < n; i++) {
      const lineIndex = ln + 2 + i;
      const raw = lines[lineIndex];
      if (raw === undefined || raw.trim() === "") throw new ParseError(`frame declares ${n} atoms but the file ends after ${i}`, where(lineIndex - 1));
      const w = raw.trim().split(/\s+/);
      const el = parseTypeSymbol(w[speciesCol] ?? "");
      if (!el) throw new ParseError(`"${w[speciesCol] ?? ""}" is not an element`, where(lineIndex));
      const p = [0, 1, 2].map((c) => Number(w[posCol + c]));
      if (!p.every(Number.isFinite) || w[posCol + 2] === undefined) throw new ParseError(`atom ${i + 1} needs three numeric positions`, where(lineIndex));
      elements.push(el);
      cart.push(p as Vec3);
    }
    try {
      out.push(
        Structure.fromCartesian([lv.slice(0, 3), lv.slice(3, 6), lv.slice(6, 9)], elements, cart, {
          ...(file !== undefined ? { file } : {}),
          block: `frame ${frame}`,
        }),
      );
    } catch (e) {
      throw new ParseError((e as Error).message, where(ln + 1));
    }
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
