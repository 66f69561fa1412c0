// Benchmark: training steps in the edge-list layout (what fine-tuning and pre-training run on) against the dense
// layout (what export and inference use), same batches, weights and threads, in the same run. Featurizes the 559
// Em path structures (crop 3.5 Å, the shipped recipe) and the band-gap pre-training file first.
// Run: npm run bench -w @ionrank/training [-- --threads N]   (torch threads; default 1, as fine-tuning runs)
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { DEFAULT_FEATURIZER_CONFIG, featurizeDataset } from "@ionrank/featurize";
import { PYTHON, TRAINING_ROOT } from "../dist/index.js";

const SHARED = fileURLToPath(new URL("../../../../shared/data/", import.meta.url));
const TCMALLOC = "/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4";
const dir = mkdtempSync(join(tmpdir(), "ionrank-train-bench-"));
try {
  featurizeDataset([{ file: join(SHARED, "em/train.json"), property: "em" }], join(dir, "em"), { kind: "pathway", config: { ...DEFAULT_FEATURIZER_CONFIG, cropRadius: 3.5 } });
  featurizeDataset([{ file: join(SHARED, "pretrain/bg.json.gz") }], join(dir, "bulk"), { kind: "bulk" });
  const env = { ...process.env, PYTHONPATH: TRAINING_ROOT, PYTHONUNBUFFERED: "1" };
  if (existsSync(TCMALLOC) && !env.LD_PRELOAD) env.LD_PRELOAD = TCMALLOC; // as the pipeline runs it
  const at = process.argv.indexOf("--threads");
  const threads = at > 0 ? process.argv[at + 1] : "1";
  const r = spawnSync(PYTHON, ["-m", "ionrank_training.bench", "--data", join(dir, "em"), "--bulk", join(dir, "bulk"), "--threads", threads], { env, stdio: "inherit" });
  process.exitCode = r.status ?? 1;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
