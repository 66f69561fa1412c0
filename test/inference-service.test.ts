import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Lattice, Pathway, readJsonStructures, Structure } from "@ionrank/crystal";
import { pathwayGraph, type FeaturizerConfig } from "@ionrank/featurize";
import { EmModel, EmPredictor, InferenceError, ModelCardError, pathInput, PredictionError, type EmResult, type PathInput } from "@ionrank/inference";
import { FIXTURES, ionrank, ROOT, SHARED } from "./helpers.js";

const MODEL = join(ROOT, "models/em.card.json");
const CARD_CONFIG = (JSON.parse(readFileSync(MODEL, "utf8")) as { featurizer: { config: FeaturizerConfig } }).featurizer.config;
const train = JSON.parse(readFileSync(join(SHARED, "em/train.json"), "utf8")) as { sys_name: string; target: number }[];
const path = (i: number) => Pathway.fromImageStructure(readJsonStructures(train[i] as never)[0]!);

describe("EmPredictor: batching, isolation, cache, providers", () => {
  let batched: EmPredictor;
  let single: EmPredictor;
  const logs: string[] = [];
  beforeAll(async () => {
    batched = await EmPredictor.load(MODEL, { workers: 2, batchWaitMs: 5, log: (l) => logs.push(l) });
    single = await EmPredictor.load(MODEL, { workers: 1, maxBatchAtoms: 1, cacheSize: 0, log: () => {} });
  });
  afterAll(async () => {
    await batched.close();
    await single.close();
  });

  it("says once which execution provider it chose and why", () => {
    expect(logs).toHaveLength(1);
    expect(logs[0]).toMatch(/on ONNX Runtime CPU \(CPU requested\), 2 worker thread\(s\), \d+ members/);
  });

  it("concurrent calls are batched, and batched results equal one-by-one results exactly", async () => {
    const inputs = Array.from({ length: 24 }, (_, i) => pathInput(path(i)));
    const before = batched.stats.batches;
    const together = await Promise.all(inputs.map((x) => batched.predict(x)));
    expect(batched.stats.batches - before).toBe(1);
    for (const [i, x] of inputs.entries()) {
      const alone = await single.predict(x);
      // Bit for bit: runs are planned so that a result does not depend on its batch (runs.ts).
      expect(alone.members).toEqual(together[i]!.members);
      expect(alone.emPredicted).toBe(together[i]!.emPredicted);
    }
    // And both agree with the ensemble run directly on the main thread.
    const direct = await EmModel.load(MODEL);
    const ref = await direct.predict(inputs.slice(0, 3).map((x) => pathwayGraphOf(x)));
    ref.forEach((r, i) => expect(r.members).toEqual(together[i]!.members));
    await direct.release();
    const r = together[0]!;
    expect(r.model).toBe(batched.modelVersion);
    expect(r.pGood).toBeGreaterThanOrEqual(0);
    expect(r.pGood).toBeLessThanOrEqual(1);
    expect(r.emStd).toBeCloseTo(stdev(r.members) * batched.card.calibration.scale, 9);
  });

  it("every training pathway: batched in a shuffled order, each result equals its one-by-one result bit for bit", async () => {
    const order = train.map((_, i) => i).sort((a, b) => ((a * 7919) % 559) - ((b * 7919) % 559));
    const inputs = order.map((i) => pathInput(path(i)));
    const fresh = await EmPredictor.load(MODEL, { workers: 2, cacheSize: 0, log: () => {} });
    try {
      const together = await fresh.predictMany(inputs);
      const alone = await single.predictMany(inputs);
      const differ = together.filter((r, i) => JSON.stringify((r as { members: number[] }).members) !== JSON.stringify((alone[i] as { members: number[] }).members));
      expect(together.every((r) => !(r instanceof Error))).toBe(true);
      expect(differ).toHaveLength(0);
    } finally {
      await fresh.close();
    }
  }, 120_000);

  it("splits a batch into runs of at most maxBatchAtoms atoms, and the results do not depend on the split", async () => {
    const inputs = Array.from({ length: 12 }, (_, i) => pathInput(path(40 + i)));
    const atoms = inputs.map((x) => x.structure.length);
    const limit = 2 * Math.max(...atoms); // at least two of these path structures per run
    // Below half the batch, so the bound (not the one-run-per-worker split) decides the runs.
    expect(limit).toBeLessThan(atoms.reduce((a, b) => a + b) / 2);
    const bounded = await EmPredictor.load(MODEL, { workers: 2, maxBatchAtoms: limit, cacheSize: 0, log: () => {} });
    try {
      const out = await Promise.all(inputs.map((x) => bounded.predict(x)));
      expect(bounded.stats.batches).toBe(1);
      // The runs the predictor must form: consecutive items while their atoms fit the limit.
      let expected = 0;
      let fill = Infinity;
      for (const n of atoms) {
        if (fill + n > limit) {
          expected++;
          fill = 0;
        }
        fill += n;
      }
      expect(expected).toBeGreaterThan(2);
      expect(bounded.stats.runs).toBe(expected);
      const alone = await Promise.all(inputs.map((x) => single.predict(x)));
      out.forEach((r, i) => expect(r.members).toEqual(alone[i]!.members));
    } finally {
      await bounded.close();
    }
  });

  it("a bad item rejects only its own promise", async () => {
    const good = pathInput(path(30));
    const disordered: PathInput = {
      structure: new Structure(Lattice.cubic(6), [
        { element: "Li", frac: [0, 0, 0], occupancy: 0.5 },
        { element: "O", frac: [0.5, 0.5, 0.5] },
      ]),
      isImage: new Uint8Array(2),
    };
    const wrongFlags: PathInput = { structure: good.structure, isImage: new Uint8Array(3) };
    const res = await Promise.allSettled([batched.predict(good), batched.predict(disordered), batched.predict(wrongFlags), batched.predict(pathInput(path(31)))]);
    expect(res.map((r) => r.status)).toEqual(["fulfilled", "rejected", "rejected", "fulfilled"]);
    expect(String((res[1] as PromiseRejectedResult).reason)).toMatch(/needs an ordered structure/);
    expect(String((res[2] as PromiseRejectedResult).reason)).toMatch(/image flags cover 3 atoms/);
  });

  it("serves repeated structures from the cache", async () => {
    const x = pathInput(path(40));
    const first = await batched.predict(x);
    const items = batched.stats.items;
    const again = await batched.predict(pathInput(path(40)));
    expect(batched.stats.items).toBe(items);
    expect(again).toEqual(first);
  });

  it("warns when a prediction is outside the training data", async () => {
    const host = path(0).host;
    const odd = Pathway.fromPositions(host, "Cs", [0.1, 0.1, 0.1], [0.15, 0.1, 0.1]);
    const r = await batched.predict(pathInput(odd));
    expect(r.warnings.join("; ")).toMatch(/mobile ion Cs absent from the Em training data/);
  });

  it("warns when the straight path squeezes past a host atom, where the model errs most", async () => {
    const blocked = train.findIndex((e) => e.sys_name === "LiRuO2_1"); // the path runs through a Ru site
    const [r, clear] = await Promise.all([batched.predict(pathInput(path(blocked))), batched.predict(pathInput(path(0)))]);
    expect(r.warnings.join("; ")).toMatch(/straight path passes 0\.00 Å from a host atom: in cross-validation the \d+ training hops closer than 1 Å were predicted with MAE 0\.\d\d eV/);
    expect(clear.warnings).toEqual([]);
  });

  it("warns when the host itself is not physical (atoms on top of each other), as in three entries of the published Em set", async () => {
    const overlapping = train.findIndex((e) => e.sys_name === "Na4MnAlP3O12_1");
    const r = await batched.predict(pathInput(path(overlapping)));
    expect(r.warnings[0]).toBe("host sites 3 (Na) and 6 (Na) are 0.014 Å apart, closer than 0.5 Å: not a physical structure, the prediction means little");
    expect(Number.isFinite(r.emPredicted)).toBe(true);
  });

  it("a worker that dies fails only the run it was doing, and is replaced: later calls are answered, none waits forever", async () => {
    const one = await EmPredictor.load(MODEL, { workers: 1, log: () => {} }); // with its cache: a crash must not be cached
    try {
      const inputs = Array.from({ length: 64 }, (_, k) => pathInput(path(k)));
      const running = one.predictMany(inputs);
      await new Promise((r) => setTimeout(r, 20)); // the batch is in the worker now
      // What an out-of-memory kill or a crash in ONNX Runtime does: the thread is gone.
      const pool = (one as unknown as { pool: { workers: { terminate(): Promise<number> }[] } }).pool;
      await pool.workers[0]!.terminate();
      const results = await running;
      // The run that was in the worker fails, by name; the runs still queued go to its replacement.
      const failed = results.filter((r) => r instanceof Error);
      expect(failed.length).toBeGreaterThan(0);
      expect(failed.every((r) => /^inference worker crashed: it exited with code \d+/.test((r as Error).message))).toBe(true);
      expect(results.length - failed.length).toBeGreaterThan(0);
      // The pool is back to one worker and answers — also for a pathway whose call the crash failed.
      const again = await one.predict(inputs[results.findIndex((r) => r instanceof Error)]!);
      expect(Number.isFinite(again.emPredicted)).toBe(true);
      expect(pool.workers).toHaveLength(1);
    } finally {
      await one.close();
    }
  });

  it("closing while a crashed worker's replacement is still loading waits for it, so no worker outlives the service", async () => {
    const svc = await EmPredictor.load(MODEL, { workers: 1, log: () => {} });
    const pool = (svc as unknown as { pool: { workers: { terminate(): Promise<number> }[]; starting: number } }).pool;
    await pool.workers[0]!.terminate(); // the replacement starts loading the model now
    await new Promise((r) => setTimeout(r, 10));
    expect(pool.starting).toBe(1);
    await svc.close();
    expect(pool.starting).toBe(0);
  });

  it("closing while calls are in flight settles every one of them", async () => {
    const svc = await EmPredictor.load(MODEL, { workers: 1, cacheSize: 0, log: () => {} });
    const running = svc.predictMany(Array.from({ length: 40 }, (_, k) => pathInput(path(200 + k))));
    await new Promise((r) => setTimeout(r, 20)); // one run is in the worker, the rest queued
    await svc.close();
    const results = await Promise.race([running, new Promise<"hung">((r) => setTimeout(() => r("hung"), 5_000))]);
    expect(results).not.toBe("hung");
    expect((results as Error[]).every((r) => r instanceof Error && r.message === "the inference service is closed")).toBe(true);
  });

  it("each caller gets its own copy of a cached result: editing one does not change what others get", async () => {
    const x = pathInput(path(41));
    const [a, b] = await Promise.all([batched.predict(x), batched.predict(x)]);
    expect(a).not.toBe(b);
    const original = structuredClone(a);
    a.emPredicted = -1;
    a.warnings.push("edited");
    a.members.push(99);
    expect(await batched.predict(x)).toEqual(original);
    expect(b).toEqual(original);
  });

  it("falls back from CUDA to CPU with a reason, and fails clearly at load time on a broken model", async () => {
    const gpu = await EmPredictor.load(MODEL, { provider: "cuda", workers: 1, log: (l) => logs.push(l) });
    expect(gpu.provider).toBe("cpu");
    expect(logs.at(-1)).toMatch(/CUDA requested but its libraries are not installed \(install onnxruntime-node with ONNXRUNTIME_NODE_INSTALL=cuda12\)/);
    await gpu.close();
    const dir = mkdtempSync(join(tmpdir(), "ionrank-broken-"));
    const card = JSON.parse(readFileSync(MODEL, "utf8"));
    for (const m of card.ensemble.members) copyFileSync(join(ROOT, "models", m.file), join(dir, m.file));
    writeFileSync(join(dir, card.ensemble.members[0].file), "not an onnx model");
    card.ensemble.members[0].sha256 = (await import("node:crypto")).createHash("sha256").update("not an onnx model").digest("hex");
    writeFileSync(join(dir, "em.card.json"), JSON.stringify(card));
    await expect(EmPredictor.load(join(dir, "em.card.json"), { workers: 1, log: () => {} })).rejects.toThrowError(/cannot load the model: cannot load ONNX model/);
  });

  it("refuses at load time a card whose tensors differ from its members' or from what the service feeds, and options out of range", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ionrank-spec-"));
    const card = JSON.parse(readFileSync(MODEL, "utf8"));
    for (const m of card.ensemble.members) copyFileSync(join(ROOT, "models", m.file), join(dir, m.file));
    const load = (edit: (c: typeof card) => void) => {
      const c = structuredClone(card);
      edit(c);
      writeFileSync(join(dir, "em.card.json"), JSON.stringify(c));
      return EmPredictor.load(join(dir, "em.card.json"), { workers: 1, log: () => {} });
    };
    await expect(load((c) => (c.outputs.spread = { dtype: "float32", shape: ["graphs"] }))).rejects.toThrowError(
      new RegExp(`^${join(dir, "em.card.json")}: cannot load the model: .*em\\.member0\\.onnx declares outputs \\[em\\], the card says \\[em, spread\\]$`),
    );
    await expect(load((c) => (c.inputs.nbr_vector.shape = ["atoms", "neighbours"]))).rejects.toThrowError(/input nbr_vector has rank 2; this service feeds rank 3/);
    await expect(load((c) => (c.inputs.atomic_number.dtype = "int32"))).rejects.toThrowError(/input atomic_number is int32; this service feeds int64/);
    await expect(load((c) => delete c.inputs.atom_counts)).rejects.toThrowError(/the card's inputs lack atom_counts/);
    const error = await load((c) => (c.outputs.spread = { dtype: "float32", shape: [] })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ModelCardError);
    for (const [options, message] of [
      [{ workers: Number.NaN }, /workers must be an integer ≥ 1, not null/],
      [{ maxBatchAtoms: 0 }, /maxBatchAtoms must be an integer ≥ 1, not 0/],
      [{ threshold: -5 }, /threshold must be a positive barrier in eV, not -5/],
      [{ provider: "tpu" }, /provider must be "cpu" or "cuda", not "tpu"/],
    ] as const) {
      await expect(EmPredictor.load(MODEL, options as never)).rejects.toThrowError(message);
    }
  });

  it("a pathway that cannot be predicted rejects with a PredictionError saying what kind of failure it was", async () => {
    const rf = pathInput(path(50));
    const sites = rf.structure.sites.map((s, i) => (i === rf.structure.length - 1 ? { ...s, element: "Rf" as const } : s));
    const error = await batched.predict({ structure: new Structure(rf.structure.lattice, sites), isImage: rf.isImage }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PredictionError);
    expect((error as PredictionError).kind).toBe("UnsupportedElementError");
    // The moving ion's images with no host around them: nothing to predict from.
    const bare = pathInput(path(50));
    const images = bare.structure.sites.filter((_, i) => bare.isImage[i] === 1);
    await expect(batched.predict({ structure: new Structure(bare.structure.lattice, images), isImage: new Uint8Array(images.length).fill(1) })).rejects.toThrowError(
      /the path structure has no host atoms, only the moving ion's images/,
    );
  });

  it("a bad item in the middle of a worker's request leaves its neighbours their own results, bit for bit", async () => {
    const svc = await EmPredictor.load(MODEL, { workers: 1, cacheSize: 0, log: () => {} }); // one request to one worker
    try {
      const good = [0, 1, 2, 3].map((i) => pathInput(path(i)));
      const b = pathInput(path(5));
      // One image: it once failed after its graph was kept, shifting every later item onto its neighbour's graph.
      const oneImage: PathInput = { structure: b.structure, isImage: Uint8Array.from(b.isImage, (_, i) => (i === 0 ? 1 : 0)) };
      // A flag of 2: an image to part of the featurizer and not to the rest.
      const flagTwo: PathInput = { structure: b.structure, isImage: Uint8Array.from(b.isImage, (f) => 2 * f) };
      const res = await Promise.allSettled([svc.predict(good[0]!), svc.predict(oneImage), svc.predict(good[1]!), svc.predict(flagTwo), svc.predict(good[2]!), svc.predict(good[3]!)]);
      expect(svc.stats.batches).toBe(1);
      expect(res.map((r) => r.status)).toEqual(["fulfilled", "rejected", "fulfilled", "rejected", "fulfilled", "fulfilled"]);
      expect((res[1] as PromiseRejectedResult).reason).toBeInstanceOf(PredictionError);
      expect(String((res[1] as PromiseRejectedResult).reason)).toMatch(/the path structure has 1 path image\(s\), the model reads 5/);
      expect(String((res[3] as PromiseRejectedResult).reason)).toMatch(/image flag 0 is 2; flags are 1 for a path image and 0 for a host atom/);
      const alone = await single.predictMany(good);
      [0, 2, 4, 5].forEach((k, i) => expect((res[k] as PromiseFulfilledResult<EmResult>).value.members).toEqual((alone[i] as EmResult).members));
    } finally {
      await svc.close();
    }
  });

  it("a straight hop given with another number of images is resampled to the model's, and fails no other pathway", async () => {
    const neighbours = [pathInput(path(0)), pathInput(path(2))];
    const [a, seven, three, c] = await Promise.all([neighbours[0]!, pathInput(path(1).withImages(7)), pathInput(path(1).withImages(3)), neighbours[1]!].map((x) => batched.predict(x)));
    // The same hop with the model's 5 images, as pathwayGraph resamples it.
    const five = await single.predict(pathInput(path(1).withImages(5)));
    expect(seven!.members).toEqual(five.members);
    expect(three!.members).toEqual(five.members);
    expect(a!.members).toEqual((await single.predict(neighbours[0]!)).members);
    expect(c!.members).toEqual((await single.predict(neighbours[1]!)).members);
    // Images that are not a straight hop cannot be resampled: that item's error, by reason.
    const bent = pathInput(path(1).withImages(7));
    const sites = bent.structure.sites.map((s, i) => (i === 3 ? { ...s, frac: [s.frac[0] + 0.05, s.frac[1], s.frac[2]] as [number, number, number] } : s));
    await expect(batched.predict({ structure: new Structure(bent.structure.lattice, sites), isImage: bent.isImage })).rejects.toThrowError(
      /the path structure has 7 path image\(s\), the model reads 5, and they cannot be resampled: image/,
    );
  });

  it("a member that answers NaN or Infinity fails each pathway by name instead of reporting a number", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ionrank-nan-"));
    const card = JSON.parse(readFileSync(MODEL, "utf8"));
    const real = card.ensemble.members[0];
    copyFileSync(join(ROOT, "models", real.file), join(dir, real.file));
    for (const kind of ["nan", "inf"] as const) {
      card.ensemble.members = [real, writeMember(dir, `${kind}.onnx`, brokenEmModel(kind), 1)];
      writeFileSync(join(dir, `${kind}.card.json`), JSON.stringify(card));
      const svc = await EmPredictor.load(join(dir, `${kind}.card.json`), { workers: 1, log: () => {} });
      try {
        const res = await svc.predictMany([pathInput(path(0)), pathInput(path(1))]);
        for (const r of res) {
          expect(r).toBeInstanceOf(PredictionError);
          expect((r as Error).message).toMatch(new RegExp(`ONNX model .*${kind}\\.onnx gave Em = ${kind === "nan" ? "NaN" : "Infinity"} for this pathway, not a number of eV`));
        }
      } finally {
        await svc.close();
      }
    }
  });

  it("a member whose em output has more numbers than graphs fails its runs by name instead of reading the first ones as Em", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ionrank-wide-"));
    const card = JSON.parse(readFileSync(MODEL, "utf8"));
    card.ensemble.members = [writeMember(dir, "wide.onnx", brokenEmModel("wide"), 0)];
    writeFileSync(join(dir, "wide.card.json"), JSON.stringify(card));
    const svc = await EmPredictor.load(join(dir, "wide.card.json"), { workers: 1, log: () => {} });
    try {
      const res = await svc.predictMany([pathInput(path(0)), pathInput(path(1))]);
      for (const r of res) {
        expect(r).toBeInstanceOf(PredictionError);
        expect((r as Error).message).toMatch(/ONNX model .*wide\.onnx gave em of shape \[\d+, \d+\] for \d+ graphs; the card says one Em per graph/);
      }
    } finally {
      await svc.close();
    }
  });

  it("the main-thread EmModel refuses a member's NaN or Infinity as the service does, naming the graph and the member", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ionrank-nan-direct-"));
    const card = JSON.parse(readFileSync(MODEL, "utf8"));
    const real = card.ensemble.members[0];
    copyFileSync(join(ROOT, "models", real.file), join(dir, real.file));
    const graphs = [pathwayGraphOf(pathInput(path(0))), pathwayGraphOf(pathInput(path(1)))];
    for (const kind of ["nan", "inf"] as const) {
      card.ensemble.members = [real, writeMember(dir, `${kind}.onnx`, brokenEmModel(kind), 1)];
      writeFileSync(join(dir, `${kind}.card.json`), JSON.stringify(card));
      const direct = await EmModel.load(join(dir, `${kind}.card.json`));
      try {
        for (const call of [() => direct.predict(graphs), () => direct.memberPredictions(graphs)]) {
          const error = await call().catch((e: unknown) => e);
          expect(error).toBeInstanceOf(PredictionError);
          expect((error as PredictionError).kind).toBe("OnnxRuntimeError");
          expect((error as Error).message).toMatch(new RegExp(`^graph 0: ONNX model .*${kind}\\.onnx gave Em = ${kind === "nan" ? "NaN" : "Infinity"} for this pathway, not a number of eV$`));
        }
      } finally {
        await direct.release();
      }
    }
  });

  it("refuses at load time an em output that is not float32, even when the card and its members agree on it", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ionrank-int64-"));
    const card = JSON.parse(readFileSync(MODEL, "utf8"));
    card.ensemble.members = [writeMember(dir, "m.onnx", brokenEmModel("int64"), 0)];
    const cardPath = join(dir, "m.card.json");
    // The member really declares an int64 em: with the card's float32 it is refused, by name.
    writeFileSync(cardPath, JSON.stringify(card));
    await expect(EmPredictor.load(cardPath, { workers: 1, log: () => {} })).rejects.toThrowError(/m\.onnx declares output em as int64 of rank 2, the card says float32 of rank 2/);
    // Card and member agreeing on int64: this loaded, then failed every pathway with "gave Em = 10 …, not a number of eV".
    card.outputs.em.dtype = "int64";
    writeFileSync(cardPath, JSON.stringify(card));
    for (const load of [() => EmPredictor.load(cardPath, { workers: 1, log: () => {} }), () => EmModel.load(cardPath)]) {
      const error = await load().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ModelCardError);
      expect((error as Error).message).toBe(`${cardPath}: outputs.em is int64; the service reads Em as float32 (eV)`);
    }
  });

  it("a worker that ends at start-up without a word fails load() by name instead of leaving it pending forever", () => {
    const dir = mkdtempSync(join(tmpdir(), "ionrank-exit-"));
    // A real way for a worker to end unheard: a module preloaded with --import (an agent, a profiler) runs in
    // every worker thread too, and this one calls process.exit there.
    const preload = join(dir, "exit-in-workers.mjs");
    writeFileSync(preload, `import { isMainThread } from "node:worker_threads";\nif (!isMainThread) process.exit(7);\n`);
    const script = [
      `import { EmPredictor } from "@ionrank/inference";`,
      `try { await EmPredictor.load(${JSON.stringify(MODEL)}, { workers: 1, log: () => {} }); console.log(JSON.stringify("loaded")); }`,
      `catch (e) { console.log(JSON.stringify({ name: e.name, message: e.message })); }`,
    ].join("\n");
    const r = spawnSync(process.execPath, ["--import", pathToFileURL(preload).href, "--input-type=module", "-e", script], { cwd: ROOT, encoding: "utf8", timeout: 120_000 });
    // Before, load() never settled: here the event loop emptied with it pending (exit code 13, nothing printed).
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ name: "InferenceError", message: `${MODEL}: inference worker exited with code 7 before opening any member, without loading the model` });
  });

  it("a worker that does not load the model within startTimeoutMs fails load() by name, and the option is range-checked", async () => {
    const error = await EmPredictor.load(MODEL, { workers: 1, startTimeoutMs: 1, log: () => {} }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InferenceError);
    expect((error as Error).message).toMatch(/: inference worker did not load the model within 1 ms \(still (before opening any member|while opening .*em\.member\d\.onnx)\)$/);
    expect((error as Error).message.startsWith(`${MODEL}: `)).toBe(true);
    await expect(EmPredictor.load(MODEL, { startTimeoutMs: 0 })).rejects.toThrowError(/startTimeoutMs must be an integer ≥ 1, not 0/);
    await expect(EmPredictor.load(MODEL, { startTimeoutMs: 2 ** 31 })).rejects.toThrowError(/startTimeoutMs must be at most 2147483647 ms/);
  });

  it("warns about the mobile ion and hop length wherever the path images are listed, not only first", async () => {
    const host = path(0).host;
    const odd = pathInput(Pathway.fromPositions(host, "Cs", [0.1, 0.1, 0.1], [0.15, 0.1, 0.1]));
    const n = odd.isImage.reduce((a, f) => a + f, 0);
    const sites = [...odd.structure.sites.slice(n), ...odd.structure.sites.slice(0, n)];
    const imagesLast: PathInput = { structure: new Structure(odd.structure.lattice, sites), isImage: Uint8Array.from(sites, (_, i) => (i >= sites.length - n ? 1 : 0)) };
    const [first, last] = await Promise.all([batched.predict(odd), batched.predict(imagesLast)]);
    expect(first.warnings.join("; ")).toMatch(/mobile ion Cs absent from the Em training data/);
    expect(last.warnings.filter((w) => !w.startsWith("host "))).toEqual(first.warnings.filter((w) => !w.startsWith("host ")));
  });

  it("refuses at load time an input rank other than the one fed, even when the card and its members agree on it", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ionrank-rank-"));
    const card = JSON.parse(readFileSync(MODEL, "utf8"));
    card.ensemble.members = [writeMember(dir, "m.onnx", brokenEmModel("nan", { atomic_number: ["atoms", 1] }), 0)];
    const load = (shape: (string | number)[]) => {
      card.inputs.atomic_number.shape = shape;
      writeFileSync(join(dir, "m.card.json"), JSON.stringify(card));
      return EmPredictor.load(join(dir, "m.card.json"), { workers: 1, log: () => {} });
    };
    // Card and member agree on rank 2, the service feeds rank 1: this used to load and fail every run.
    const error = await load(["atoms", 1]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ModelCardError);
    expect((error as Error).message).toMatch(/m\.card\.json: input atomic_number has rank 2; this service feeds rank 1$/);
    // The card right and the member not: the member is named.
    await expect(load(["atoms"])).rejects.toThrowError(/m\.onnx declares input atomic_number as int64 of rank 2, the card says int64 of rank 1/);
  });

  it("a member file rewritten after load is not opened by a crashed worker's replacement: calls fail by name, none hangs", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ionrank-swap-"));
    const card = JSON.parse(readFileSync(MODEL, "utf8"));
    for (const m of card.ensemble.members) copyFileSync(join(ROOT, "models", m.file), join(dir, m.file));
    writeFileSync(join(dir, "em.card.json"), JSON.stringify(card));
    const svc = await EmPredictor.load(join(dir, "em.card.json"), { workers: 1, cacheSize: 0, log: () => {} });
    try {
      const x = pathInput(path(0));
      const before = await svc.predict(x);
      // A new export over the old files (another model under the same card version), then a worker crash.
      copyFileSync(join(ROOT, "models", card.ensemble.members[1].file), join(dir, card.ensemble.members[0].file));
      const pool = (svc as unknown as { pool: { workers: { terminate(): Promise<number> }[] } }).pool;
      await pool.workers[0]!.terminate();
      const after = await Promise.race([svc.predict(x).catch((e: unknown) => e), new Promise<"hung">((r) => setTimeout(() => r("hung"), 20_000))]);
      expect(after, `served ${JSON.stringify((after as EmResult).members)} after ${JSON.stringify(before.members)}`).toBeInstanceOf(Error);
      expect((after as Error).message).toMatch(/em\.member0\.onnx now has SHA-256 .*, the card says .* \(changed since the card was loaded\)/);
    } finally {
      await svc.close();
    }
  });

  it("refuses at once a cell too thin or too crowded to be a crystal, instead of holding a worker for its neighbour search", async () => {
    const images = [0, 1, 2, 3, 4].map((k) => ({ element: "Li" as const, frac: [0.1 * k, 0, 0] as [number, number, number] }));
    const flags = Uint8Array.from([1, 1, 1, 1, 1, 0]);
    const thin = { structure: new Structure(Lattice.cubic(0.06), [...images, { element: "O", frac: [0.5, 0.5, 0.5] }]), isImage: flags };
    // 2,000 host atoms in a 10 Å cube: 2 per Å³, eleven times diamond's density.
    const crowded = new Structure(Lattice.cubic(10), [...images, ...Array.from({ length: 2_000 }, (_, k) => ({ element: "O" as const, frac: [((k * 0.618) % 1), ((k * 0.414) % 1), ((k * 0.732) % 1)] as [number, number, number] }))]);
    const res = await Promise.allSettled([batched.predict(thin), batched.predict({ structure: crowded, isImage: Uint8Array.from(crowded.sites, (_, i) => (i < 5 ? 1 : 0)) })]);
    expect(res.map((r) => r.status)).toEqual(["rejected", "rejected"]);
    expect((res[0] as PromiseRejectedResult).reason).toBeInstanceOf(PredictionError);
    expect(String((res[0] as PromiseRejectedResult).reason)).toMatch(/the cell is only 0\.060 Å thick between lattice planes, less than 0\.5 Å: not a crystal/);
    expect(String((res[1] as PromiseRejectedResult).reason)).toMatch(/the host has 2\.00 atoms per Å³, more than 1\.5: not a crystal/);
  });

  it("a closed service answers no call, not even one it has cached", async () => {
    const svc = await EmPredictor.load(MODEL, { workers: 1, log: () => {} });
    const x = pathInput(path(0));
    await svc.predict(x);
    await svc.close();
    await expect(svc.predict(x)).rejects.toThrowError(/^the inference service is closed$/);
  });

  it("a crowd of concurrent calls is served in batches of maxBatchSize: the first results come before the last batch runs", async () => {
    const svc = await EmPredictor.load(MODEL, { workers: 1, cacheSize: 0, maxBatchSize: 8, log: () => {} });
    try {
      let done = 0;
      let afterFirst: Promise<number> | null = null;
      await Promise.all(
        Array.from({ length: 32 }, (_, k) =>
          svc.predict(pathInput(path(300 + k))).then(() => {
            done++;
            // Results answered together settle in one go; a turn of the event loop later, the later batches still run.
            afterFirst ??= new Promise((r) => setImmediate(() => r(done)));
          }),
        ),
      );
      expect(svc.stats.batches).toBe(4);
      // 8 when the first batch's answers are handled before the second's arrive (a busy machine may merge two);
      // one batch of all 32 (what the service did before maxBatchSize) resolves them all at once.
      const first = await afterFirst!;
      expect(first).toBeGreaterThanOrEqual(8);
      expect(first).toBeLessThan(32);
    } finally {
      await svc.close();
    }
  });

  it("keeps the event loop free while a large batch runs: featurization and ONNX run in the workers", async () => {
    const inputs = Array.from({ length: 120 }, (_, i) => pathInput(path(100 + i)));
    const lag = async (work: () => Promise<unknown>) => {
      let worst = 0;
      let last = performance.now();
      const timer = setInterval(() => {
        const now = performance.now();
        worst = Math.max(worst, now - last - 5);
        last = now;
      }, 5);
      await work();
      clearInterval(timer);
      return worst;
    };
    const fresh = await EmPredictor.load(MODEL, { workers: 2, cacheSize: 0, log: () => {} });
    let busy = 0;
    const withWorkers = await lag(async () => {
      const t0 = performance.now();
      await fresh.predictMany(inputs);
      busy = performance.now() - t0;
    });
    await fresh.close();
    // Featurizing 120 path structures alone takes far longer than the worst stall we allow, so this holds only
    // because that work (and ONNX) happens off the main thread: a 5 ms timer keeps firing throughout.
    const t0 = performance.now();
    inputs.forEach(pathwayGraphOf);
    const featurizeOnMain = performance.now() - t0;
    expect(busy).toBeGreaterThan(featurizeOnMain);
    expect(withWorkers).toBeLessThan(Math.min(100, featurizeOnMain / 2));
  });
});

function pathwayGraphOf(x: PathInput) {
  const n = x.isImage.reduce((a, b) => a + b, 0);
  return pathwayGraph(Pathway.fromImageStructure(x.structure, n), CARD_CONFIG);
}

/** Writes an ONNX member into dir and returns its card entry (file, SHA-256, size, fold). */
function writeMember(dir: string, file: string, bytes: Uint8Array, fold = 0) {
  writeFileSync(join(dir, file), bytes);
  return { file, sha256: createHash("sha256").update(bytes).digest("hex"), bytes: bytes.length, fold };
}

/**
 * A minimal ONNX model with the service's seven inputs and an em output of rank 2, broken as `kind` says: 0/0
 * (NaN) or n/0 (Infinity) for every graph, "wide": the [atoms, k] neighbour mask, more numbers than graphs, or
 * "int64": each graph's atom count as an int64 em.
 * Written by hand in ONNX's protobuf encoding, so the test needs no Python.
 */
function brokenEmModel(kind: "nan" | "inf" | "wide" | "int64", dims: Record<string, (string | number)[]> = {}): Uint8Array {
  const varint = (n: bigint): number[] => {
    const out: number[] = [];
    let v = BigInt.asUintN(64, n);
    do {
      const b = Number(v & 0x7fn);
      v >>= 7n;
      out.push(v ? b | 0x80 : b);
    } while (v);
    return out;
  };
  const int = (no: number, n: number | bigint) => [...varint(BigInt(no << 3)), ...varint(BigInt(n))];
  const bytes = (no: number, b: number[]) => [...varint(BigInt((no << 3) | 2)), ...varint(BigInt(b.length)), ...b];
  const str = (no: number, s: string) => bytes(no, [...Buffer.from(s)]);
  const tensorType = (elem: number, dims: (string | number)[]) =>
    bytes(2, bytes(1, [...int(1, elem), ...bytes(2, dims.flatMap((d) => bytes(1, typeof d === "number" ? int(1, d) : str(2, d))))]));
  const FLOAT = 1;
  const INT64 = 7;
  const inputs: [string, number, (string | number)[]][] = [
    ["atomic_number", INT64, ["atoms"]],
    ["is_image", FLOAT, ["atoms"]],
    ["nbr_index", INT64, ["atoms", "k"]],
    ["nbr_vector", FLOAT, ["atoms", "k", 3]],
    ["nbr_mask", FLOAT, ["atoms", "k"]],
    ["graph_index", INT64, ["atoms"]],
    ["atom_counts", FLOAT, ["graphs"]],
  ];
  const node = (op: string, ins: string[], outs: string[], attributes: number[] = []) => bytes(1, [...ins.flatMap((i) => str(1, i)), ...outs.flatMap((o) => str(2, o)), ...str(4, op), ...attributes]);
  const shape = bytes(5, [...int(1, 2), ...int(2, INT64), ...bytes(7, [...varint(-1n), ...varint(1n)]), ...str(8, "shape")]); // int64 [-1, 1]
  const graph = [
    ...(kind === "wide"
      ? node("Identity", ["nbr_mask"], ["em"])
      : kind === "int64"
        ? [...node("Cast", ["atom_counts"], ["counts"], bytes(5, [...str(1, "to"), ...int(3, INT64), ...int(20, 2)])), ...node("Reshape", ["counts", "shape"], ["em"])] // attribute to: INT
        : [
          ...node("Sub", ["atom_counts", "atom_counts"], ["zero"]),
          ...node("Div", [kind === "nan" ? "zero" : "atom_counts", "zero"], ["value"]),
          ...node("Reshape", ["value", "shape"], ["em"]),
        ]),
    ...str(2, "broken"),
    ...shape,
    ...inputs.flatMap(([name, elem, d]) => bytes(11, [...str(1, name), ...tensorType(elem, dims[name] ?? d)])),
    ...bytes(12, [...str(1, "em"), ...tensorType(kind === "int64" ? INT64 : FLOAT, ["graphs", 1])]),
  ];
  return Uint8Array.from([...int(1, 8), ...bytes(8, [...str(1, ""), ...int(2, 13)]), ...bytes(7, graph)]);
}

function stdev(v: number[]): number {
  const m = v.reduce((a, b) => a + b, 0) / v.length;
  return Math.sqrt(v.reduce((a, x) => a + (x - m) ** 2, 0) / (v.length - 1));
}

describe("ionrank predict / evaluate / screen", () => {
  const run = (...args: string[]) => {
    const r = ionrank(args);
    return { status: r.code, stdout: r.stdout, stderr: r.stderr };
  };
  const FIX = FIXTURES;

  it("predict: host structures with --ion, dataset entries, endpoint pairs; bad files reported, good ones kept", () => {
    const dir = mkdtempSync(join(tmpdir(), "ionrank-predict-"));
    writeFileSync(join(dir, "three.json"), JSON.stringify(train.slice(0, 3)));
    writeFileSync(join(dir, "broken.cif"), "data_x\n_cell_length_a 4\n");
    const r = run("predict", join(FIX, "LiFePO4.cif"), join(dir, "three.json"), join(dir, "broken.cif"), "--ion", "Li", "--format", "json");
    expect(r.status).toBe(1);
    const rows = JSON.parse(r.stdout);
    expect(rows.map((x: { id: string }) => x.id)).toEqual(["LiFePO4.cif#0", "LiFePO4.cif#1", ...train.slice(0, 3).map((e) => e.sys_name)]);
    expect(Object.keys(rows[0]).sort()).toEqual(["emPredicted", "emStd", "formula", "id", "ion", "model", "pGood", "warnings"]);
    expect(rows[0].formula).toMatch(/^Li\d*Fe\d*P\d*O\d*$/);
    expect(r.stderr).toMatch(/error: .*broken\.cif.*_cell_length_b is missing|error: .*broken\.cif/);
    const csv = run("predict", join(dir, "three.json"), "--format", "csv");
    expect(csv.status).toBe(0);
    expect(csv.stdout.split("\n")[0]).toBe("id,formula,ion,emPredicted,emStd,pGood,model,warnings");
    const p = path(5);
    const { initial, final } = p.toEndpoints();
    writeFileSync(join(dir, "a.json"), JSON.stringify({ atoms: { lattice_mat: initial.lattice.matrix, coords: initial.fracCoords, elements: initial.elements } }));
    writeFileSync(join(dir, "b.json"), JSON.stringify({ atoms: { lattice_mat: final.lattice.matrix, coords: final.fracCoords, elements: final.elements } }));
    const pair = run("predict", "--initial", join(dir, "a.json"), "--final", join(dir, "b.json"), "--format", "json");
    expect(pair.status, pair.stderr).toBe(0);
    expect(JSON.parse(pair.stdout)[0].ion).toBe(p.ion);
    const other = p.ion === "Na" ? "Li" : "Na";
    const wrongIon = run("predict", "--initial", join(dir, "a.json"), "--final", join(dir, "b.json"), "--ion", other, "--format", "json");
    expect(wrongIon.status).toBe(1);
    expect(wrongIon.stderr).toMatch(new RegExp(`the atom that moves between the endpoints is ${p.ion}, not --ion ${other}`));
  });

  it("predict: a broken dataset entry is that entry's error, whichever entry it is; the others are predicted", () => {
    const dir = mkdtempSync(join(tmpdir(), "ionrank-entries-"));
    const { atoms: _, ...noAtoms } = train[0] as unknown as { atoms: unknown; sys_name: string };
    writeFileSync(join(dir, "mixed.json"), JSON.stringify([noAtoms, 42, train[1], null, train[2]]));
    const r = run("predict", join(dir, "mixed.json"), "--format", "json");
    expect(r.status).toBe(1);
    expect(JSON.parse(r.stdout).map((x: { id: string }) => x.id)).toEqual([train[1]!.sys_name, train[2]!.sys_name]);
    expect(r.stderr).toMatch(new RegExp(`error: mixed\\.json: ${train[0]!.sys_name}: entry 0 has neither "atoms"`));
    expect(r.stderr).toMatch(/error: mixed\.json#1: entry 1 is not an object \(got 42\)/);
    expect(r.stderr).toMatch(/error: mixed\.json#3: entry 3 is not an object \(got null\)/);
    expect(run("evaluate", "--data", join(dir, "mixed.json"), "--threshold=").status).toBe(2);
    expect(run("evaluate", "--data", join(dir, "mixed.json"), "--threshold", "-1").status).toBe(2);
  });

  it("evaluate on the training file reproduces the model card's figures", () => {
    const r = run("evaluate", "--data", join(SHARED, "em/train.json"));
    expect(r.status, r.stderr).toBe(0);
    const m = JSON.parse(r.stdout);
    const card = JSON.parse(readFileSync(MODEL, "utf8"));
    expect(m.count).toBe(559);
    for (const k of ["mae", "rmse", "r2"]) expect(Math.abs(m[k] - card.evaluation.metrics[k])).toBeLessThan(1e-4);
    for (const k of ["accuracy", "precision", "recall"]) expect(Math.abs(m[k] - card.evaluation.metrics[k])).toBeLessThan(2 / 559);
  });

  it("evaluate reports every entry it cannot score, prints before writing --out, and creates the --out folder", () => {
    const dir = mkdtempSync(join(tmpdir(), "ionrank-evaluate-"));
    const entries = train.slice(0, 6).map((e) => JSON.stringify(e));
    const without = (e: string) => e.replace(/"target":\s*[-0-9.e]+,?/, "");
    // Entry 1 has no target, 2 a null one, 3 a string, 4 an infinite one (1e999), 5 a negative one.
    const text = `[${[entries[0], without(entries[1]!), without(entries[2]!).replace("{", '{"target": null,'), without(entries[3]!).replace("{", '{"target": "0.5",'), without(entries[4]!).replace("{", '{"target": 1e999,'), without(entries[5]!).replace("{", '{"target": -0.5,')].join(",")}]`;
    writeFileSync(join(dir, "labels.json"), text);
    const out = join(dir, "new", "folder", "rows.json");
    const r = run("evaluate", "--data", join(dir, "labels.json"), "--out", out);
    expect(r.status).toBe(1);
    expect(JSON.parse(r.stdout)).toMatchObject({ count: 1, failed: 5 });
    for (const [k, why] of [[1, /has no target/], [2, /has no target/], [3, /target "0\.5" is not a barrier/], [4, /target Infinity is not a barrier/], [5, /target -0\.5 is not a barrier/]] as const) {
      expect(r.stderr).toMatch(new RegExp(`error: ${train[k]!.sys_name}: ${why.source}`));
    }
    expect(JSON.parse(readFileSync(out, "utf8"))).toHaveLength(1);
    // A --out that cannot be written is a clear error, not a stack trace.
    writeFileSync(join(dir, "plain"), "");
    const bad = run("predict", join(dir, "labels.json"), "--format", "csv", "--out", join(dir, "plain", "x.csv"));
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/error: cannot write .*plain\/x\.csv: a part of its path is a file, not a folder/);
    // Written beside the target and renamed into place: nothing partial is left behind.
    const good = run("predict", join(dir, "labels.json"), "--format", "csv", "--out", join(dir, "rows.csv"));
    expect(readFileSync(join(dir, "rows.csv"), "utf8").split("\n")[0]).toBe("id,formula,ion,emPredicted,emStd,pGood,model,warnings");
    expect(good.status, good.stderr).toBe(0);
    expect(readdirSync(dir).filter((f) => f.endsWith(".partial"))).toEqual([]);
    expect(bad.stderr).not.toMatch(/\n\s+at /);
  });

  it("screen searches folders recursively, and says so when there is nothing to screen", () => {
    const dir = mkdtempSync(join(tmpdir(), "ionrank-screen-"));
    mkdirSync(join(dir, "deep", "er"), { recursive: true });
    writeFileSync(join(dir, "deep", "er", "LiCoO2.cif"), readFileSync(join(FIX, "LiCoO2.cif")));
    const r = run("screen", dir, "--ion", "Li", "--json");
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).ranked.map((x: { material: string }) => x.material)).toEqual(["LiCoO2.cif"]);
    const empty = mkdtempSync(join(tmpdir(), "ionrank-screen-empty-"));
    const none = run("screen", empty, "--ion", "Li");
    expect(none.status).toBe(2);
    expect(none.stderr).toMatch(/no structure files in/);
    expect(run("screen", dir, "--ion", "Li", "--max-length", "abc").status).toBe(2);
    // Symbolic links back up the tree are followed once, not forever; the skipped folders are named.
    symlinkSync("..", join(dir, "deep", "up"));
    symlinkSync(join(dir, "deep"), join(dir, "deep", "er", "self"));
    const looped = run("screen", dir, "--ion", "Li", "--json");
    expect(JSON.parse(looped.stdout).ranked.map((x: { material: string }) => x.material)).toEqual(["LiCoO2.cif"]);
    expect(JSON.parse(looped.stdout).failures).toEqual([
      { file: join(dir, "deep", "er", "self"), reason: `folder already read (a symbolic link to ${realpathSync(join(dir, "deep"))}): skipped` },
      { file: join(dir, "deep", "up"), reason: `folder already read (a symbolic link to ${realpathSync(dir)}): skipped` },
    ]);
  });

  it("screen ranks materials by the lowest percolating barrier and summarises failures", () => {
    const r = run("screen", FIX, "--ion", "Li", "--json");
    expect(r.status).toBe(1);
    const { ranked, failures } = JSON.parse(r.stdout);
    expect(ranked.map((x: { material: string }) => x.material)).toEqual(expect.arrayContaining(["LiFePO4.cif", "LiCoO2.cif", "LiMn2O4.cif"]));
    for (let i = 1; i < ranked.length; i++) expect(ranked[i].percolationBarrier ?? Infinity).toBeGreaterThanOrEqual(ranked[i - 1].percolationBarrier ?? Infinity);
    expect(failures.find((f: { file: string }) => f.file === "Li7La3Zr2O12.cif").reason).toMatch(/ordered structure/);
    // The dimension shown is the one reached at the percolating barrier: olivine's b-channel (1-D),
    // the layered oxide's Li plane (2-D) — not what every hop together would give.
    const dim = (m: string) => ranked.find((x: { material: string }) => x.material === m).percolationDimension;
    expect([dim("LiFePO4.cif"), dim("LiCoO2.cif"), dim("LiMn2O4.cif")]).toEqual([1, 2, 3]);
    expect(r.stderr).toMatch(/screen \[#+\] 100%/);
  });
});
