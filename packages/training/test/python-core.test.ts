import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { featurizeDataset } from "@ionrank/featurize";
import { PYTHON, TRAINING_ROOT } from "../src/index.js";

const SHARED = fileURLToPath(new URL("../../../../shared/data/", import.meta.url));

describe("the PyTorch training core", () => {
  it("passes its unit tests (batch layout, the edge-list training layout equal to the dense one in outputs and gradients, padding invariance, path readout, exact ONNX gates, log1p loss space and dropout, checkpoint layout, a limited training set and the shipped trunk in the card, resume after a kill (with position noise too), position noise, init seeds, path clearances, metrics, folds; typed errors for damaged datasets, unlabelled, repeated or negative entries, options out of range, too many folds, divergence (what to delete) and foreign, damaged or differently-made checkpoints; atomic results; an export that fails leaves the old model and stale staging folders are cleared) on real featurized data", () => {
    const dir = mkdtempSync(join(tmpdir(), "ionrank-train-"));
    const entries = JSON.parse(readFileSync(join(SHARED, "em/train.json"), "utf8")).slice(0, 12);
    writeFileSync(join(dir, "em.json"), JSON.stringify(entries));
    featurizeDataset([{ file: join(dir, "em.json"), property: "em" }], join(dir, "data"));
    const r = spawnSync(PYTHON, ["-m", "unittest", "discover", "-s", "tests", "-v"], {
      cwd: TRAINING_ROOT,
      env: { ...process.env, PYTHONPATH: TRAINING_ROOT, IONRANK_TEST_DATASET: join(dir, "data") },
      encoding: "utf8",
    });
    expect(r.stderr).toMatch(/Ran 29 tests/);
    expect(r.stderr).not.toMatch(/skipped/);
    expect(r.status, r.stderr).toBe(0);
  });
});
