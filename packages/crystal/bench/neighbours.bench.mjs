// Benchmark: parse + periodic neighbour search (8 Å) over the 559 training structures, and the k-nearest
// graph the model uses. Compares against pymatgen's get_all_neighbors in the same run when Debian's
// python3-pymatgen is installed. Run: npm run bench -w @ionrank/crystal
import { spawnSync } from "node:child_process";
import { readFileSync, existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { performance } from "node:perf_hooks";
import { nearestNeighbours, neighbourList, readStructures } from "../dist/index.js";

const DATA = fileURLToPath(new URL("../../../../shared/data/em/train.json", import.meta.url));
const CUTOFF = 8;
const REPEATS = Number(process.env.BENCH_REPEATS ?? 3);

function once() {
  const t0 = performance.now();
  const text = readFileSync(DATA, "utf8");
  const structures = readStructures(text, { file: DATA });
  const t1 = performance.now();
  let pairs = 0;
  for (const s of structures) pairs += neighbourList(s, CUTOFF).index.length;
  const t2 = performance.now();
  let edges = 0;
  for (const s of structures) edges += nearestNeighbours(s, { k: 12, cutoff: CUTOFF }).index.length;
  const t3 = performance.now();
  return { n: structures.length, atoms: structures.reduce((a, s) => a + s.length, 0), pairs, edges, parse: t1 - t0, search: t2 - t1, knn: t3 - t2 };
}

once(); // warm-up (JIT)
const runs = Array.from({ length: REPEATS }, once);
const best = (k) => Math.min(...runs.map((r) => r[k]));
const r = runs[0];
const ours = (best("parse") + best("search")) / 1000;
console.log(`IonRank: ${r.n} structures, ${r.atoms} atoms, ${r.pairs} neighbour pairs within ${CUTOFF} Å`);
console.log(`  parse           ${best("parse").toFixed(0)} ms`);
console.log(`  neighbour list  ${best("search").toFixed(0)} ms`);
console.log(`  parse + search  ${ours.toFixed(3)} s  → ${(r.n / ours).toFixed(1)} structures/s (best of ${REPEATS})`);
console.log(`  12-NN graph     ${best("knn").toFixed(0)} ms → ${(r.n / (best("knn") / 1000)).toFixed(1)} structures/s, ${r.edges} edges`);
console.log(`  peak RSS        ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`);

// Scaling on supercells: a cell list keeps the cost per neighbour pair flat as the cell grows.
const [lfp] = readStructures(readFileSync(fileURLToPath(new URL("../test/fixtures/LiFePO4.cif", import.meta.url)), "utf8"), { format: "cif" });
for (const n of [1, 2, 3, 4]) {
  const sc = lfp.supercell([n, n, n]);
  const t0 = performance.now();
  const nl = neighbourList(sc, CUTOFF);
  const dt = performance.now() - t0;
  console.log(`  LiFePO4 ${n}×${n}×${n}: ${String(sc.length).padStart(5)} atoms, ${String(nl.index.length).padStart(8)} pairs, ${dt.toFixed(0).padStart(5)} ms, ${((dt * 1000) / nl.index.length).toFixed(3)} µs/pair`);
}

const py = "/usr/bin/python3";
const probe = existsSync(py) ? spawnSync(py, ["-c", "import pymatgen.core"], { encoding: "utf8" }) : { status: 1 };
if (probe.status !== 0) {
  console.log("pymatgen baseline skipped: install Debian's python3-pymatgen to compare.");
} else {
  const script = fileURLToPath(new URL("./pymatgen_neighbours.py", import.meta.url));
  const p = spawnSync(py, [script, DATA, String(CUTOFF)], { encoding: "utf8", maxBuffer: 1 << 24 });
  if (p.status !== 0) throw new Error(`pymatgen baseline failed: ${p.stderr}`);
  const base = JSON.parse(p.stdout.trim().split("\n").pop());
  console.log(`pymatgen get_all_neighbors: ${base.seconds.toFixed(2)} s → ${(base.structures / base.seconds).toFixed(1)} structures/s, ${base.pairs} pairs`);
  if (base.pairs !== r.pairs) console.log(`  WARNING: pair counts differ (IonRank ${r.pairs}, pymatgen ${base.pairs})`);
  console.log(`ratio: IonRank is ${(base.seconds / ours).toFixed(1)}× pymatgen's throughput (goal ≥ 10×)`);
}
