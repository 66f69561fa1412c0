import { describe, expect, it } from "vitest";
import { readEnv } from "../src/env.js";
import { apiError, ErrorCode } from "../src/errors.js";

describe("API environment and errors", () => {
  it("validates its environment once, with defaults", () => {
    const e = readEnv({});
    expect(e).toMatchObject({ host: "127.0.0.1", port: 4000, production: false });
    expect(e.dataDir).toMatch(/data$/);
    expect(readEnv({ IONRANK_API_PORT: "0", DATABASE_URL: "file:/tmp/x.db" }).port).toBe(0);
    expect(() => readEnv({ IONRANK_API_PORT: "http" })).toThrowError(/IONRANK_API_PORT must be a TCP port/);
    expect(() => readEnv({ DATABASE_URL: "mysql://x" })).toThrowError(/DATABASE_URL must start with file: or postgresql:\/\//);
  });
  it("gives every error a code and an HTTP status", () => {
    const err = apiError(ErrorCode.Unauthenticated, "no key");
    expect(err.extensions).toEqual({ code: "UNAUTHENTICATED", http: { status: 401 } });
  });
});
