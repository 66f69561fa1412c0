import { ApiError, gql } from "@/lib/api";
import { webEnv } from "@/lib/env";

export const dynamic = "force-dynamic";

const MUTATION = `mutation ($s: [StructureInput!]!, $ion: String, $p: Boolean) {
  importStructures(structures: $s, ion: $ion, predict: $p) { id status processed imported duplicates failed errors { name index reason } notices { name index kind message } } }`;

/** The import page's files, forwarded to the API with the dashboard's editor key (which the browser never sees). */
export async function POST(req: Request): Promise<Response> {
  if (!webEnv().apiKey) return Response.json({ error: "this dashboard has no API key for imports (set IONRANK_WEB_API_KEY)" }, { status: 503 });
  let body: { structures?: { name: string; content: string }[]; ion?: string | null } | null;
  try {
    body = (await req.json()) as typeof body;
  } catch {
    return Response.json({ error: "request body is not JSON" }, { status: 400 });
  }
  // JSON null (or a bare number) is valid JSON but no request of ours: a 400, not a TypeError's 500.
  if (typeof body !== "object" || body === null) return Response.json({ error: "request body must be a JSON object { structures, ion }" }, { status: 400 });
  if (!Array.isArray(body.structures) || body.structures.length === 0) return Response.json({ error: "no files" }, { status: 400 });
  const bad = body.structures.findIndex((s) => typeof s?.name !== "string" || typeof s?.content !== "string");
  if (bad >= 0) return Response.json({ error: `file ${bad + 1}: needs a name and its content as text` }, { status: 400 });
  const s = body.structures.map(({ name, content }) => ({ name, content }));
  const ion = body.ion || null;
  type Job = { notices: { name: string; index: number; kind: string; message: string }[] };
  // Predicting a group of large cells can take minutes, and giving up would not stop the API storing them.
  const opts = { key: true, timeoutMs: null };
  try {
    try {
      // With an ion, the hops are predicted as they are stored.
      return Response.json((await gql<{ importStructures: Job }>(MUTATION, { s, ion, p: !!ion }, opts)).importStructures);
    } catch (e) {
      if (!(ion && e instanceof ApiError && e.code === "MODEL_UNAVAILABLE")) throw e;
      // The API has no model loaded: store the structures and their hops anyway, and say on each file why
      // nothing was predicted (the whole import used to fail).
      const job = (await gql<{ importStructures: Job }>(MUTATION, { s, ion, p: false }, opts)).importStructures;
      const why = `not predicted: ${e.message}`;
      return Response.json({ ...job, notices: [...job.notices, ...s.map((x, index) => ({ name: x.name, index, kind: "UNPREDICTED", message: why }))] });
    }
  } catch (e) {
    // What the API refuses as bad input is the client's (400, with the reason); anything else is the API's (502).
    const status = e instanceof ApiError && e.code === "BAD_USER_INPUT" ? 400 : 502;
    return Response.json({ error: e instanceof ApiError ? e.message : String(e) }, { status });
  }
}
