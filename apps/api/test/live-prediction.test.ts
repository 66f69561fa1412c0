import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { importStructureTexts, openDatabase } from "@ionrank/db";
import { readEnv } from "../src/env.js";
import { startApi, type StartedApi } from "../src/server.js";
import { deletedAfterRead } from "./helpers.js";

// A real server with the bundled model on a real SQLite file.
const FIXTURES = new URL("../../../packages/crystal/test/fixtures/", import.meta.url).pathname;
const MODEL = new URL("../../../models/em.card.json", import.meta.url).pathname;
let api: StartedApi;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Body = { data?: any; errors?: { message: string; extensions: { code: string } }[] };
async function gql(query: string, variables: Record<string, unknown> = {}) {
  const res = await fetch(api.url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ query, variables }) });
  return { status: res.status, body: (await res.json()) as Body };
}

beforeAll(async () => {
  const env = { IONRANK_DATA_DIR: mkdtempSync(join(tmpdir(), "ionrank-api-live-")), IONRANK_API_PORT: "0", IONRANK_MODEL: MODEL, IONRANK_INFERENCE_WORKERS: "1", NODE_ENV: "production" };
  api = await startApi(readEnv(env), { log: () => {} });
}, 120_000);
afterAll(async () => {
  await api?.stop();
});

describe("a live prediction", () => {
  it("of a pathway another client deletes while it is predicted is NOT_FOUND (404), not the caller's bad input", async () => {
    const db = await openDatabase({ url: `file:${api.db.file}` });
    try {
      await importStructureTexts(db, [{ name: "LiCoO2.POSCAR", content: readFileSync(join(FIXTURES, "LiCoO2.POSCAR"), "utf8") }], { ion: "Li" });
      const material = await db.prisma.material.findFirstOrThrow({ include: { pathways: true } });
      const pathwayId = material.pathways[0]!.id;
      // The other client deletes the material right after the live prediction has listed the pathway.
      const { result: r, deleted } = await deletedAfterRead(api, db, "findMany", { pathwayId, materialId: material.id }, () =>
        gql(`query ($id: ID!) { pathway(id: $id) { id prediction(live: true) { emPredicted } } }`, { id: pathwayId }),
      );
      expect(deleted).toBe(true);
      expect([r.status, r.body.errors?.[0]?.extensions.code, r.body.errors?.[0]?.message]).toEqual([404, "NOT_FOUND", `Pathway ${pathwayId} not found`]);
      // Unraced, the same query predicts a stored pathway live.
      await importStructureTexts(db, [{ name: "LiCoO2.POSCAR", content: readFileSync(join(FIXTURES, "LiCoO2.POSCAR"), "utf8") }], { ion: "Li" });
      const again = (await db.prisma.pathway.findFirstOrThrow()).id;
      const ok = await gql(`query ($id: ID!) { pathway(id: $id) { prediction(live: true) { emPredicted model } } }`, { id: again });
      expect(ok.body.errors).toBeUndefined();
      expect(ok.body.data.pathway.prediction.emPredicted).toBeGreaterThan(0);
    } finally {
      await db.close();
    }
  });
});
