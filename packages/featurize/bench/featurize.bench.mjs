// Benchmark: featurize all of ../shared/data (559 path structures + ~30,000 pre-training structures) to
// binary datasets, reporting graphs/s, peak memory and bytes written. Goal: all of it in under 2 minutes.
// Run: npm run bench -w @ionrank/featurize
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { performance } from "node:perf_hooks";
import { featurizeDataset } from "../dist/index.js";

const SHARED = fileURLToPath(new URL("../../../../shared/data/", import.meta.url));
const out = mkdtempSync(join(tmpdir(), "ionrank-fz-bench-"));
const runs = [
  { name: "em pathways", inputs: [{ file: join(SHARED, "em/train.json") }] },
  { name: "pre-training", inputs: ["bg", "dc", "ebg", "fe", "gv", "ph", "pz"].map((p) => ({ file: join(SHARED, `pretrain/${p}.json.gz`) })) },
];
let total = 0;
let graphs = 0;
for (const r of runs) {
  const t0 = performance.now();
  const s = featurizeDataset(r.inputs, join(out, r.name.replace(/\W/g, "_")));
  const dt = (performance.now() - t0) / 1000;
  total += dt;
  graphs += s.graphs;
  console.log(
    `${r.name.padEnd(13)} ${String(s.graphs).padStart(6)} graphs, ${s.atoms} atoms, ${s.edges} edges in ${dt.toFixed(2)} s → ` +
      `${(s.graphs / dt).toFixed(0)} graphs/s, ${(s.bytes / 2 ** 20).toFixed(1)} MiB written`,
  );
}
console.log(`all of ../shared/data: ${graphs} structures in ${total.toFixed(1)} s (goal < 120 s), peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`);
rmSync(out, { recursive: true, force: true });
