import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { FIXTURES, ionrank as run, ROOT } from "./helpers.js";

const FIX = FIXTURES;
const ionrank = (...args: string[]) => run(args);


describe("npx ionrank inspect", () => {
  it("prints one JSON object per structure with the documented fields", () => {
    const r = ionrank("inspect", join(FIX, "LiFePO4.cif"), join(FIX, "multi.cif"), join(FIX, "Li7La3Zr2O12.cif"), "--json");
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const rows = r.stdout.trim().split("\n").map((l) => JSON.parse(l));
    expect(rows.map((x) => x.block)).toEqual(["LiFePO4", "KCl", "triclinic_test", "LLZO"]);
    const lfp = rows[0];
    expect(Object.keys(lfp).sort()).toEqual(["block", "elements", "file", "formula", "frac", "lattice", "natoms", "reducedFormula"]);
    expect(lfp).toMatchObject({ formula: "Li4Fe4P4O16", reducedFormula: "LiFePO4", natoms: 28 });
    expect(lfp.lattice.a).toBeCloseTo(10.332, 6);
    expect(lfp.lattice.volume).toBeCloseTo(291.351, 2);
    expect(lfp.elements).toHaveLength(28);
    expect(lfp.frac).toHaveLength(28);
    // Partial occupancy is reported, not hidden.
    expect(rows[3].occupancy).toHaveLength(256);
    expect(rows[3].occupancy.filter((o: number) => o < 1)).toHaveLength(120);
  });

  it("reports each bad input on its own stderr line and exits non-zero, still printing the good ones", () => {
    const dir = mkdtempSync(join(tmpdir(), "ionrank-"));
    const bad = join(dir, "broken.cif");
    writeFileSync(
      bad,
      "data_x\n_cell_length_a 5\n_cell_length_b 5\n_cell_length_c five\n_cell_angle_alpha 90\n_cell_angle_beta 90\n" +
        "_cell_angle_gamma 90\nloop_\n_atom_site_label\n_atom_site_fract_x\n_atom_site_fract_y\n_atom_site_fract_z\nNa1 0 0 0\n",
    );
    const r = ionrank("inspect", join(FIX, "NaCl.cif"), bad, join(dir, "missing.cif"), "--json");
    expect(r.code).toBe(1);
    expect(r.stdout.trim().split("\n")).toHaveLength(1);
    const lines = r.stderr.trim().split("\n");
    expect(lines).toHaveLength(2);
    expect(lines[0]).toContain("broken.cif");
    expect(lines[0]).toMatch(/block x, line 4: _cell_length_c is "five", not a number/);
    expect(lines[1]).toContain("missing.cif");
  });

  it("one bad block of a multi-structure CIF is reported; the good blocks are printed and predicted", () => {
    const dir = mkdtempSync(join(tmpdir(), "ionrank-"));
    const good = readFileSync(join(FIX, "LiCoO2.cif"), "utf8");
    const two = join(dir, "two.cif");
    writeFileSync(two, `${good}\n${good.replace("data_LiCoO2", "data_broken").replace(/_cell_length_b\s+\S+/, "_cell_length_b abc")}`);
    const r = ionrank("inspect", two, "--json");
    expect(r.code).toBe(1);
    expect(r.stdout.trim().split("\n").map((l) => JSON.parse(l).block)).toEqual(["LiCoO2"]);
    expect(r.stderr).toMatch(/two\.cif, block broken, line \d+: _cell_length_b is "abc", not a number/);
    const p = ionrank("predict", two, "--ion", "Li", "--format", "json");
    expect(p.code).toBe(1);
    expect(JSON.parse(p.stdout).length).toBeGreaterThan(0);
    expect(JSON.parse(p.stdout).every((x: { id: string }) => x.id.startsWith("two.cif[LiCoO2]#"))).toBe(true);
    expect(p.stderr).toMatch(/error: .*block broken/);
  });

  it("reads the shared training data (559 JARVIS entries) and VASP 4 POSCARs with --species", () => {
    const data = join(ROOT, "../shared/data/em/train.json");
    const r = ionrank("inspect", data, "--json");
    expect(r.code).toBe(0);
    const rows = r.stdout.trim().split("\n");
    expect(rows).toHaveLength(559);
    const v4 = ionrank("inspect", join(FIX, "NaCl_vasp4.POSCAR"), "--species", "Na,Cl", "--json");
    expect(v4.code).toBe(0);
    expect(JSON.parse(v4.stdout).reducedFormula).toBe("NaCl");
  });

  it("runs through npx from the repository root", () => {
    const r = spawnSync("npx", ["--no-install", "ionrank", "inspect", join(FIX, "NaCl.cif"), "--json"], { cwd: ROOT, encoding: "utf8" });
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout).formula).toBe("Na4Cl4");
  });

  it("gives usage errors exit code 2", () => {
    expect(ionrank("inspect").code).toBe(2);
    expect(ionrank("inspect", "--frobnicate", "x.cif").code).toBe(2);
    expect(ionrank("nonsense").code).toBe(2);
  });

  it("stops quietly when the reader closes the pipe early (ionrank … | head -1)", async () => {
    const child = spawn(join(ROOT, "node_modules/.bin/ionrank"), ["inspect", join(ROOT, "../shared/data/em/train.json"), "--json"], { cwd: ROOT });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.stdout.once("data", () => child.stdout.destroy());
    const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
    expect(stderr).not.toMatch(/EPIPE|Unhandled/);
    expect(code).toBe(0);
  });

  it("an unreachable database is one line and exit 1, from the CLI and from the API server", () => {
    const env = { ...process.env, DATABASE_URL: "postgresql://ionrank@127.0.0.1:1/nowhere" };
    const cli = run(["apikey", "create", "--role", "editor"], env);
    expect(cli.code).toBe(1);
    expect(cli.stderr.trim().split("\n").filter((l) => !l.startsWith("npm warn"))).toEqual(["error: cannot open database postgresql://ionrank@127.0.0.1:1/nowhere: connect ECONNREFUSED 127.0.0.1:1"]);
    const api = spawnSync(process.execPath, [join(ROOT, "apps/api/dist/main.js")], { env: { ...env, IONRANK_API_PORT: "0" }, encoding: "utf8", timeout: 60_000 });
    expect(api.status).toBe(1);
    expect(api.stderr.trim()).toBe("error: the API could not start: cannot open database postgresql://ionrank@127.0.0.1:1/nowhere: connect ECONNREFUSED 127.0.0.1:1");
  });
});
