import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApiKey, registerModel } from "@ionrank/db";
import { readEnv } from "../src/env.js";
import { startApi, type StartedApi } from "../src/server.js";

// A real server on a real SQLite file (no model loaded: these checks run before any prediction would).
const FIXTURES = new URL("../../../packages/crystal/test/fixtures/", import.meta.url).pathname;
let api: StartedApi;
let editor = "";
let materialId = "";
let pathwayId = "";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Body = { data?: any; errors?: { message: string; extensions: { code: string } }[] };

async function gql(query: string, variables: Record<string, unknown> = {}, authorization: string | null = `Bearer ${editor}`) {
  const res = await fetch(api.url, { method: "POST", headers: { "content-type": "application/json", ...(authorization ? { authorization } : {}) }, body: JSON.stringify({ query, variables }) });
  return { status: res.status, body: (await res.json()) as Body };
}

/** The request was refused as the client's error, with this message. */
async function refused(query: string, variables: Record<string, unknown>, message: RegExp) {
  const r = await gql(query, variables);
  expect([r.status, r.body.errors?.[0]?.extensions.code], query).toEqual([400, "BAD_USER_INPUT"]);
  expect(r.body.errors![0]!.message, query).toMatch(message);
}

const counts = async () => {
  const [materials, pathways, jobs] = await Promise.all([api.db.prisma.material.count(), api.db.prisma.pathway.count(), api.db.prisma.importJob.count()]);
  return { materials, pathways, jobs };
};

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), "ionrank-api-args-"));
  api = await startApi(readEnv({ IONRANK_DATA_DIR: dir, IONRANK_API_PORT: "0", IONRANK_MODEL: "none", NODE_ENV: "production" }), { log: () => {} });
  editor = await createApiKey(api.db, "editor");
  await registerModel(api.db, { name: "em", version: "9.9.9" }, { active: true });
  const content = readFileSync(join(FIXTURES, "LiCoO2.POSCAR"), "utf8");
  const r = await gql(`mutation ($s: [StructureInput!]!) { importStructures(structures: $s, ion: "Li") { imported } }`, { s: [{ name: "LiCoO2.POSCAR", content }] });
  expect(r.body.data.importStructures.imported).toBe(1);
  const m = await gql(`{ materials { edges { node { id pathways { id } } } } }`);
  materialId = m.body.data.materials.edges[0].node.id;
  pathwayId = m.body.data.materials.edges[0].node.pathways[0].id;
});
afterAll(async () => {
  await api?.stop();
});

describe("arguments the API refuses instead of answering with a silent empty list, a null or a 500", () => {
  it("a filter range that holds nothing, an empty cursor, element lists that contradict each other", async () => {
    await refused(`{ materials(filter: { ion: "Li", emMin: 2, emMax: 1 }, sort: EM) { edges { cursor } } }`, {}, /filter\.emMin \(2 eV\) is above filter\.emMax \(1 eV\)/);
    for (const list of [`materials(first: 1, after: "")`, `ranking(ion: "Li", after: "")`, `pathways(after: "")`]) {
      await refused(`{ ${list} { edges { cursor } } }`, {}, /^after: /);
    }
    await refused(`{ materials(filter: { elementsAll: ["Li", "O"], elementsNone: ["O"] }) { edges { cursor } } }`, {}, /both name O/);
    // A repeated symbol is one condition: 5,000 repeats once made 20,000 SQL parameters (SQLite allows 999): a 500.
    const many = await gql(`query ($e: [String!]) { materials(filter: { elementsAll: $e }) { edges { node { reducedFormula } } } }`, { e: Array(5000).fill("Li") });
    expect(many.status).toBe(200);
    expect(many.body.data.materials.edges.map((e: { node: { reducedFormula: string } }) => e.node.reducedFormula)).toEqual(["LiCoO2"]);
  });

  it("an ion or a model named on a field is checked like the same argument of a list", async () => {
    const q = (field: string) => `query ($m: ID!, $p: ID!) { material(id: $m) { id } pathway(id: $p) { id } m2: material(id: $m) { ${field} } }`;
    const ids = { m: materialId, p: pathwayId };
    await refused(q(`pathways(ion: "li") { id }`), ids, /ion: "li" is not an element symbol/);
    await refused(q(`ranking(ion: "Xx") { rankEm }`), ids, /ion: "Xx" is not an element symbol/);
    await refused(q(`ranking(ion: "Li", model: "nosuch@1") { rankEm }`), ids, /model: no model "nosuch@1" here \(known: em@9\.9\.9\)/);
    await refused(`query ($p: ID!) { pathway(id: $p) { prediction(model: "nosuch@1") { emPredicted } } }`, ids, /no model "nosuch@1" here/);
    // A known model that has not predicted this pathway is still a plain null.
    const known = await gql(`query ($p: ID!) { pathway(id: $p) { prediction(model: "em@9.9.9") { emPredicted } } }`, { p: pathwayId });
    expect(known.body).toEqual({ data: { pathway: { prediction: null } } });
    const li = await gql(`query ($m: ID!) { material(id: $m) { pathways(ion: "Li") { id } ranking(ion: "Li") { rankEm } } }`, { m: materialId });
    expect(li.body.errors).toBeUndefined();
    expect(li.body.data.material.pathways.length).toBeGreaterThan(0);
  });

  it("a job's errors and notices page: 0 … 1000, not silently clamped", async () => {
    const job = await gql(`mutation { importStructures(structures: [{ name: "x.cif", content: "data_x" }]) { id } }`);
    const id = job.body.data.importStructures.id;
    await refused(`query ($id: ID!) { importJob(id: $id) { errors(first: -1) { reason } } }`, { id }, /errors\.first: must be an integer 0 … 1000/);
    await refused(`query ($id: ID!) { importJob(id: $id) { notices(first: 1001) { name } } }`, { id }, /notices\.first: must be an integer 0 … 1000/);
    const ok = await gql(`query ($id: ID!) { importJob(id: $id) { errors(first: 1000) { name } } }`, { id });
    expect(ok.body.data.importJob.errors).toEqual([{ name: "x.cif" }]);
  });

  it("a NUL character in any string (literal, variable, nested in an input, a variable's default) is refused before anything is written", async () => {
    // PostgreSQL cannot store U+0000: there these were 500s, and an import failed half-way; SQLite stored them.
    const before = await counts();
    const content = readFileSync(join(FIXTURES, "NaCl.cif"), "utf8");
    await refused(`mutation ($s: [StructureInput!]!) { importStructures(structures: $s) { id } }`, { s: [{ name: "ok.cif", content }, { name: "bad\u0000.cif", content }] }, /^\$s\[1\]\.name: text must not contain NUL/);
    await refused(`mutation ($p: ID!) { labelPathway(id: $p, label: { emDft: 0.3, citation: "doi:10.1/x\\u0000", functional: "PBE" }) { id } }`, { p: pathwayId }, /^label\.citation: text must not contain NUL/);
    await refused(`query ($c: String = "a\\u0000") { materials(filter: { structureClass: $c }) { edges { cursor } } }`, {}, /^\$c: text must not contain NUL/);
    await refused(`{ material(id: "x\\u0000") { id } }`, {}, /^id: text must not contain NUL/);
    expect(await counts()).toEqual(before);
    const label = await gql(`query ($p: ID!) { pathway(id: $p) { emDft emDftSource } }`, { p: pathwayId });
    expect(label.body.data.pathway).toEqual({ emDft: null, emDftSource: null });
  });

  it("addPathway takes one way of naming a hop: both, or an image without sites, is refused rather than half ignored", async () => {
    const before = await counts();
    const add = `mutation ($i: AddPathwayInput!) { addPathway(input: $i) { id } }`;
    await refused(add, { i: { materialId, ion: "Li", fromSite: 0, toSite: 0, image: [1, 0, 0], initial: [0, 0, 0], final: [0.5, 0, 0] } }, /not both/);
    await refused(add, { i: { materialId, ion: "Li", initial: [0, 0, 0], final: [0.5, 0, 0], image: [1, 0, 0] } }, /image .* needs fromSite and toSite/);
    expect(await counts()).toEqual(before);
  });
});

describe("API keys", () => {
  const M = `mutation { setActiveModel(model: "em@9.9.9") { tag } }`;
  it("the Bearer scheme is case-insensitive (RFC 9110): a lower-case one is not an anonymous request", async () => {
    const r = await gql(M, {}, `bearer ${editor}`);
    expect(r.body).toEqual({ data: { setActiveModel: { tag: "em@9.9.9" } } });
  });

  it("only editor and admin keys write: a key with a role this version does not know may only read", async () => {
    const key = "irk_unknown-role-key";
    await api.db.prisma.apiKey.create({ data: { hash: createHash("sha256").update(key).digest("hex"), role: "viewer" } });
    const r = await gql(M, {}, `Bearer ${key}`);
    expect([r.status, r.body.errors?.[0]?.extensions.code]).toEqual([403, "FORBIDDEN"]);
    expect((await gql(`{ stats { materials } }`, {}, `Bearer ${key}`)).body.errors).toBeUndefined();
  });
});
