import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
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
});
