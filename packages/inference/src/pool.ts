import { Worker } from "node:worker_threads";
import { InferenceError, ModelCardError, OnnxRuntimeError } from "./errors.js";
import type { SerializedPath, WorkerInit, WorkerReady, WorkerRequest, WorkerResponse } from "./protocol.js";

type Ready = Extract<WorkerReady, { type: "ready" }>;
type Job = { req: WorkerRequest; resolve: (r: WorkerResponse) => void; reject: (e: Error) => void };

/**
 * A fixed-size pool of inference workers; requests queue until a worker is free. A worker that dies (out of
 * memory, a crash in ONNX Runtime) fails only the run it was doing and is replaced, so the service keeps its
 * size and no request waits forever on a worker that is gone.
 */
export class WorkerPool {
  private workers: Worker[] = [];
  private idle: Worker[] = [];
  private queue: Job[] = [];
  private pending = new Map<number, Job & { worker: Worker }>();
  private nextId = 1;
  private closing = false;
  /** Replacement workers still loading the model (close() waits for them, so none outlives the service). */
  private starting = 0;
  private replacing = new Set<Promise<void>>();

  private constructor(
    private readonly init: WorkerInit,
    private readonly startTimeoutMs: number,
    readonly provider: "cpu" | "cuda",
    readonly reason: string,
  ) {}

  /** `startTimeoutMs`: how long a worker may take to load the model before it counts as failed. */
  static async start(size: number, init: WorkerInit, startTimeoutMs: number): Promise<WorkerPool> {
    const started = await Promise.allSettled(Array.from({ length: size }, () => startWorker(init, startTimeoutMs)));
    const failure = started.find((r) => r.status === "rejected");
    if (failure) {
      await Promise.all(started.map((r) => (r.status === "fulfilled" ? r.value.worker.terminate() : undefined)));
      const e = (failure as PromiseRejectedResult).reason as Error;
      throw e instanceof InferenceError ? e : new InferenceError(`inference worker failed to start: ${e.message}`);
    }
    const ready = started.map((r) => (r as PromiseFulfilledResult<{ worker: Worker; ready: Ready }>).value);
    // One provider for the whole service: a worker whose CUDA failed while another's worked is a load error.
    if (new Set(ready.map((r) => r.ready.provider)).size > 1) {
      await Promise.all(ready.map((r) => r.worker.terminate()));
      throw new OnnxRuntimeError(`${init.cardPath}: some inference workers opened the model on CUDA and some on CPU (${ready.map((r) => r.ready.reason).join("; ")})`);
    }
    const pool = new WorkerPool(init, startTimeoutMs, ready[0]!.ready.provider, ready[0]!.ready.reason);
    for (const { worker } of ready) pool.adopt(worker);
    return pool;
  }

  get size(): number {
    return this.workers.length;
  }

  run(items: SerializedPath[]): Promise<WorkerResponse> {
    if (this.closing) return Promise.reject(new InferenceError("the inference service is closed"));
    if (this.workers.length === 0 && this.starting === 0) return Promise.reject(new InferenceError("no inference worker left: every worker crashed and none could be restarted"));
    return new Promise((resolve, reject) => {
      this.queue.push({ req: { id: this.nextId++, items }, resolve, reject });
      this.pump();
    });
  }

  private adopt(w: Worker): void {
    this.workers.push(w);
    this.idle.push(w);
    w.on("message", (msg: WorkerResponse) => {
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      this.idle.push(w);
      p.resolve(msg);
      this.pump();
    });
    let lost = false;
    const lose = (why: string) => {
      if (lost || this.closing) return;
      lost = true;
      const r = this.replace(w, why);
      this.replacing.add(r);
      void r.finally(() => this.replacing.delete(r));
    };
    w.on("error", (e) => lose(e.message));
    w.on("exit", (code) => lose(`it exited with code ${code}`));
    // A worker that died after saying ready, while the others still loaded, emitted its exit before these
    // listeners: replace it now, or the runs sent to it would wait forever.
    if (w.threadId === -1) lose("it exited during start-up");
  }

  private async replace(w: Worker, why: string): Promise<void> {
    this.workers = this.workers.filter((x) => x !== w);
    this.idle = this.idle.filter((x) => x !== w);
    for (const [id, p] of this.pending) {
      if (p.worker !== w) continue;
      this.pending.delete(id);
      p.reject(new InferenceError(`inference worker crashed: ${why}`));
    }
    this.starting++;
    try {
      const { worker, ready } = await startWorker(this.init, this.startTimeoutMs);
      if (this.closing) {
        await worker.terminate();
        return;
      }
      // The service runs on one provider: a replacement that came up on another is no replacement.
      if (ready.provider !== this.provider) {
        await worker.terminate();
        throw new InferenceError(`the replacement worker opened the model on ${ready.provider.toUpperCase()} (${ready.reason}), the service runs on ${this.provider.toUpperCase()}`);
      }
      this.adopt(worker);
      this.pump();
    } catch (e) {
      // No replacement: with no worker left, what is queued can never run — say so instead of waiting forever.
      if (this.workers.length === 0 && this.starting === 1) {
        for (const job of this.queue.splice(0)) job.reject(new InferenceError(`no inference worker left: ${(e as Error).message}`));
      }
    } finally {
      this.starting--;
    }
  }

  private pump(): void {
    while (this.idle.length > 0 && this.queue.length > 0) {
      const w = this.idle.pop()!;
      const job = this.queue.shift()!;
      this.pending.set(job.req.id, { ...job, worker: w });
      w.postMessage(job.req);
    }
  }

  async close(): Promise<void> {
    this.closing = true;
    // Queued runs and the runs the workers are doing: both end now, so no caller waits forever.
    const closed = () => new InferenceError("the inference service is closed");
    for (const job of this.queue.splice(0)) job.reject(closed());
    for (const p of this.pending.values()) p.reject(closed());
    this.pending.clear();
    await Promise.all(this.workers.map((w) => w.terminate()));
    await Promise.allSettled([...this.replacing]); // a replacement still loading is terminated once loaded
  }
}

/**
 * One worker, resolved once it has loaded the model; rejected with why it could not — also when it exits
 * without a word (a preloaded module calling process.exit, a thread ended from outside) or takes longer than
 * `timeoutMs`, so that load() and a replacement never wait forever on a worker that will not answer.
 */
function startWorker(init: WorkerInit, timeoutMs: number): Promise<{ worker: Worker; ready: Ready }> {
  const worker = new Worker(new URL("./worker.js", import.meta.url), { workerData: init });
  return new Promise((resolve, reject) => {
    let opening: string | null = null;
    let settled = false;
    const where = () => (opening === null ? "before opening any member" : `while opening ${opening}`);
    const settle = () => {
      settled = true;
      clearTimeout(timer);
      worker.off("message", onMessage);
    };
    const fail = (e: Error) => {
      if (settled) return;
      settle();
      void worker.terminate();
      reject(e);
    };
    const onMessage = (r: WorkerReady) => {
      if (r.type === "opening") opening = r.member;
      else if (r.type === "failed") fail(new (r.kind === "card" ? ModelCardError : OnnxRuntimeError)(`${init.cardPath}: cannot load the model: ${r.error}`));
      else if (!settled) {
        settle();
        resolve({ worker, ready: r });
      }
    };
    worker.on("message", onMessage);
    // Kept after start-up (guarded by `settled`): an "error" event with no listener would crash the process
    // while this worker waits for the others to load; the pool's own listeners take over when it adopts it.
    worker.on("error", (e) => fail(new InferenceError(`${init.cardPath}: inference worker failed ${where()}: ${e.message}`)));
    worker.once("exit", (code) => fail(new InferenceError(`${init.cardPath}: inference worker exited with code ${code} ${where()}, without loading the model`)));
    const timer = setTimeout(() => fail(new InferenceError(`${init.cardPath}: inference worker did not load the model within ${timeoutMs} ms (still ${where()})`)), timeoutMs);
  });
}
