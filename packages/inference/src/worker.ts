// Inference worker: featurizes path structures and runs every ensemble member off the main thread,
// because onnxruntime-node's run() blocks the event loop while it computes.
import { parentPort, workerData } from "node:worker_threads";
import { ELEMENT_SYMBOLS, Lattice, pathClearance, Structure, type Vec3 } from "@ionrank/crystal";
import { collate, pathStructureGraph, type CrystalGraph } from "@ionrank/featurize";
import { openOnnxModel, type OnnxModel } from "./backend.js";
import { modelInputs } from "./tensors.js";
import type { SerializedPath, WorkerInit, WorkerReady, WorkerRequest, WorkerResponse } from "./protocol.js";

const init = workerData as WorkerInit;
const port = parentPort!;

function structureOf(p: SerializedPath): Structure {
  const l = p.lattice;
  const lattice = new Lattice([
    [l[0]!, l[1]!, l[2]!],
    [l[3]!, l[4]!, l[5]!],
    [l[6]!, l[7]!, l[8]!],
  ]);
  const sites = Array.from(p.atomicNumber, (z, i) => ({
    element: ELEMENT_SYMBOLS[z - 1]!,
    frac: [p.frac[3 * i]!, p.frac[3 * i + 1]!, p.frac[3 * i + 2]!] as Vec3,
  }));
  return new Structure(lattice, sites);
}

function maxDegree(g: CrystalGraph): number {
  let k = 0;
  for (let i = 0; i < g.numAtoms; i++) k = Math.max(k, g.edgeOffsets[i + 1]! - g.edgeOffsets[i]!);
  return k;
}

/** Split a run into groups whose largest degrees differ by at most 2 (less padding, same results). */
function byDegree<T extends { g: CrystalGraph }>(items: T[]): T[][] {
  const sorted = items.map((x) => ({ x, k: maxDegree(x.g) })).sort((a, b) => a.k - b.k);
  const groups: T[][] = [];
  let lo = -Infinity;
  for (const { x, k } of sorted) {
    if (k > lo + 2) {
      groups.push([]);
      lo = k;
    }
    groups.at(-1)!.push(x);
  }
  return groups;
}

async function main(): Promise<void> {
  let members: OnnxModel[];
  let reason: string;
  try {
    members = [];
    for (const path of init.memberPaths) {
      const m = await openOnnxModel(path, { provider: init.provider, threads: init.threads });
      const missing = init.expectedInputs.filter((n) => !m.inputNames.includes(n));
      if (missing.length > 0 || m.inputNames.length !== init.expectedInputs.length) {
        throw new Error(`${path} takes inputs [${m.inputNames.join(", ")}] but the model card specifies [${init.expectedInputs.join(", ")}]`);
      }
      members.push(m);
    }
    const got = members[0]!.provider;
    reason = init.provider === "cuda" ? (got === "cuda" ? "CUDA requested and available" : "CUDA requested but its libraries are not installed") : "CPU requested";
  } catch (e) {
    port.postMessage({ type: "failed", error: (e as Error).message } satisfies WorkerReady);
    return;
  }
  port.postMessage({ type: "ready", provider: members[0]!.provider, reason } satisfies WorkerReady);

  port.on("message", async (req: WorkerRequest) => {
    const results: WorkerResponse["results"] = new Array(req.items.length);
    const graphs: CrystalGraph[] = [];
    const slots: number[] = [];
    const clearances: (number | null)[] = [];
    const overlaps: (string | null)[] = [];
    req.items.forEach((item, k) => {
      try {
        const structure = structureOf(item);
        graphs.push(pathStructureGraph(structure, item.isImage, init.featurizer));
        clearances.push(pathClearance({ structure, isImage: item.isImage }));
        // The path images sit close to host atoms by design; the host alone must be a physical structure.
        overlaps.push(new Structure(structure.lattice, structure.sites.filter((_, i) => item.isImage[i] !== 1)).overlap());
        slots.push(k);
      } catch (e) {
        results[k] = { error: (e as Error).message };
      }
    });
    // Every atom is padded to the run's largest degree, so graphs of similar degree run together.
    for (const group of byDegree(graphs.map((g, j) => ({ g, slot: slots[j]!, clearance: clearances[j]!, overlap: overlaps[j]! })))) {
      try {
        const feeds = modelInputs(collate(group.map((x) => x.g)));
        const per: Float32Array[] = [];
        for (const m of members) per.push((await m.run(feeds)).em!.data);
        group.forEach((x, j) => (results[x.slot] = { members: per.map((p) => p[j]!), clearance: x.clearance, overlap: x.overlap }));
      } catch (e) {
        for (const x of group) results[x.slot] = { error: (e as Error).message };
      }
    }
    port.postMessage({ id: req.id, results } satisfies WorkerResponse);
  });
}

void main();
