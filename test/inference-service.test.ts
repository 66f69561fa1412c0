import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Lattice, Pathway, readJsonStructures, Structure } from "@ionrank/crystal";
import { pathwayGraph, type FeaturizerConfig } from "@ionrank/featurize";
import { EmModel, EmPredictor, ModelCardError, pathInput, PredictionError, type PathInput } from "@ionrank/inference";
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
    await expect(load((c) => (c.inputs.nbr_vector.shape = ["atoms", "neighbours"]))).rejects.toThrowError(/declares input nbr_vector as float32 of rank 3, the card says float32 of rank 2/);
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
