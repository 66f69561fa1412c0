// The only place the API reads environment variables: each is validated once, at start-up.
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";

export interface ApiEnv {
  host: string;
  port: number;
  dataDir: string;
  databaseUrl: string | undefined;
  production: boolean;
  /** Model card of the inference service (IONRANK_MODEL; default the bundled models/em.card.json). */
  modelCard: string | null;
  /** Reads need an API key too (IONRANK_READ_REQUIRES_KEY=1); by default reads are open. */
  readRequiresKey: boolean;
  /** Largest request body, bytes (IONRANK_MAX_BODY_BYTES, default 32 MiB: inline structure imports). */
  maxBodyBytes: number;
  /** Origins allowed to call the API from a browser (IONRANK_CORS_ORIGINS, comma-separated). */
  corsOrigins: string[];
  /** Inference worker threads (IONRANK_INFERENCE_WORKERS, default: the CPU count). */
  inferenceWorkers: number | undefined;
}

export class EnvError extends Error {
  override name = "EnvError";
}

const BUNDLED_MODEL = fileURLToPath(new URL("../../../models/em.card.json", import.meta.url));

function intVar(env: NodeJS.ProcessEnv, name: string, min: number, max: number): number | undefined {
  const v = env[name];
  if (v === undefined || v === "") return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new EnvError(`${name} must be an integer ${min} … ${max}, got "${v}"`);
  return n;
}

export function readEnv(env: NodeJS.ProcessEnv = process.env): ApiEnv {
  const port = Number(env.IONRANK_API_PORT ?? env.PORT ?? 4000);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new EnvError(`IONRANK_API_PORT must be a TCP port, got "${env.IONRANK_API_PORT ?? env.PORT}"`);
  const url = env.DATABASE_URL || undefined; // empty = unset
  if (url !== undefined && !/^(file:|postgres(ql)?:\/\/)/.test(url)) throw new EnvError(`DATABASE_URL must start with file: or postgresql://, got "${url}"`);
  const model = env.IONRANK_MODEL;
  if (model !== undefined && model !== "none" && !existsSync(model)) throw new EnvError(`IONRANK_MODEL: no model card at ${model}`);
  const bool = (name: string) => {
    const v = env[name];
    if (v === undefined || v === "" || v === "0" || v === "false") return false;
    if (v === "1" || v === "true") return true;
    throw new EnvError(`${name} must be 0/1 or true/false, got "${v}"`);
  };
  return {
    host: env.IONRANK_API_HOST ?? "127.0.0.1",
    port,
    dataDir: resolve(env.IONRANK_DATA_DIR ?? "data"),
    databaseUrl: url,
    production: env.NODE_ENV === "production",
    modelCard: model === "none" ? null : model ? resolve(model) : existsSync(BUNDLED_MODEL) ? BUNDLED_MODEL : null,
    readRequiresKey: bool("IONRANK_READ_REQUIRES_KEY"),
    maxBodyBytes: intVar(env, "IONRANK_MAX_BODY_BYTES", 1024, 1 << 30) ?? 32 * 1024 * 1024,
    corsOrigins: (env.IONRANK_CORS_ORIGINS ?? "http://localhost:3000,http://127.0.0.1:3000").split(",").map((s) => s.trim()).filter(Boolean),
    inferenceWorkers: intVar(env, "IONRANK_INFERENCE_WORKERS", 1, 256),
  };
}
