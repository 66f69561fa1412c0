import { execFileSync, spawnSync } from "node:child_process";
import Database from "better-sqlite3";
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { FIXTURES, ionrank, ROOT } from "./helpers.js";

/**
 * Runs ionrank as a user for whom chmod 000 holds. root reads any folder (capabilities DAC_OVERRIDE and
 * DAC_READ_SEARCH): as root the command runs without them, while the checkout (root's own files) stays
 * readable wherever it is.
 */
function unprivileged(argv: string[], cwd: string, env: Record<string, string> = {}) {
  const bin = join(ROOT, "node_modules/.bin/ionrank");
  const drop = "-dac_override,-dac_read_search";
  const options = { cwd, encoding: "utf8" as const, env: { ...process.env, ...env } };
  return process.getuid?.() === 0 ? spawnSync("setpriv", [`--bounding-set=${drop}`, `--inh-caps=${drop}`, bin, ...argv], options) : spawnSync(bin, argv, options);
}

describe("npx ionrank screen", () => {
  it("a folder it may not list is a failure named in the summary, not a crash; the readable files are still screened", () => {
    const dir = mkdtempSync(join(tmpdir(), "ionrank-locked-"));
    mkdirSync(join(dir, "locked"));
    copyFileSync(join(FIXTURES, "LiFePO4.cif"), join(dir, "LiFePO4.cif"));
    copyFileSync(join(FIXTURES, "LiCoO2.cif"), join(dir, "locked", "LiCoO2.cif"));
    chmodSync(dir, 0o755);
    chmodSync(join(dir, "locked"), 0o000);
    const r = unprivileged(["screen", dir, "--ion", "Li", "--json"], dir);
    // import walks folders the same way: the locked folder is one failed item, the rest is stored.
    const imp = unprivileged(["import", dir, "--json"], dir, { DATABASE_URL: `file:${join(dir, "x.db")}` });
    chmodSync(join(dir, "locked"), 0o755);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(r.status, r.stderr).toBe(1);
    const { ranked, failures } = JSON.parse(r.stdout) as { ranked: { material: string }[]; failures: unknown[] };
    expect(ranked.map((x) => x.material)).toEqual(["LiFePO4.cif"]);
    expect(failures).toEqual([{ file: join(dir, "locked"), reason: "cannot list the folder: permission denied" }]);
    expect(imp.stderr).not.toMatch(/\n\s+at /);
    expect(imp.status, imp.stderr).toBe(1);
    const [job] = JSON.parse(imp.stdout) as { imported: number; failed: number; errors: { name: string; reason: string }[] }[];
    expect(job).toMatchObject({ imported: 1, failed: 1, errors: [{ name: "locked", reason: "cannot list the folder: permission denied" }] });
  });

  it("a named pipe in a folder is skipped with its reason: reading it would wait forever", () => {
    const dir = mkdtempSync(join(tmpdir(), "ionrank-fifo-"));
    copyFileSync(join(FIXTURES, "LiCoO2.cif"), join(dir, "LiCoO2.cif"));
    execFileSync("mkfifo", [join(dir, "pipe.cif")]);
    const r = spawnSync(join(ROOT, "node_modules/.bin/ionrank"), ["screen", dir, "--ion", "Li", "--json"], { cwd: ROOT, encoding: "utf8", timeout: 120_000 });
    expect(r.signal, "screen hung on the pipe").toBeNull();
    expect(r.status, r.stderr).toBe(1);
    const { ranked, failures } = JSON.parse(r.stdout) as { ranked: { material: string }[]; failures: unknown[] };
    expect(ranked.map((x) => x.material)).toEqual(["LiCoO2.cif"]);
    expect(failures).toEqual([{ file: join(dir, "pipe.cif"), reason: "not a regular file (a FIFO, socket or device): skipped" }]);
  });
});

describe("npx ionrank delete", () => {
  it("deletes materials with their pathways and predictions, all or none: an unknown id deletes nothing and is named", () => {
    const dir = mkdtempSync(join(tmpdir(), "ionrank-delete-"));
    const { DATABASE_URL: _, ...rest } = process.env; // the SQLite file in dir, whatever this shell points at
    const env = { ...rest, IONRANK_DATA_DIR: dir };
    const imp = ionrank(["import", join(FIXTURES, "LiFePO4.cif"), join(FIXTURES, "LiCoO2.cif"), "--ion", "Li", "--predict", "--quiet"], env);
    expect(imp.code, imp.stderr).toBe(0);
    const sqlite = new Database(join(dir, "ionrank.db"), { readonly: true });
    const count = (table: string) => (sqlite.prepare(`SELECT COUNT(*) AS n FROM "${table}"`).get() as { n: number }).n;
    const ids = (sqlite.prepare(`SELECT id, name FROM "Material" ORDER BY name`).all() as { id: string; name: string }[]).map((m) => m.id);
    const lfp = ids[1]!; // LiCoO2.cif sorts first
    const hops = (sqlite.prepare(`SELECT COUNT(*) AS n FROM "Pathway" WHERE "materialId" = ?`).get(lfp) as { n: number }).n;
    const before = { materials: count("Material"), pathways: count("Pathway"), predictions: count("Prediction") };
    expect(before.materials).toBe(2);
    expect(hops).toBeGreaterThan(0);

    const unknown = ionrank(["delete", lfp, "no-such-material"], env);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toBe("error: Material no-such-material not found\n");
    expect({ materials: count("Material"), pathways: count("Pathway"), predictions: count("Prediction") }).toEqual(before);

    const done = ionrank(["delete", lfp, "--json"], env);
    expect(done.code, done.stderr).toBe(0);
    expect(JSON.parse(done.stdout)).toEqual({ materials: 1, pathways: hops, predictions: hops, rankings: 1 });
    expect({ materials: count("Material"), pathways: count("Pathway"), predictions: count("Prediction") }).toEqual({ materials: 1, pathways: before.pathways - hops, predictions: before.predictions - hops });
    sqlite.close();
    expect(ionrank(["delete"], env).code).toBe(2);
  });
});

describe("npx ionrank, when something nobody foresaw fails", () => {
  it("prints one line naming the failure and where its stack trace went, not the trace itself", () => {
    const dir = mkdtempSync(join(tmpdir(), "ionrank-unexpected-"));
    const env = { ...process.env, DATABASE_URL: `file:${join(dir, "x.db")}` };
    const bin = join(ROOT, "node_modules/.bin/ionrank");
    const fixture = join(FIXTURES, "LiCoO2.cif");
    expect(spawnSync(bin, ["import", fixture], { cwd: dir, encoding: "utf8", env }).status).toBe(0);
    // A database someone broke by hand: the import's query fails inside Prisma.
    const db = new Database(join(dir, "x.db"));
    db.exec('DROP TABLE "Pathway"');
    db.close();
    const r = spawnSync(bin, ["import", fixture, "--ion", "Li"], { cwd: dir, encoding: "utf8", env });
    expect(r.status).toBe(1);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    const m = /^error: unexpected PrismaClientKnownRequestError: The table `main\.Pathway` does not exist in the current database\. \(full trace in (\S+)\)$/m.exec(r.stderr);
    expect(m, r.stderr).not.toBeNull();
    expect(readFileSync(m![1]!, "utf8")).toMatch(/\n\s+at /);
  });
});
