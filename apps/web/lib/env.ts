// The only place the dashboard reads environment variables (server side only).


export interface WebEnv {
  /** The GraphQL API the pages query (IONRANK_API_URL). */
  apiUrl: string;
  /** An editor key the import page's server route uses (IONRANK_WEB_API_KEY); imports are refused without one. */
  apiKey: string | null;
  /** How long a page waits for the API before saying it did not answer (IONRANK_API_TIMEOUT_MS, default 30 s). */
  apiTimeoutMs: number;
}

export function webEnv(): WebEnv {
  const apiUrl = process.env.IONRANK_API_URL ?? `http://127.0.0.1:${process.env.IONRANK_API_PORT ?? "4000"}/graphql`;
  if (!/^https?:\/\//.test(apiUrl)) throw new Error(`IONRANK_API_URL must be an http(s) URL, got "${apiUrl}"`);
  const timeout = process.env.IONRANK_API_TIMEOUT_MS ?? "30000";
  if (!/^\d+$/.test(timeout) || Number(timeout) < 1) throw new Error(`IONRANK_API_TIMEOUT_MS must be a whole number of milliseconds, got "${timeout}"`);
  return { apiUrl, apiKey: process.env.IONRANK_WEB_API_KEY || null, apiTimeoutMs: Number(timeout) };
}
