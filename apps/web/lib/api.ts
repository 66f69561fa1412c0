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

export async function gql<T>(query: string, variables: Record<string, unknown> = {}, options: { key?: boolean } = {}): Promise<T> {
  const env = webEnv();
  let res: Response;
  try {
    res = await fetch(env.apiUrl, {
      method: "POST",
      headers: { "content-type": "application/json", ...(options.key && env.apiKey ? { authorization: `Bearer ${env.apiKey}` } : {}) },
      body: JSON.stringify({ query, variables }),
      cache: "no-store",
    });
  } catch (e) {
    throw new ApiError(`the IonRank API at ${env.apiUrl} is not reachable (${(e as Error).message})`, "UNREACHABLE");
  }
  const body = (await res.json().catch(() => ({}))) as { data?: T; errors?: { message: string; extensions?: { code?: string } }[] };
  if (body.errors?.length) throw new ApiError(body.errors[0]!.message, body.errors[0]!.extensions?.code ?? "ERROR");
  if (!body.data) throw new ApiError(`the API answered HTTP ${res.status} without data`, "ERROR");
  return body.data;
}

/** Numbers as the dashboard shows them (eV to 2 decimals). */
export const ev = (x: number | null | undefined, digits = 2) => (x == null ? "—" : x.toFixed(digits));
