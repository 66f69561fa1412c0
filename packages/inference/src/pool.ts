import { Worker } from "node:worker_threads";
import { InferenceError } from "./errors.js";
import type { SerializedPath, WorkerInit, WorkerReady, WorkerRequest, WorkerResponse } from "./protocol.js";

/** A fixed pool of inference workers; requests queue until a worker is free. */
export class WorkerPool {
  private idle: Worker[] = [];
  private queue: { req: WorkerRequest; resolve: (r: WorkerResponse) => void; reject: (e: Error) => void }[] = [];
  private pending = new Map<number, { resolve: (r: WorkerResponse) => void; reject: (e: Error) => void; worker: Worker }>();
  private nextId = 1;

  private constructor(
    private readonly workers: Worker[],
    readonly provider: "cpu" | "cuda",
    readonly reason: string,
  ) {
    this.idle = [...workers];
    for (const w of workers) {
      w.on("message", (msg: WorkerResponse) => {
        const p = this.pending.get(msg.id);
        if (!p) return;
        this.pending.delete(msg.id);
        this.idle.push(w);
        p.resolve(msg);
        this.pump();
      });
      w.on("error", (e) => this.failWorker(w, e));
    }
  }

  static async start(size: number, init: WorkerInit): Promise<WorkerPool> {
    const url = new URL("./worker.js", import.meta.url);
    const workers = Array.from({ length: size }, () => new Worker(url, { workerData: init }));
    try {
      const ready = await Promise.all(
        workers.map(
          (w) =>
            new Promise<WorkerReady>((resolve, reject) => {
              w.once("message", resolve);
              w.once("error", reject);
            }),
        ),
      );
      const failed = ready.find((r) => r.type === "failed");
      if (failed && failed.type === "failed") throw new InferenceError(`cannot load the model: ${failed.error}`);
      const first = ready[0] as Extract<WorkerReady, { type: "ready" }>;
      return new WorkerPool(workers, first.provider, first.reason);
    } catch (e) {
      await Promise.all(workers.map((w) => w.terminate()));
      throw e instanceof InferenceError ? e : new InferenceError(`inference worker failed to start: ${(e as Error).message}`);
    }
  }

  get size(): number {
    return this.workers.length;
  }

  run(items: SerializedPath[]): Promise<WorkerResponse> {
    return new Promise((resolve, reject) => {
      this.queue.push({ req: { id: this.nextId++, items }, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    while (this.idle.length > 0 && this.queue.length > 0) {
      const w = this.idle.pop()!;
      const job = this.queue.shift()!;
      this.pending.set(job.req.id, { resolve: job.resolve, reject: job.reject, worker: w });
      w.postMessage(job.req);
    }
  }

  private failWorker(w: Worker, e: Error): void {
    for (const [id, p] of this.pending) {
      if (p.worker === w) {
        this.pending.delete(id);
        p.reject(new InferenceError(`inference worker crashed: ${e.message}`));
      }
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
