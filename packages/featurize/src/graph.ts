import { atomicNumber, CrystalError, nearestNeighbours, type Pathway, type Structure } from "@ionrank/crystal";
import { checkFeaturizerConfig, DEFAULT_FEATURIZER_CONFIG, imageBondsOf, type FeaturizerConfig } from "./config.js";
import { MAX_ATOMIC_NUMBER } from "./encoding.js";

/**
 * The atom graph of one structure, in typed arrays (the layout training and inference share).
 *
 * Atoms: `atomicNumber[i]` (int32, looks up ELEMENT_FEATURES row Z−1) and `isImage[i]` (uint8, 1 for the
 * moving ion's path images). Edges are grouped by centre atom (CSR): the edges of atom i are
 * e = edgeOffsets[i] … edgeOffsets[i+1]−1, each pointing to neighbour `edgeNeighbour[e]` (atom index in
 * this graph) with Cartesian vector `edgeVector[3e..3e+2]` (Å, from centre to neighbour image) and length
 * `edgeLength[e]` (Å). Each atom has its k nearest neighbours within the cutoff, ties kept; messages
 * flow from neighbours to the centre.
 */
export interface CrystalGraph {
  numAtoms: number;
  numEdges: number;
  atomicNumber: Int32Array;
  isImage: Uint8Array;
  edgeOffsets: Int32Array;
  edgeNeighbour: Int32Array;
  edgeVector: Float32Array;
  edgeLength: Float32Array;
}

/**
 * The line graph: pairs of bonds that share their centre atom (bond a = i→j, bond b = i→k, a ≠ b), with
 * the cosine of the angle j–i–k. Pairs are grouped by bond a (a's pairs are contiguous, in edge order of b).
 */
export interface LineGraph {
  numTriplets: number;
  bondA: Int32Array;
  bondB: Int32Array;
  cos: Float32Array;
}

/** An element outside the encoding (Z > 103). */
export class UnsupportedElementError extends CrystalError {
  override name = "UnsupportedElementError";
}

/** Build the atom graph of a structure. `isImage` marks path images (defaults to none). */
export function structureGraph(structure: Structure, isImage?: Uint8Array, config: FeaturizerConfig = DEFAULT_FEATURIZER_CONFIG): CrystalGraph {
  checkFeaturizerConfig(config);
  structure.assertOrdered("Building a crystal graph");
  const n = structure.length;
  if (isImage && isImage.length !== n) throw new CrystalError(`image flags cover ${isImage.length} atoms but the structure has ${n}`);
  // A flag of 2 would be copied into the model's is_image input as 2.0 while the bond rules test for 1.
  const odd = isImage ? isImage.findIndex((f) => f !== 0 && f !== 1) : -1;
  if (odd >= 0) throw new CrystalError(`image flag ${odd} is ${isImage![odd]}; flags are 1 for a path image and 0 for a host atom`);
  const z = new Int32Array(n);
  structure.sites.forEach((s, i) => {
    const zi = atomicNumber(s.element)!;
    if (zi > MAX_ATOMIC_NUMBER) throw new UnsupportedElementError(`site ${i}: ${s.element} (Z = ${zi}) is beyond the element encoding (Z ≤ ${MAX_ATOMIC_NUMBER})`);
    z[i] = zi;
  });
  const bonds = isImage ? imageBondsOf(config) : "all";
  // "host": images do not list each other as neighbours; "probe": no atom lists an image, so no atom
  // receives messages from the images (messages flow from neighbour to centre).
  const exclude =
    bonds === "host" ? (i: number, j: number) => isImage![i] === 1 && isImage![j] === 1
    : bonds === "probe" ? (_i: number, j: number) => isImage![j] === 1
    : undefined;
  const nl = nearestNeighbours(structure, { k: config.k, cutoff: config.cutoff, tieTolerance: config.tieTolerance, ...(exclude ? { exclude } : {}) });
  return {
    numAtoms: n,
    numEdges: nl.index.length,
    atomicNumber: z,
    isImage: isImage ? Uint8Array.from(isImage) : new Uint8Array(n),
    edgeOffsets: nl.offsets,
    edgeNeighbour: nl.index,
    edgeVector: Float32Array.from(nl.vector),
    edgeLength: Float32Array.from(nl.distance),
  };
}

/** The graph of a migration pathway's path structure (images first, flagged), cropped per `config.cropRadius`. */
export function pathwayGraph(pathway: Pathway, config: FeaturizerConfig = DEFAULT_FEATURIZER_CONFIG): CrystalGraph {
  return pathwayGraphs(pathway, config).graph;
}

/** pathwayGraph plus the graph before cropping (see pathStructureGraphs). */
export function pathwayGraphs(pathway: Pathway, config: FeaturizerConfig = DEFAULT_FEATURIZER_CONFIG): { graph: CrystalGraph; uncropped: CrystalGraph } {
  checkFeaturizerConfig(config);
  const p = pathway.images.length === config.images ? pathway : pathway.withImages(config.images);
  const { structure, isImage } = p.toPathStructure();
  return pathStructureGraphs(structure, isImage, config);
}

/**
 * The graph of a path structure (images flagged in `isImage`): neighbours are found in the whole periodic
 * path structure, then, when `config.cropRadius` > 0, only atoms within that distance (minimum image) of
 * some path image are kept, with the bonds among them. Atom order is kept, so images stay first.
 */
export function pathStructureGraph(structure: Structure, isImage: Uint8Array, config: FeaturizerConfig = DEFAULT_FEATURIZER_CONFIG): CrystalGraph {
  return pathStructureGraphs(structure, isImage, config).graph;
}

/** The atoms of `g` with no edges (no neighbour within the cutoff, or none left by the image-bond rule). */
export function isolatedAtoms(g: CrystalGraph): number[] {
  const out: number[] = [];
  for (let i = 0; i < g.numAtoms; i++) if (g.edgeOffsets[i + 1] === g.edgeOffsets[i]) out.push(i);
  return out;
}

/**
 * The path structure's graph and, for checks, its graph before cropping: an atom that cropping leaves without
 * bonds is by design (its neighbours were cut away), one without bonds before it has nothing near it.
 */
export function pathStructureGraphs(structure: Structure, isImage: Uint8Array, config: FeaturizerConfig = DEFAULT_FEATURIZER_CONFIG): { graph: CrystalGraph; uncropped: CrystalGraph } {
  checkFeaturizerConfig(config);
  // The model reads exactly `images` path images per graph: its readout reshapes the batch's flagged atoms to
  // graphs × images, so another count fails the whole batch or, when counts even out, hands one graph's images
  // to the next. (Where they are listed is free: the readout finds them by their flags.)
  const images: number[] = [];
  isImage.forEach((f, i) => f && images.push(i));
  if (images.length !== config.images) {
    throw new CrystalError(`a path structure has ${config.images} path images; its flags mark ${images.length}${images.length > 0 && images.length <= 8 ? ` (atoms ${images.join(", ")})` : ""}`);
  }
  const g = structureGraph(structure, isImage, config);
  const radius = config.cropRadius ?? 0;
  if (!(radius > 0)) return { graph: g, uncropped: g };
  const lattice = structure.lattice;
  const keep = new Int32Array(g.numAtoms).fill(-1);
  let kept = 0;
  structure.sites.forEach((s, i) => {
    const near = isImage[i] === 1 || images.some((m) => lattice.minimumImage(structure.sites[m]!.frac, s.frac).distance <= radius);
    if (near) keep[i] = kept++;
  });
  return { graph: subgraph(g, keep, kept), uncropped: g };
}

/** The graph restricted to atoms with keep[i] ≥ 0 (renumbered to keep[i]) and the bonds among them. */
function subgraph(g: CrystalGraph, keep: Int32Array, kept: number): CrystalGraph {
  const atomicNumber = new Int32Array(kept);
  const isImage = new Uint8Array(kept);
  const edgeOffsets = new Int32Array(kept + 1);
  const neighbour: number[] = [];
  const edges: number[] = [];
  for (let i = 0; i < g.numAtoms; i++) {
    const k = keep[i]!;
    if (k < 0) continue;
    atomicNumber[k] = g.atomicNumber[i]!;
    isImage[k] = g.isImage[i]!;
    for (let e = g.edgeOffsets[i]!; e < g.edgeOffsets[i + 1]!; e++) {
      const j = keep[g.edgeNeighbour[e]!]!;
      if (j < 0) continue;
      neighbour.push(j);
      edges.push(e);
    }
    edgeOffsets[k + 1] = neighbour.length;
  }
  const edgeVector = new Float32Array(3 * edges.length);
  const edgeLength = new Float32Array(edges.length);
  edges.forEach((e, n) => {
    edgeVector.set(g.edgeVector.subarray(3 * e, 3 * e + 3), 3 * n);
    edgeLength[n] = g.edgeLength[e]!;
  });
  return { numAtoms: kept, numEdges: edges.length, atomicNumber, isImage, edgeOffsets, edgeNeighbour: Int32Array.from(neighbour), edgeVector, edgeLength };
}

/** Build the line graph of bond pairs sharing a centre atom, with angle cosines. */
export function lineGraph(g: CrystalGraph): LineGraph {
  let t = 0;
  for (let i = 0; i < g.numAtoms; i++) {
    const d = g.edgeOffsets[i + 1]! - g.edgeOffsets[i]!;
    t += d * (d - 1);
  }
  const bondA = new Int32Array(t);
  const bondB = new Int32Array(t);
  const cos = new Float32Array(t);
  const v = g.edgeVector;
  let p = 0;
  for (let i = 0; i < g.numAtoms; i++) {
    const s = g.edgeOffsets[i]!;
    const e = g.edgeOffsets[i + 1]!;
    for (let a = s; a < e; a++) {
      const la = g.edgeLength[a]!;
      for (let b = s; b < e; b++) {
        if (a === b) continue;
        const c = (v[3 * a]! * v[3 * b]! + v[3 * a + 1]! * v[3 * b + 1]! + v[3 * a + 2]! * v[3 * b + 2]!) / (la * g.edgeLength[b]!);
        bondA[p] = a;
        bondB[p] = b;
        cos[p] = Math.max(-1, Math.min(1, c));
        p++;
      }
    }
  }
  return { numTriplets: t, bondA, bondB, cos };
}
