import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApiKey } from "@ionrank/db";
import { readEnv } from "../src/env.js";
import { startApi, type StartedApi } from "../src/server.js";

// A real server on a real SQLite file, configured so that reads need a key too.
let api: StartedApi;
let reader = "";
beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), "ionrank-api-sec-"));
  api = await startApi(readEnv({ IONRANK_DATA_DIR: dir, IONRANK_API_PORT: "0", IONRANK_MODEL: "none", IONRANK_READ_REQUIRES_KEY: "1", NODE_ENV: "production" }), { log: () => {} });
  reader = await createApiKey(api.db, "reader");
});
afterAll(async () => {
  await api?.stop();
});

const post = (body: string, headers: Record<string, string> = {}) => fetch(api.url, { method: "POST", headers: { "content-type": "application/json", ...headers }, body });

describe("API access control and request hygiene", () => {
  it("with IONRANK_READ_REQUIRES_KEY, reads need a key; a reader key may read", async () => {
    const anon = await post(JSON.stringify({ query: "{ stats { materials } }" }));
    expect(anon.status).toBe(401);
    expect(((await anon.json()) as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code).toBe("UNAUTHENTICATED");
    const ok = await post(JSON.stringify({ query: "{ stats { materials } }" }), { authorization: `Bearer ${reader}` });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ data: { stats: { materials: 0 } } });
  });

  it("CSRF prevention: a simple (non-preflighted) request cannot run an operation", async () => {
    const res = await fetch(`${api.url}?query=${encodeURIComponent("{ stats { materials } }")}`, { headers: { authorization: `Bearer ${reader}` } });
    expect(res.status).toBe(400);
    expect(await res.text()).toMatch(/CSRF/i);
  });

  it("bad JSON, unknown paths and the health check", async () => {
    const bad = await post("{not json", { authorization: `Bearer ${reader}` });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code).toBe("BAD_USER_INPUT");
    expect((await fetch(api.url.replace("/graphql", "/nope"))).status).toBe(404);
    expect(await (await fetch(api.url.replace("/graphql", "/health"))).json()).toEqual({ ok: true, model: null });
  });

  it("without a model, predictions say why (MODEL_UNAVAILABLE) instead of failing later", async () => {
    const editor = await createApiKey(api.db, "editor");
    const res = await post(JSON.stringify({ query: "mutation { predict(all: true) { id } }" }), { authorization: `Bearer ${editor}` });
    const body = (await res.json()) as { errors: { extensions: { code: string }; message: string }[] };
    expect(res.status).toBe(503);
    expect(body.errors[0]!.extensions.code).toBe("MODEL_UNAVAILABLE");
  });
});
