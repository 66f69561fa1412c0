import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const FIX = join(ROOT, "packages/crystal/test/fixtures");
const dataDir = mkdtempSync(join(tmpdir(), "ionrank-api-"));
let server: ChildProcess;
let url = "";
let key = "";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

async function gql(query: string, variables: Record<string, unknown> = {}, auth = true) {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...(auth && key ? { authorization: `Bearer ${key}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  return { status: res.status, body: (await res.json()) as { data?: Record<string, Json>; errors?: { message: string; extensions: { code: string } }[] } };
}

beforeAll(async () => {
  const env = { ...process.env, IONRANK_DATA_DIR: dataDir, IONRANK_API_PORT: "0", NODE_ENV: "production" };
  const k = spawnSync(join(ROOT, "node_modules/.bin/ionrank"), ["apikey", "create", "--role", "editor"], { env, encoding: "utf8" });
  expect(k.status, k.stderr).toBe(0);
  key = k.stdout.trim().split("\n").at(-1)!;
  server = spawn(process.execPath, [join(ROOT, "apps/api/dist/main.js")], { env });
  url = await new Promise<string>((resolve, reject) => {
    server.stdout!.on("data", (d: Buffer) => {
      const m = /at (http:\/\/\S+graphql)/.exec(d.toString());
      if (m) resolve(m[1]!);
    });
    server.once("exit", (code) => reject(new Error(`API exited with ${code}`)));
  });
});
afterAll(() => {
  server?.kill("SIGTERM");
});

const IMPORT = `mutation ($s: [StructureInput!]!, $ion: String) { importStructures(structures: $s, ion: $ion) { id status imported failed errors { name index reason } } }`;

describe("GraphQL API over HTTP (real server process, SQLite file)", () => {
  it("imports structures with an API key: good ones stored with their hops, bad ones reported with index and reason", async () => {
    const structures = [
      { name: "LiFePO4.cif", content: readFileSync(join(FIX, "LiFePO4.cif"), "utf8") },
      { name: "broken.cif", format: "cif", content: "data_x\n_cell_length_a 5\n" },
      { name: "LiCoO2.POSCAR", format: "poscar", content: readFileSync(join(FIX, "LiCoO2.POSCAR"), "utf8") },
    ];
    const r = await gql(IMPORT, { s: structures, ion: "Li" });
    expect(r.body.errors).toBeUndefined();
    const job = r.body.data!.importStructures;
    expect(job).toMatchObject({ status: "DONE", imported: 2, failed: 1 });
    expect(job.errors[0]).toMatchObject({ name: "broken.cif", index: 1 });
    expect(job.errors[0].reason).toMatch(/no data block has atom sites/);
    const again = await gql(`query ($id: ID!) { importJob(id: $id) { status imported failed } }`, { id: job.id });
    expect(again.body.data!.importJob).toEqual({ status: "DONE", imported: 2, failed: 1 });
    // Re-importing the same content creates nothing new.
    await gql(IMPORT, { s: structures, ion: "Li" });
    const all = await gql(`{ materials(first: 50) { edges { node { reducedFormula spaceGroup pathways { ion hopLength multiplicity } } } } }`);
    const nodes = all.body.data!.materials.edges.map((e: { node: unknown }) => e.node);
    expect(nodes).toHaveLength(2);
    const lfp = nodes.find((n: { reducedFormula: string }) => n.reducedFormula === "LiFePO4");
    expect(lfp.spaceGroup).toBe(62);
    expect(lfp.pathways[0]).toMatchObject({ ion: "Li", multiplicity: 4 });
    expect(lfp.pathways[0].hopLength).toBeCloseTo(3.005, 3);
  });

  it("paginates with stable cursors and filters by ion", async () => {
    await gql(IMPORT, { s: [{ name: "NaCl.cif", content: readFileSync(join(FIX, "NaCl.cif"), "utf8") }] });
    const p1 = await gql(`{ materials(first: 2) { edges { cursor node { id } } pageInfo { endCursor hasNextPage } } }`);
    const c = p1.body.data!.materials;
    expect(c.edges).toHaveLength(2);
    expect(c.pageInfo.hasNextPage).toBe(true);
    const p2 = await gql(`query ($a: String) { materials(first: 2, after: $a) { edges { node { id } } pageInfo { hasNextPage } } }`, { a: c.pageInfo.endCursor });
    expect(p2.body.data!.materials.edges).toHaveLength(1);
    expect(p2.body.data!.materials.pageInfo.hasNextPage).toBe(false);
    const li = await gql(`{ materials(ion: "Li") { edges { node { reducedFormula } } } }`);
    expect(li.body.data!.materials.edges.map((e: { node: { reducedFormula: string } }) => e.node.reducedFormula).sort()).toEqual(["LiCoO2", "LiFePO4"]);
  });

  it("refuses mutations without a key, with bad keys and bad input, with stable codes and no stack traces", async () => {
    const anon = await gql(IMPORT, { s: [] }, false);
    expect(anon.body.errors![0]!.extensions.code).toBe("UNAUTHENTICATED");
    expect(JSON.stringify(anon.body)).not.toMatch(/stacktrace/);
    const saved = key;
    key = "irk_not-a-key";
    const bad = await gql(`{ materials { edges { cursor } } }`);
    key = saved;
    expect(bad.status).toBe(401);
    const cursor = await gql(`{ materials(after: "bogus") { edges { cursor } } }`);
    expect(cursor.body.errors![0]!.extensions.code).toBe("BAD_USER_INPUT");
    const ion = await gql(IMPORT, { s: [], ion: "Xx" });
    expect(ion.body.errors![0]!.extensions.code).toBe("BAD_USER_INPUT");
  });
});
