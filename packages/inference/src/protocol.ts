/** Messages between the predictor (main thread) and its inference workers. */
import type { FeaturizerConfig } from "@ionrank/featurize";

/** A path structure as plain typed arrays (cheap to post to a worker). */
export interface SerializedPath {
  lattice: Float64Array; // 9, rows are vectors (Å)
  atomicNumber: Int32Array;
  frac: Float64Array; // 3 per atom
  isImage: Uint8Array;
}

export interface WorkerInit {
  memberPaths: string[];
  /** Each member's SHA-256 from the card: a worker checks the bytes it opens (a replacement may start long after load). */
  memberSha256: string[];
  provider: "cpu" | "cuda";
  threads: number;
  /** The model card's path (named in load errors) and its input and output spec: dtype and rank per tensor. */
  cardPath: string;
  inputs: Record<string, { dtype: string; rank: number }>;
  outputs: Record<string, { dtype: string; rank: number }>;
  /** The featurizer settings the model was trained with (from its card). */
  featurizer: FeaturizerConfig;
}

/** Start-up messages: "opening" before each member (so a worker that dies or stalls while loading can be named), then "ready" or "failed". */
export type WorkerReady =
  | { type: "opening"; member: string }
  | { type: "ready"; provider: "cpu" | "cuda"; reason: string }
  | { type: "failed"; error: string; kind: "card" | "onnx" };

export interface WorkerRequest {
  id: number;
  items: SerializedPath[];
}

/**
 * Per item: each member's Em and how close the straight path passes to a host atom (Å, null when nothing
 * comes within 4 Å), or the reason this item failed.
 */
export interface WorkerResponse {
  id: number;
  /** clearance: closest host atom to the straight path, Å; overlap: why the host is not physical (null: it is). */
  results: ({ members: number[]; clearance: number | null; overlap: string | null } | { error: string; kind: string })[];
}
