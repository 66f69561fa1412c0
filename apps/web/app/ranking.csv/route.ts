import { ApiError } from "@/lib/api";
import { fetchRanking, parseRanking } from "@/lib/ranking";

export const dynamic = "force-dynamic";

const cell = (v: unknown) => {
  const s = v === null || v === undefined ? "" : String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};

/** The ranking view of the URL's filters as CSV: every page (up to 10,000 rows), not only the one shown. */
export async function GET(req: Request): Promise<Response> {
  try {
    return await csv(req);
  } catch (e) {
    // A bad filter is the client's (400, with the API's reason); anything else is the API being unreachable.
    const bad = e instanceof ApiError && e.code === "BAD_USER_INPUT";
    return new Response(`could not export the ranking: ${e instanceof Error ? e.message : String(e)}\n`, { status: bad ? 400 : 502, headers: { "content-type": "text/plain; charset=utf-8" } });
  }
}

async function csv(req: Request): Promise<Response> {
  const q = parseRanking(Object.fromEntries(new URL(req.url).searchParams));
  const rows: string[] = ["rank,id,formula,space_group,class,ion,em_ev,em_std_ev,p_good,percolation_em_ev,percolation_dim,lowest_hop_em_ev,has_dft,model"];
  let after: string | null = null;
  let rank = 0;
  for (let page = 0; page < 50; page++) {
    const p = await fetchRanking(q, { first: 200, after });
    for (const e of p.edges) {
      const r = e.ranking;
      rows.push([++rank, e.node.id, e.node.reducedFormula, e.node.spaceGroup, e.node.structureClass, q.ion, r?.rankEm, r?.emStd, r?.pGood, r?.percolationEm, r?.percolationDim, r?.lowestEm, r?.hasDft, p.model].map(cell).join(","));
    }
    if (!p.pageInfo.hasNextPage) break;
    after = p.pageInfo.endCursor;
  }
  return new Response(rows.join("\n") + "\n", {
    headers: { "content-type": "text/csv; charset=utf-8", "content-disposition": `attachment; filename="ionrank-${q.ion}-ranking.csv"` },
  });
}
