import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApiKey, openDatabase } from "@ionrank/db";
import { readEnv } from "../src/env.js";
import { startApi, type StartedApi } from "../src/server.js";
import { deletedAfterRead } from "./helpers.js";

// A real server on a real SQLite file; no model is needed to write and read back.
const FIXTURES = new URL("../../../packages/crystal/test/fixtures/", import.meta.url).pathname;
let api: StartedApi;
let editor = "";
let materialId = "";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Body = { data?: any; errors?: { message: string; extensions: { code: string } }[] };

async function gql(query: string, variables: Record<string, unknown> = {}) {
  const res = await fetch(api.url, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${editor}` }, body: JSON.stringify({ query, variables }) });
  return { status: res.status, body: (await res.json()) as Body };
}

beforeAll(async () => {
  api = await startApi(readEnv({ IONRANK_DATA_DIR: mkdtempSync(join(tmpdir(), "ionrank-api-mutations-")), IONRANK_API_PORT: "0", IONRANK_MODEL: "none", NODE_ENV: "production" }), { log: () => {} });
  editor = await createApiKey(api.db, "editor");
  const content = readFileSync(join(FIXTURES, "LiCoO2.POSCAR"), "utf8");
  const r = await gql(`mutation ($s: [StructureInput!]!) { importStructures(structures: $s, ion: "Li") { imported } }`, { s: [{ name: "LiCoO2.POSCAR", content }] });
  expect(r.body.data.importStructures.imported).toBe(1);
  materialId = (await gql(`{ materials { edges { node { id } } } }`)).body.data.materials.edges[0].node.id;
});
afterAll(async () => {
  await api?.stop();
});

describe("one request with several mutation fields (run in order) reads what the earlier ones wrote", () => {
  it("a label, then another: the second field's material shows the second label, not the first field's cached pathways", async () => {
    const { id } = (await gql(`query ($id: ID!) { material(id: $id) { pathways { id } } }`, { id: materialId })).body.data.material.pathways[0];
    const label = (alias: string, emDft: number) =>
      `${alias}: labelPathway(id: $id, label: { emDft: ${emDft}, citation: "10.1000/x", functional: "PBE" }) { emDft material { pathways { id emDft } } }`;
    const r = await gql(`mutation ($id: ID!) { ${label("a", 0.4)} ${label("b", 0.5)} }`, { id });
    expect(r.body.errors).toBeUndefined();
    const labelOf = (field: { material: { pathways: { id: string; emDft: number | null }[] } }) => field.material.pathways.find((p) => p.id === id)?.emDft;
    expect([r.body.data.a.emDft, labelOf(r.body.data.a)]).toEqual([0.4, 0.4]);
    expect([r.body.data.b.emDft, labelOf(r.body.data.b)]).toEqual([0.5, 0.5]);
  });

  it("a pathway added after an earlier field listed the material's pathways is in the later field's list", async () => {
    const stored = (await gql(`query ($id: ID!) { material(id: $id) { pathways { id } } }`, { id: materialId })).body.data.material.pathways as { id: string }[];
    const r = await gql(
      `mutation ($m: ID!, $p: ID!) {
        a: labelPathway(id: $p, label: { emDft: 0.3, citation: "10.1000/x", functional: "PBE" }) { material { pathways { id } } }
        b: addPathway(input: { materialId: $m, ion: "Li", initial: [0, 0, 0], final: [0.31, 0.27, 0.05] }) { id material { pathways { id } } }
      }`,
      { m: materialId, p: stored[0]!.id },
    );
    const before = stored.length;
    expect(r.body.errors).toBeUndefined();
    expect(r.body.data.a.material.pathways).toHaveLength(before);
    expect(r.body.data.b.material.pathways.map((p: { id: string }) => p.id)).toContain(r.body.data.b.id);
    expect(r.body.data.b.material.pathways).toHaveLength(before + 1);
  });
});

describe("writes racing a delete by another client", () => {
  it("labelling a pathway whose material another client deletes meanwhile is NOT_FOUND (404), not a 500", async () => {
    const lines = readFileSync(join(FIXTURES, "LiCoO2.POSCAR"), "utf8").split("\n");
    lines[1] = "1.05"; // stretched: a material of its own
    const imported = await gql(`mutation ($s: [StructureInput!]!) { importStructures(structures: $s, ion: "Li") { imported } }`, { s: [{ name: "LiCoO2-1.05.POSCAR", content: lines.join("\n") }] });
    expect(imported.body.data.importStructures.imported).toBe(1);
    const m = (await gql(`{ materials(sort: DATE, first: 1) { edges { node { id pathways { id } } } } }`)).body.data.materials.edges[0].node;
    const pathwayId = m.pathways[0].id as string;
    // Another API process (its own connection to the file) deletes the material right after the label's
    // transaction has read the pathway.
    const other = await openDatabase({ url: `file:${api.db.file}` });
    try {
      const { result: r, deleted } = await deletedAfterRead(api, other, "findUnique", { pathwayId, materialId: m.id }, () =>
        gql(`mutation ($id: ID!) { labelPathway(id: $id, label: { emDft: 0.3, citation: "10.1000/x", functional: "PBE" }) { id emDft } }`, { id: pathwayId }),
      );
      expect(deleted).toBe(true);
      expect([r.status, r.body.errors?.[0]?.extensions.code, r.body.errors?.[0]?.message]).toEqual([404, "NOT_FOUND", `Pathway ${pathwayId} not found`]);
    } finally {
      await other.close();
    }
    expect(await api.db.prisma.pathway.count({ where: { materialId: m.id } })).toBe(0);
  });
});
