// The only place the API reads environment variables: each is validated once, at start-up.
import { resolve } from "node:path";

export interface ApiEnv {
  host: string;
  port: number;
  dataDir: string;
  databaseUrl: string | undefined;
  production: boolean;
}

export class EnvError extends Error {
  override name = "EnvError";
}

export function readEnv(env: NodeJS.ProcessEnv = process.env): ApiEnv {
  const port = Number(env.IONRANK_API_PORT ?? env.PORT ?? 4000);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new EnvError(`IONRANK_API_PORT must be a TCP port, got "${env.IONRANK_API_PORT ?? env.PORT}"`);
  const url = env.DATABASE_URL;
  if (url !== undefined && !/^(file:|postgres(ql)?:\/\/)/.test(url)) throw new EnvError(`DATABASE_URL must start with file: or postgresql://, got "${url}"`);
  return {
    host: env.IONRANK_API_HOST ?? "127.0.0.1",
    port,
    dataDir: resolve(env.IONRANK_DATA_DIR ?? "data"),
    databaseUrl: url,
    production: env.NODE_ENV === "production",
  };
}
