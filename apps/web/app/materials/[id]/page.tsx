import type { Metadata } from "next";
import Link from "next/link";
import { cache } from "react";
import { notFound } from "next/navigation";
import { ApiError, ev, gql } from "@/lib/api";
import { StructureViewer } from "@/components/StructureViewer";
import { distinctName, IONS, symbol } from "@/lib/ranking";

export const dynamic = "force-dynamic";

interface PathwayRow {
  id: string;
  ion: string;
  hopLength: number;
  multiplicity: number | null;
  emDft: number | null;
  emDftSource: string | null;
  images: number[][];
  prediction: { emPredicted: number; emStd: number; pGood: number; model: string; warnings: string[] } | null;
}
interface MaterialData {
  id: string;
  name: string;
  formula: string;
  reducedFormula: string;
  elements: string[];
  spaceGroup: number | null;
  structureClass: string | null;
  sourceFile: string | null;
  citation: string | null;
  functional: string | null;
  createdAt: string;
  lattice: { matrix: number[][]; a: number; b: number; c: number; alpha: number; beta: number; gamma: number; volume: number };
  sites: { species: string; frac: number[] }[];
  pathways: PathwayRow[];
  ranking: { rankEm: number; percolationEm: number | null; percolationDim: number; lowestEm: number; emStd: number; pGood: number; model: string } | null;
}

const QUERY = `query Material($id: ID!, $ion: String!) {
  material(id: $id) {
    id name formula reducedFormula elements spaceGroup structureClass sourceFile citation functional createdAt
    lattice { matrix a b c alpha beta gamma volume }
    sites { species frac }
    pathways { id ion hopLength multiplicity emDft emDftSource images prediction { emPredicted emStd pGood model warnings } }
    ranking(ion: $ion) { rankEm percolationEm percolationDim lowestEm emStd pGood model }
  }
}`;

const MAX_VIEWER_PATHS = 24;

type SearchParams = Promise<Record<string, string | string[] | undefined>>;

/**
 * The material and the ion its page is about: ?ion=li is Li; repeated or empty, the first non-empty one; none,
 * the material's own mobile ion. Cached per request, so the page's title and its body ask the API once.
 */
const loadMaterial = cache(async (id: string, asked: string | null): Promise<{ m: MaterialData | null; ion: string }> => {
  let ion = asked ? symbol(asked) : "Li";
  let m = (await gql<{ material: MaterialData | null }>(QUERY, { id, ion })).material;
  // No ion asked for and no Li hops: show (and rank) the ion this material's hops are of, or (no hops at all)
  // the first mobile ion it contains, so NaCl's page is not about Li.
  const own = m?.pathways[0]?.ion ?? IONS.find((i) => m?.elements.includes(i));
  if (m && !asked && own && own !== ion && !m.pathways.some((p) => p.ion === ion)) {
    ion = own;
    m = (await gql<{ material: MaterialData | null }>(QUERY, { id, ion })).material;
  }
  return { m, ion };
});
const askedIon = (sp: Record<string, string | string[] | undefined>) => [sp.ion].flat().map((x) => x?.trim()).find((x) => x) ?? null;

export async function generateMetadata(props: { params: Promise<{ id: string }>; searchParams: SearchParams }): Promise<Metadata> {
  const { id } = await props.params;
  try {
    const { m, ion } = await loadMaterial(id, askedIon(await props.searchParams));
    if (!m) return { title: "Not found" };
    const name = distinctName(m.name, m.reducedFormula);
    return { title: `${m.reducedFormula}${name ? ` (${name})` : ""}: ${ion} hops and predicted barriers` };
  } catch {
    return { title: "Material (not loaded)" };
  }
}

export default async function MaterialPage(props: { params: Promise<{ id: string }>; searchParams: SearchParams }) {
  const { id } = await props.params;
  let m: MaterialData | null;
  let ion: string;
  const sp = await props.searchParams;
  try {
    ({ m, ion } = await loadMaterial(id, askedIon(sp)));
  } catch (e) {
    return (
      <p className="error" role="alert">
        Could not load this material: {e instanceof ApiError ? e.message : String(e)}
      </p>
    );
  }
  if (!m) notFound();
  const hops = m.pathways.filter((p) => p.ion === ion);
  // "No predictions yet" would promise some for an ion the structure does not even contain.
  const absent = !m.elements.includes(ion) && hops.length === 0;
  const perc = m.ranking?.percolationEm ?? null;
  const l = m.lattice;
  // Back to the ranking view the material was opened from (its filters and page), else this ion's ranking. Re-encoded:
  // whatever ?view= holds, the link stays a query on the ranking page.
  const view = [sp.view].flat().find((x) => x);
  const back = view ? `/?${new URLSearchParams(view)}` : `/?${new URLSearchParams({ ion })}`;
  // Hundreds of hops (a large, low-symmetry cell) drawn at once hid the structure and froze the page: the viewer
  // highlights the lowest predicted barriers (the ones that matter for conduction), and says how many it shows.
  const shown = hops
    .map((h, i) => ({ label: `hop ${i + 1}`, images: h.images, em: h.prediction?.emPredicted ?? Infinity }))
    .sort((a, b) => a.em - b.em)
    .slice(0, MAX_VIEWER_PATHS)
    .map(({ label, images }) => ({ label, images }));
  // A hypothetical dataset pathway lives in a supercell: show it where it is, with the host's sites.
  return (
    <>
      <p>
        <Link href={back}>« Ranking</Link>
      </p>
      <h1>
        {m.reducedFormula} <small style={{ color: "var(--muted)", fontWeight: 400 }}>{m.name}</small>
      </h1>
      <div className="grid2">
        <section aria-labelledby="facts">
          <h2 id="facts">Structure</h2>
          <dl className="facts">
            <dt>Formula (cell)</dt>
            <dd>{m.formula}</dd>
            <dt>Space group</dt>
            <dd>{m.spaceGroup ?? "—"}</dd>
            <dt>Class</dt>
            <dd>{m.structureClass ?? "—"}</dd>
            <dt>Lattice</dt>
            <dd>
              a {l.a.toFixed(3)} Å, b {l.b.toFixed(3)} Å, c {l.c.toFixed(3)} Å; α {l.alpha.toFixed(1)}°, β {l.beta.toFixed(1)}°, γ {l.gamma.toFixed(1)}°; V {l.volume.toFixed(1)} Å³
            </dd>
            <dt>Sites</dt>
            <dd>{m.sites.length}</dd>
            <dt>Source</dt>
            <dd>{m.citation ?? m.sourceFile ?? "—"}</dd>
            <dt>Functional</dt>
            <dd>{m.functional ?? "—"}</dd>
            <dt>Added</dt>
            <dd>{new Date(m.createdAt).toISOString().slice(0, 10)}</dd>
          </dl>
          <h2>Ranking for {ion}</h2>
          {m.ranking ? (
            <dl className="facts">
              <dt>Percolating barrier</dt>
              <dd>{perc === null ? "the hops do not percolate" : `${ev(perc)} eV (${m.ranking.percolationDim}D)`}</dd>
              <dt>Lowest hop</dt>
              <dd>{ev(m.ranking.lowestEm)} eV</dd>
              <dt>P(good conductor)</dt>
              <dd>{Math.round(m.ranking.pGood * 100)} %</dd>
              <dt>Model</dt>
              <dd>{m.ranking.model}</dd>
            </dl>
          ) : (
            <p className="empty">{absent ? `This material has no ${ion}: nothing to rank for ${ion}.` : `No ${ion} predictions for this material yet.`}</p>
          )}
        </section>
        <section aria-labelledby="view">
          <h2 id="view">Unit cell and migration paths</h2>
          <StructureViewer lattice={l.matrix} sites={m.sites} paths={shown} totalPaths={hops.length} />
        </section>
      </div>
      <h2>{ion} hops</h2>
      {hops.length === 0 ? (
        <p className="empty">{absent ? `This material has no ${ion} sites.` : `No ${ion} hops stored for this material.`}</p>
      ) : (
        <div className="table-scroll">
          <table aria-label="Hops">
            <thead>
              <tr>
                <th>#</th>
                <th className="num">Length (Å)</th>
                <th className="num">Multiplicity</th>
                <th className="num">Predicted Em (eV)</th>
                <th className="num">P(good)</th>
                <th>DFT Em (eV)</th>
                <th>Percolating network</th>
                <th>Model warnings</th>
              </tr>
            </thead>
            <tbody>
              {hops.map((h, i) => (
                <tr key={h.id} data-testid="hop-row">
                  <td>{i + 1}</td>
                  <td className="num">{h.hopLength.toFixed(3)}</td>
                  <td className="num">{h.multiplicity ?? "—"}</td>
                  <td className="num">{h.prediction ? `${ev(h.prediction.emPredicted)} ± ${ev(h.prediction.emStd)}` : "—"}</td>
                  <td className="num">{h.prediction ? `${Math.round(h.prediction.pGood * 100)} %` : "—"}</td>
                  <td title={h.emDftSource ?? undefined}>{h.emDft !== null ? `${ev(h.emDft)} (${h.emDftSource})` : "—"}</td>
                  <td>{perc !== null && h.prediction && h.prediction.emPredicted <= perc + 1e-9 ? <span className="pill good">percolates</span> : ""}</td>
                  <td className="warnings" data-testid="hop-warnings">{h.prediction?.warnings.join("; ")}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}
