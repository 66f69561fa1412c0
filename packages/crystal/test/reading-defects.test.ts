import { describe, expect, it } from "vitest";
import {
  Composition,
  Lattice,
  parseSymmetryOperation,
  readCif,
  readJsonStructures,
  readPoscar,
  readStructures,
  Structure,
  type Site,
  type Vec3,
} from "../src/index.js";
import { closeSitePairs } from "../src/structure.js";

/** Rock-salt cell header and the four F-centring operations. */
const HDR = "data_t\n_cell_length_a 5.6402\n_cell_length_b 5.6402\n_cell_length_c 5.6402\n_cell_angle_alpha 90\n_cell_angle_beta 90\n_cell_angle_gamma 90\n";
const FCC_OPS = "loop_\n_symmetry_equiv_pos_as_xyz\nx,y,z\nx,y+1/2,z+1/2\nx+1/2,y,z+1/2\nx+1/2,y+1/2,z\n";
const ATOMS = (rows: string) => `loop_\n_atom_site_label\n_atom_site_type_symbol\n_atom_site_fract_x\n_atom_site_fract_y\n_atom_site_fract_z\n${rows}`;
const formula = (s: Structure) => Composition.of(s).reducedFormula;

describe("CIF: space groups and symmetry operations", () => {
  it("a Hall symbol alone names a space group: without operations it is refused, not read as P1", () => {
    const atoms = ATOMS("Na1 Na 0 0 0\nCl1 Cl 0.5 0.5 0.5\n");
    for (const tag of ["_symmetry_space_group_name_Hall", "_space_group_name_Hall", "_space_group.name_Hall"]) {
      expect(() => readCif(`${HDR}${tag} '-F 4 2 3'\n${atoms}`, { file: "h.cif" })).toThrowError(
        /^h\.cif, block t, line 8: space group -F 4 2 3 \(Hall\) is given but no symmetry operations/,
      );
    }
    expect(formula(readCif(`${HDR}_symmetry_space_group_name_Hall 'P 1'\n${atoms}`)[0]!)).toBe("NaCl");
    expect(formula(readCif(`${HDR}_symmetry_space_group_name_Hall '-F 4 2 3'\n${FCC_OPS}${atoms}`)[0]!)).toBe("NaCl");
  });

  it("refuses operations that are not crystallographic (non-integer or singular rotation), naming operation and line", () => {
    expect(() => parseSymmetryOperation("0.5x,y,z")).toThrowError(/rotation coefficient 0\.5 is not an integer/);
    expect(() => parseSymmetryOperation("x,x,z")).toThrowError(/determinant 0, not ±1/);
    expect(() => parseSymmetryOperation("2x,y,z")).toThrowError(/determinant 2/);
    expect(parseSymmetryOperation("x-y,-y,-z+1/2").rotation).toEqual([[1, -1, 0], [0, -1, 0], [0, 0, -1]]);
    const ops = (op: string) => `loop_\n_symmetry_equiv_pos_as_xyz\nx,y,z\n${op}\n`;
    expect(() => readCif(`${HDR}${ops("0.5x,y,z")}${ATOMS("Na1 Na 0.3 0 0\n")}`, { file: "o.cif" })).toThrowError(
      /^o\.cif, block t, line 11: symmetry operation "0\.5x,y,z": rotation coefficient 0\.5 is not an integer/,
    );
    expect(() => readCif(`${HDR}${ops("x,x,z")}${ATOMS("Na1 Na 0.3 0 0\n")}`)).toThrowError(/line 11: symmetry operation "x,x,z": rotation part has determinant 0/);
  });
});

describe("CIF: sites that land on one position", () => {
  const hex = (occupancy = "") =>
    `data_hex\n_cell_length_a 20.0\n_cell_length_b 20.0\n_cell_length_c 5.0\n_cell_angle_alpha 90\n_cell_angle_beta 90\n_cell_angle_gamma 120\n` +
    `loop_\n_symmetry_equiv_pos_as_xyz\nx,y,z\n-y,x-y,z\n-x+y,-x,z\n` +
    `loop_\n_atom_site_label\n_atom_site_type_symbol\n_atom_site_fract_x\n_atom_site_fract_y\n_atom_site_fract_z\n${occupancy ? "_atom_site_occupancy\n" : ""}` +
    `Li1 Li 0.333 0.667 0.0 ${occupancy}\nO1 O 0 0 0.5 ${occupancy ? "1" : ""}\n`;

  it("takes a site's precision from its least precise coordinate: 0.333 0.667 beside a 4-decimal z still merges", () => {
    const [s] = readCif(hex().replace("Li1 Li 0.333 0.667 0.0", "Li1 Li 0.333 0.667 0.1234"));
    expect(s!.length).toBe(2);
    expect(formula(s!)).toBe("LiO");
  });

  it("reads a CIF of 130,000 atoms (one argument per atom overflowed the stack)", () => {
    const rows: string[] = [];
    for (let i = 0; i < 130_000; i++) rows.push(`Li${i} Li ${((i % 50) / 50 + 0.01).toFixed(4)} ${((Math.floor(i / 50) % 52) / 52 + 0.01).toFixed(4)} ${(Math.floor(i / 2600) / 50 + 0.01).toFixed(4)}`);
    const text = `data_big\n_cell_length_a 100\n_cell_length_b 104\n_cell_length_c 100\n_cell_angle_alpha 90\n_cell_angle_beta 90\n_cell_angle_gamma 90\n${ATOMS(rows.join("\n"))}\n`;
    expect(readCif(text)[0]!.length).toBe(130_000);
  }, 30_000);

  it("merges symmetry images of a special position rounded to 3 decimals in a 20 Å cell (0.02 Å apart)", () => {
    const [s] = readCif(hex());
    expect(formula(s!)).toBe("LiO");
    expect(s!.length).toBe(2);
    // Partly occupied, the merged site keeps its occupancy (it was "occupancies add up to 1.5").
    const [half] = readCif(hex("0.5"));
    expect(half!.sites.map((x) => [x.element, x.occupancy ?? 1])).toEqual([["Li", 0.5], ["O", 1]]);
  });

  it("does not merge positions farther apart than the coordinates' precision allows", () => {
    // Four decimals in a 20 Å cell: tolerance 0.004 Å → 0.01 Å floor; these images are 0.2 Å apart.
    const [s] = readCif(hex().replace("0.333 0.667", "0.3233 0.6667"));
    expect(s!.length).toBe(4);
  });

  it("refuses two fully occupied atom-site rows on one position, naming both labels", () => {
    const text = `${HDR}${FCC_OPS}${ATOMS("Na1 Na 0 0 0\nNa2 Na 0.5 0.5 0\nCl1 Cl 0.5 0.5 0.5\n")}`;
    expect(() => readCif(text, { file: "d.cif" })).toThrowError(
      /^d\.cif, block t, line 21: atom sites Na1 \(line 20\) and Na2 put atoms 0\.000 Å apart, on one position, with occupancies adding up to 2, more than 1$/,
    );
    // A mixed site whose rows share the position is fine.
    const mixed = `${HDR}${FCC_OPS}loop_\n_atom_site_label\n_atom_site_type_symbol\n_atom_site_fract_x\n_atom_site_fract_y\n_atom_site_fract_z\n_atom_site_occupancy\nNa1 Na 0 0 0 0.5\nLi1 Li 0 0 0 0.5\nCl1 Cl 0.5 0.5 0.5 1\n`;
    const [m] = readCif(mixed);
    expect(m!.length).toBe(12);
    expect(m!.sites.filter((x) => x.element !== "Cl").map((x) => x.occupancy)).toEqual(Array(8).fill(0.5));
  });
});

describe("CIF: items", () => {
  it("refuses a tag given twice, naming the tag and both lines", () => {
    const text = `${HDR}_cell_length_a 50\n${ATOMS("Na1 Na 0 0 0\n")}`;
    expect(() => readCif(text, { file: "dup.cif" })).toThrowError(/^dup\.cif, block t, line 8: tag _cell_length_a is given twice, on lines 2 and 8$/);
    expect(() => readCif(`${HDR}${ATOMS("Na1 Na 0 0 0\n")}loop_\n_atom_site_label\n_atom_site_fract_x\nX 1\n`)).toThrowError(/tag _atom_site_label is given twice, on lines 9 and 16/);
    // The same tag in another block, or in dictionary save frames, is not a repeat.
    expect(readCif(`${HDR}${ATOMS("Na1 Na 0 0 0\n")}${HDR.replace("data_t", "data_u")}${ATOMS("Cl1 Cl 0 0 0\n")}`)).toHaveLength(2);
    expect(readCif(`${HDR}save_a\n_name x\nsave_\nsave_b\n_name y\nsave_\n${ATOMS("Na1 Na 0 0 0\n")}`)).toHaveLength(1);
  });

  it("reads a one-atom structure written without loop_, with every _atom_site_ item", () => {
    const text = `${HDR}_atom_site_label Na1\n_atom_site_type_symbol Na\n_atom_site_fract_x 0.1\n_atom_site_fract_y 0.2\n_atom_site_fract_z 0.3\n_atom_site_occupancy 0.5\n`;
    const [s] = readCif(text);
    expect(s!.sites).toEqual([{ element: "Na", frac: [0.1, 0.2, 0.3], occupancy: 0.5, label: "Na1" }]);
    const [typeOnly] = readCif(`${HDR}_atom_site_type_symbol Na\n_atom_site_fract_x 0.1\n_atom_site_fract_y 0.2\n_atom_site_fract_z 0.3\n`);
    expect(typeOnly!.elements).toEqual(["Na"]);
  });
});

describe("cells no crystal has, in every format", () => {
  it("refuses a cell thinner than 0.5 Å between lattice planes", () => {
    const flat = `data_flat\n_cell_length_a 5\n_cell_length_b 5\n_cell_length_c 5\n_cell_angle_alpha 60\n_cell_angle_beta 60\n_cell_angle_gamma 119.9999\n${ATOMS("Na1 Na 0 0 0\n")}`;
    expect(() => readCif(flat, { file: "f.cif" })).toThrowError(/^f\.cif, block flat, line 2: the cell is only 0\.009 Å thick between lattice planes, less than 0\.5 Å: not a crystal cell$/);
    const tiny = HDR.replace(/5\.6402/g, "0.01");
    expect(() => readCif(tiny + ATOMS("Na1 Na 0 0 0\n"))).toThrowError(/the cell is only 0\.010 Å thick/);
    expect(() => readPoscar("x\n0.01\n1 0 0\n0 1 0\n0 0 1\nNa\n1\nDirect\n0 0 0\n", { file: "P" })).toThrowError(/^P: the cell is only 0\.010 Å thick/);
    expect(() => readJsonStructures('{"lattice":{"matrix":[[4,0,0],[0,4,0],[0,0,0.3]]},"sites":[{"species":[{"element":"Na"}],"abc":[0,0,0]}]}', { file: "j.json" })).toThrowError(
      /^j\.json: the cell is only 0\.300 Å thick/,
    );
    expect(() => readStructures('1\nLattice="4 0 0 0 4 0 0 0 0.2"\nNa 0 0 0\n', { format: "extxyz" })).toThrowError(/line 2: the cell is only 0\.200 Å thick/);
  });
});

describe("JSON: what is given is read, never defaulted", () => {
  const pmg = (sites: string) => `{"lattice":{"matrix":[[4,0,0],[0,4,0],[0,0,4]]},"sites":[${sites}]}`;
  const opt = (extra: object) =>
    JSON.stringify({ lattice_vectors: [[4, 0, 0], [0, 4, 0], [0, 0, 4]], cartesian_site_positions: [[0, 0, 0], [2, 2, 2]], species_at_sites: ["Na", "Cl"], ...extra });

  it("refuses structures without atoms", () => {
    expect(() => readJsonStructures(pmg(""), { file: "e.json" })).toThrowError(/^e\.json: no atoms$/);
    const vacancy = JSON.stringify({
      lattice_vectors: [[4, 0, 0], [0, 4, 0], [0, 0, 4]],
      cartesian_site_positions: [[0, 0, 0]],
      species_at_sites: ["Na"],
      species: [{ name: "Na", chemical_symbols: ["vacancy"], concentration: [1] }],
    });
    expect(() => readJsonStructures(vacancy)).toThrowError(/no atoms/);
  });

  it("reads numeric-string occupancies, refuses other ones", () => {
    const s = readJsonStructures(pmg('{"species":[{"element":"Na","occu":"0.5"}],"abc":[0,0,0]},{"species":[{"element":"Cl","occu":1}],"abc":[0.5,0.5,0.5]}'))[0]!;
    expect(s.sites.map((x) => x.occupancy ?? 1)).toEqual([0.5, 1]);
    expect(() => readJsonStructures(pmg('{"species":[{"element":"Na","occu":"half"}],"abc":[0,0,0]}'), { file: "o.json" })).toThrowError(
      /^o\.json: sites\[0\] \(Na\) occu is "half", not a number$/,
    );
  });

  it("reads JARVIS cartesian written as a string, refuses anything else", () => {
    const jarvis = (flag: string, x = 2) => `{"atoms":{"lattice_mat":[[4,0,0],[0,4,0],[0,0,4]],"coords":[[0,0,0],[${x},${x},${x}]],"elements":["Na","Cl"],"cartesian":${flag}}}`;
    expect(readJsonStructures(jarvis('"true"'))[0]!.sites[1]!.frac).toEqual([0.5, 0.5, 0.5]);
    expect(readJsonStructures(jarvis("true"))[0]!.sites[1]!.frac).toEqual([0.5, 0.5, 0.5]);
    expect(readJsonStructures(jarvis('"false"', 0.25))[0]!.sites[1]!.frac).toEqual([0.25, 0.25, 0.25]);
    expect(() => readJsonStructures(jarvis('"yes"'))).toThrowError(/atoms\.cartesian is "yes", not true or false/);
  });

  it("OPTIMADE: concentration must match chemical_symbols; only 3D periodic structures", () => {
    const species = (conc: number[]) => ({ species: [{ name: "Na", chemical_symbols: ["Na", "K"], concentration: conc }, { name: "Cl", chemical_symbols: ["Cl"], concentration: [1] }] });
    expect(() => readJsonStructures(opt(species([0.5])))).toThrowError(/species Na: concentration must list one number per chemical symbol \(2\)/);
    expect(readJsonStructures(opt(species([0.5, 0.5])))[0]!.length).toBe(3);
    expect(() => readJsonStructures(opt({ ...species([0.5, 0.5]), dimension_types: [1, 1, 0] }))).toThrowError(/^dimension_types \[1,1,0\]: not a 3D periodic crystal$/);
    expect(() => readJsonStructures(opt({ nperiodic_dimensions: 2 }))).toThrowError(/nperiodic_dimensions 2: not a 3D periodic crystal/);
  });

  it("refuses two fully occupied sites on one position, naming both; keeps pairs 0.014 Å apart and pathway images on host atoms", () => {
    const two = pmg('{"species":[{"element":"Na","occu":1}],"abc":[0,0,0]},{"species":[{"element":"Na","occu":1}],"abc":[0,0,0]},{"species":[{"element":"Cl","occu":1}],"abc":[0.5,0.5,0.5]}');
    expect(() => readJsonStructures(two, { file: "two.json" })).toThrowError(
      /^two\.json: sites 0 \(Na\) and 1 \(Na\) are 0\.000 Å apart, the same position, but their occupancies add up to 2, more than 1$/,
    );
    const near = pmg('{"species":[{"element":"Na"}],"abc":[0,0,0]},{"species":[{"element":"Na"}],"abc":[0.0035,0,0]}');
    expect(readJsonStructures(near)[0]!.length).toBe(2);
    // The dataset's image form: five images of Li, the middle one on a host Ru (as in LiRuO2_1).
    const coords = [[0, 0, 0], [0.125, 0, 0], [0.25, 0, 0], [0.375, 0, 0], [0.5, 0, 0], [0.25, 0, 0], [0.5, 0.5, 0.5]];
    const images = { atoms: { lattice_mat: [[8, 0, 0], [0, 4, 0], [0, 0, 4]], coords, elements: ["Li", "Li", "Li", "Li", "Li", "Ru", "O"], cartesian: false } };
    expect(readJsonStructures(JSON.stringify(images))[0]!.length).toBe(7);
    // The same overlap in a bulk structure is refused.
    const bulk = { atoms: { ...images.atoms, elements: ["Li", "Na", "Li", "Li", "Li", "Ru", "O"] } };
    expect(() => readJsonStructures(JSON.stringify(bulk))).toThrowError(/sites 2 \(Li\) and 5 \(Ru\) are 0\.000 Å apart/);
  });

  it("refuses deeply nested lists with a clear error instead of overflowing the stack", () => {
    expect(() => readJsonStructures("[".repeat(200_000) + "]".repeat(200_000), { file: "deep.json" })).toThrowError(/^deep\.json: JSON nested more than 32 lists deep/);
  });
});

describe("extended XYZ metadata", () => {
  const frame = (comment: string, rows = "Na 0 0 0\nCl 2 2 2\n") => `2\nLattice="4 0 0 0 4 0 0 0 4" ${comment}\n${rows}`;
  it("reads an occupancy column", () => {
    const [s] = readStructures(frame("Properties=species:S:1:pos:R:3:occupancy:R:1", "Na 0 0 0 0.5\nCl 2 2 2 1\n"), { format: "extxyz" });
    expect(s!.sites.map((x) => x.occupancy ?? 1)).toEqual([0.5, 1]);
  });
  it("refuses non-periodic frames, repeated keys and columns Properties does not describe", () => {
    expect(() => readStructures(frame('pbc="F F F"'), { format: "extxyz", file: "m.xyz" })).toThrowError(/^m\.xyz, block frame 0, line 2: pbc="F F F": not a 3D periodic crystal$/);
    expect(readStructures(frame('pbc="T T T"'), { format: "extxyz" })).toHaveLength(1);
    expect(() => readStructures(frame('Lattice="8 0 0 0 8 0 0 0 8"'), { format: "extxyz" })).toThrowError(/line 2: Lattice= is given twice on the comment line/);
    expect(() => readStructures(frame("Properties=species:S:1:pos:R:3", "Na 0 0 0\nCl 2 2 2 junk 1 2\n"), { format: "extxyz" })).toThrowError(
      /line 4: atom 2 has 7 columns but Properties describes 4/,
    );
  });
});

describe("a pathway written in its image form, in any format", () => {
  // LiRuO2_1-like: the middle image sits on a Ru. As a host structure that is two atoms on one place; as a
  // pathway's images (first in the file) it is the hop the dataset describes.
  const poscar = "LiRuO2 path images\n1.0\n8 0 0\n0 4 0\n0 0 4\nLi Ru O\n5 1 1\nDirect\n0 0 0\n0.125 0 0\n0.25 0 0\n0.375 0 0\n0.5 0 0\n0.25 0 0\n0.5 0.5 0.5\n";
  const xyz = 'Lattice="8 0 0 0 4 0 0 0 4" Properties=species:S:1:pos:R:3 pbc="T T T"\nLi 0 0 0\nLi 1 0 0\nLi 2 0 0\nLi 3 0 0\nLi 4 0 0\nRu 2 0 0\nO 4 2 2\n';

  it("reads POSCAR and extended XYZ path structures whose image passes through a host atom, as JSON did", () => {
    expect(readPoscar(poscar).length).toBe(7);
    expect(readStructures(`7\n${xyz}`, { format: "extxyz" })[0]!.length).toBe(7);
  });

  it("still refuses the same overlap when the file is not a pathway's images", () => {
    const host = poscar.replace("Li Ru O\n5 1 1", "Li Ru O\n1 5 1").replace("0 0 0\n0.125", "0.25 0 0\n0.125");
    expect(() => readPoscar(host)).toThrowError(/0\.000 Å apart, the same position/);
  });
});

describe("POSCAR counts", () => {
  it("refuses more coordinate lines than the counts say; a blank line and velocities after them are fine", () => {
    const head = "NaCl\n5.64\n1 0 0\n0 1 0\n0 0 1\nNa Cl\n1 1\nDirect\n0 0 0\n0.5 0.5 0.5\n";
    expect(() => readPoscar(`${head}0.5 0 0\n0 0.5 0.5\n`, { file: "P" })).toThrowError(/^P, line 11: the counts say 2 atoms but 4 coordinate lines follow$/);
    expect(readPoscar(`${head}\n0.01 0.02 0.03\n0 0 0\n`).length).toBe(2);
  });
});

describe("shared-occupancy check scales", () => {
  it("checks 100,000 sites with partial occupancy in seconds, not minutes", () => {
    const sites: Site[] = [];
    const k = 47;
    for (let i = 0; i < 100_000; i++) {
      const frac: Vec3 = [Math.floor(i / (k * k)) / k, (Math.floor(i / k) % k) / k, (i % k) / k];
      sites.push({ element: "Li", frac, ...(i % 10 === 0 ? { occupancy: 0.5 } : {}) });
    }
    const t = performance.now();
    expect(new Structure(Lattice.cubic(200), sites).length).toBe(100_000);
    expect(performance.now() - t).toBeLessThan(10_000);
  });

  it("closeSitePairs finds exactly the pairs a brute-force search finds, in skewed cells", () => {
    let seed = 7;
    let found = 0;
    const rnd = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
    for (let trial = 0; trial < 20; trial++) {
      const lattice = Lattice.fromParameters({ a: 3 + 5 * rnd(), b: 3 + 5 * rnd(), c: 3 + 5 * rnd(), alpha: 75 + 30 * rnd(), beta: 75 + 30 * rnd(), gamma: 75 + 30 * rnd() });
      const n = trial < 10 ? 30 : 200;
      const sites: Site[] = [];
      for (let i = 0; i < n; i++) {
        // Clusters of nearby points, some across the cell boundary.
        const base = i % 3 === 0 || sites.length === 0 ? ([rnd() * 3 - 1, rnd(), rnd()] as Vec3) : sites[sites.length - 1]!.frac;
        sites.push({ element: "Li", frac: base.map((x) => x + (rnd() - 0.5) * 0.05) as Vec3 });
      }
      const radius = 0.3;
      const brute: string[] = [];
      for (let i = 0; i < n; i++)
        for (let j = i + 1; j < n; j++) if (lattice.minimumImage(sites[i]!.frac, sites[j]!.frac).distance < radius) brute.push(`${i}-${j}`);
      const fast = closeSitePairs(lattice, sites, radius).map(([i, j]) => `${i}-${j}`);
      expect(fast.sort()).toEqual(brute.sort());
      found += brute.length;
    }
    expect(found).toBeGreaterThan(100);
  });
});
