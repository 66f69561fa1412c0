// How graphs are packed into ONNX runs so that a pathway's Em does not depend on what it was batched with.
//
// Float32 sums in ONNX Runtime's kernels are only reproducible when the shapes that decide their order are:
// measured on em@2.3.0 (559 training pathways, every member, 1 and 2 threads), a graph's output is bit-identical
// in every run when (a) every atom is padded to the same neighbour count, i.e. runs hold graphs of one maximum
// degree; (b) a run never holds a single graph (a one-row matrix product takes another kernel), so a tiny
// fixed graph always ends the run; and (c) a run holds at most RUN_ATOMS graph atoms (the pooling product then
// sums each graph in one block; at 400 atoms 22 of 559 outputs moved by up to 5e-7 eV).
import { Lattice, Structure, type ElementSymbol } from "@ionrank/crystal";
import { collate, pathStructureGraph, type CrystalGraph, type FeaturizerConfig } from "@ionrank/featurize";
import type { OnnxModel } from "./backend.js";
import { OnnxRuntimeError } from "./errors.js";
import { modelInputs } from "./tensors.js";

/** Most graph atoms in one ONNX run (see above); a larger graph runs alone. */
export const RUN_ATOMS = 256;

export function maxDegree(g: CrystalGraph): number {
  let k = 0;
  for (let i = 0; i < g.numAtoms; i++) k = Math.max(k, g.edgeOffsets[i + 1]! - g.edgeOffsets[i]!);
  return k;
}

/**
 * The graph that ends every run: the path images of a 2 Å Li hop past one O atom, alone in a 20 Å cube (a
 * handful of atoms of low degree, so it never changes the run's padding). Its output is discarded.
 */
export function tailGraph(config: FeaturizerConfig): CrystalGraph {
  const n = config.images;
  const images = Array.from({ length: n }, (_, t) => ({ element: "Li" as ElementSymbol, frac: [0.45 + (0.1 * t) / Math.max(1, n - 1), 0.5, 0.5] as [number, number, number] }));
  const sites = [...images, { element: "O" as ElementSymbol, frac: [0.5, 0.6, 0.5] as [number, number, number] }];
  return pathStructureGraph(new Structure(new Lattice([[20, 0, 0], [0, 20, 0], [0, 0, 20]]), sites), Uint8Array.from(sites, (_, i) => (i < n ? 1 : 0)), config);
}

/** Split items into runs: one maximum degree per run, at most RUN_ATOMS graph atoms (input order kept within a run). */
export function planRuns<T extends { graph: CrystalGraph }>(items: readonly T[]): T[][] {
  const byDegree = new Map<number, T[]>();
  for (const x of items) {
    const k = maxDegree(x.graph);
    const list = byDegree.get(k) ?? [];
    list.push(x);
    byDegree.set(k, list);
  }
  const runs: T[][] = [];
  for (const k of [...byDegree.keys()].sort((a, b) => a - b)) {
    let run: T[] = [];
    let atoms = 0;
    for (const x of byDegree.get(k)!) {
      if (run.length > 0 && atoms + x.graph.numAtoms > RUN_ATOMS) {
        runs.push(run);
        run = [];
        atoms = 0;
      }
      run.push(x);
      atoms += x.graph.numAtoms;
    }
    if (run.length > 0) runs.push(run);
  }
  return runs;
}

/** Every member's Em for one planned run's graphs, as [member][graph] (the tail graph's output dropped). */
export async function runMembers(members: readonly OnnxModel[], graphs: readonly CrystalGraph[], tail: CrystalGraph): Promise<Float32Array[]> {
  const feeds = modelInputs(collate([...graphs, tail]));
  const out: Float32Array[] = [];
  const n = graphs.length + 1;
  for (const m of members) {
    const em = (await m.run(feeds)).em;
    // One Em per graph or nothing: reading the first n numbers of a wider output would report other numbers as Em.
    if (!em || em.dims[0] !== n || em.data.length !== n) throw new OnnxRuntimeError(`ONNX model ${m.path} gave em of shape [${em?.dims.join(", ") ?? "none"}] for ${n} graphs; the card says one Em per graph`);
    out.push(em.data.subarray(0, graphs.length));
  }
  return out;
}

/**
 * A graph's member outputs that are no barrier: NaN or ±Infinity, reported as a number, would rank or average
 * silently. The error names the first such member; null when every value is a number. Shared by the workers
 * and the main-thread `EmModel`, so both refuse the same outputs with the same words.
 */
export function nonFiniteEm(memberPaths: readonly string[], values: readonly number[]): OnnxRuntimeError | null {
  const bad = values.findIndex((v) => !Number.isFinite(v));
  return bad < 0 ? null : new OnnxRuntimeError(`ONNX model ${memberPaths[bad]} gave Em = ${values[bad]} for this pathway, not a number of eV`);
}
