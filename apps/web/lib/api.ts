// GraphQL over HTTP to the IonRank API, from the dashboard's server.
import { webEnv } from "@/lib/env";

export class ApiError extends Error {
  override name = "ApiError";
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}

/**
 * One GraphQL request. A hung API (up but not answering) left every page loading for ever, and the material page
 * blank: each request gives up after IONRANK_API_TIMEOUT_MS, or `timeoutMs` (null: wait as long as it takes).
 */
export async function gql<T>(query: string, variables: Record<string, unknown> = {}, options: { key?: boolean; timeoutMs?: number | null } = {}): Promise<T> {
  const env = webEnv();
  const limit = options.timeoutMs === undefined ? env.apiTimeoutMs : options.timeoutMs;
  const signal = limit === null ? undefined : AbortSignal.timeout(limit);
  const late = () => new ApiError(`the IonRank API at ${env.apiUrl} did not answer within ${limit! / 1000} s`, "TIMEOUT");
  let res: Response;
  try {
    res = await fetch(env.apiUrl, {
      method: "POST",
      headers: { "content-type": "application/json", ...(options.key && env.apiKey ? { authorization: `Bearer ${env.apiKey}` } : {}) },
      body: JSON.stringify({ query, variables }),
      cache: "no-store",
      signal,
    });
  } catch (e) {
    if (signal?.aborted) throw late();
    throw new ApiError(`the IonRank API at ${env.apiUrl} is not reachable (${(e as Error).message})`, "UNREACHABLE");
  }
  // The headers can come in time and the body not: the same limit holds for reading it.
  const body = (await res.json().catch(() => {
    if (signal?.aborted) throw late();
    return {};
  })) as { data?: T; errors?: { message: string; extensions?: { code?: string } }[] };
  if (body.errors?.length) throw new ApiError(body.errors[0]!.message, body.errors[0]!.extensions?.code ?? "ERROR");
  if (!body.data) throw new ApiError(`the API answered HTTP ${res.status} without data`, "ERROR");
  return body.data;
}

/** Numbers as the dashboard shows them (eV to 2 decimals). */
export const ev = (x: number | null | undefined, digits = 2) => (x == null ? "—" : x.toFixed(digits));
