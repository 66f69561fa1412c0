import { existsSync, mkdirSync, mkdtempSync, readFileSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { DEFAULT_FEATURIZER_CONFIG } from "@ionrank/featurize";
import { runTrainingCore, trainPipeline, TrainingError, type TrainOptions } from "../src/index.js";

const SHARED = fileURLToPath(new URL("../../../../shared/data/", import.meta.url));
const entries = JSON.parse(readFileSync(join(SHARED, "em/train.json"), "utf8")) as Record<string, unknown>[];

function options(dir: string, over: Partial<TrainOptions> = {}): TrainOptions {
  return {
    em: [{ file: join(dir, "em.json"), property: "em" }], pretrain: [], work: "work", out: "models", name: "em", version: "0.0.1",
    size: { hidden: 8, alignnLayers: 1, gcnLayers: 1, lineK: 6, readout: "path" }, cropRadius: DEFAULT_FEATURIZER_CONFIG.cropRadius,
    imageBonds: "all", pretrainEpochs: 1, finetuneEpochs: 1, folds: 2, batchSize: 4, seed: 0, ...over,
  };
}

async function failure(p: Promise<unknown>): Promise<TrainingError> {
  const e = await p.then(() => null, (err: unknown) => err);
  expect(e).toBeInstanceOf(TrainingError);
  return e as TrainingError;
}

describe("the training pipeline on bad input", () => {
  it("a core failure is one typed line naming the file and the reason, never a traceback", async () => {
    const lines: string[] = [];
    const e = await failure(runTrainingCore(["cv", "--data", "/nonexistent/data-em", "--out", "/tmp/x"], (l) => lines.push(l)));
    expect(e.message).toBe("/nonexistent/data-em: no such dataset folder (written by featurize)");
    expect(e.detail).toMatchObject({ type: "DatasetError", file: "/nonexistent/data-em" });
    expect(lines.join("\n")).not.toMatch(/Traceback|IONRANK_ERROR/);
  });

  it("resolves relative --work and --out against the caller's cwd, exports with --limit, and refuses changed inputs naming them", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ionrank-pipeline-"));
    writeFileSync(join(dir, "em.json"), JSON.stringify(entries.slice(0, 6)));
    writeFileSync(join(dir, "other.json"), JSON.stringify(entries.slice(6, 12)));
    const cwd = process.cwd();
    process.chdir(dir);
    try {
      const { card } = await trainPipeline(options(dir, { em: [{ file: "em.json", property: "em" }], work: "rel/w", out: "rel/m", limit: 5 }), () => {});
      expect(card).toBe(join(dir, "rel/m/em.card.json"));
      const c = JSON.parse(readFileSync(card!, "utf8"));
      expect(c.cv.pretrained.metrics.n).toBe(5);
      // The sources name the whole file (6 entries): the card must say that only its first 5 trained the model.
      expect(c.training_data).toMatchObject({ entries: 5, limit: 5, subset: true });
      expect(c.training_data.finetune[0].entries).toBe(6);
      expect(existsSync(join(dir, "rel/w/cv-pretrained/inputs.json"))).toBe(true);

      const again = (over: Partial<TrainOptions>) => failure(trainPipeline(options(dir, { work: "rel/w", out: "rel/m", limit: 5, ...over }), () => {}));
      expect((await again({ em: [{ file: "other.json", property: "em" }] })).message).toMatch(
        new RegExp(`^${join(dir, "rel/w/data-em")} was featurized with files em\\.json@[0-9a-f]{16}; this run asks for other\\.json@[0-9a-f]{16}: use another --work, or delete`),
      );
      expect((await again({ cropRadius: 2 })).message).toContain("was featurized with featurizer cropRadius 0; this run asks for 2");
      expect((await again({ finetuneEpochs: 3 })).message).toBe(`${join(dir, "rel/w/cv-pretrained")} was made with epochs 1; this run asks for 3: use another --work, or delete ${join(dir, "rel/w/cv-pretrained")} to redo it`);
      expect((await again({ limit: 6, stages: ["export"] })).message).toContain("was made with limit 5; this run asks for 6");
    } finally {
      process.chdir(cwd);
    }
  });

  it("refuses unlabelled entries, too many folds, a file as --out, missing stages and bad seeds before training", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ionrank-pipeline-"));
    const unlabelled = entries.slice(0, 4).map((e, i) => (i === 1 ? { ...e, target: null } : e));
    writeFileSync(join(dir, "em.json"), JSON.stringify(unlabelled));
    const run = (over: Partial<TrainOptions>) => failure(trainPipeline(options(dir, { work: join(dir, "w"), out: join(dir, "m"), ...over }), () => {}));
    expect((await run({})).message).toBe(`em.json: entry ${String(unlabelled[1]!.sys_name)} has no target (missing or null): every em entry needs a label to train on`);
    expect(existsSync(join(dir, "m"))).toBe(false);
    writeFileSync(join(dir, "em.json"), JSON.stringify(entries.slice(0, 3)));
    expect((await run({ work: join(dir, "w2"), folds: 4 })).message).toBe(`${join(dir, "w2", "data-em")}: --folds 4 needs at least 4 labelled entries (each fold holds out one or more); the dataset has 3`);
    writeFileSync(join(dir, "file"), "");
    expect((await run({ out: join(dir, "file") })).message).toBe(`--out ${join(dir, "file")} is a file: give a folder for the model`);
    expect((await run({ stages: ["scratch"] })).message).toMatch(/^stage scratch needs pre-training data/);
    expect((await run({ seed: 1e20 })).message).toMatch(/^seed 100000000000000000000 must be an integer in \[0, 2\^32\)/);
    mkdirSync(join(dir, "w3/data-em"), { recursive: true });
    writeFileSync(join(dir, "w3/data-em/manifest.json"), "{}");
    writeFileSync(join(dir, "pz.json"), "[]");
    expect((await run({ work: join(dir, "w3"), pretrain: [{ file: join(dir, "pz.json") }], stages: ["finetune"] })).message).toMatch(/^stage finetune needs .*pretrained\.pt, which stage pretrain writes: run --stage pretrain first/);
  });

  it("a damaged featurized dataset in --work is named, not a numpy traceback", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ionrank-pipeline-"));
    writeFileSync(join(dir, "em.json"), JSON.stringify(entries.slice(0, 4)));
    const o = options(dir, { work: join(dir, "w"), out: join(dir, "m") });
    await trainPipeline({ ...o, stages: ["featurize"] }, () => {});
    truncateSync(join(dir, "w/data-em/edge_vector.bin"), 120);
    const e = await failure(trainPipeline(o, () => {}));
    expect(e.message).toMatch(/edge_vector\.bin: has 120 bytes; the manifest's shape \[\d+, 3\] implies \d+ \(truncated or from another dataset\)$/);
    expect(e.message).not.toContain("\n");
  });

  it("featurized data in --work from another featurizer version (same settings, older IonRank) is refused, not trained on", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ionrank-pipeline-"));
    writeFileSync(join(dir, "em.json"), JSON.stringify(entries.slice(0, 4)));
    const o = options(dir, { work: join(dir, "w"), out: join(dir, "m") });
    await trainPipeline({ ...o, stages: ["featurize"] }, () => {});
    const manifest = join(dir, "w/data-em/manifest.json");
    const m = JSON.parse(readFileSync(manifest, "utf8"));
    const current = m.featurizer.version as string;
    m.featurizer.version = current.replace(/^ionrank-fz\d+/, "ionrank-fz0");
    writeFileSync(manifest, JSON.stringify(m));
    const e = await failure(trainPipeline(o, () => {}));
    expect(e.message).toBe(`${join(dir, "w/data-em")} was featurized with featurizer version ${m.featurizer.version as string}; this run asks for ${current}: use another --work, or delete ${join(dir, "w/data-em")} to redo it`);
    expect(existsSync(join(dir, "w/cv-pretrained"))).toBe(false);
  });

  it("a model name that is not a plain file name, or an --out under /proc, is refused before any work", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ionrank-pipeline-"));
    writeFileSync(join(dir, "em.json"), JSON.stringify(entries.slice(0, 4)));
    const run = (over: Partial<TrainOptions>) => failure(trainPipeline(options(dir, { work: join(dir, "w"), out: join(dir, "m"), ...over }), () => {}));
    expect((await run({ name: "../em" })).message).toBe(`model name "../em" must be a plain file name (letters, digits, ".", "_", "-"): it names ../em.card.json in ${join(dir, "m")}`);
    expect((await run({ name: "" })).message).toMatch(/^model name "" must be a plain file name/);
    expect((await run({ out: "/proc/ionrank-m" })).message).toBe("--out /proc/ionrank-m is on a kernel file system (/proc, /sys): give a folder on a disk for the model");
    expect(existsSync(join(dir, "w"))).toBe(false);
  });
});
