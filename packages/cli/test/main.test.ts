import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parseArgs } from "../src/args.js";
import { main } from "../src/main.js";

const FIX = fileURLToPath(new URL("../../crystal/test/fixtures/", import.meta.url));

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
