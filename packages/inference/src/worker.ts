// Inference worker: featurizes path structures and runs every ensemble member off the main thread,
// because onnxruntime-node's run() blocks the event loop while it computes.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { parentPort, workerData } from "node:worker_threads";
import { ELEMENT_SYMBOLS, Lattice, pathClearance, Pathway, Structure, type PathStructure, type Vec3 } from "@ionrank/crystal";
import { pathStructureGraph, type CrystalGraph } from "@ionrank/featurize";
import { openOnnxModel, type OnnxModel } from "./backend.js";
import { nonFiniteEm, planRuns, runMembers, tailGraph } from "./runs.js";
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

/**
 * The path structure with the number of path images the model reads (its readout reshapes the images of every
 * graph to that count, so another count would fail the whole ONNX run, every pathway in it): a straight hop
 * given with another count is resampled, as `pathwayGraph` does; anything else is this item's error.
 */
function withModelImages(p: PathStructure): PathStructure {
  const want = init.featurizer.images;
  const n = p.isImage.reduce((a, f) => a + (f === 1 ? 1 : 0), 0);
  if (n === want) return p;
  const why = `the path structure has ${n} path image(s), the model reads ${want}`;
  // Pathway.fromImageStructure reads the images as the first atoms; elsewhere they cannot be resampled.
  if (n < 2 || p.isImage.subarray(0, n).some((f) => f !== 1)) throw new Error(`${why} (a straight hop with its images first is resampled)`);
  try {
    return Pathway.fromImageStructure(p.structure, n).withImages(want).toPathStructure();
  } catch (e) {
    throw new Error(`${why}, and they cannot be resampled: ${(e as Error).message}`);
  }
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
  let tail: CrystalGraph;
  try {
    for (const [i, path] of init.memberPaths.entries()) {
      port.postMessage({ type: "opening", member: path } satisfies WorkerReady);
      // The bytes opened are the bytes checked: a member rewritten since the card was loaded (a new export over
      // the old files) would otherwise be served under the old model version, by a replacement worker too.
      let bytes: Uint8Array;
      try {
        bytes = readFileSync(path);
      } catch (e) {
        throw new LoadFailure("card", `member file ${path} cannot be read: ${(e as Error).message}`);
      }
      const sum = createHash("sha256").update(bytes).digest("hex");
      if (sum !== init.memberSha256[i]) throw new LoadFailure("card", `member file ${path} now has SHA-256 ${sum.slice(0, 12)}…, the card says ${init.memberSha256[i]!.slice(0, 12)}… (changed since the card was loaded)`);
      // The first member decides the provider; the others follow it, so the ensemble never runs half on CUDA.
      const provider = members[0]?.provider ?? init.provider;
      const m = await openOnnxModel(path, { provider, threads: init.threads, bytes });
      if (members.length > 0 && provider === "cuda" && m.provider !== "cuda") throw new LoadFailure("onnx", `${path} could not open on CUDA (${m.cudaFailure}) while the members before it did`);
      const bad = specMismatch("inputs", m.inputTypes, init.inputs) ?? specMismatch("outputs", m.outputTypes, init.outputs);
      if (bad) throw new LoadFailure("card", `${path} declares ${bad}`);
      members.push(m);
    }
    const first = members[0]!;
    reason = init.provider === "cuda" ? (first.provider === "cuda" ? "CUDA requested and available" : `CUDA requested but ${first.cudaFailure}`) : "CPU requested";
    // Inside the try: a throw here must be reported as a load failure, not end the worker unheard.
    tail = tailGraph(init.featurizer);
  } catch (e) {
    port.postMessage({ type: "failed", error: (e as Error).message, kind: e instanceof LoadFailure ? e.kind : "onnx" } satisfies WorkerReady);
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
        const given = structureOf(item);
        // Only the moving ion's images and nothing around them: there is no host for the model to read.
        if (item.isImage.every((f) => f === 1)) throw new Error("the path structure has no host atoms, only the moving ion's images");
        const { structure, isImage } = withModelImages({ structure: given, isImage: item.isImage });
        const graph = pathStructureGraph(structure, isImage, init.featurizer);
        const clearance = pathClearance({ structure, isImage });
        // The path images sit close to host atoms by design; the host alone must be a physical structure.
        const overlap = new Structure(structure.lattice, structure.sites.filter((_, i) => isImage[i] !== 1)).overlap();
        // Pushed together once all succeeded: an item failing half-way must not shift the later items onto
        // each other's graphs (that answered them with another pathway's Em).
        graphs.push(graph);
        clearances.push(clearance);
        overlaps.push(overlap);
        slots.push(k);
      } catch (e) {
        results[k] = { error: (e as Error).message, kind: (e as Error).name };
      }
    });
    // Runs planned so that each result is the same whatever it was batched with (see runs.ts).
    for (const run of planRuns(graphs.map((graph, j) => ({ graph, slot: slots[j]!, clearance: clearances[j]!, overlap: overlaps[j]! })))) {
      try {
        const per = await runMembers(members, run.map((x) => x.graph), tail);
        run.forEach((x, j) => {
          const values = per.map((p) => p[j]!);
          const bad = nonFiniteEm(init.memberPaths, values);
          results[x.slot] = bad ? { error: bad.message, kind: bad.name } : { members: values, clearance: x.clearance, overlap: x.overlap };
        });
      } catch (e) {
        for (const x of run) results[x.slot] = { error: (e as Error).message, kind: (e as Error).name };
      }
    }
    port.postMessage({ id: req.id, results } satisfies WorkerResponse);
  });
}

void main();
