import { ApiError } from "@/lib/api";
import { fetchRanking, parseRanking, rankingProblems, type RankingPage } from "@/lib/ranking";

export const dynamic = "force-dynamic";

/** Rows per API request (well within the API's page and cost limits). */
const PAGE = 200;
const HEADER = "rank,id,name,formula,space_group,class,ion,em_ev,em_std_ev,p_good,percolation_em_ev,percolation_dim,lowest_hop_em_ev,has_dft,model";

const cell = (v: unknown) => {
  let s = v === null || v === undefined ? "" : String(v);
  // A name is what the importer called the file: one starting "=" (or + - @) is a formula to a spreadsheet.
  if (typeof v === "string" && /^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};

/**
 * The ranking view of the URL's filters as CSV: every row of the view, not only the page shown. The rows
 * stream page by page (no cap: a cut-off export would drop rows silently); the first page is fetched before
 * the response starts, so a bad filter is still a 400. Should the API fail mid-way, the stream is aborted and
 * the download fails visibly instead of ending early as if complete.
 */
export async function GET(req: Request): Promise<Response> {
  // Every value of a repeated parameter, as the page gets them: fromEntries kept the last (?ion=Li&ion=Na showed
  // Li on the page and exported Na), parseRanking takes the first.
  const params: Record<string, string[]> = {};
  for (const [k, v] of new URL(req.url).searchParams) (params[k] ??= []).push(v);
  const q = parseRanking(params);
  // Invalid parameters would otherwise export a different view (first=abc, sort=bogus) as if it were this one.
  const problems = rankingProblems(q);
  if (problems.length) return new Response(`could not export the ranking: ${problems.join("; ")}\n`, { status: 400, headers: { "content-type": "text/plain; charset=utf-8" } });
  let first: RankingPage;
  try {
    first = await fetchRanking(q, { first: PAGE, after: null });
  } catch (e) {
    // A bad filter is the client's (400, with the API's reason); anything else is the API being unreachable.
    const bad = e instanceof ApiError && e.code === "BAD_USER_INPUT";
    return new Response(`could not export the ranking: ${e instanceof Error ? e.message : String(e)}\n`, { status: bad ? 400 : 502, headers: { "content-type": "text/plain; charset=utf-8" } });
  }
  const encoder = new TextEncoder();
  let page: RankingPage | null = first;
  let header = true;
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (header) {
        header = false;
        controller.enqueue(encoder.encode(HEADER + "\n"));
      }
      if (!page) {
        controller.close();
        return;
      }
      const p: RankingPage = page;
      const lines = p.edges.map((e) => {
        const r = e.ranking;
        return [e.position, e.node.id, e.node.name, e.node.reducedFormula, e.node.spaceGroup, e.node.structureClass, q.ion, r?.rankEm, r?.emStd, r?.pGood, r?.percolationEm, r?.percolationDim, r?.lowestEm, r?.hasDft, p.model].map(cell).join(",") + "\n";
      });
      if (lines.length) controller.enqueue(encoder.encode(lines.join("")));
      // An end cursor that does not move would loop for ever: treat it as the end of the view's rows.
      page = p.pageInfo.hasNextPage && p.pageInfo.endCursor ? await fetchRanking(q, { first: PAGE, after: p.pageInfo.endCursor }) : null;
    },
  });
  return new Response(body, {
    headers: { "content-type": "text/csv; charset=utf-8", "content-disposition": `attachment; filename="ionrank-${q.ion}-ranking.csv"` },
  });
}
