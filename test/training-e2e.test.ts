import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { describe, expect, it, onTestFinished } from "vitest";
import { Pathway, pathClearance, readJsonStructures } from "@ionrank/crystal";
import { pathwayGraph } from "@ionrank/featurize";
import { EmModel } from "@ionrank/inference";

const ROOT = new URL("..", import.meta.url).pathname;
const SHARED = join(ROOT, "../shared/data");

describe("CI-sized end-to-end training: ionrank train → ONNX → onnxruntime-node", () => {
  it("trains a tiny pre-trained + fine-tuned ensemble, exports it, and ONNX Runtime reproduces PyTorch within 1e-4 eV", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ionrank-train-e2e-"));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const train = JSON.parse(readFileSync(join(SHARED, "em/train.json"), "utf8")) as { sys_name: string }[];
    writeFileSync(join(dir, "em.json"), JSON.stringify(train.slice(0, 12)));
    const pz = JSON.parse(gunzipSync(readFileSync(join(SHARED, "pretrain/pz.json.gz"))).toString("utf8"));
    const bg = JSON.parse(gunzipSync(readFileSync(join(SHARED, "pretrain/bg.json.gz"))).toString("utf8"));
    writeFileSync(join(dir, "pz.json"), JSON.stringify(pz.slice(0, 30)));
    writeFileSync(join(dir, "bg.json"), JSON.stringify(bg.slice(0, 30)));
    const args = [
      "train", "--em", join(dir, "em.json"), "--pretrain", join(dir, "pz.json"), "--pretrain", join(dir, "bg.json"),
      "--work", join(dir, "work"), "--out", join(dir, "models"), "--name", "tiny", "--model-version", "0.0.1",
      "--hidden", "16", "--alignn-layers", "1", "--gcn-layers", "1", "--line-k", "6",
      "--pretrain-epochs", "1", "--epochs", "2", "--folds", "3", "--batch-size", "8",
      // The shipped model's parity test covers the default loss space; this one covers exp(head) − 1 in ONNX.
      "--target", "log1p", "--dropout", "0.1", "--noise", "0.05", "--jobs", "2",
    ];
    const r = spawnSync(join(ROOT, "node_modules/.bin/ionrank"), args, { cwd: ROOT, encoding: "utf8" });
    expect(r.status, r.stderr).toBe(0);
    for (const stage of ["featurize", "pretrain", "finetune", "members", "scratch", "export"]) expect(r.stderr).toContain(`train: ${stage}`);
    // --jobs 2: the five training runs after pre-training go two at a time, each line tagged with its run.
    expect(r.stderr).toMatch(/train: \[finetune 2\/3\] \[[0-9:]+\] fold 1\/3/);
    expect(r.stderr).toMatch(/train: \[members\] \[[0-9:]+\] member 5\/5/);
    const cardPath = JSON.parse(r.stdout.trim()).card as string;
    const card = JSON.parse(readFileSync(cardPath, "utf8"));
    // The shipped ensemble: 5 members trained on all 12 entries, their spread calibrated on 3 cross-validation runs.
    expect(card.ensemble.members.map((m: { seed: number }) => m.seed)).toEqual([0, 1, 2, 3, 4]);
    expect(card.cv.seed_runs.init_seeds).toEqual([0, 100, 200]);
    expect(card.cv.seed_runs.metrics.n).toBe(12);
    expect(card.calibration.runs).toBe(3);
    expect(card.calibration.nested).toHaveLength(3);
    expect(card.evaluation.metrics.n).toBe(12);
    expect(card.architecture.readout).toBe("path"); // the default head reads the moving ion's images
    expect(card.architecture).toMatchObject({ target: "log1p", dropout: 0.1 });
    expect(card.hyperparameters.position_noise).toBe(0.05);
    for (const m of card.ensemble.members) expect(existsSync(join(dir, "models", m.file))).toBe(true);
    expect(Object.keys(card.pretraining.validation_mae).sort()).toEqual(["bg", "pz"]);
    expect(card.cv.pretrained.metrics.n).toBe(12);
    expect(card.cv.scratch.metrics.n).toBe(12);
    expect(card.calibration.scale).toBeGreaterThan(0);
    expect(Object.keys(card.cv.fold_of_entry)).toHaveLength(12);
    expect(card.training_data.finetune[0].sha256).toMatch(/^[0-9a-f]{64}$/);
    // Path clearances from the featurized bonds (training core) equal the service's, from the structures.
    Object.keys(card.cv.fold_of_entry).forEach((id, i) => {
      const c = pathClearance(Pathway.fromImageStructure(readJsonStructures(train.find((e) => e.sys_name === id) as never)[0]!).toPathStructure());
      const recorded = card.cv.heldout.clearance_angstrom[i];
      if (recorded === null) expect(c === null || c >= 2 - 1e-6, id).toBe(true);
      else expect(Math.abs(c! - recorded), id).toBeLessThan(1e-4);
    });
    expect(card.applicability.clearance.bins.reduce((a: number, b: { n: number }) => a + b.n, 0)).toBe(12);

    // ONNX Runtime on graphs the TypeScript featurizer builds from the raw structures.
    const model = await EmModel.load(cardPath);
    const graphs = card.parity.entries.map((id: string) =>
      pathwayGraph(Pathway.fromImageStructure(readJsonStructures(train.find((e) => e.sys_name === id) as never)[0]!), card.featurizer.config),
    );
    expect(card.featurizer.config.cropRadius).toBe(3.5);
    const onnx = await model.memberPredictions(graphs);
    onnx.forEach((member, k) => member.forEach((v, g) => expect(Math.abs(v - card.parity.pytorch_member_predictions[k][g])).toBeLessThan(1e-4)));
    const preds = await model.predict(graphs.slice(0, 2));
    expect(preds[0]!.members).toHaveLength(5);
    expect(preds[0]!.modelVersion).toBe("tiny@0.0.1");
    await model.release();

    // The same command again would overwrite the model it wrote: refused without --replace, before any work.
    const refused = spawnSync(join(ROOT, "node_modules/.bin/ionrank"), args, { cwd: ROOT, encoding: "utf8" });
    expect(refused.status).toBe(2);
    expect(refused.stderr).toContain('already holds a model named "tiny"');
    // With --replace it resumes: every stage's output exists, so nothing is retrained.
    const again = spawnSync(join(ROOT, "node_modules/.bin/ionrank"), [...args, "--replace"], { cwd: ROOT, encoding: "utf8" });
    expect(again.status, again.stderr).toBe(0);
    expect(again.stderr).not.toContain("epoch 1/");

    // The trunk ships beside the members (byte for byte the one they started from, with its pre-training record), and
    // --trunk reruns the fine-tuning from it without pre-training: the same folds, members and figures.
    expect(card.pretraining.trunk).toMatchObject({ file: "tiny.trunk.pt", record: "tiny.trunk.json" });
    const trunk = join(dir, "models", "tiny.trunk.pt");
    expect(readFileSync(trunk).equals(readFileSync(join(dir, "work", "pretrain", "pretrained.pt")))).toBe(true);
    expect(JSON.parse(readFileSync(join(dir, "models", "tiny.trunk.json"), "utf8")).validation_mae).toEqual(card.pretraining.validation_mae);
    const fromTrunk = [...args.filter((a, i) => a !== "--pretrain" && args[i - 1] !== "--pretrain"), "--trunk", trunk];
    fromTrunk[fromTrunk.indexOf("--work") + 1] = join(dir, "work2");
    fromTrunk[fromTrunk.indexOf("--out") + 1] = join(dir, "models2");
    const rerun = spawnSync(join(ROOT, "node_modules/.bin/ionrank"), fromTrunk, { cwd: ROOT, encoding: "utf8" });
    expect(rerun.status, rerun.stderr).toBe(0);
    expect(rerun.stderr).not.toContain("train: pretrain");
    const card2 = JSON.parse(readFileSync(join(dir, "models2", "tiny.card.json"), "utf8"));
    expect(card2.pretraining.trunk.sha256).toBe(card.pretraining.trunk.sha256);
    expect(card2.pretraining.validation_mae).toEqual(card.pretraining.validation_mae);
    expect(card2.cv.heldout.em_predicted).toEqual(card.cv.heldout.em_predicted);
    expect(card2.parity.pytorch_member_predictions).toEqual(card.parity.pytorch_member_predictions);
    expect(card2.cv.scratch.metrics).toEqual(card.cv.scratch.metrics);
    // A trunk and pre-training data together are ambiguous: refused before any work.
    const both = spawnSync(join(ROOT, "node_modules/.bin/ionrank"), [...fromTrunk, "--pretrain", join(dir, "pz.json")], { cwd: ROOT, encoding: "utf8" });
    expect(both.status).toBe(2);
    expect(both.stderr).toContain("give either --pretrain FILE … (pre-train a trunk) or --trunk FILE");
  });

  it("refuses an unknown readout, loss space, dropout or noise before doing any work", () => {
    const run = (...flags: string[]) => spawnSync(join(ROOT, "node_modules/.bin/ionrank"), ["train", "--em", "x.json", ...flags], { cwd: ROOT, encoding: "utf8" });
    const cases: [string[], string][] = [
      [["--readout", "attention"], "--readout must be one of mean, path"],
      [["--target", "log"], "--target must be one of identity, log1p"],
      [["--dropout", "1.5"], "--dropout must be a probability in [0, 1)"],
      [["--image-bonds", "none"], "--image-bonds must be one of all, host, probe"],
      [["--noise", "-0.1"], "--noise must be a distance in Å in [0, 1]"],
    ];
    for (const [flags, message] of cases) {
      const r = run(...flags);
      expect(r.status, flags.join(" ")).toBe(2);
      expect(r.stderr).toContain(message);
    }
  });

  it("a stage run alone without what the earlier stages write names the stage to run first; only an export reports a card", () => {
    const work = mkdtempSync(join(tmpdir(), "ionrank-stages-"));
    onTestFinished(() => rmSync(work, { recursive: true, force: true }));
    const run = (...flags: string[]) =>
      spawnSync(join(ROOT, "node_modules/.bin/ionrank"), ["train", "--em", join(SHARED, "em/train.json"), "--work", work, "--out", join(work, "out"), "--limit", "4", ...flags], { cwd: ROOT, encoding: "utf8" });
    const exportAlone = run("--stage", "export");
    expect(exportAlone.status).toBe(1);
    expect(exportAlone.stderr).toContain(`error: stage export needs ${join(work, "cv-pretrained", "cv.json")}, which stage finetune writes: run --stage finetune first (same --work)`);
    expect(exportAlone.stderr).not.toMatch(/Traceback/);
    const featurize = run("--stage", "featurize");
    expect(featurize.status, featurize.stderr).toBe(0);
    expect(JSON.parse(featurize.stdout)).toEqual({ card: null });
    expect(existsSync(join(work, "data-em", "manifest.json"))).toBe(true);
    // Members trained on every entry need two or more cross-validation seeds to calibrate their spread.
    const uncalibrated = run("--stage", "members", "--cv-seeds", "1");
    expect(uncalibrated.status).toBe(1);
    expect(uncalibrated.stderr).toContain("error: 5 members trained on every entry need 2 or more cross-validation seeds (got 1)");
    const membersAlone = run("--stage", "export", "--members", "5");
    expect(membersAlone.stderr).toContain(`error: stage export needs ${join(work, "cv-pretrained", "cv.json")}`);
    const one = run("--members", "1");
    expect(one.status).toBe(1);
    expect(one.stderr).toContain("an ensemble of 1 member has no spread");
  });
});
