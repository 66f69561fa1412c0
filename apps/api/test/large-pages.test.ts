import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApiKey, registerModel } from "@ionrank/db";
import { readEnv } from "../src/env.js";
import { startApi, type StartedApi } from "../src/server.js";

// A real server on a real SQLite file, filled with a full page of ranked materials with several hops each.
const MATERIALS = 400;
const HOPS = 3;
let api: StartedApi;
let key = "";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Body = { data?: any; errors?: { message: string; extensions: { code: string } }[] };

async function gql(query: string) {
  const res = await fetch(api.url, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${key}` }, body: JSON.stringify({ query }) });
  return { status: res.status, body: (await res.json()) as Body };
}

beforeAll(async () => {
  api = await startApi(readEnv({ IONRANK_DATA_DIR: mkdtempSync(join(tmpdir(), "ionrank-api-pages-")), IONRANK_API_PORT: "0", IONRANK_MODEL: "none", NODE_ENV: "production" }), { log: () => {} });
  key = await createApiKey(api.db, "reader");
  await registerModel(api.db, { name: "em", version: "1.0.0" }, { active: true });
  const structure = JSON.stringify({ lattice: [[0, 2.57, 2.57], [2.57, 0, 2.57], [2.57, 2.57, 0]], sites: [{ species: "Li", frac: [0, 0, 0] }, { species: "Cl", frac: [0.5, 0.5, 0.5] }] });
  const m = Array.from({ length: MATERIALS }, (_, i) => `m${String(i).padStart(3, "0")}`);
  const p = m.flatMap((id) => Array.from({ length: HOPS }, (_, j) => ({ id: `${id}-p${j}`, materialId: id, hopLength: 2 + j })));
  const prisma = api.db.prisma;
  await prisma.material.createMany({ data: m.map((id) => ({ id, name: id, formula: "Li1 Cl1", reducedFormula: "LiCl", elements: "Cl,Li", contentHash: `h-${id}`, structureKey: `k-${id}`, structure })) });
  await prisma.pathway.createMany({ data: p.map((x) => ({ ...x, ion: "Li", initial: "[0,0,0]", final: "[0.5,0,0]", contentHash: `h-${x.id}` })) });
  await prisma.prediction.createMany({ data: p.map((x) => ({ pathwayId: x.id, model: "em@1.0.0", emPredicted: 0.3, emStd: 0.05, pGood: 0.8 })) });
  await prisma.materialRanking.createMany({ data: m.map((id, i) => ({ materialId: id, ion: "Li", model: "em@1.0.0", hops: HOPS, lowestEm: 0.3, percolationDim: 0, rankEm: 0.3 + i / 1000, emStd: 0.05, pGood: 0.8, hasDft: false })) });
});
afterAll(async () => {
  await api?.stop();
});

describe("a full page whose children are more than SQLite takes in one query (999 parameters)", () => {
  it("ranking(first: 400) with every hop's prediction answers (1,200 pathways batched in slices), not a 500", async () => {
    const r = await gql(`{ ranking(ion: "Li", first: ${MATERIALS}) { edges { node { id pathways { id prediction { emPredicted } } } } } }`);
    expect(r.body.errors).toBeUndefined();
    expect(r.status).toBe(200);
    type Hop = { id: string; prediction: { emPredicted: number } | null };
    const pathways = r.body.data.ranking.edges.flatMap((e: { node: { pathways: Hop[] } }) => e.node.pathways) as Hop[];
    expect(new Set(pathways.map((x) => x.id)).size).toBe(MATERIALS * HOPS);
    expect(pathways.every((x) => x.prediction?.emPredicted === 0.3)).toBe(true);
  });
});
