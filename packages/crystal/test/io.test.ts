import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { tmpdir } from "node:os";
import path from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  Composition,
  parseJsonText,
  decodeText,
  detectFormat,
  fileErrorReason,
  parseTypeSymbol,
  readStructureFile,
  readTextFile,
  resolveElement,
  neighbourList,
  ParseError,
  parseSymmetryOperation,
  readCif,
  readCifEntries,
  readJsonStructures,
  readStructureEntries,
  readPoscar,
  readStructures,
  toJarvisAtoms,
  toOptimade,
  toPymatgenDict,
  writeCif,
  writeExtxyz,
  writePoscar,
  InvalidStructureError,
  InputTooLargeError,
  Lattice,
  Structure,
  type Vec3,
} from "../src/index.js";
import { fixture } from "./helpers.js";

const CIFS = ["NaCl.cif", "LiCoO2.cif", "LiFePO4.cif", "LiMn2O4.cif", "LiTi2PO43.cif", "Li7La3Zr2O12.cif", "multi.cif"];

/** Same lattice, and the same multiset of (element, occupancy, wrapped position) within tolerance. */
function expectSameStructure(a: Structure, b: Structure, tol = 1e-6): void {
  expect(b.length).toBe(a.length);
  a.lattice.matrix.flat().forEach((x, i) => expect(b.lattice.matrix.flat()[i]).toBeCloseTo(x, 6));
  // Match every site of a to an unused site of b with the same element and occupancy at the same
  // position modulo lattice translations.
  const used = new Set<number>();
  for (const s of a.sites) {
    const j = b.sites.findIndex(
      (t, k) =>
        !used.has(k) &&
        t.element === s.element &&
        Math.abs((t.occupancy ?? 1) - (s.occupancy ?? 1)) < 1e-6 &&
        t.frac.every((x, c) => Math.abs(x - s.frac[c]! - Math.round(x - s.frac[c]!)) < tol),
    );
    expect(j, `${s.element} at ${s.frac.join(", ")} has no counterpart`).toBeGreaterThanOrEqual(0);
    used.add(j);
  }
}

describe("round trips (read → write → read)", () => {
  const all = CIFS.flatMap((f) => readStructures(fixture(f), { file: f }));

  it.each(all.map((s) => [s.source?.block ?? "?", s] as const))("%s through CIF (P1) and every JSON form", (_, s) => {
    expectSameStructure(s, readCif(writeCif(s))[0]!);
    expectSameStructure(s, readJsonStructures(JSON.stringify(toPymatgenDict(s)))[0]!);
    expectSameStructure(s, readJsonStructures(JSON.stringify({ data: [toOptimade(s)] }))[0]!);
    if (s.isOrdered) {
      expectSameStructure(s, readJsonStructures(JSON.stringify(toJarvisAtoms(s)))[0]!);
      expectSameStructure(s, readPoscar(writePoscar(s)), 1e-9);
      expectSameStructure(s, readPoscar(writePoscar(s, { cartesian: true })), 1e-9);
      expectSameStructure(s, readStructures(writeExtxyz(s), { format: "extxyz" })[0]!, 1e-9);
    } else {
      expect(() => writePoscar(s)).toThrowError(/needs an ordered structure/);
    }
  });

});

describe("text encodings and species that do not name an element", () => {
  const licoo2 = readFileSync(new URL("./fixtures/LiCoO2.cif", import.meta.url));
  const dir = mkdtempSync(path.join(tmpdir(), "ionrank-enc-"));
  const write = (name: string, bytes: Buffer) => {
    writeFileSync(path.join(dir, name), bytes);
    return path.join(dir, name);
  };

  it("reads UTF-8 with a byte-order mark, and Latin-1 comments without losing a byte", async () => {
    const bom = await readStructureFile(write("bom.cif", Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), licoo2])));
    expect(Composition.of(bom[0]!).reducedFormula).toBe("LiCoO2");
    const latin1 = Buffer.concat([Buffer.from("# M\xfcller, 1998\n", "latin1"), licoo2]);
    expect(decodeText(latin1).startsWith("# Müller, 1998\n")).toBe(true);
    expect(Composition.of((await readStructureFile(write("latin1.cif", latin1)))[0]!).reducedFormula).toBe("LiCoO2");
  });

  it("refuses a type symbol or label that is not an element instead of reading a nearby one (Cö3+ is not carbon)", async () => {
    const text = licoo2.toString("latin1");
    expect(text).toMatch(/\bCo3\+/);
    const corrupt = write("corrupt.cif", Buffer.from(text.replace(/\bCo3\+/g, "C\xf63+"), "latin1"));
    await expect(readStructureFile(corrupt)).rejects.toThrowError(/_atom_site_type_symbol "Cö3\+" does not name an element/);
    await expect(readStructureFile(corrupt)).rejects.toBeInstanceOf(ParseError);
    expect(() => readCif(text.replace(/\bCo3\+/g, "Cx3+"))).toThrowError(/_atom_site_type_symbol "Cx3\+" does not name an element/);
    expect(parseTypeSymbol("Fe3+")).toBe("Fe");
    expect(parseTypeSymbol("O2-")).toBe("O");
    expect(parseTypeSymbol("LI")).toBe("Li");
    expect(parseTypeSymbol("Fe+3")).toBe("Fe");
    expect(parseTypeSymbol("Co_oct")).toBeUndefined();
    expect(resolveElement("Co_oct")).toBe("Co");
    expect(resolveElement("C\ufffd1")).toBeUndefined();
  });

  it("shows a binary file's control bytes escaped, never raw, and cuts a long value", async () => {
    const bin = write("bin.cif", Buffer.concat([Buffer.from([0x00, 0x01, 0x02]), Buffer.from("binary junk\n")]));
    const err = await readStructureFile(bin).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ParseError);
    expect((err as ParseError).message).toBe(`${bin}, line 1: value "\\u0000\\u0001\\u0002binary" has no tag`);
    expect((err as ParseError).reason).toBe(`value "\\u0000\\u0001\\u0002binary" has no tag`);
    // Latin-1 bytes 0x80–0x9f are C1 controls; a block name is echoed too.
    const c1 = "data_x\u0085y\n_cell_length_a 1\n_cell_length_b \u009bz\n_cell_length_c 1\n_cell_angle_alpha 90\n_cell_angle_beta 90\n_cell_angle_gamma 90\nloop_\n_atom_site_label\n_atom_site_fract_x\n_atom_site_fract_y\n_atom_site_fract_z\nLi 0 0 0\n";
    expect(() => readCif(c1)).toThrowError('block x\\u0085y, line 3: _cell_length_b is "\\u009Bz", not a number');
    const long = `${"x".repeat(100)}\u0000`;
    expect(() => readCif(`data_a\n${long}\n`)).toThrowError(`line 2: value "${"x".repeat(40)}…" has no tag`);
  });

  it("says why a file cannot be read in words, with its name", async () => {
    await expect(readStructureFile(dir)).rejects.toThrowError(`${dir}: cannot read file: it is a folder, not a file`);
    await expect(readStructureFile(path.join(dir, "missing.cif"))).rejects.toThrowError(`${path.join(dir, "missing.cif")}: cannot read file: no such file`);
    const file = write("plain.cif", licoo2);
    await expect(readStructureFile(path.join(file, "x.cif"))).rejects.toThrowError(/plain\.cif\/x\.cif: cannot read file: a part of its path is a file, not a folder$/);
    // Root reads any file, so permission is checked on the mapping itself.
    expect(fileErrorReason(Object.assign(new Error("EACCES: permission denied, open 'x'"), { code: "EACCES" }))).toBe("permission denied");
    expect(fileErrorReason(Object.assign(new Error("EXDEV: odd, open 'x'"), { code: "EXDEV" }))).toBe("EXDEV: odd, open 'x'");
  });

  it("says a gzip file that inflates past the limit is too large (naming file and limit), not corrupt", async () => {
    // Node's own limit (4 GiB) takes gigabytes to reach; a lower cap is the same zlib stop (ERR_BUFFER_TOO_LARGE).
    const gz = write("big.cif.gz", gzipSync(licoo2));
    const err = (() => {
      try {
        readTextFile(gz, { maxBytes: 1000 });
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(InputTooLargeError);
    expect(err).toBeInstanceOf(ParseError);
    expect((err as InputTooLargeError).message).toBe(`${gz}: too large: its gzip data inflates to more than 1000 bytes (the limit)`);
    expect((err as InputTooLargeError).limit).toBe(1000);
    expect(readTextFile(gz, { maxBytes: licoo2.length }).text).toBe(licoo2.toString());
    expect(Composition.of((await readStructureFile(gz))[0]!).reducedFormula).toBe("LiCoO2");
    // Damaged data is still called corrupt.
    const cut = write("cut.cif.gz", gzipSync(licoo2).subarray(0, 40));
    expect(() => readTextFile(cut)).toThrowError(`${cut}: corrupt gzip data`);
  });
});

describe("multi-structure files, block by block", () => {
  it("readCifEntries gives each block its Structure or the ParseError naming it; readCif still refuses the file", () => {
    const good = readFileSync(new URL("./fixtures/LiCoO2.cif", import.meta.url), "utf8");
    const bad = good.replace("data_LiCoO2", "data_broken").replace(/_cell_length_b\s+\S+/, "_cell_length_b abc");
    const entries = readCifEntries(`${good}\n${bad}\n${good.replace("data_LiCoO2", "data_again")}`, { file: "two.cif" });
    expect(entries.map((e) => (e instanceof ParseError ? `error ${e.block}` : e.source?.block))).toEqual(["LiCoO2", "error broken", "again"]);
    expect((entries[1] as ParseError).message).toMatch(/^two\.cif, block broken, line \d+: _cell_length_b is "abc", not a number/);
    expect(() => readCif(`${good}\n${bad}`)).toThrowError(ParseError);
    expect(readStructureEntries(`${good}\n${bad}`, { file: "x.cif" })).toHaveLength(2);
  });
});

describe("numbers no crystal has", () => {
  it("refuses lattice vectors beyond 10,000 Å and positions beyond 10,000 cells, saying so", () => {
    expect(() => new Lattice([[1e200, 0, 0], [0, 3, 0], [0, 0, 3]])).toThrowError(/a lattice vector is 1\.00e\+200 Å long, more than 10000 Å: not a crystal cell/);
    const poscar = (scale: string, x = "0") => `LiCl\n${scale}\n4 0 0\n0 4 0\n0 0 4\nLi Cl\n1 1\nDirect\n${x} 0 0\n0.5 0.5 0.5\n`;
    expect(() => readPoscar(poscar("1e200"))).toThrowError(/not a crystal cell \(wrong scale factor or units\?\)/);
    expect(() => readPoscar(poscar("1", "1e15"))).toThrowError(/fractional coordinate 1000000000000000 is more than 10,000 cells away/);
    expect(readPoscar(poscar("1", "2.5")).sites[0]!.frac[0]).toBe(2.5);
  });
});

describe("CIF details", () => {
  it("reads uncertainties, oxidation-state type symbols, labels, any column order and CIF 2.0 syntax", () => {
    const cif = `#\\#CIF_2.0
data_test
_cell.length_a 5.4321(3)
_cell.length_b 5.4321(3)
_cell.length_c 5.4321
_cell.angle_alpha 90
_cell.angle_beta 90.000(5)
_cell.angle_gamma 90
_publ_section_title
;
 A multi-line
 title; with a semicolon
;
_journal_name_full '''Journal of "Quotes"'''
_some_list [1 2 [3 4]]
loop_
_space_group_symop.id
_space_group_symop.operation_xyz
1 'x, y, z'
2 '-x, -y, -z'
loop_
_atom_site.fract_z
_atom_site.type_symbol
_atom_site.label
_atom_site.fract_x
_atom_site.fract_y
0.25 Li1+ Li1 0.1 0.2
0.0 O2- O2a 0.5 0.5
0.5 ? Co_oct 0.0 0.0
`;
    const [s] = readCif(cif, { file: "t.cif" });
    expect(s!.lattice.parameters.a).toBeCloseTo(5.4321, 10);
    expect(s!.elements).toEqual(["Li", "Li", "O", "Co"]);
    expect(s!.sites.map((x) => x.label)).toEqual(["Li1", "Li1", "O2a", "Co_oct"]);
    expect(s!.sites[1]!.frac.map((x) => Number(x.toFixed(6)))).toEqual([0.9, 0.8, 0.75]);
  });

  it("merges symmetry images that coincide, within tolerance of rounded coordinates", () => {
    // Hexagonal 2b-like position written with four decimals: the 3-fold images land 1e-4 apart.
    const cif = `data_h
_cell_length_a 3
_cell_length_b 3
_cell_length_c 5
_cell_angle_alpha 90
_cell_angle_beta 90
_cell_angle_gamma 120
loop_
_symmetry_equiv_pos_as_xyz
x,y,z
-y,x-y,z
-x+y,-x,z
loop_
_atom_site_label
_atom_site_fract_x
_atom_site_fract_y
_atom_site_fract_z
Zn1 0.3333 0.6667 0
O1 0 0 0.375
`;
    const [s] = readCif(cif);
    expect(s!.length).toBe(2);
    expect(readCif(cif, { mergeTolerance: 1e-6 })[0]!.length).toBe(4);
  });

  it("parses symmetry operations in every common spelling", () => {
    expect(parseSymmetryOperation("-x+1/2, y, z+0.25")).toEqual({ rotation: [[-1, 0, 0], [0, 1, 0], [0, 0, 1]], translation: [0.5, 0, 0.25] });
    expect(parseSymmetryOperation("x-y,x,z+1/6").rotation).toEqual([[1, -1, 0], [1, 0, 0], [0, 0, 1]]);
    expect(parseSymmetryOperation("1/2+X, 1/2-Y, -Z").translation).toEqual([0.5, 0.5, 0]);
    expect(() => parseSymmetryOperation("x, y")).toThrow();
    expect(() => parseSymmetryOperation("x, y, q")).toThrow();
  });

  it.each([
    ["unterminated quote", "data_a\n_cell_length_a 'five\n", /line 2: unterminated ' quoted string/],
    ["unclosed text field", "data_a\n_title\n;\nnever closed\n", /line 3: text field opened with ';' is never closed/],
    ["loop with a missing value", "data_a\nloop_\n_a\n_b\n1 2\n3\n", /block a, line 6: loop of 2 columns .* has 3 values/],
    ["value before any block", "_cell_length_a 5\n", /line 1: data item found before the first data_ block/],
    ["space group without operations", "data_sg\n_symmetry_space_group_name_H-M 'P n m a'\n_cell_length_a 1\n_cell_length_b 1\n_cell_length_c 1\n_cell_angle_alpha 90\n_cell_angle_beta 90\n_cell_angle_gamma 90\nloop_\n_atom_site_label\n_atom_site_fract_x\n_atom_site_fract_y\n_atom_site_fract_z\nLi 0 0 0\n", /block sg, line 2: space group P n m a is given but no symmetry operations/],
    ["bad symmetry operation", "data_s\n_cell_length_a 1\n_cell_length_b 1\n_cell_length_c 1\n_cell_angle_alpha 90\n_cell_angle_beta 90\n_cell_angle_gamma 90\nloop_\n_symmetry_equiv_pos_as_xyz\n'x,y,w'\nloop_\n_atom_site_label\n_atom_site_fract_x\n_atom_site_fract_y\n_atom_site_fract_z\nLi 0 0 0\n", /block s, line 10: symmetry operation "x,y,w"/],
    ["unknown element", "data_e\n_cell_length_a 1\n_cell_length_b 1\n_cell_length_c 1\n_cell_angle_alpha 90\n_cell_angle_beta 90\n_cell_angle_gamma 90\nloop_\n_atom_site_label\n_atom_site_fract_x\n_atom_site_fract_y\n_atom_site_fract_z\nQq1 0 0 0\n", /block e, line 13: _atom_site_label "Qq1" does not name an element/],
    ["impossible cell angles", "data_c\n_cell_length_a 1\n_cell_length_b 1\n_cell_length_c 1\n_cell_angle_alpha 10\n_cell_angle_beta 10\n_cell_angle_gamma 150\nloop_\n_atom_site_label\n_atom_site_fract_x\n_atom_site_fract_y\n_atom_site_fract_z\nLi 0 0 0\n", /block c.*do not form a valid cell/],
  ])("%s is a ParseError naming the place", (_, text, message) => {
    expect(() => readCif(text, { file: "bad.cif" })).toThrowError(ParseError);
    expect(() => readCif(text, { file: "bad.cif" })).toThrowError(message);
    try {
      readCif(text, { file: "bad.cif" });
    } catch (e) {
      expect((e as ParseError).file).toBe("bad.cif");
    }
  });
});

describe("POSCAR, extended XYZ and JSON details", () => {
  it("VASP 4 needs the species; with them it reads", () => {
    expect(() => readPoscar(fixture("NaCl_vasp4.POSCAR"), { file: "P" })).toThrowError(/P, line 6: this is a VASP 4 file/);
    const s = readPoscar(fixture("NaCl_vasp4.POSCAR"), { species: ["Na", "Cl"] });
    expect(Composition.of(s).formula).toBe("Na4Cl4");
  });

  it("POSCAR errors name the line", () => {
    const p = "x\n1.0\n3 0 0\n0 3 0\n0 0 3\nLi O\n1 2\nDirect\n0 0 0\n0.5 0.5 0.5\n";
    expect(() => readPoscar(p)).toThrowError(/line 11: atom 3 needs three coordinates/);
    expect(() => readPoscar(p.replace("1 2", "1 2 3"))).toThrowError(/line 7: 2 species \(Li O\) but 3 counts/);
    expect(() => readPoscar(p.replace("Direct", "Fractional"))).toThrowError(/line 8: coordinate mode "Fractional"/);
    expect(() => readPoscar(p.replace("1 2", "1 2000000000"))).toThrowError(/line 7: species counts add up to 2000000001 atoms/);
  });

  it("extended XYZ: frames, Properties columns and errors", () => {
    const frames = readStructures(fixture("nacl.extxyz"), { file: "nacl.extxyz" });
    expect(frames).toHaveLength(2);
    expect(frames.map((f) => f.source?.block)).toEqual(["frame 0", "frame 1"]);
    const custom = `2\nLattice="4 0 0 0 4 0 0 0 4" Properties=id:I:1:species:S:1:pos:R:3 energy=-1.0\n1 Li 0 0 0\n2 O 2 2 2\n`;
    const [s] = readStructures(custom, { format: "extxyz" });
    expect(s!.elements).toEqual(["Li", "O"]);
    expect(s!.sites[1]!.frac).toEqual([0.5, 0.5, 0.5]);
    expect(() => readStructures("3\nLattice=\"4 0 0 0 4 0 0 0 4\"\nLi 0 0 0\n", { file: "t.xyz" })).toThrowError(/t.xyz, block frame 0, line 3: frame declares 3 atoms but the file ends after 1/);
    expect(() => readStructures("1\nno lattice here\nLi 0 0 0\n", { format: "extxyz" })).toThrowError(/no Lattice/);
  });

  it("OPTIMADE with disorder and vacancies, pymatgen multi-species sites, dataset entries", () => {
    const opt = {
      data: {
        id: "x",
        type: "structures",
        attributes: {
          lattice_vectors: [[4, 0, 0], [0, 4, 0], [0, 0, 4]],
          cartesian_site_positions: [[0, 0, 0], [2, 2, 2]],
          species_at_sites: ["LiNa", "O"],
          species: [
            { name: "LiNa", chemical_symbols: ["Li", "Na", "vacancy"], concentration: [0.5, 0.3, 0.2] },
            { name: "O", chemical_symbols: ["O"], concentration: [1] },
          ],
        },
      },
    };
    const [s] = readJsonStructures(JSON.stringify(opt));
    expect(s!.sites.map((x) => [x.element, x.occupancy ?? 1])).toEqual([["Li", 0.5], ["Na", 0.3], ["O", 1]]);
    const pmg = toPymatgenDict(s!) as { sites: unknown[] };
    expect(pmg.sites).toHaveLength(3);
    expect(() => readJsonStructures('[{"jid": "JVASP-1", "atoms": {"lattice_mat": [[1,0,0],[0,1,0],[0,0,1]], "coords": [[0,0,0]], "elements": ["Xx"]}}]', { file: "d.json" })).toThrowError(
      /d.json, block JVASP-1: atom 0: "Xx" is not an element symbol/,
    );
    expect(() => readJsonStructures('{"lattice": 1}', { file: "j.json" })).toThrowError(/j.json: JSON object is not a structure/);
    expect(() => readJsonStructures('{"a": [1, 2,, 3]}', { file: "j.json" })).toThrowError(/j.json.*: invalid JSON/);
  });

  it("reads Python's NaN / Infinity (json.dump) as strings, so the value's own check names the entry; other bad JSON is still refused", () => {
    const text = '[{"sys_name": "a", "target": NaN, "note": "NaN \\" Infinity"}, {"sys_name": "b", "target": -Infinity}, {"target": Infinity}]';
    expect(parseJsonText(text, "d.json")).toEqual([{ sys_name: "a", target: "NaN", note: 'NaN " Infinity' }, { sys_name: "b", target: "-Infinity" }, { target: "Infinity" }]);
    expect(() => parseJsonText('[{"target": NaN},\n {"x": 1,,}]', "d.json")).toThrowError(/^d\.json, line 2: invalid JSON/);
    // An unquoted key is no value Python wrote: the document stays invalid (quoting it would make it valid).
    expect(() => parseJsonText('[{"target": NaN}, {NaN: 1}]', "d.json")).toThrowError(/^d\.json, line 1: invalid JSON/);
    expect(() => parseJsonText('{"a": {Infinity\n : 2}}', "d.json")).toThrowError(/^d\.json, line 1: invalid JSON/);
    expect(() => readJsonStructures('[{"jid": "J1", "atoms": {"lattice_mat": [[1,0,0],[0,1,0],[0,0,1]], "coords": [[NaN,0,0]], "elements": ["Li"]}}]', { file: "d.json" })).toThrowError(/d\.json, block J1: /);
  });

  it("detects formats from names and content", () => {
    expect(detectFormat("", "x/POSCAR")).toBe("poscar");
    expect(detectFormat("", "CONTCAR_relaxed")).toBe("poscar");
    expect(detectFormat("", "a.vasp")).toBe("poscar");
    expect(detectFormat("", "a.cif")).toBe("cif");
    expect(detectFormat("", "a.json.gz")).toBe("json");
    expect(detectFormat("", "a.extxyz")).toBe("extxyz");
    expect(detectFormat(fixture("LiCoO2.cif"))).toBe("cif");
    expect(detectFormat(fixture("LiCoO2.POSCAR"))).toBe("poscar");
    expect(detectFormat(fixture("nacl.extxyz"))).toBe("extxyz");
    expect(detectFormat(JSON.stringify(toOptimade(readCif(fixture("NaCl.cif"))[0]!)))).toBe("json");
    expect(() => detectFormat("hello world", "notes.txt")).toThrowError(ParseError);
  });
});

describe("parsers fail only with ParseError and never hang (fuzzing)", () => {
  const inputs = [
    ...CIFS.map((f) => ({ file: f, text: fixture(f) })),
    ...["LiCoO2.POSCAR", "LiCoO2_cart_sd.POSCAR", "nacl.extxyz"].map((f) => ({ file: f, text: fixture(f) })),
    { file: "x.json", text: JSON.stringify(toPymatgenDict(readCif(fixture("LiCoO2.cif"))[0]!)) },
    { file: "o.json", text: JSON.stringify({ data: [toOptimade(readCif(fixture("NaCl.cif"))[0]!)] }) },
  ];
  const mutation = fc.oneof(
    fc.record({ kind: fc.constant("truncate" as const), at: fc.double({ min: 0, max: 1, noNaN: true }) }),
    fc.record({ kind: fc.constant("delete" as const), at: fc.double({ min: 0, max: 1, noNaN: true }), len: fc.integer({ min: 1, max: 40 }) }),
    fc.record({ kind: fc.constant("insert" as const), at: fc.double({ min: 0, max: 1, noNaN: true }), text: fc.string({ unit: fc.constantFrom(..."0123456789.-+eE/()'\";_[]{}# \nxyzLiOdata_loop_?".split("")), maxLength: 12 }) }),
    fc.record({ kind: fc.constant("lineswap" as const), a: fc.nat(), b: fc.nat() }),
    fc.record({ kind: fc.constant("dupline" as const), a: fc.nat(), times: fc.integer({ min: 1, max: 50 }) }),
  );
  const apply = (text: string, m: { kind: string; [k: string]: unknown }): string => {
    const pos = Math.floor((m.at as number) * text.length);
    const lines = text.split("\n");
    switch (m.kind) {
      case "truncate":
        return text.slice(0, pos);
      case "delete":
        return text.slice(0, pos) + text.slice(pos + (m.len as number));
      case "insert":
        return text.slice(0, pos) + (m.text as string) + text.slice(pos);
      case "lineswap": {
        const a = (m.a as number) % lines.length;
        const b = (m.b as number) % lines.length;
        [lines[a], lines[b]] = [lines[b]!, lines[a]!];
        return lines.join("\n");
      }
      default: {
        const a = (m.a as number) % lines.length;
        lines.splice(a, 0, ...Array(m.times as number).fill(lines[a]));
        return lines.join("\n");
      }
    }
  };

  it("thousands of mutated and truncated inputs", () => {
    let parsed = 0;
    let rejected = 0;
    fc.assert(
      fc.property(fc.constantFrom(...inputs), fc.array(mutation, { minLength: 1, maxLength: 3 }), fc.boolean(), (input, ms, keepName) => {
        const text = ms.reduce((t, m) => apply(t, m), input.text);
        try {
          const out = readStructures(text, keepName ? { file: input.file } : {});
          for (const s of out) neighbourList(s, 3);
          parsed++;
        } catch (e) {
          if (!(e instanceof ParseError)) throw e;
          expect(e.message.length).toBeGreaterThan(10);
          rejected++;
        }
      }),
      { numRuns: 4000 },
    );
    // Both outcomes happen: the fuzzer is really reaching the error paths and the happy paths.
    expect(parsed).toBeGreaterThan(100);
    expect(rejected).toBeGreaterThan(100);
  });
});

describe("disordered sites", () => {
  it("refuses species that share a position with occupancies adding up to more than 1, and names them", () => {
    const lattice = Lattice.fromParameters({ a: 4, b: 4, c: 4, alpha: 90, beta: 90, gamma: 90 });
    const at = (element: "Li" | "Na" | "K" | "O", frac: Vec3, occupancy?: number) => ({ element, frac, ...(occupancy ? { occupancy } : {}) });
    expect(() => new Structure(lattice, [at("Li", [0, 0, 0], 0.8), at("Na", [0, 0, 0], 0.8), at("O", [0.5, 0.5, 0.5])])).toThrowError(
      /sites 0 \(Li 0\.8\), 1 \(Na 0\.8\) share one position but their occupancies add up to 1\.6, more than 1/,
    );
    // The same position through a periodic boundary.
    expect(() => new Structure(lattice, [at("Li", [0, 0, 0], 0.6), at("Na", [1, 0, 0], 0.6)])).toThrowError(InvalidStructureError);
    // A shared site that adds up to 1 (rounded), and split positions apart from each other, are fine.
    expect(new Structure(lattice, [at("Li", [0, 0, 0], 0.334), at("Na", [0, 0, 0], 0.333), at("K", [0, 0, 0], 0.334)]).length).toBe(3);
    expect(new Structure(lattice, [at("Li", [0, 0, 0], 0.8), at("Li", [0.05, 0, 0], 0.8)]).length).toBe(2);
  });
});
