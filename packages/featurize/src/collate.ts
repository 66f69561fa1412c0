import type { CrystalGraph } from "./graph.js";

/**
 * Several graphs concatenated into one batch. Atom and edge arrays are the graphs' arrays one after
 * another; `edgeNeighbour` and `edgeOffsets` are shifted to batch-wide indices; `graphIndex[atom]` says which
 * graph an atom belongs to and `atomOffsets[g]…atomOffsets[g+1]−1` are graph g's atoms (mean pooling).
 */
export interface GraphBatch extends CrystalGraph {
  numGraphs: number;
  atomOffsets: Int32Array;
  graphIndex: Int32Array;
  /** Largest number of neighbours of any atom in the batch (for padded, fixed-k layouts). */
  maxDegree: number;
}

/** Concatenate graphs into one batch — the same function training export and the inference service use. */
export function collate(graphs: readonly CrystalGraph[]): GraphBatch {
  let nA = 0;
  let nE = 0;
  for (const g of graphs) {
    nA += g.numAtoms;
    nE += g.numEdges;
  }
  const out: GraphBatch = {
    numGraphs: graphs.length,
    numAtoms: nA,
    numEdges: nE,
    atomicNumber: new Int32Array(nA),
    isImage: new Uint8Array(nA),
    edgeOffsets: new Int32Array(nA + 1),
    edgeNeighbour: new Int32Array(nE),
    edgeVector: new Float32Array(3 * nE),
    edgeLength: new Float32Array(nE),
    atomOffsets: new Int32Array(graphs.length + 1),
    graphIndex: new Int32Array(nA),
    maxDegree: 0,
  };
  let a0 = 0;
  let e0 = 0;
  graphs.forEach((g, gi) => {
    out.atomOffsets[gi] = a0;
    out.atomicNumber.set(g.atomicNumber, a0);
    out.isImage.set(g.isImage, a0);
    out.graphIndex.fill(gi, a0, a0 + g.numAtoms);
    for (let i = 0; i < g.numAtoms; i++) {
      out.edgeOffsets[a0 + i] = e0 + g.edgeOffsets[i]!;
      out.maxDegree = Math.max(out.maxDegree, g.edgeOffsets[i + 1]! - g.edgeOffsets[i]!);
    }
    for (let e = 0; e < g.numEdges; e++) out.edgeNeighbour[e0 + e] = a0 + g.edgeNeighbour[e]!;
    out.edgeVector.set(g.edgeVector, 3 * e0);
    out.edgeLength.set(g.edgeLength, e0);
    a0 += g.numAtoms;
    e0 += g.numEdges;
  });
  out.atomOffsets[graphs.length] = a0;
  out.edgeOffsets[nA] = e0;
  return out;
}
