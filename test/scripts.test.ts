import { spawn, spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { ROOT } from "./helpers.js";

// scripts/start.sh and scripts/postgres.sh as an operator meets them: taken ports, unwritable folders,
// interrupted or failed first starts, switched databases, signals. Each start gets its own IONRANK_DATA_DIR,
// which is also how the test finds every process a start left behind (by its environment).
const scratch = mkdtempSync(join(tmpdir(), "ionrank-scripts-"));
chmodSync(scratch, 0o755); // PostgreSQL runs as the postgres user when root
let n = 0;
const fresh = (name: string) => join(scratch, `${name}-${++n}`);
const held: Server[] = [];
const accepted: Socket[] = [];
const dataDirs: string[] = [];

afterEach(() => {
  for (const dir of dataDirs.splice(0)) for (const pid of processesOf(dir)) kill(pid, "SIGKILL");
});
afterAll(async () => {
  accepted.forEach((c) => c.destroy());
  await Promise.all(held.map((s) => new Promise((r) => s.close(r))));
  rmSync(scratch, { recursive: true, force: true });
});

function kill(pid: number, signal: NodeJS.Signals) {
  try {
    process.kill(pid, signal);
  } catch {
    // gone already
  }
}

/** The processes whose environment has IONRANK_DATA_DIR=dir: what a start with that folder runs. */
function processesOf(dir: string): number[] {
  const needle = `IONRANK_DATA_DIR=${dir}\0`;
  const found: number[] = [];
  for (const p of readdirSync("/proc")) {
    if (!/^\d+$/.test(p) || Number(p) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${p}/environ`, "latin1").includes(needle)) found.push(Number(p));
    } catch {
      // exited meanwhile, or not ours
    }
  }
  return found;
}

async function noneLeft(dir: string, withinMs = 15_000): Promise<number[]> {
  const until = Date.now() + withinMs;
  let left = processesOf(dir);
  while (left.length > 0 && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 200));
    left = processesOf(dir);
  }
  return left;
}

/** A port nobody listens on (now). */
async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

/** A port taken by a listener that accepts connections and never answers (the worst neighbour). */
async function takenPort(): Promise<number> {
  const s = createServer((c) => accepted.push(c));
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  held.push(s);
  return (s.address() as { port: number }).port;
}

interface Started {
  pid: number;
  log: () => string;
  exited: Promise<number | null>;
  waitFor: (re: RegExp, ms: number) => Promise<void>;
}

/** Start scripts/start.sh (or `npm start`) with this data folder and ports (DATABASE_URL only when given). */
function start(dataDir: string, env: Record<string, string>, how: "bash" | "npm" = "bash"): Started {
  dataDirs.push(dataDir);
  const { DATABASE_URL: _, ...base } = process.env;
  const [command, args] = how === "npm" ? ["npm", ["start"]] : ["bash", [join(ROOT, "scripts/start.sh")]];
  const child = spawn(command, args, {
    cwd: ROOT,
    env: { ...base, IONRANK_DATA_DIR: dataDir, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let log = "";
  child.stdout.on("data", (d: Buffer) => (log += d.toString()));
  child.stderr.on("data", (d: Buffer) => (log += d.toString()));
  const exited = new Promise<number | null>((r) => child.once("exit", (code, signal) => r(code ?? (signal ? -1 : null))));
  const waitFor = async (re: RegExp, ms: number) => {
    const until = Date.now() + ms;
    while (!re.test(log)) {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`start.sh exited before ${re}:\n${log}`);
      if (Date.now() > until) throw new Error(`no ${re} within ${ms} ms:\n${log}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  return { pid: child.pid!, log: () => log, exited, waitFor };
}

/** The exit code, or a failure naming what the script printed when it does not exit within ms. */
async function exitWithin(s: Started, ms: number): Promise<number | null> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`start.sh still running after ${ms} ms:\n${s.log()}`)), ms);
  });
  try {
    return await Promise.race([s.exited, late]);
  } finally {
    clearTimeout(timer);
  }
}

async function ports() {
  const api = await freePort();
  let web = await freePort();
  while (web === api) web = await freePort();
  return { IONRANK_API_PORT: String(api), IONRANK_WEB_PORT: String(web) };
}

describe("npm start (scripts/start.sh)", () => {
  it.each([
    ["API", "IONRANK_API_PORT"],
    ["dashboard", "IONRANK_WEB_PORT"],
  ])("refuses a taken %s port at once, naming the port and %s, and leaves nothing running", async (what, variable) => {
    const dir = fresh(`${what}-port`);
    const taken = await takenPort();
    const s = start(dir, { ...(await ports()), [variable]: String(taken) });
    expect(await exitWithin(s, 30_000)).toBe(1);
    expect(s.log()).toMatch(new RegExp(`error: port ${taken} .*in use.*${variable}`));
    expect(await noneLeft(dir)).toEqual([]);
  }, 60_000);

  it("says that IONRANK_DATA_DIR cannot be written, and why", async () => {
    const file = fresh("a-file");
    writeFileSync(file, "");
    const s = start(join(file, "data"), await ports());
    expect(await exitWithin(s, 30_000)).toBe(1);
    expect(s.log()).toMatch(/error: cannot write to IONRANK_DATA_DIR=.*Not a directory.*set IONRANK_DATA_DIR/);
  }, 60_000);

  it("does not record the example data as loaded when its import failed, and says so", async () => {
    const dir = fresh("failed-import");
    mkdirSync(join(dir, "ionrank.db"), { recursive: true }); // a database nothing can open
    const s = start(dir, await ports());
    expect(await exitWithin(s, 120_000)).toBe(1);
    expect(s.log()).toMatch(/did not load completely/);
    expect(readdirSync(dir).filter((f) => f.startsWith(".examples-loaded"))).toEqual([]);
    expect(await noneLeft(dir)).toEqual([]);
  }, 150_000);

  it("loads the examples into the database DATABASE_URL names, though the SQLite database had them", async () => {
    const dir = fresh("switch-db");
    mkdirSync(dir);
    for (const f of ["ionrank.db", ".examples-loaded", "web-api-key"]) writeFileSync(join(dir, f), f === "web-api-key" ? "sqlite-key\n" : "");
    const closed = await freePort(); // PostgreSQL that does not answer: the first step that needs it fails
    const s = start(dir, { ...(await ports()), DATABASE_URL: `postgresql://ionrank@127.0.0.1:${closed}/ionrank` });
    expect(await exitWithin(s, 120_000)).toBe(1);
    expect(s.log()).toMatch(/First start: loading the example data into DATABASE_URL/);
    expect(s.log()).toMatch(/error: could not create the dashboard's API key in DATABASE_URL/);
    expect(readFileSync(join(dir, "web-api-key"), "utf8")).toBe("sqlite-key\n"); // the SQLite state stays as it was
    expect(readdirSync(dir).filter((f) => f.startsWith(".examples-loaded"))).toEqual([".examples-loaded"]);
  }, 150_000);

  it("stops the example import at once on SIGTERM, leaving no process behind", async () => {
    const dir = fresh("term-import");
    const s = start(dir, await ports());
    await s.waitFor(/First start: loading the example data/, 120_000);
    await new Promise((r) => setTimeout(r, 300)); // the first import is under way
    process.kill(s.pid, "SIGTERM"); // the script alone, as `kill PID` or a service manager does
    const code = await exitWithin(s, 30_000);
    expect(await noneLeft(dir, 500)).toEqual([]); // the script waits for its children before it exits
    expect(code).toBe(143);
    expect(readdirSync(dir)).not.toContain(".examples-loaded");
  }, 180_000);

  it("npm start reloads the examples into a deleted database, serves them, and stops everything on SIGTERM", async () => {
    const dir = fresh("deleted-db");
    mkdirSync(dir);
    writeFileSync(join(dir, ".examples-loaded"), ""); // what the deleted database's first start left
    writeFileSync(join(dir, "web-api-key"), "key-of-the-deleted-database\n");
    const env = await ports();
    const s = start(dir, env, "npm");
    await s.waitFor(/dashboard at http/, 240_000);
    const r = await fetch(`http://127.0.0.1:${env.IONRANK_API_PORT}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query: "{ stats { materials } }" }),
    });
    const materials = ((await r.json()) as { data: { stats: { materials: number } } }).data.stats.materials;
    expect(processesOf(dir).length).toBeGreaterThanOrEqual(3); // the script, the API, the dashboard
    // npm passes SIGTERM on to the `sh -c` running the script, which dies of it without passing it on.
    process.kill(s.pid, "SIGTERM");
    await exitWithin(s, 30_000);
    expect(await noneLeft(dir, 10_000)).toEqual([]);
    expect(s.log()).toMatch(/First start: loading the example data/);
    expect(materials).toBeGreaterThanOrEqual(8);
    expect(readFileSync(join(dir, "web-api-key"), "utf8")).not.toContain("deleted");
  }, 300_000);
});

describe("scripts/postgres.sh", () => {
  const pg = (...args: string[]) => {
    const r = spawnSync("bash", [join(ROOT, "scripts/postgres.sh"), ...args], { encoding: "utf8", timeout: 90_000 });
    return { code: r.status, out: r.stdout, err: r.stderr };
  };

  it("prints its usage for missing arguments", () => {
    for (const args of [[], ["stop"], ["start", join(scratch, "pg-usage")]]) {
      const r = pg(...args);
      expect(r.code).toBe(2);
      expect(r.err).toMatch(/^usage: .*start DIR PORT \| stop DIR/);
    }
  });

  it("names a taken port, the folder of a server left running there, and a folder whose server runs", async () => {
    const busy = await takenPort();
    const r = pg("start", join(scratch, "pg-busy"), String(busy));
    expect(r.code).toBe(1);
    expect(r.err).toMatch(new RegExp(`error: port ${busy} on 127.0.0.1 is in use`));

    const port = await freePort();
    const first = join(scratch, "pg-first");
    const second = join(scratch, "pg-second");
    expect(pg("start", first, String(port))).toMatchObject({ code: 0, out: `postgresql://ionrank@127.0.0.1:${port}/postgres\n` });
    try {
      const again = pg("start", first, String(port));
      expect(again.code).toBe(1);
      expect(again.err).toMatch(/already running in .*pg-first/);
      const other = pg("start", second, String(port));
      expect(other.code).toBe(1);
      expect(other.err).toMatch(new RegExp(`port ${port} .*in use by a PostgreSQL left running in ${first}.*stop ${first}`));
    } finally {
      expect(pg("stop", first).code).toBe(0);
      pg("stop", second);
    }
    expect(existsSync(first)).toBe(false);
    expect(pg("stop", first).code).toBe(0); // nothing to stop is no error
  }, 120_000);

  it("stop removes only a folder that start made", () => {
    const dir = join(scratch, "not-postgres");
    mkdirSync(dir);
    writeFileSync(join(dir, "thesis.tex"), "years of work");
    const r = pg("stop", dir);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/holds thesis\.tex.*not removing it/);
    expect(readFileSync(join(dir, "thesis.tex"), "utf8")).toBe("years of work");
  });
});
