import type { GraphBatch } from "@ionrank/featurize";
import type { TensorData } from "./backend.js";

/** The element type of each input modelInputs() feeds: a card (and its ONNX members) must take exactly these. */
export const MODEL_INPUT_TYPES: Readonly<Record<string, "int64" | "float32">> = {
  atomic_number: "int64",
  is_image: "float32",
  nbr_index: "int64",
  nbr_vector: "float32",
  nbr_mask: "float32",
  graph_index: "int64",
  atom_counts: "float32",
};

/** The rank of each input modelInputs() feeds (atoms; atoms × neighbours; atoms × neighbours × 3; graphs). */
export const MODEL_INPUT_RANKS: Readonly<Record<string, number>> = {
  atomic_number: 1,
  is_image: 1,
  nbr_index: 2,
  nbr_vector: 3,
  nbr_mask: 2,
  graph_index: 1,
  atom_counts: 1,
};

/**
 * The model's inputs for a collated batch, in the dense fixed-k layout (see models/*.card.json "inputs"):
 * every atom gets K = batch.maxDegree neighbour slots, padded with index 0 and mask 0. This is the same
 * layout the training core builds from a featurized dataset (packages/training/ionrank_training/data.py).
 */
export function modelInputs(b: GraphBatch): Record<string, TensorData> {
  const n = b.numAtoms;
  const k = Math.max(1, b.maxDegree);
  const nbr = new BigInt64Array(n * k);
  const vec = new Float32Array(n * k * 3);
  const mask = new Float32Array(n * k);
  for (let i = 0; i < n; i++) {
    const s = b.edgeOffsets[i]!;
    const e = b.edgeOffsets[i + 1]!;
    for (let p = s; p < e; p++) {
      const slot = i * k + (p - s);
      nbr[slot] = BigInt(b.edgeNeighbour[p]!);
      vec[3 * slot] = b.edgeVector[3 * p]!;
      vec[3 * slot + 1] = b.edgeVector[3 * p + 1]!;
      vec[3 * slot + 2] = b.edgeVector[3 * p + 2]!;
      mask[slot] = 1;
    }
  }
  const counts = new Float32Array(b.numGraphs);
  for (let g = 0; g < b.numGraphs; g++) counts[g] = b.atomOffsets[g + 1]! - b.atomOffsets[g]!;
  return {
    atomic_number: { type: "int64", data: BigInt64Array.from(b.atomicNumber, (z) => BigInt(z)), dims: [n] },
    is_image: { type: "float32", data: Float32Array.from(b.isImage), dims: [n] },
    nbr_index: { type: "int64", data: nbr, dims: [n, k] },
    nbr_vector: { type: "float32", data: vec, dims: [n, k, 3] },
    nbr_mask: { type: "float32", data: mask, dims: [n, k] },
    graph_index: { type: "int64", data: BigInt64Array.from(b.graphIndex, (g) => BigInt(g)), dims: [n] },
    atom_counts: { type: "float32", data: counts, dims: [b.numGraphs] },
  };
}
