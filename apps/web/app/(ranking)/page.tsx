import type { Metadata } from "next";
import Link from "next/link";
import { ApiError, ev, gql } from "@/lib/api";
import { distinctName, fetchRanking, IONS, nextPage, parseRanking, previousPage, rankingProblems, rankingSearch, SORTS, type RankingPage } from "@/lib/ranking";
import { EmRange } from "@/components/EmRange";

export const dynamic = "force-dynamic";

type SearchParams = Promise<Record<string, string | string[] | undefined>>;

export async function generateMetadata(props: { searchParams: SearchParams }): Promise<Metadata> {
  const q = parseRanking(await props.searchParams);
  const by = { EM: "by predicted migration barrier", PGOOD: "by probability of a good conductor", FORMULA: "by formula", DATE: "newest first" }[q.sort];
  return { title: `${q.ion} conductors ranked ${by}` };
}

/** A select's options, plus the URL's value when it is not one of them: the form shows the view it filters by. */
const withValue = (options: readonly string[], value: string | null) => (value && !options.includes(value) ? [...options, value] : [...options]);

export default async function RankingPage(props: { searchParams: SearchParams }) {
  const q = parseRanking(await props.searchParams);
  let page: RankingPage | null = null;
  let error: string | null = null;
  let models: { tag: string; active: boolean }[] = [];
  let classes: string[] = [];
  const problems = rankingProblems(q);
  // A view the API refuses (or that cannot match) still gets its form, with the models and classes.
  const [ranking, meta] = await Promise.allSettled([
    problems.length ? null : fetchRanking(q),
    gql<{ models: { tag: string; active: boolean }[]; stats: { byClass: { structureClass: string | null }[] } }>(`{ models { tag active } stats { byClass { structureClass } } }`),
  ]);
  const reason = (e: unknown) => (e instanceof ApiError ? e.message : String(e));
  if (ranking.status === "fulfilled") page = ranking.value;
  else error = reason(ranking.reason);
  if (meta.status === "fulfilled") {
    models = meta.value.models;
    classes = meta.value.stats.byClass.map((c) => c.structureClass).filter((c): c is string => !!c);
  } else if (!page) error ??= reason(meta.reason); // the rows, when they came, matter more than the form's options
  return (
    <>
      <h1>Candidates ranked by predicted migration barrier</h1>
      <form className="filters" method="get" action="/" aria-label="Filters">
        <label>
          Mobile ion
          <select name="ion" defaultValue={q.ion}>
            {withValue(IONS, q.ion).map((i) => (
              <option key={i}>{i}</option>
            ))}
          </select>
        </label>
        <EmRange min={q.emMin} max={q.emMax} />
        <label className="row">
          <input type="checkbox" name="goodOnly" value="1" defaultChecked={q.goodOnly} /> Good conductors only (Em &lt; 0.65 eV)
        </label>
        <label>
          Structure class
          <select name="class" defaultValue={q.structureClass ?? ""}>
            <option value="">any</option>
            {withValue(classes, q.structureClass).map((c) => (
              <option key={c}>{c}</option>
            ))}
          </select>
        </label>
        <label>
          Contains all of (elements)
          <input type="text" name="with" defaultValue={q.elementsAll.join(", ")} placeholder="e.g. Fe, P" />
        </label>
        <label>
          Contains none of
          <input type="text" name="without" defaultValue={q.elementsNone.join(", ")} placeholder="e.g. Co" />
        </label>
        <label>
          DFT label
          <select name="hasDft" defaultValue={q.hasDft === null ? "" : q.hasDft ? "yes" : "no"}>
            <option value="">any</option>
            <option value="yes">has a DFT barrier</option>
            <option value="no">predicted only</option>
          </select>
        </label>
        <label>
          Model
          <select name="model" defaultValue={q.model ?? ""}>
            <option value="">active model</option>
            {(q.model && !models.some((m) => m.tag === q.model) ? [...models, { tag: q.model, active: false }] : models).map((m) => (
              <option key={m.tag} value={m.tag}>
                {m.tag}
                {m.active ? " (active)" : ""}
              </option>
            ))}
          </select>
        </label>
        <label>
          Sort by
          <select name="sort" defaultValue={q.sort}>
            {SORTS.map((s) => (
              <option key={s} value={s}>
                {{ EM: "lowest barrier", PGOOD: "most likely good", FORMULA: "formula", DATE: "newest" }[s]}
              </option>
            ))}
          </select>
        </label>
        {/* The page size is not a control of its own: keep the URL's, or applying a filter reset it to 25. */}
        {q.first !== 25 ? <input type="hidden" name="first" value={q.first} /> : null}
        <div className="actions">
          <button type="submit">Apply</button>
          <Link className="button secondary" href="/">
            Reset
          </Link>
          <a className="button secondary" href={`/ranking.csv?${rankingSearch(q, { after: null })}`} download>
            Export CSV
          </a>
        </div>
      </form>
      {problems.map((p) => (
        <p key={p} className="error" role="alert">
          {p}
        </p>
      ))}
      {error ? (
        <p className="error" role="alert">
          Could not load the ranking: {error}
        </p>
      ) : !page ? null : page.edges.length === 0 ? (
        <p className="empty">
          {!page.model && (q.sort === "EM" || q.sort === "PGOOD") ? (
            <>
              Nothing is ranked: the API has no active model, so no barrier is predicted (see <Link href="/model">Model</Link>). Sort by formula or newest to list
              the stored materials.
            </>
          ) : (
            <>
              No materials match these filters{page.model ? ` under ${page.model}` : ""}. Widen the filters, or <Link href="/import">import structures</Link>.
            </>
          )}
        </p>
      ) : (
        <>
          <p className="muted" data-testid="ranking-caption">
            {
              {
                EM: `Ranked by the lowest barrier at which ${q.ion} percolates (else the lowest hop)`,
                PGOOD: `Sorted by the probability that ${q.ion} is a good conductor (Em < 0.65 eV)`,
                FORMULA: "Sorted by formula",
                DATE: "Newest first",
              }[q.sort]
            }
            {page.model ? (
              <>
                ; predictions by <b>{page.model}</b>.
              </>
            ) : (
              "; no model is active, so no barriers are predicted."
            )}
          </p>
          <div className="table-scroll">
            <table aria-label="Ranking">
              <thead>
                <tr>
                  <th className="num">#</th>
                  <th>Material</th>
                  <th className="num">Space group</th>
                  <th>Class</th>
                  <th className="num">Em (eV)</th>
                  <th className="num">± σ</th>
                  <th className="num">P(good)</th>
                  <th className="num">Percolates</th>
                  <th className="num">Lowest hop (eV)</th>
                  <th>DFT</th>
                </tr>
              </thead>
              <tbody>
                {page.edges.map((e) => (
                  <tr key={e.node.id} data-testid="ranking-row">
                    <td className="num">{e.position}</td>
                    <td>
                      {/* The view goes along, so the material's "« Ranking" returns to this page of these filters. */}
                      <Link href={`/materials/${encodeURIComponent(e.node.id)}?${new URLSearchParams({ ion: q.ion, view: rankingSearch(q) })}`}>{e.node.reducedFormula}</Link>
                      {/* The name tells apart materials of one formula (300 strained LiCoO2 files were 300 identical rows); only a bare "LiCoO2.cif" says nothing more. */}
                      {distinctName(e.node.name, e.node.reducedFormula) ? <> <small className="material-name">{e.node.name}</small></> : null}
                    </td>
                    <td className="num">{e.node.spaceGroup ?? "—"}</td>
                    <td>{e.node.structureClass ?? "—"}</td>
                    <td className="num" data-testid="rank-em">{ev(e.ranking?.rankEm)}</td>
                    <td className="num">{ev(e.ranking?.emStd)}</td>
                    <td className="num">
                      {e.ranking ? `${Math.round(e.ranking.pGood * 100)} %` : "—"} {e.ranking && e.ranking.rankEm < 0.65 ? <span className="pill good">good</span> : null}
                    </td>
                    <td className="num">{e.ranking ? (e.ranking.percolationEm !== null ? `${e.ranking.percolationDim}D` : "no") : "—"}</td>
                    <td className="num">{ev(e.ranking?.lowestEm)}</td>
                    <td>{e.ranking?.hasDft ? <span className="pill dft">DFT</span> : ""}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <nav className="pager" aria-label="Pages">
            {q.after ? <Link href={`/?${rankingSearch(q, { after: null })}`}>« First page</Link> : null}
            {previousPage(q) !== null ? <Link href={`/?${previousPage(q)}`}>‹ Previous page</Link> : null}
            {page.pageInfo.hasNextPage && page.pageInfo.endCursor ? <Link href={`/?${nextPage(q, page.pageInfo.endCursor)}`}>Next page »</Link> : null}
          </nav>
        </>
      )}
    </>
  );
}
