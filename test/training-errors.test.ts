import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";

const ROOT = new URL("..", import.meta.url).pathname;
const SHARED = join(ROOT, "../shared/data");
const ionrank = (cwd: string, ...args: string[]) => spawnSync(join(ROOT, "node_modules/.bin/ionrank"), ["train", ...args], { cwd, encoding: "utf8" });

describe("ionrank train on bad input: one error line, the right exit code, no traceback", () => {
  it("refuses stages that need --pretrain without it, and seeds outside 32 bits, as usage errors", () => {
    for (const [flags, message] of [
      [["--stage", "pretrain"], "--stage pretrain needs --pretrain FILE"],
      [["--stage", "scratch"], "--stage scratch needs --pretrain FILE"],
      [["--seed", "1e20"], "--seed must be an integer ≥ 0 and ≤ 4294967295"],
    ] as const) {
      const r = ionrank(ROOT, "--em", "x.json", ...flags);
      expect(r.status, flags.join(" ")).toBe(2);
      expect(r.stderr).toContain(`error: ${message}`);
    }
  });

  it("a model already in --out under --name is overwritten only with --replace (the defaults name the bundled model)", () => {
    const dir = mkdtempSync(join(tmpdir(), "ionrank-train-errors-"));
    // From the repository root with the defaults, --out models --name em is the bundled model itself.
    const card = readFileSync(join(ROOT, "models/em.card.json"), "utf8");
    const bundled = ionrank(ROOT, "--em", join(dir, "missing.json"));
    expect(bundled.status).toBe(2);
    expect(bundled.stderr.split("\n")[0]).toBe('error: --out models already holds a model named "em" (models/em.card.json): give --replace to overwrite it, or another --out or --name');
    expect(readFileSync(join(ROOT, "models/em.card.json"), "utf8")).toBe(card);
    // Stages that do not export may run beside it; --replace lets the whole run start (here it then fails on the missing file).
    writeFileSync(join(dir, "em.card.json"), "{}");
    const featurizeOnly = ionrank(dir, "--em", "missing.json", "--out", ".", "--stage", "featurize");
    expect(featurizeOnly.stderr).not.toContain("already holds");
    const replaced = ionrank(dir, "--em", "missing.json", "--out", ".", "--replace");
    expect(replaced.stderr).not.toContain("already holds");
    expect(replaced.stderr).toContain("missing.json");
    expect(replaced.status).toBe(1);
    expect(readFileSync(join(dir, "em.card.json"), "utf8")).toBe("{}");
  });

  it("an unlabelled entry fails with exit 1 and one line naming file and entry, relative to the user's cwd", () => {
    const dir = mkdtempSync(join(tmpdir(), "ionrank-train-errors-"));
    const entries = (JSON.parse(readFileSync(join(SHARED, "em/train.json"), "utf8")) as Record<string, unknown>[]).slice(0, 4);
    writeFileSync(join(dir, "em.json"), JSON.stringify(entries.map((e, i) => (i === 2 ? { ...e, target: undefined } : e))));
    const r = ionrank(dir, "--em", "em.json", "--work", "w", "--out", "m", "--hidden", "8", "--epochs", "1", "--folds", "2");
    expect(r.status).toBe(1);
    const errors = r.stderr.split("\n").filter((l) => l.includes("has no target"));
    expect(errors).toEqual([`error: em.json: entry ${String(entries[2]!.sys_name)} has no target (missing or null): every em entry needs a label to train on`]);
    expect(r.stderr).not.toMatch(/Traceback|IONRANK_ERROR/);
    expect(r.stdout).toBe("");
  });

  it("refuses blank, hexadecimal or path-like values before any work, instead of reading them as 0, 16 or a path", () => {
    const dir = mkdtempSync(join(tmpdir(), "ionrank-train-errors-"));
    for (const [flags, message] of [
      // Number("") is 0: an empty --crop-radius silently featurized whole path structures.
      [["--crop-radius="], '--crop-radius must be a distance in Å ≥ 0 (got "")'],
      [["--limit="], '--limit must be an integer ≥ 0 (got "")'],
      [["--hidden", "0x10"], '--hidden must be an integer ≥ 1 (got "0x10")'],
      [["--noise="], '--noise must be a distance in Å in [0, 1] (got "")'],
      // The name becomes file names in --out: "../x" wrote the card beside --out, "" a file named ".card.json".
      [["--name", "../x"], '--name must be a plain file name (letters, digits, ".", "_", "-"; got "../x")'],
      [["--name="], '--name must be a plain file name (letters, digits, ".", "_", "-"; got "")'],
    ] as const) {
      const r = ionrank(dir, "--em", join(SHARED, "em/train.json"), "--work", "w", "--out", "m", "--stage", "featurize", ...flags);
      expect(r.status, flags.join(" ")).toBe(2);
      expect(r.stderr).toContain(`error: ${message}`);
      expect(existsSync(join(dir, "w")), flags.join(" ")).toBe(false);
    }
  });

  it("an --out where nothing can be written is refused before training, not by the export at the end", () => {
    const dir = mkdtempSync(join(tmpdir(), "ionrank-train-errors-"));
    writeFileSync(join(dir, "em.json"), JSON.stringify(JSON.parse(readFileSync(join(SHARED, "em/train.json"), "utf8")).slice(0, 4)));
    const r = ionrank(dir, "--em", "em.json", "--work", "w", "--out", "/proc/ionrank-models", "--hidden", "8", "--epochs", "1", "--folds", "2");
    expect(r.status).toBe(1);
    expect(r.stderr).toBe("error: --out /proc/ionrank-models is on a kernel file system (/proc, /sys): give a folder on a disk for the model\n");
    expect(existsSync(join(dir, "w"))).toBe(false);
  });

  it("a pre-training file of path structures (an Em dataset) is refused naming file and entry, not featurized as bulk crystals", () => {
    const dir = mkdtempSync(join(tmpdir(), "ionrank-train-errors-"));
    const entries = (JSON.parse(readFileSync(join(SHARED, "em/train.json"), "utf8")) as Record<string, unknown>[]).slice(0, 8);
    writeFileSync(join(dir, "em.json"), JSON.stringify(entries.slice(0, 4)));
    writeFileSync(join(dir, "paths.json"), JSON.stringify(entries.slice(4)));
    writeFileSync(join(dir, "pz.json"), JSON.stringify(JSON.parse(gunzipSync(readFileSync(join(SHARED, "pretrain/pz.json.gz"))).toString("utf8")).slice(0, 4)));
    const r = ionrank(dir, "--em", "em.json", "--pretrain", "pz.json", "--pretrain", "paths.json", "--work", "w", "--out", "m", "--stage", "featurize");
    expect(r.status).toBe(1);
    expect(r.stderr.split("\n").filter((l) => l.startsWith("error:"))).toEqual([
      `error: paths.json: every entry (the first: ${String(entries[4]!.sys_name)}) is a 5-image path structure, as in an Em dataset, not a bulk crystal: pre-training needs crystals; give path structures with --em`,
    ]);
    // Nothing a later run would take for featurized pre-training data.
    expect(existsSync(join(dir, "w", "data-pretrain"))).toBe(false);
    // Bulk crystals alone still featurize.
    const ok = ionrank(dir, "--em", "em.json", "--pretrain", "pz.json", "--work", "w", "--out", "m", "--stage", "featurize");
    expect(ok.status, ok.stderr).toBe(0);
    expect(JSON.parse(readFileSync(join(dir, "w", "data-pretrain", "manifest.json"), "utf8")).sources[0].kind).toBe("bulk");
  });

  it("a negative barrier is refused naming file and entry, not clamped and trained on", () => {
    const dir = mkdtempSync(join(tmpdir(), "ionrank-train-errors-"));
    const entries = (JSON.parse(readFileSync(join(SHARED, "em/train.json"), "utf8")) as Record<string, unknown>[]).slice(0, 4);
    writeFileSync(join(dir, "em.json"), JSON.stringify(entries.map((e, i) => (i === 1 ? { ...e, target: -2 } : e))));
    const r = ionrank(dir, "--em", "em.json", "--work", "w", "--out", "m", "--hidden", "8", "--epochs", "1", "--folds", "2", "--target", "log1p");
    expect(r.status).toBe(1);
    expect(r.stderr.split("\n").filter((l) => l.startsWith("error:"))).toEqual([
      `error: em.json: entry ${String(entries[1]!.sys_name)} has target -2: a migration barrier (eV) cannot be negative`,
    ]);
    expect(r.stderr).not.toMatch(/Traceback|IONRANK_ERROR/);
    expect(existsSync(join(dir, "m"))).toBe(false);
  });
});
