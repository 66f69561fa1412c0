import { existsSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import * as ort from "onnxruntime-node";
import { OnnxRuntimeError } from "./errors.js";

/** Execution provider: "cpu" always works; "cuda" needs onnxruntime-node installed with ONNXRUNTIME_NODE_INSTALL=cuda12. */
export type Provider = "cpu" | "cuda";

export interface SessionOptions {
  provider?: Provider;
  /** Intra-op threads (default: ONNX Runtime's choice). */
  threads?: number;
  /** The model's bytes, already read (and checked) by the caller; `path` then only names it in errors. */
  bytes?: Uint8Array;
}

/** A loaded ONNX model behind a small typed API (ONNX Runtime stays inside this file). */
export interface OnnxModel {
  /** The file it was opened from (named in errors). */
  readonly path: string;
  readonly provider: Provider;
  /** Why CUDA was asked for and not used (null when it was not asked for, or is used). */
  readonly cudaFailure: string | null;
  readonly inputNames: readonly string[];
  /** Each input's and output's element type ("float32", "int64", …) and rank, as the ONNX file declares them. */
  readonly inputTypes: Readonly<Record<string, { type: string; rank: number }>>;
  readonly outputTypes: Readonly<Record<string, { type: string; rank: number }>>;
  run(feeds: Record<string, TensorData>): Promise<Record<string, { data: Float32Array; dims: readonly number[] }>>;
  release(): Promise<void>;
}

export type TensorData =
  | { type: "int64"; data: BigInt64Array; dims: number[] }
  | { type: "float32"; data: Float32Array; dims: number[] };

/**
 * Whether onnxruntime-node was installed with its CUDA provider (ONNXRUNTIME_NODE_INSTALL=cuda12): without
 * the provider library, asking ONNX Runtime for CUDA only prints native errors before failing.
 */
function cudaLibrariesInstalled(): boolean {
  try {
    const binding = dirname(createRequire(import.meta.url).resolve("onnxruntime-node"));
    const dir = join(binding, "..", "bin", "napi-v6", process.platform, process.arch);
    return existsSync(join(dir, "libonnxruntime_providers_cuda.so")) || existsSync(join(dir, "onnxruntime_providers_cuda.dll"));
  } catch {
    return false;
  }
}

/** A file's size in bytes, or null when it cannot be read (ONNX Runtime then says why). */
function fileSize(path: string): number | null {
  try {
    return statSync(path).size;
  } catch {
    return null;
  }
}

/**
 * Open an ONNX model. Asking for CUDA where its libraries are missing falls back to CPU (ONNX Runtime
 * throws instead of falling back when given ["cuda", "cpu"], so CUDA is tried on its own first).
 */
export async function openOnnxModel(path: string, options: SessionOptions = {}): Promise<OnnxModel> {
  // ONNX Runtime says only "Model data pointer is null" (bytes) or "ModelProto does not have a graph" (path).
  if ((options.bytes ? options.bytes.length : fileSize(path)) === 0) throw new OnnxRuntimeError(`cannot load ONNX model ${path}: the file is empty (0 bytes)`);
  const base: ort.InferenceSession.SessionOptions = {
    graphOptimizationLevel: "all",
    ...(options.threads ? { intraOpNumThreads: options.threads } : {}),
  };
  let session: ort.InferenceSession | undefined;
  let provider: Provider = "cpu";
  let cudaFailure: string | null = options.provider === "cuda" ? "its libraries are not installed (install onnxruntime-node with ONNXRUNTIME_NODE_INSTALL=cuda12)" : null;
  if (options.provider === "cuda" && cudaLibrariesInstalled()) {
    try {
      // Quiet: a missing CUDA library is expected on CPU machines and reported once by the caller.
      const level = ort.env.logLevel;
      ort.env.logLevel = "fatal";
      try {
        const opts: ort.InferenceSession.SessionOptions = { ...base, executionProviders: ["cuda"], logSeverityLevel: 4 };
        session = await (options.bytes ? ort.InferenceSession.create(options.bytes, opts) : ort.InferenceSession.create(path, opts));
      } finally {
        ort.env.logLevel = level;
      }
      provider = "cuda";
      cudaFailure = null;
    } catch (e) {
      session = undefined;
      cudaFailure = `it failed to start: ${(e as Error).message.split("\n")[0]}`;
    }
  }
  try {
    const opts: ort.InferenceSession.SessionOptions = { ...base, executionProviders: ["cpu"] };
    session ??= await (options.bytes ? ort.InferenceSession.create(options.bytes, opts) : ort.InferenceSession.create(path, opts));
  } catch (e) {
    throw new OnnxRuntimeError(`cannot load ONNX model ${path}: ${(e as Error).message}`);
  }
  const s = session;
  const types = (meta: readonly ort.InferenceSession.ValueMetadata[]) =>
    Object.fromEntries(meta.map((m) => [m.name, m.isTensor ? { type: String(m.type), rank: m.shape.length } : { type: "non-tensor", rank: 0 }]));
  return {
    path,
    provider,
    cudaFailure,
    inputNames: s.inputNames,
    inputTypes: types(s.inputMetadata),
    outputTypes: types(s.outputMetadata),
    async run(feeds) {
      const tensors: Record<string, ort.Tensor> = {};
      for (const [name, t] of Object.entries(feeds)) tensors[name] = new ort.Tensor(t.type, t.data, t.dims);
      let out: ort.InferenceSession.ReturnType;
      try {
        out = await s.run(tensors);
      } catch (e) {
        throw new OnnxRuntimeError(`ONNX Runtime failed on ${path}: ${(e as Error).message}`);
      }
      const result: Record<string, { data: Float32Array; dims: readonly number[] }> = {};
      for (const [name, t] of Object.entries(out)) result[name] = { data: t.data as Float32Array, dims: t.dims };
      return result;
    },
    release: () => s.release(),
  };
}
