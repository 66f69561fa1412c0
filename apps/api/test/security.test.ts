import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApiKey } from "@ionrank/db";
import { readEnv } from "../src/env.js";
import { ErrorCode } from "../src/errors.js";
import { startApi, type StartedApi } from "../src/server.js";

// A real server on a real SQLite file, configured so that reads need a key too.
let api: StartedApi;
let reader = "";
beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), "ionrank-api-sec-"));
  api = await startApi(
    readEnv({ IONRANK_DATA_DIR: dir, IONRANK_API_PORT: "0", IONRANK_MODEL: "none", IONRANK_READ_REQUIRES_KEY: "1", IONRANK_MAX_BODY_BYTES: "65536", NODE_ENV: "production" }),
    { log: () => {} },
  );
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

  it("bad arguments are typed client errors with their status — never an internal error or an empty answer", async () => {
    const cursor = (c: object) => Buffer.from(JSON.stringify(c)).toString("base64url");
    const editor = await createApiKey(api.db, "editor");
    const cases: [string, number, string, RegExp][] = [
      ["{ nope }", 400, "GRAPHQL_VALIDATION_FAILED", /Cannot query field "nope"/],
      ['{ ranking(ion: "li") { edges { cursor } } }', 400, "BAD_USER_INPUT", /"li" is not an element symbol/],
      ['{ ranking(ion: "Li", model: "nonexistent@9") { edges { cursor } } }', 400, "BAD_USER_INPUT", /no model "nonexistent@9" here/],
      ['{ stats(ion: "Zz") { materials } }', 400, "BAD_USER_INPUT", /"Zz" is not an element symbol/],
      [`{ materials(after: "${cursor({ l: "pathways", s: "DATE", k: null, id: "x" })}") { edges { cursor } } }`, 400, "BAD_USER_INPUT", /belongs to the pathways list/],
      [`{ materials(after: "${cursor({ l: "materials", s: "DATE", k: "abc", id: "x" })}") { edges { cursor } } }`, 400, "BAD_USER_INPUT", /sort key is malformed/],
      [`{ pathways(after: "${cursor({ l: "materials", s: "DATE", k: "2026-01-01T00:00:00.000Z", id: "x" })}") { edges { cursor } } }`, 400, "BAD_USER_INPUT", /belongs to the materials list/],
      ['mutation { addPathway(input: { materialId: "m", ion: "Xx", initial: [0, 0, 0], final: [0.5, 0, 0] }) { id } }', 400, "BAD_USER_INPUT", /"Xx" is not an element symbol/],
      // A variable's default counts towards the query's cost like a literal.
      ["query ($f: Int = 500) { pathways(first: $f) { edges { node { id predictions { model } material { id pathways { id predictions { model } } } } } } }", 400, "QUERY_TOO_COMPLEX", /would cost about/],
    ];
    for (const [query, status, code, message] of cases) {
      const res = await post(JSON.stringify({ query }), { authorization: `Bearer ${query.startsWith("mutation") ? editor : reader}` });
      const body = (await res.json()) as { errors: { extensions: { code: string }; message: string }[] };
      expect([res.status, body.errors[0]!.extensions.code], query).toEqual([status, code]);
      expect(body.errors[0]!.message, query).toMatch(message);
      expect(Object.values(ErrorCode) as string[]).toContain(body.errors[0]!.extensions.code);
    }
  });

  it("an over-limit body sent in chunks is answered 413, not cut off", async () => {
    const big = JSON.stringify({ query: "{ stats { materials } }", variables: { pad: "x".repeat(200_000) } });
    const chunks = new ReadableStream({
      start(c) {
        for (let i = 0; i < big.length; i += 16_384) c.enqueue(new TextEncoder().encode(big.slice(i, i + 16_384)));
        c.close();
      },
    });
    const res = await fetch(api.url, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${reader}` }, body: chunks, duplex: "half" } as RequestInit);
    expect(res.status).toBe(413);
    expect(((await res.json()) as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code).toBe("PAYLOAD_TOO_LARGE");
  });

  it("without a model, predictions say why (MODEL_UNAVAILABLE) instead of failing later", async () => {
    const editor = await createApiKey(api.db, "editor");
    const res = await post(JSON.stringify({ query: "mutation { predict(all: true) { id } }" }), { authorization: `Bearer ${editor}` });
    const body = (await res.json()) as { errors: { extensions: { code: string }; message: string }[] };
    expect(res.status).toBe(503);
    expect(body.errors[0]!.extensions.code).toBe("MODEL_UNAVAILABLE");
  });
});
