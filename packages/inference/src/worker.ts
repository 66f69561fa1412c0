// Inference worker: featurizes path structures and runs every ensemble member off the main thread,
// because onnxruntime-node's run() blocks the event loop while it computes.
import { parentPort, workerData } from "node:worker_threads";
import { ELEMENT_SYMBOLS, Lattice, pathClearance, Structure, type Vec3 } from "@ionrank/crystal";
import { pathStructureGraph, type CrystalGraph } from "@ionrank/featurize";
import { openOnnxModel, type OnnxModel } from "./backend.js";
import { planRuns, runMembers, tailGraph } from "./runs.js";
import type { SerializedPath, WorkerInit, WorkerReady, WorkerRequest, WorkerResponse } from "./protocol.js";

const init = workerData as WorkerInit;

class LoadFailure extends Error {
  constructor(
    readonly kind: "card" | "onnx",
    message: string,
  ) {
    super(message);
  }
}
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

/** A member's declared tensors against the card's spec: what does not match, or null. */
function specMismatch(what: string, declared: OnnxModel["inputTypes"], spec: WorkerInit["inputs"]): string | null {
  const names = Object.keys(declared).sort();
  const want = Object.keys(spec).sort();
  if (what === "inputs" ? names.join() !== want.join() : want.some((n) => !names.includes(n))) return `${what} [${names.join(", ")}], the card says [${want.join(", ")}]`;
  for (const n of want) {
    const d = declared[n]!;
    if (d.type !== spec[n]!.dtype || d.rank !== spec[n]!.rank) return `${what.slice(0, -1)} ${n} as ${d.type} of rank ${d.rank}, the card says ${spec[n]!.dtype} of rank ${spec[n]!.rank}`;
  }
  return null;
}

async function main(): Promise<void> {
  const members: OnnxModel[] = [];
  let reason: string;
  try {
    for (const path of init.memberPaths) {
      // The first member decides the provider; the others follow it, so the ensemble never runs half on CUDA.
      const provider = members[0]?.provider ?? init.provider;
      const m = await openOnnxModel(path, { provider, threads: init.threads });
      if (members.length > 0 && provider === "cuda" && m.provider !== "cuda") throw new LoadFailure("onnx", `${path} could not open on CUDA (${m.cudaFailure}) while the members before it did`);
      const bad = specMismatch("inputs", m.inputTypes, init.inputs) ?? specMismatch("outputs", m.outputTypes, init.outputs);
      if (bad) throw new LoadFailure("card", `${path} declares ${bad}`);
      members.push(m);
    }
    const first = members[0]!;
    reason = init.provider === "cuda" ? (first.provider === "cuda" ? "CUDA requested and available" : `CUDA requested but ${first.cudaFailure}`) : "CPU requested";
  } catch (e) {
    port.postMessage({ type: "failed", error: (e as Error).message, kind: e instanceof LoadFailure ? e.kind : "onnx" } satisfies WorkerReady);
    return;
  }
  const tail = tailGraph(init.featurizer);
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
        // Only the moving ion's images and nothing around them: there is no host for the model to read.
        if (item.isImage.every((f) => f === 1)) throw new Error("the path structure has no host atoms, only the moving ion's images");
        graphs.push(pathStructureGraph(structure, item.isImage, init.featurizer));
        clearances.push(pathClearance({ structure, isImage: item.isImage }));
        // The path images sit close to host atoms by design; the host alone must be a physical structure.
        overlaps.push(new Structure(structure.lattice, structure.sites.filter((_, i) => item.isImage[i] !== 1)).overlap());
        slots.push(k);
      } catch (e) {
        results[k] = { error: (e as Error).message, kind: (e as Error).name };
      }
    });
    // Runs planned so that each result is the same whatever it was batched with (see runs.ts).
    for (const run of planRuns(graphs.map((graph, j) => ({ graph, slot: slots[j]!, clearance: clearances[j]!, overlap: overlaps[j]! })))) {
      try {
        const per = await runMembers(members, run.map((x) => x.graph), tail);
        run.forEach((x, j) => (results[x.slot] = { members: per.map((p) => p[j]!), clearance: x.clearance, overlap: x.overlap }));
      } catch (e) {
        for (const x of run) results[x.slot] = { error: (e as Error).message, kind: (e as Error).name };
      }
    }
    port.postMessage({ id: req.id, results } satisfies WorkerResponse);
  });
}

void main();
