// Who runs an import job, and whether that process still runs it: so resuming a job that another process is
// still importing is refused (both would skip the same committed items and count the rest twice).
import { readFileSync } from "node:fs";
import { hostname } from "node:os";
import type { IonRankDb } from "./open.js";

/** How often a running import touches its job (ImportJob.updatedAt, its heartbeat). */
export const IMPORT_HEARTBEAT_MS = 10_000;
/**
 * A job whose owner cannot be checked (another host, an unknown owner, no /proc) is taken as stopped once its
 * heartbeat is this old: several missed heartbeats, room for a busy event loop and some clock skew between hosts.
 */
export const IMPORT_STALE_MS = 60_000;

export interface JobOwner {
  host: string;
  pid: number;
  /** The process's start time as the kernel gives it (/proc/<pid>/stat, clock ticks after boot); "" where unknown. */
  start: string;
}

/**
 * The process's start time from /proc/<pid>/stat (field 22, clock ticks after boot): with the pid, it names one
 * process, so a pid reused by another process is not taken for the owner. Ticks, not a wall-clock time: they never
 * change, while a time derived from the boot time moves when the clock is set. null: no such process (or a zombie,
 * which no longer runs anything), or no /proc to read.
 */
function processStart(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name (field 2) is in parentheses and may hold spaces and ')': fields 3… follow the last ')'.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return fields[0] === "Z" || fields[0] === "X" ? null : (fields[19] ?? null);
  } catch {
    return null;
  }
}

let self: string | undefined;

/** This process as a job owner: "host:pid:start". */
export function currentOwner(): string {
  return (self ??= formatOwner({ host: hostname(), pid: process.pid, start: processStart(process.pid) ?? "" }));
}

export function formatOwner(o: JobOwner): string {
  return `${o.host}:${o.pid}:${o.start}`;
}

/** null for NULL (a job from before owners were recorded) or text that is no owner. */
export function parseOwner(text: string | null): JobOwner | null {
  const m = text === null ? null : /^(.*):(\d+):(\d*)$/.exec(text);
  return m ? { host: m[1]!, pid: Number(m[2]), start: m[3]! } : null;
}

/** Signal 0 checks that the pid exists without touching it; EPERM: it exists, as another user's process. */
function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

export interface Liveness {
  alive: boolean;
  /** Who runs it, for messages: "process 123 on host-a" or "an unknown process". */
  by: string;
  /** Seconds since the last heartbeat. */
  heartbeatAge: number;
  /** The verdict rests on the heartbeat alone (the owner's process could not be checked). */
  byHeartbeat: boolean;
}

/**
 * Whether the process that ran a RUNNING job still runs it. On this host: its pid is alive and started when the
 * owner says (a killed import is resumable at once); where the start cannot be read, a live pid with a fresh
 * heartbeat. On another host, or with no recorded owner: a heartbeat fresher than IMPORT_STALE_MS.
 */
export function jobLiveness(job: { owner: string | null; updatedAt: Date }, now = Date.now()): Liveness {
  const heartbeatAge = Math.max(0, Math.round((now - job.updatedAt.getTime()) / 1000));
  const fresh = now - job.updatedAt.getTime() < IMPORT_STALE_MS;
  const owner = parseOwner(job.owner);
  if (!owner) return { alive: fresh, by: "an unknown process", heartbeatAge, byHeartbeat: true };
  const by = `process ${owner.pid} on ${owner.host}`;
  if (owner.host !== hostname()) return { alive: fresh, by, heartbeatAge, byHeartbeat: true };
  if (!pidAlive(owner.pid)) return { alive: false, by, heartbeatAge, byHeartbeat: false };
  const start = processStart(owner.pid);
  if (owner.start !== "" && start !== null) return { alive: start === owner.start, by, heartbeatAge, byHeartbeat: false };
  return { alive: fresh, by, heartbeatAge, byHeartbeat: true };
}

/**
 * Touch the job every IMPORT_HEARTBEAT_MS while this process owns it (only then: a process that lost the job to a
 * resumer must not keep it looking alive). Unref'd, so it never keeps a process alive; stop() waits for a touch in
 * flight, so none runs after the import returns (and the database may be closed).
 */
export function startHeartbeat(db: IonRankDb, jobId: string, owner: string, every = IMPORT_HEARTBEAT_MS): { stop: () => Promise<void> } {
  let inFlight: Promise<unknown> = Promise.resolve();
  const timer = setInterval(() => {
    // A failed touch (a busy database) is not the import's failure: the next one, or the next commit, touches it.
    inFlight = db.prisma.importJob.updateMany({ where: { id: jobId, owner }, data: { updatedAt: new Date() } }).catch(() => {});
  }, every);
  timer.unref();
  return {
    stop: async () => {
      clearInterval(timer);
      await inFlight;
    },
  };
}
