import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { numberFlag, parseArgs } from "../src/args.js";
import { main } from "../src/main.js";

const FIX = fileURLToPath(new URL("../../crystal/test/fixtures/", import.meta.url));
const TRAIN = fileURLToPath(new URL("../../../../shared/data/em/train.json", import.meta.url));
type Entry = { sys_name: string; jid: number | string; target: number; atoms: { elements: string[] } };
const train = JSON.parse(readFileSync(TRAIN, "utf8")) as Entry[];
const scratch = () => mkdtempSync(join(tmpdir(), "ionrank-cli-"));

async function run(...argv: string[]) {
  let stdout = "";
  let stderr = "";
  const code = await main(argv, { stdout: (s) => (stdout += s), stderr: (s) => (stderr += s) });
  return { code, stdout, stderr };
}

describe("argument parsing", () => {
  const spec = { values: ["ion", "max-length"], booleans: ["json"] };
  it("reads --flag value, --flag=value, booleans and positionals", () => {
    const a = parseArgs(["a.cif", "--ion", "Li", "--max-length=4.5", "--json", "b.cif"], spec);
    expect(a.positionals).toEqual(["a.cif", "b.cif"]);
    expect(Object.fromEntries(a.flags)).toEqual({ ion: "Li", "max-length": "4.5", json: true });
  });
  it("rejects unknown flags, missing values and values on booleans", () => {
    expect(() => parseArgs(["--ionn", "Li"], spec)).toThrowError(/unknown option --ionn/);
    expect(() => parseArgs(["--ion"], spec)).toThrowError(/--ion needs a value/);
    expect(() => parseArgs(["--json=yes"], spec)).toThrowError(/--json takes no value/);
  });
  it("never takes the next option as a flag's value, and refuses single-dash options", () => {
    expect(() => parseArgs(["a.cif", "--ion", "--json"], spec)).toThrowError(/--ion needs a value \(got the option --json/);
    expect(parseArgs(["--ion=--odd"], spec).flags.get("ion")).toBe("--odd");
    expect(parseArgs(["--max-length", "-1"], spec).flags.get("max-length")).toBe("-1"); // a value may be negative
    expect(() => parseArgs(["a.cif", "-x"], spec)).toThrowError(/unknown option -x/);
    expect(parseArgs(["-"], spec).positionals).toEqual(["-"]);
  });
  it("reads numbers strictly: no hexadecimal, infinity or blanks", () => {
    const n = (v: string) => numberFlag(parseArgs(["--max-length", v], spec), "max-length", 5, (x) => x > 0, "a positive number of Å");
    expect(n("4.5")).toBe(4.5);
    expect(n("1e1")).toBe(10);
    for (const bad of ["0x5", "Infinity", "1e999", " 3", "", "5Å", "0"]) expect(() => n(bad)).toThrowError(/--max-length must be a positive number of Å/);
    expect(numberFlag(parseArgs([], spec), "max-length", 5, (x) => x > 0, "")).toBe(5);
  });
});

describe("ionrank main", () => {
  it("inspect prints a human line per structure", async () => {
    const r = await run("inspect", FIX + "LiCoO2.cif");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/LiCoO2\.cif \[LiCoO2\]: Li3Co3O6 \(LiCoO2\), 12 sites, a=2\.8156 b=2\.8156 c=14\.0542 Å/);
  });
  it("help and unknown commands", async () => {
    expect((await run("--help")).stdout).toMatch(/Usage: ionrank <command>/);
    expect((await run("inspect", "--help")).stdout).toMatch(/ionrank inspect FILE/);
    const bad = await run("frobnicate");
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/unknown command "frobnicate"/);
  });
});

describe("odd input to predict, evaluate, screen and pathway", () => {
  it("--out followed by another option is a usage error; no file named after the option is written", async () => {
    const dir = scratch();
    const cwd = process.cwd();
    process.chdir(dir);
    try {
      const r = await run("predict", FIX + "LiCoO2.cif", "--ion", "Li", "--out", "--format", "json");
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/--out needs a value/);
      expect(existsSync(join(dir, "--format"))).toBe(false);
    } finally {
      process.chdir(cwd);
    }
  });

  it("a bad --ion, a stray argument or a bad number is a usage error before any work", async () => {
    for (const ion of ["Xx", "li", ""]) {
      const r = await run("predict", FIX + "LiCoO2.cif", "--ion", ion);
      expect(r.code, ion).toBe(2);
      expect(r.stderr).toMatch(/--ion must be an element symbol such as Li/);
      expect(r.stderr).not.toMatch(/inference:/); // the model was never loaded
    }
    const ev = await run("evaluate", "--data", TRAIN, "other.json");
    expect(ev.code).toBe(2);
    expect(ev.stderr).toMatch(/evaluate takes no FILE arguments \(got "other\.json"\)/);
    const pw = await run("pathway", "--initial", FIX + "NaCl.cif", "--final", FIX + "NaCl.cif", "extra.cif");
    expect(pw.code).toBe(2);
    expect(pw.stderr).toMatch(/pathway takes no FILE arguments/);
    expect((await run("evaluate", "--data", TRAIN, "--threshold", "0x1")).code).toBe(2);
    expect((await run("hops", FIX + "LiCoO2.cif", "--ion", "Li", "--max-length", "Infinity")).code).toBe(2);
  });

  it("an --out that can never be written is refused before predicting: no name, a name ending in /", async () => {
    const dir = scratch();
    const empty = await run("predict", FIX + "LiCoO2.cif", "--ion", "Li", "--out", "");
    expect(empty.code).toBe(1);
    expect(empty.stderr).toBe("error: --out needs a file name\n");
    const slash = await run("predict", FIX + "LiCoO2.cif", "--ion", "Li", "--out", join(dir, "sub") + "/");
    expect(slash.code).toBe(1);
    expect(slash.stderr).toBe(`error: cannot write ${join(dir, "sub")}/: it names a folder; give a file name\n`);
    const folder = await run("evaluate", "--data", TRAIN, "--out", dir);
    expect(folder.stderr).toBe(`error: cannot write ${dir}: it is a folder\n`);
  });

  it("when every input fails, an existing --out file is kept, not replaced by an empty result", async () => {
    const dir = scratch();
    writeFileSync(join(dir, "empty.cif"), "");
    writeFileSync(join(dir, "results.json"), "earlier results\n");
    const r = await run("predict", join(dir, "empty.cif"), "--ion", "Li", "--format", "json", "--out", join(dir, "results.json"));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/empty\.cif: no data_ block found/);
    expect(r.stderr).toMatch(/nothing was predicted; .*results\.json was not written/);
    expect(readFileSync(join(dir, "results.json"), "utf8")).toBe("earlier results\n");
  });

  it("every enumerated hop is built, however long: at 15 Å all 49 of LiCoO2's hops are predicted, in predict and screen", async () => {
    // Hops 21 (11.262 Å) and 36 (14.054 Å, an ion to its own image along c) are longer than the 8 Å supercell
    // spacing; hopPathway grows their supercells to hold them (they used to be "could not be placed" errors).
    const p = await run("predict", FIX + "LiCoO2.cif", "--ion", "Li", "--max-length", "15", "--format", "json");
    expect(p.code, p.stderr).toBe(0);
    const rows = JSON.parse(p.stdout) as { id: string; emPredicted: number }[];
    expect(rows).toHaveLength(49);
    const long = rows.filter((x) => x.id === "LiCoO2.cif#21" || x.id === "LiCoO2.cif#36");
    expect(long).toHaveLength(2);
    for (const x of long) expect(Number.isFinite(x.emPredicted)).toBe(true);
    const s = await run("screen", FIX + "LiCoO2.cif", "--ion", "Li", "--max-length", "15", "--json");
    expect(s.code, s.stderr).toBe(0);
    const { ranked, failures } = JSON.parse(s.stdout) as { ranked: { material: string; hops: number; warnings: string[] }[]; failures: { file: string }[] };
    expect(ranked.map((x) => [x.material, x.hops])).toEqual([["LiCoO2.cif", 49]]);
    expect(ranked[0]!.warnings.filter((w) => /not predicted/.test(w))).toEqual([]);
    expect(failures).toEqual([]);
  });

  it("a dataset written by Python's json.dump with a NaN label: that entry is an error, the others are evaluated", async () => {
    const dir = scratch();
    const entries = train.slice(0, 3).map((e) => JSON.stringify(e));
    entries[1] = entries[1]!.replace(/"target":\s*[-0-9.eE+]+/, '"target": NaN');
    writeFileSync(join(dir, "nan.json"), `[${entries.join(", ")}]`);
    const r = await run("evaluate", "--data", join(dir, "nan.json"));
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout.trim().split("\n").at(-1)!)).toMatchObject({ count: 2, failed: 1 });
    expect(r.stderr).toContain(`error: ${train[1]!.sys_name}: target "NaN" is not a barrier in eV`);
  });

  it("evaluate with no readable labelled entry says so without loading the model; a newline in an id keeps the table's rows whole", async () => {
    const dir = scratch();
    const unlabelled = train.slice(0, 2).map(({ target: _t, ...e }) => e);
    writeFileSync(join(dir, "unlabelled.json"), JSON.stringify(unlabelled));
    const e = await run("evaluate", "--data", join(dir, "unlabelled.json"));
    expect(e.code).toBe(1);
    expect(e.stderr).toContain(`error: no entry of ${join(dir, "unlabelled.json")} could be read with a label`);
    expect(e.stderr).not.toMatch(/inference:/); // the model was never loaded
    const named = [{ ...train[0]!, sys_name: "two\nlines" }];
    writeFileSync(join(dir, "named.json"), JSON.stringify(named));
    const t = await run("predict", join(dir, "named.json"));
    expect(t.code, t.stderr).toBe(0);
    const lines = t.stdout.trim().split("\n");
    expect(lines).toHaveLength(2);
    expect(lines[1]!.startsWith("two\\u000alines ")).toBe(true);
  });

  it("predict and evaluate show their progress on stderr (the output stays clean)", async () => {
    const p = await run("predict", FIX + "LiCoO2.cif", "--ion", "Li", "--format", "json");
    expect(p.code, p.stderr).toBe(0);
    const n = (JSON.parse(p.stdout) as unknown[]).length;
    expect(p.stderr).toMatch(new RegExp(`^predict \\[#{30}\\] 100% ${n}/${n} `, "m"));
    const dir = scratch();
    writeFileSync(join(dir, "two.json"), JSON.stringify(train.slice(0, 2)));
    const e = await run("evaluate", "--data", join(dir, "two.json"));
    expect(e.code, e.stderr).toBe(0);
    expect(e.stderr).toMatch(/^evaluate \[#{30}\] 100% 2\/2 /m);
  });

  it("an entry the model cannot predict is an error and exit 1, never a silently missing row", async () => {
    const dir = scratch();
    const og = structuredClone(train[1]!);
    og.sys_name = "withOg";
    og.atoms.elements = og.atoms.elements.map((e) => (e === "Tb" ? "Og" : e));
    writeFileSync(join(dir, "exotic.json"), JSON.stringify([og, train[2]]));
    const r = await run("predict", join(dir, "exotic.json"), "--format", "json");
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout).map((x: { id: string }) => x.id)).toEqual([train[2]!.sys_name]);
    expect(r.stderr).toMatch(/error: withOg: .*Og \(Z = 118\) is beyond the element encoding/);
  });

  it("dataset ids: an empty or non-text sys_name falls back to jid; repeated ids are pointed out", async () => {
    const dir = scratch();
    const [a, b, c] = [structuredClone(train[0]!), structuredClone(train[2]!), structuredClone(train[3]!)];
    a.sys_name = "";
    (b as { sys_name: unknown }).sys_name = { name: "x" };
    writeFileSync(join(dir, "ids.json"), JSON.stringify([a, b, c, c]));
    const r = await run("predict", join(dir, "ids.json"), "--format", "json");
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).map((x: { id: string }) => x.id)).toEqual([String(a.jid), String(b.jid), c.sys_name, c.sys_name]);
    expect(r.stderr).toMatch(new RegExp(`warning: 1 id\\(s\\) occur more than once, so their rows cannot be told apart: ${c.sys_name} \\(×2\\)`));
  });

  it("evaluate names a broken file once; CSV quotes carriage returns", async () => {
    const dir = scratch();
    writeFileSync(join(dir, "bad.json"), "[{");
    const r = await run("evaluate", "--data", join(dir, "bad.json"));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error: \/.*\/bad\.json, line 1: invalid JSON: /m);
    expect(r.stderr).not.toMatch(/bad\.json: .*bad\.json/);
    const e = structuredClone(train[0]!);
    e.sys_name = "a\rb";
    writeFileSync(join(dir, "cr.json"), JSON.stringify([e]));
    const csv = await run("predict", join(dir, "cr.json"), "--format", "csv");
    expect(csv.stdout.split("\n")[1]).toMatch(/^"a\rb",/);
  });

  it("--initial with a file of several structures is refused, not read as its first", async () => {
    const r = await run("predict", "--initial", FIX + "multi.cif", "--final", FIX + "multi.cif", "--format", "json");
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/--initial .*multi\.cif holds 2 structures; give a file with exactly one/);
  });

  it("screen screens a file given twice once, and tells same-named files apart", async () => {
    const dir = scratch();
    mkdirSync(join(dir, "a"));
    mkdirSync(join(dir, "b"));
    copyFileSync(FIX + "LiCoO2.POSCAR", join(dir, "a", "POSCAR"));
    copyFileSync(FIX + "LiCoO2_cart_sd.POSCAR", join(dir, "b", "POSCAR"));
    const r = await run("screen", dir, join(dir, "a", "POSCAR"), "--ion", "Li", "--json");
    expect(r.code, r.stderr).toBe(0);
    const { ranked } = JSON.parse(r.stdout) as { ranked: { material: string }[] };
    expect(ranked.map((x) => x.material).sort()).toEqual([join(dir, "a", "POSCAR"), join(dir, "b", "POSCAR")]);
    rmSync(dir, { recursive: true });
  });
});
