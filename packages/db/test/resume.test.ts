import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { hostname } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { currentOwner, formatOwner, importItems, IMPORT_STALE_MS, JobClaimedError, openDatabase, parseOwner, ValidationError, type IonRankDb } from "../src/index.js";
import { startHeartbeat } from "../src/job-owner.js";
import { BACKENDS } from "./helpers.js";

const FIX = fileURLToPath(new URL("../../crystal/test/fixtures/", import.meta.url));
const cif = readFileSync(path.join(FIX, "LiCoO2.cif"), "utf8");
/** n distinct LiCoO2 cells. */
const items = (n: number) => Array.from({ length: n }, (_, i) => ({ name: `s${i}.cif`, text: cif.replace(/_cell_length_a\s+\S+/, `_cell_length_a ${(2.8 + i * 2e-3).toFixed(4)}`) }));
const SOURCE = "/data/run1";

/** The owner string of a process that ran on this host and has exited (and been reaped): its pid is free. */
async function deadOwner(): Promise<string> {
  const child = spawn(process.execPath, ["-e", "process.stdin.resume()"], { stdio: ["pipe", "ignore", "ignore"] });
  await new Promise((r) => child.once("spawn", r));
  const stat = readFileSync(`/proc/${child.pid}/stat`, "utf8");
  const start = stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19]!;
  const exited = new Promise((r) => child.once("exit", r));
  child.stdin.end();
  await exited;
  return formatOwner({ host: hostname(), pid: child.pid!, start });
}

describe.each(BACKENDS)("resuming an import job that may still be running, on $name", ({ open }) => {
  let db: IonRankDb;
  beforeEach(async () => {
    db = await open();
  });
  afterEach(async () => {
    await db.close();
  });

  /** A job that committed its first 50 of 100 items, then stopped (status FAILED), made to look as `state` says. */
  async function stoppedJob(state: { status?: string; owner?: string | null; updatedAt?: Date }): Promise<string> {
    let jobId = "";
    async function* dying() {
      for (const [i, it] of items(100).entries()) {
        if (i === 50) throw new Error("killed");
        yield it;
      }
    }
    await expect(importItems(db, dying(), { batchSize: 25, onStart: (id) => (jobId = id), source: SOURCE })).rejects.toThrow("killed");
    const job = await db.prisma.importJob.update({ where: { id: jobId }, data: { status: "RUNNING", ...state } });
    // Prisma keeps an explicit @updatedAt value, which is how these tests age a heartbeat.
    if (state.updatedAt) expect(job.updatedAt.getTime()).toBe(state.updatedAt.getTime());
    expect(job).toMatchObject({ processed: 50, imported: 50 });
    return jobId;
  }

  /** An import in this process that has committed its first batch and waits before item `pauseAt` until released. */
  async function pausedImport(pauseAt: number) {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let committed!: () => void;
    const firstBatch = new Promise<void>((r) => (committed = r));
    async function* slow() {
      for (const [i, it] of items(100).entries()) {
        if (i === pauseAt) await gate;
        yield it;
      }
    }
    let jobId = "";
    const first = importItems(db, slow(), { batchSize: 25, onStart: (id) => (jobId = id), onProgress: () => committed(), source: SOURCE });
    await firstBatch;
    return { jobId, release, first };
  }

  const resume = (jobId: string) => importItems(db, items(100), { batchSize: 25, resumeJob: jobId, source: SOURCE });
  const refusal = (jobId: string) => resume(jobId).then(() => null, (e: unknown) => e);
  const minutesAgo = (m: number) => new Date(Date.now() - m * 60_000);

  it("an import still running in this process is refused, and finishes with exact counts", async () => {
    const { jobId, release, first } = await pausedImport(60);
    const job = await db.prisma.importJob.findUniqueOrThrow({ where: { id: jobId } });
    expect(job).toMatchObject({ status: "RUNNING", owner: currentOwner() });
    const e = await refusal(jobId);
    expect(e).toBeInstanceOf(ValidationError);
    expect((e as ValidationError).field).toBe("resumeJob");
    expect((e as Error).message).toMatch(new RegExp(`import job ${jobId} is still running \\(process ${process.pid} on ${hostname()}, last heartbeat \\d+ s ago\\): let it finish, or stop that process`));
    release();
    // Only the first import counted the items: not 100 + the resumer's 50 (the defect: processed 950 of 600).
    expect(await first).toMatchObject({ id: jobId, status: "DONE", processed: 100, imported: 100, duplicates: 0 });
    expect(await db.prisma.importJob.findUniqueOrThrow({ where: { id: jobId } })).toMatchObject({ processed: 100, imported: 100 });
  });

  it("a RUNNING job owned by this live process is refused even when its heartbeat is old, and left as it was", async () => {
    const jobId = await stoppedJob({ owner: currentOwner(), updatedAt: minutesAgo(5) });
    const before = await db.prisma.importJob.findUniqueOrThrow({ where: { id: jobId } });
    const e = await refusal(jobId);
    expect(e).toBeInstanceOf(ValidationError);
    expect((e as Error).message).toMatch(/is still running \(process \d+ on .*, last heartbeat (29\d|30\d) s ago\)/);
    expect(await db.prisma.importJob.findUniqueOrThrow({ where: { id: jobId } })).toEqual(before);
  });

  it("a RUNNING job whose process on this host has exited (killed) is resumed at once", async () => {
    const jobId = await stoppedJob({ owner: await deadOwner(), updatedAt: new Date() });
    const done = await resume(jobId);
    expect(done).toMatchObject({ id: jobId, status: "DONE", processed: 100, imported: 100, duplicates: 0 });
    // The resumer took the job over: it is the owner now.
    expect(await db.prisma.importJob.findUniqueOrThrow({ where: { id: jobId } })).toMatchObject({ owner: currentOwner(), status: "DONE", processed: 100 });
  });

  it.runIf(existsSync("/proc/self/stat"))("a pid that lives but started at another time (a reused pid) is not the owner: resumed at once", async () => {
    const me = parseOwner(currentOwner())!;
    const jobId = await stoppedJob({ owner: formatOwner({ ...me, start: String(Number(me.start) + 1) }), updatedAt: new Date() });
    expect(await resume(jobId)).toMatchObject({ status: "DONE", processed: 100, imported: 100 });
    expect(await db.prisma.importJob.findUniqueOrThrow({ where: { id: jobId } })).toMatchObject({ owner: currentOwner() });
  });

  it.each([
    ["an unknown owner (NULL)", null],
    ["an owner on another host", "build-7.example.org:4242:123456"],
  ])("a RUNNING job of %s is resumed once its heartbeat is stale, and refused while it is fresh", async (_, owner) => {
    const fresh = await stoppedJob({ owner, updatedAt: new Date(Date.now() - 5_000) });
    const e = await refusal(fresh);
    expect(e).toBeInstanceOf(ValidationError);
    expect((e as Error).message).toMatch(new RegExp(`is still running \\(${owner ? "process 4242 on build-7.example.org" : "an unknown process"}, last heartbeat [5-9] s ago\\).*can be resumed \\d+ s from now, once its heartbeat is ${IMPORT_STALE_MS / 1000} s old`));
    expect(await db.prisma.importJob.findUniqueOrThrow({ where: { id: fresh } })).toMatchObject({ status: "RUNNING", owner, processed: 50 });

    await db.prisma.importJob.update({ where: { id: fresh }, data: { updatedAt: new Date(Date.now() - IMPORT_STALE_MS - 1_000) } });
    expect(await resume(fresh)).toMatchObject({ id: fresh, status: "DONE", processed: 100, imported: 100, duplicates: 0 });
    expect(await db.prisma.importJob.findUniqueOrThrow({ where: { id: fresh } })).toMatchObject({ owner: currentOwner() });
  });

  it("of concurrent resumers of one job exactly one proceeds; the job counts every item once", async () => {
    for (const state of [{ status: "FAILED" }, { owner: await deadOwner() }]) {
      const jobId = await stoppedJob(state);
      // Three connections, as three processes would have (two resumers on the first): the claims race in the
      // database. A short busy timeout, as in the two-connection tests above: SQLite's wait blocks this one thread.
      const others = await Promise.all([1, 2, 3].map(() => openDatabase({ url: db.url, busyTimeoutMs: 50 })));
      const settled = await Promise.allSettled([others[0]!, ...others].map((d) => importItems(d, items(100), { batchSize: 25, resumeJob: jobId, source: SOURCE })));
      await Promise.all(others.map((d) => d.close()));
      const won = settled.filter((s) => s.status === "fulfilled");
      expect(won).toHaveLength(1);
      expect(won[0]!.value).toMatchObject({ status: "DONE", processed: 100, imported: 100, duplicates: 0 });
      for (const s of settled.filter((x) => x.status === "rejected")) {
        expect(s.reason).toBeInstanceOf(ValidationError);
        expect((s.reason as Error).message).toMatch(/changed while this process was resuming it|is still running/);
      }
      expect(await db.prisma.importJob.findUniqueOrThrow({ where: { id: jobId } })).toMatchObject({ status: "DONE", processed: 100, imported: 100 });
      await db.prisma.material.deleteMany();
    }
  });

  it("an import whose job was claimed by another process stops at its next batch and leaves the job to that one", async () => {
    const { jobId, release, first: running } = await pausedImport(30);
    const first = running.catch((e: unknown) => e);
    // As a resumer elsewhere does when this process's heartbeat looked stale to it.
    await db.prisma.importJob.update({ where: { id: jobId }, data: { owner: "build-7.example.org:4242:123456" } });
    release();
    const e = await first;
    expect(e).toBeInstanceOf(JobClaimedError);
    expect(await db.prisma.importJob.findUniqueOrThrow({ where: { id: jobId } })).toMatchObject({ status: "RUNNING", owner: "build-7.example.org:4242:123456", processed: 25 });
  });

  it("the heartbeat touches the job while this process owns it, and stops with the import", async () => {
    const jobId = await stoppedJob({ owner: currentOwner(), updatedAt: minutesAgo(5) });
    const beat = startHeartbeat(db, jobId, currentOwner(), 50);
    await new Promise((r) => setTimeout(r, 400));
    await beat.stop();
    const touched = (await db.prisma.importJob.findUniqueOrThrow({ where: { id: jobId } })).updatedAt;
    expect(Date.now() - touched.getTime()).toBeLessThan(2_000);
    await new Promise((r) => setTimeout(r, 200));
    expect((await db.prisma.importJob.findUniqueOrThrow({ where: { id: jobId } })).updatedAt).toEqual(touched);
    // Not another process's job.
    await db.prisma.importJob.update({ where: { id: jobId }, data: { owner: "build-7.example.org:4242:123456", updatedAt: minutesAgo(5) } });
    const other = startHeartbeat(db, jobId, currentOwner(), 50);
    await new Promise((r) => setTimeout(r, 300));
    await other.stop();
    expect(Date.now() - (await db.prisma.importJob.findUniqueOrThrow({ where: { id: jobId } })).updatedAt.getTime()).toBeGreaterThan(4 * 60_000);
  });
});
