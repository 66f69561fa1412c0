import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { Pathway, readJsonStructures, readStructures, Structure, writePoscar } from "@ionrank/crystal";
import { FIXTURES, ionrank as run, ROOT, SHARED } from "./helpers.js";

const FIX = FIXTURES;

const ionrank = (...args: string[]) => run(args);

describe("npx ionrank hops", () => {
  it("prints the symmetry-distinct hops with the documented fields", () => {
    const r = ionrank("hops", join(FIX, "LiFePO4.cif"), "--ion", "Li", "--max-length", "5", "--json");
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const hops = JSON.parse(r.stdout) as Record<string, unknown>[];
    expect(Object.keys(hops[0]!).sort()).toEqual(["dimensionality", "from", "length", "minClearance", "multiplicity", "to"]);
    expect(hops[0]).toMatchObject({ length: 3.005, multiplicity: 4, dimensionality: 1 });
    expect((hops[0]!.to as number[])[1]! - (hops[0]!.from as number[])[1]!).toBeCloseTo(-0.5, 8);
    const longer = ionrank("hops", join(FIX, "LiFePO4.cif"), "--ion", "Li", "--max-length", "3.1", "--json");
    expect(JSON.parse(longer.stdout)).toHaveLength(1);
  });

  it("says why a structure has no hops: NASICON's Li sites are further apart than the search length", () => {
    const r = ionrank("hops", join(FIX, "LiTi2PO43.cif"), "--ion", "Li");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/\n {2}none: no Li hops up to 5 Å between its Li sites: the nearest two are (\d\.\d\d) Å apart \(hops through vacant sites must be given as pathways/);
    const nearest = Number(/nearest two are (\d\.\d\d) Å/.exec(r.stdout)![1]);
    const wide = JSON.parse(ionrank("hops", join(FIX, "LiTi2PO43.cif"), "--ion", "Li", "--max-length", String(nearest + 0.01), "--json").stdout);
    expect(wide[0].length).toBeCloseTo(nearest, 2);
  });

  it("fails clearly for a missing ion, a disordered structure and a bad --ion", () => {
    const na = ionrank("hops", join(FIX, "LiCoO2.cif"), "--ion", "Na", "--json");
    expect(na.code).toBe(1);
    expect(na.stderr).toMatch(/no Na sites/);
    const llzo = ionrank("hops", join(FIX, "Li7La3Zr2O12.cif"), "--ion", "Li");
    expect(llzo.code).toBe(1);
    expect(llzo.stderr).toMatch(/needs an ordered structure/);
    expect(ionrank("hops", join(FIX, "LiCoO2.cif"), "--ion", "Lithium").code).toBe(2);
  });
});

describe("npx ionrank pathway", () => {
  const dir = mkdtempSync(join(tmpdir(), "ionrank-path-"));
  const train = JSON.parse(readFileSync(join(SHARED, "em/train.json"), "utf8"));
  const p = Pathway.fromImageStructure(readJsonStructures(train[3])[0]!);
  const { initial, final } = p.toEndpoints();
  // Put the moving ion somewhere in the middle of the atom list, as NEB set-ups often do.
  const order = [...initial.sites.keys()];
  order.splice(0, 1);
  order.splice(10, 0, 0);
  writeFileSync(join(dir, "POSCAR_initial"), writePoscar(initial.permuted(order)));
  writeFileSync(join(dir, "POSCAR_final"), writePoscar(final.permuted(order)));

  it("finds the moved ion and prints its images", () => {
    const r = ionrank("pathway", "--initial", join(dir, "POSCAR_initial"), "--final", join(dir, "POSCAR_final"), "--json");
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.ion).toBe(p.ion);
    expect(out.length).toBeCloseTo(p.length, 5);
    expect(out.images).toHaveLength(5);
    // The index is the moved atom's position in file A (POSCARs group atoms by species, so read it back).
    const a = readStructures(readFileSync(join(dir, "POSCAR_initial"), "utf8"), { format: "poscar" })[0]!;
    const moved = a.sites[out.index]!;
    expect(moved.element).toBe(p.ion);
    expect(a.lattice.minimumImage(moved.frac, p.initial).distance).toBeLessThan(1e-6);
    expect(a.sites.filter((s) => s.element === p.ion).length).toBeGreaterThan(1);
    out.images.forEach((img: number[], k: number) => img.forEach((x, a) => expect(x - p.images[k]![a]! - Math.round(x - p.images[k]![a]!)).toBeCloseTo(0, 6)));
  });

  it("names the atoms when more than one moved, and rejects different cells", () => {
    const moved = new Structure(final.lattice, final.sites.map((s, i) => (i === 7 ? { ...s, frac: [s.frac[0] + 0.3, s.frac[1], s.frac[2]] } : s)));
    writeFileSync(join(dir, "two.vasp"), writePoscar(moved));
    writeFileSync(join(dir, "init.vasp"), writePoscar(initial));
    const r = ionrank("pathway", "--initial", join(dir, "init.vasp"), "--final", join(dir, "two.vasp"), "--json");
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/2 atoms moved more than 1 Å: .*\(site \d+\), .*\(site \d+\)/);
    const r2 = ionrank("pathway", "--initial", join(dir, "init.vasp"), "--final", join(FIX, "LiCoO2.POSCAR"));
    expect(r2.code).toBe(1);
    expect(r2.stderr).toMatch(/atoms but final has|compositions differ/);
  });
});

describe("npx ionrank featurize", () => {
  it("writes a dataset with a progress bar and a JSON summary; a pre-training file works the same way", () => {
    const dir = mkdtempSync(join(tmpdir(), "ionrank-fz-"));
    const r = ionrank("featurize", "--data", join(SHARED, "em/train.json"), "--out", join(dir, "em"));
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/featurize \[#+\] 100% 559\/559/);
    const summary = JSON.parse(r.stdout);
    expect(summary).toMatchObject({ graphs: 559, atoms: 71553, properties: ["em"] });
    const manifest = JSON.parse(readFileSync(join(dir, "em/manifest.json"), "utf8"));
    expect(manifest.featurizer.version).toBe(summary.featurizerVersion);
    expect(manifest.sources[0].kind).toBe("pathway");
    const pz = ionrank("featurize", "--data", join(SHARED, "pretrain/pz.json.gz"), "--out", join(dir, "pz"), "--quiet");
    expect(pz.code).toBe(0);
    expect(JSON.parse(pz.stdout)).toMatchObject({ graphs: 940, properties: ["pz"], kinds: { [join(SHARED, "pretrain/pz.json.gz")]: "bulk" } });
    const bad = ionrank("featurize", "--data", join(FIX, "NaCl.cif"), "--out", join(dir, "bad"));
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/NaCl\.cif.*invalid JSON|NaCl\.cif.*not/);
    expect(existsSync(join(dir, "bad"))).toBe(false);
  });

  it("--crop-radius and --image-bonds host reach the dataset's featurizer; a bad choice is a usage error", () => {
    const dir = mkdtempSync(join(tmpdir(), "ionrank-fz-"));
    const r = ionrank("featurize", "--data", join(SHARED, "em/train.json"), "--out", join(dir, "em"), "--crop-radius", "3.5", "--image-bonds", "host", "--quiet");
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).featurizerVersion).toMatch(/-crop3\.5-ihost$/);
    const manifest = JSON.parse(readFileSync(join(dir, "em/manifest.json"), "utf8"));
    expect(manifest.featurizer.config).toMatchObject({ cropRadius: 3.5, imageBonds: "host" });
    const bad = ionrank("featurize", "--data", join(SHARED, "em/train.json"), "--out", join(dir, "bad"), "--image-bonds", "images");
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--image-bonds must be one of all, host, probe, not "images"/);
    expect(existsSync(join(dir, "bad"))).toBe(false);
  });

  it("--crop-radius takes a plain decimal, and no value may be empty: usage errors, not another crop or folder", () => {
    const dir = mkdtempSync(join(tmpdir(), "ionrank-fz-"));
    writeFileSync(join(dir, "em.json"), JSON.stringify(JSON.parse(readFileSync(join(SHARED, "em/train.json"), "utf8")).slice(0, 2)));
    // Number() reads "" and " " as 0 (an uncropped dataset) and "0x4" as 4.
    for (const value of ["", " ", "0x4", "Infinity", "-1"]) {
      const r = ionrank("featurize", "--data", join(dir, "em.json"), "--out", join(dir, "out"), `--crop-radius=${value}`, "--quiet");
      expect(r.code, value).toBe(2);
      expect(r.stderr).toContain(`--crop-radius must be a distance in Å ≥ 0 (got "${value}")`);
      expect(existsSync(join(dir, "out"))).toBe(false);
    }
    // Empty values (unset shell variables): "" as --out would be the current folder.
    for (const [flags, message] of [
      [["--data", join(dir, "em.json"), "--out="], "--out needs a folder name, not an empty value"],
      [["--data=", "--out", join(dir, "out")], "--data needs a file name, not an empty value"],
      [["--data", join(dir, "em.json"), "--out", join(dir, "out"), "--property="], "--property needs a name, not an empty value"],
    ] as const) {
      const r = ionrank("featurize", ...flags, "--quiet");
      expect(r.code, message).toBe(2);
      expect(r.stderr).toContain(message);
      expect(existsSync(join(dir, "out"))).toBe(false);
    }
    const ok = ionrank("featurize", "--data", join(dir, "em.json"), "--out", join(dir, "out"), "--crop-radius", "3.5", "--quiet");
    expect(ok.code, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout).featurizerVersion).toMatch(/-crop3\.5$/);
  });

  it("a write that fails (file size limit, as on a full disk) into a new nested --out removes the folders it made, and only those", () => {
    const dir = mkdtempSync(join(tmpdir(), "ionrank-fz-"));
    writeFileSync(join(dir, "em.json"), JSON.stringify(JSON.parse(readFileSync(join(SHARED, "em/train.json"), "utf8")).slice(0, 2)));
    // `ulimit -f 16`: writes past 16 KiB fail with EFBIG (element_features.bin alone is 37 kB).
    const limited = (out: string) => {
      const r = spawnSync("bash", ["-c", 'ulimit -f 16; exec "$0" "$@"', join(ROOT, "node_modules/.bin/ionrank"), "featurize", "--data", join(dir, "em.json"), "--out", out, "--quiet"], { cwd: ROOT, encoding: "utf8" });
      return { code: r.status, stderr: r.stderr };
    };
    const nested = limited(join(dir, "a", "b", "c", "out"));
    expect(nested.code).toBe(1);
    expect(nested.stderr).toMatch(/writing .*\/a\/b\/c\/out failed: .*EFBIG/);
    expect(readdirSync(dir)).toEqual(["em.json"]);
    // A folder that was there before stays, with what is in it.
    mkdirSync(join(dir, "keep"));
    writeFileSync(join(dir, "keep", "notes.txt"), "mine");
    expect(limited(join(dir, "keep", "x", "out")).code).toBe(1);
    expect(readdirSync(join(dir, "keep"))).toEqual(["notes.txt"]);
    mkdirSync(join(dir, "empty"));
    expect(limited(join(dir, "empty", "out")).code).toBe(1);
    expect(readdirSync(join(dir, "empty"))).toEqual([]);
    expect(readdirSync(dir).sort()).toEqual(["em.json", "empty", "keep"]);
  });
});
