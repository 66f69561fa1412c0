import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDatabase } from "@ionrank/db";
import { FIXTURES, freshPostgres, ionrank, ROOT, SHARED } from "./helpers.js";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

const IMPORT = `mutation ($s: [StructureInput!]!, $ion: String, $p: Boolean) {
  importStructures(structures: $s, ion: $ion, predict: $p) { id status processed imported duplicates failed errors { name index reason } } }`;
const fixture = (name: string) => ({ name, content: readFileSync(join(FIXTURES, name), "utf8") });
const train = JSON.parse(readFileSync(join(SHARED, "em/train.json"), "utf8")) as Json[];
const card = JSON.parse(readFileSync(join(ROOT, "models/em.card.json"), "utf8")) as { name: string; version: string };
const MODEL = `${card.name}@${card.version}`; // the bundled model the server loads

/** LiCoO2 POSCARs with the a axis stretched by a different amount each: distinct materials, same chemistry. */
function poscars(dir: string, n: number, badEvery: number): { good: number; bad: number } {
  const base = readFileSync(join(FIXTURES, "LiCoO2.POSCAR"), "utf8").split("\n");
  let good = 0;
  let bad = 0;
  mkdirSync(dir, { recursive: true });
  for (let i = 0; i < n; i++) {
    const name = `LiCoO2_${String(i).padStart(5, "0")}.POSCAR`;
    if (i % badEvery === badEvery - 1) {
      writeFileSync(join(dir, name), base.slice(0, 4).join("\n")); // truncated: no species or coordinates
      bad++;
    } else {
      const lines = [...base];
      lines[1] = (1 + (i + 1) * 1e-4).toFixed(6); // the POSCAR scale factor
      writeFileSync(join(dir, name), lines.join("\n"));
      good++;
    }
  }
  return { good, bad };
}

const backends = [
  { name: "SQLite file", database: async (dir: string) => ({ IONRANK_DATA_DIR: dir }) },
  { name: "PostgreSQL", database: async (dir: string) => ({ IONRANK_DATA_DIR: dir, DATABASE_URL: await freshPostgres("ionrank_api") }) },
];

describe.each(backends)("GraphQL API over HTTP, real server process, on $name", (backend) => {
  let server: ChildProcess;
  let url = "";
  let editor = "";
  let reader = "";
  let env: NodeJS.ProcessEnv = {};
  const dir = mkdtempSync(join(tmpdir(), "ionrank-api-"));

  async function gql(query: string, variables: Record<string, unknown> = {}, key: string | null = editor) {
    const res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", ...(key ? { authorization: `Bearer ${key}` } : {}) },
      body: JSON.stringify({ query, variables }),
    });
    return { status: res.status, body: (await res.json()) as { data?: Record<string, Json>; errors?: { message: string; extensions: { code: string } }[] } };
  }

  beforeAll(async () => {
    env = { ...process.env, ...(await backend.database(join(dir, "data"))), IONRANK_API_PORT: "0", NODE_ENV: "production", IONRANK_INFERENCE_WORKERS: "1", IONRANK_MAX_BODY_BYTES: "4000000" };
    for (const role of ["editor", "reader"]) {
      const k = ionrank(["apikey", "create", "--role", role], env);
      expect(k.code, k.stderr).toBe(0);
      if (role === "editor") editor = k.stdout.trim().split("\n").at(-1)!;
      else reader = k.stdout.trim().split("\n").at(-1)!;
    }
    server = spawn(process.execPath, [join(ROOT, "apps/api/dist/main.js")], { env });
    let log = "";
    url = await new Promise<string>((resolve, reject) => {
      server.stderr!.on("data", (d: Buffer) => (log += d.toString()));
      server.stdout!.on("data", (d: Buffer) => {
        const m = /at (http:\/\/\S+graphql)/.exec(d.toString());
        if (m) resolve(m[1]!);
      });
      server.once("exit", (code) => reject(new Error(`API exited with ${code}: ${log}`)));
    });
  });
  afterAll(() => {
    server?.kill("SIGTERM");
  });

  it("imports inline structures with a key, enumerates and predicts hops; bad ones are reported with index and reason", async () => {
    const s = [fixture("LiFePO4.cif"), { name: "broken.cif", format: "cif", content: "data_x\n_cell_length_a 5\n" }, fixture("LiCoO2.POSCAR"), fixture("LiMn2O4.cif"), fixture("NaCl.cif")];
    const r = await gql(IMPORT, { s, ion: "Li", p: true });
    expect(r.body.errors).toBeUndefined();
    const job = r.body.data!.importStructures;
    expect(job).toMatchObject({ status: "DONE", processed: 5, imported: 4, duplicates: 0, failed: 1 });
    expect(job.errors).toEqual([{ name: "broken.cif", index: 1, reason: expect.stringMatching(/no data block has atom sites/) }]);
    const again = await gql(`query ($id: ID!) { importJob(id: $id) { status imported failed } }`, { id: job.id });
    expect(again.body.data!.importJob).toEqual({ status: "DONE", imported: 4, failed: 1 });
    // The same content again creates nothing new.
    const re = await gql(IMPORT, { s, ion: "Li" });
    expect(re.body.data!.importStructures).toMatchObject({ imported: 4, duplicates: 4, failed: 1 });
    // ... and says which items were already there, by kind.
    const dupes = await gql(`query ($id: ID!) { importJob(id: $id) { notices(kind: DUPLICATE) { name index kind } all: notices { kind } } }`, { id: re.body.data!.importStructures.id });
    expect(dupes.body.data!.importJob.notices).toEqual(
      [["LiFePO4.cif", 0], ["LiCoO2.POSCAR", 2], ["LiMn2O4.cif", 3], ["NaCl.cif", 4]].map(([name, index]) => ({ name, index, kind: "DUPLICATE" })),
    );
    expect(dupes.body.data!.importJob.all.map((n: Json) => n.kind).sort()).toEqual(["DUPLICATE", "DUPLICATE", "DUPLICATE", "DUPLICATE", "NO_ION"]);
    const all = await gql(`{ materials(first: 50) { edges { node { reducedFormula spaceGroup pathways { ion hopLength multiplicity prediction { emPredicted emStd pGood model } } } } } }`);
    const nodes = all.body.data!.materials.edges.map((e: Json) => e.node);
    expect(nodes.map((n: Json) => n.reducedFormula).sort()).toEqual(["LiCoO2", "LiFePO4", "LiMn2O4", "NaCl"]);
    const lfp = nodes.find((n: Json) => n.reducedFormula === "LiFePO4");
    expect(lfp.spaceGroup).toBe(62);
    expect(lfp.pathways[0]).toMatchObject({ ion: "Li", multiplicity: 4, prediction: { model: MODEL } });
    expect(lfp.pathways[0].hopLength).toBeCloseTo(3.005, 3);
    expect(lfp.pathways[0].prediction.pGood).toBeGreaterThan(0);
  });

  it("imports the Em dataset's JSON with its DFT labels, functional and class", async () => {
    const r = await gql(IMPORT, { s: [{ name: "train.json", content: JSON.stringify(train.slice(0, 20)) }] });
    expect(r.body.data!.importStructures).toMatchObject({ imported: 20, failed: 0 });
    const p = await gql(`{ pathways(filter: { hasDft: true }, first: 100) { edges { node { ion emDft emDftSource hopLength material { name structureClass citation } } } } }`);
    const edges = p.body.data!.pathways.edges;
    expect(edges).toHaveLength(20);
    const first = edges.find((e: Json) => e.node.material.name === train[0].sys_name).node;
    expect(first.emDft).toBe(train[0].target);
    expect(first.emDftSource).toMatch(/doi:10\.1038\/s41524-026-01972-8/);
    expect(first.material.structureClass).toBe(train[0].class);
  });

  it("ranks, filters and sorts by every key, with keyset pagination that is stable under inserts", async () => {
    const rank = await gql(`{ ranking(ion: "Li") { model edges { node { reducedFormula } ranking { rankEm percolationEm percolationDim lowestEm pGood hops } } } }`);
    const rows = rank.body.data!.ranking.edges;
    expect(rank.body.data!.ranking.model).toBe(MODEL);
    expect(rows.map((e: Json) => e.node.reducedFormula).sort()).toEqual(["LiCoO2", "LiFePO4", "LiMn2O4"]);
    for (let i = 1; i < rows.length; i++) expect(rows[i].ranking.rankEm).toBeGreaterThanOrEqual(rows[i - 1].ranking.rankEm);
    for (const e of rows) {
      expect(e.ranking.lowestEm).toBeLessThanOrEqual(e.ranking.rankEm);
      expect(e.ranking.percolationDim).toBeGreaterThanOrEqual(1); // all three conduct Li in at least 1D
    }
    const lfp = rows.find((e: Json) => e.node.reducedFormula === "LiFePO4");
    expect(lfp.ranking.percolationDim).toBe(1); // olivine: 1D channels along b
    const names = async (args: string) => {
      const r = await gql(`{ materials(${args}) { edges { node { reducedFormula } ranking { rankEm pGood } } } }`);
      expect(r.body.errors, args).toBeUndefined();
      return r.body.data!.materials.edges as Json[];
    };
    const middle = rows[1].ranking.rankEm;
    const upTo = await names(`filter: { ion: "Li", emMax: ${middle} }, sort: EM`);
    expect(upTo.map((e) => e.node.reducedFormula)).toEqual(rows.slice(0, 2).map((e: Json) => e.node.reducedFormula));
    const from = await names(`filter: { ion: "Li", emMin: ${middle} }, sort: EM`);
    expect(from.map((e) => e.node.reducedFormula)).toEqual(rows.slice(1).map((e: Json) => e.node.reducedFormula));
    const good = await names(`filter: { ion: "Li", goodOnly: true }, sort: EM`);
    expect(good.every((e) => e.ranking.rankEm < 0.65)).toBe(true);
    expect(good.length).toBe(rows.filter((e: Json) => e.ranking.rankEm < 0.65).length);
    const byP = await names(`filter: { ion: "Li" }, sort: PGOOD`);
    for (let i = 1; i < byP.length; i++) expect(byP[i].ranking.pGood).toBeLessThanOrEqual(byP[i - 1].ranking.pGood);
    expect((await names(`filter: { elementsAll: ["Li", "Fe"] }`)).map((e) => e.node.reducedFormula)).toEqual(["LiFePO4"]);
    const noFe = (await names(`filter: { ion: "Li", elementsNone: ["Fe", "P"] }, first: 100`)).map((e) => e.node.reducedFormula);
    expect(noFe).toContain("LiCoO2");
    expect(noFe).not.toContain("LiFePO4");
    expect((await names(`filter: { spaceGroup: 62 }`)).map((e) => e.node.reducedFormula)).toEqual(["LiFePO4"]);
    expect((await names(`filter: { structureClass: "${train[0].class}" }, first: 100`)).length).toBe(train.slice(0, 20).filter((e) => e.class === train[0].class).length);
    expect((await names(`filter: { hasDft: true }, first: 100`)).length).toBe(20);
    expect((await names(`filter: { hasDft: false }, first: 100`)).map((e) => e.node.reducedFormula).sort()).toEqual(["LiCoO2", "LiFePO4", "LiMn2O4", "NaCl"]);
    const unknownModel = await gql(`{ materials(filter: { ion: "Li", model: "nosuch@1" }, sort: EM) { edges { cursor } } }`);
    expect(unknownModel.body.errors![0]).toMatchObject({ message: expect.stringMatching(/no model "nosuch@1" here \(known: em@/), extensions: { code: "BAD_USER_INPUT" } });
    const formula = (await names(`sort: FORMULA, first: 100`)).map((e) => e.node.reducedFormula);
    expect(formula).toEqual([...formula].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
    const needsIon = await gql(`{ materials(sort: EM) { edges { cursor } } }`);
    expect(needsIon.body.errors![0]!.extensions.code).toBe("BAD_USER_INPUT");

    // Walk the newest-first list two at a time while new materials arrive: every original row once, in order.
    const before = (await names(`sort: DATE, first: 100`)).map((e) => e.node.reducedFormula);
    const seen: string[] = [];
    let after: string | null = null;
    for (let page = 0; page < 50; page++) {
      const r = await gql(`query ($a: String) { materials(sort: DATE, first: 2, after: $a) { edges { node { reducedFormula } } pageInfo { endCursor hasNextPage } } }`, { a: after });
      const c = r.body.data!.materials;
      seen.push(...c.edges.map((e: Json) => e.node.reducedFormula));
      if (page === 1) await gql(IMPORT, { s: [fixture("LiTi2PO43.cif")] });
      if (!c.pageInfo.hasNextPage) break;
      after = c.pageInfo.endCursor;
    }
    expect(seen).toEqual(before);
    const wrongSort = await gql(`query ($a: String) { materials(sort: FORMULA, after: $a) { edges { cursor } } }`, { a: after });
    expect(wrongSort.body.errors![0]!.extensions.code).toBe("BAD_USER_INPUT");
  });

  it("adds, labels and predicts pathways; predictions run as a background job; stats and models", async () => {
    const m = await gql(`{ materials(filter: { elementsAll: ["Ti"] }) { edges { node { id sites { species frac } } } } }`);
    const nasicon = m.body.data!.materials.edges[0].node;
    // Imported again with its Li hops asked for: there are none within 5 Å (NASICON's Li hop through vacant
    // sites), and the job says so instead of storing it silently without pathways.
    const hopless = await gql(`mutation ($s: [StructureInput!]!) { importStructures(structures: $s, ion: "Li") { imported duplicates failed notices { name index kind message } } }`, { s: [fixture("LiTi2PO43.cif")] });
    expect(hopless.body.data!.importStructures).toEqual({
      imported: 1,
      duplicates: 1,
      failed: 0,
      notices: [
        { name: "LiTi2PO43.cif", index: 0, kind: "DUPLICATE", message: "already stored; nothing new written" },
        { name: "LiTi2PO43.cif", index: 0, kind: "NO_HOPS", message: expect.stringMatching(/^no Li hops up to 5 Å between its Li sites: the nearest two are \d\.\d\d Å apart/) },
      ],
    });
    const li = nasicon.sites.map((s: Json, i: number) => ({ ...s, i })).filter((s: Json) => s.species === "Li");
    const add = await gql(`mutation ($i: AddPathwayInput!) { addPathway(input: $i) { id ion hopLength initial final } }`, {
      i: { materialId: nasicon.id, ion: "Li", fromSite: li[0].i, toSite: li[1].i, image: [0, 0, 0] },
    });
    expect(add.body.errors).toBeUndefined();
    const pw = add.body.data!.addPathway;
    expect(pw.hopLength).toBeGreaterThan(1);
    // The same hop given from its other end (or any symmetry copy of it) is that pathway, not a second one.
    const reverse = await gql(`mutation ($i: AddPathwayInput!) { addPathway(input: $i) { id } }`, {
      i: { materialId: nasicon.id, ion: "Li", fromSite: li[1].i, toSite: li[0].i, image: [0, 0, 0] },
    });
    expect(reverse.body.data!.addPathway.id).toBe(pw.id);
    const eq = await gql(`query ($id: ID!) { pathway(id: $id) { multiplicity } }`, { id: pw.id });
    expect(eq.body.data!.pathway.multiplicity).toBeGreaterThanOrEqual(1);
    const label = await gql(`mutation ($id: ID!) { labelPathway(id: $id, label: { emDft: 0.42, citation: "doi:10.1000/example", functional: "PBE" }) { emDft emDftSource } }`, { id: pw.id });
    expect(label.body.data!.labelPathway).toEqual({ emDft: 0.42, emDftSource: "doi:10.1000/example; PBE" });
    const noSource = await gql(`mutation ($id: ID!) { labelPathway(id: $id, label: { emDft: 0.42, citation: " ", functional: "PBE" }) { emDft } }`, { id: pw.id });
    expect(noSource.body.errors![0]!.extensions.code).toBe("BAD_USER_INPUT");
    const job = await gql(`mutation { predict(all: true) { id kind status } }`);
    expect(job.body.data!.predict).toMatchObject({ kind: "predict" });
    let state: Json = null;
    for (let i = 0; i < 600 && state?.status !== "DONE" && state?.status !== "FAILED"; i++) {
      await new Promise((r) => setTimeout(r, 100));
      state = (await gql(`query ($id: ID!) { importJob(id: $id) { status processed total imported failed } }`, { id: job.body.data!.predict.id })).body.data!.importJob;
    }
    // The 20 dataset pathways and the new NASICON hop had no prediction yet.
    expect(state).toMatchObject({ status: "DONE", total: 21, processed: 21, imported: 21, failed: 0 });
    const live = await gql(`query ($id: ID!) { pathway(id: $id) { prediction { model emPredicted createdAt } } }`, { id: pw.id });
    expect(live.body.data!.pathway.prediction.model).toBe(MODEL);
    // Predicting a predicted pathway again is skipped, unless replace: true; an unknown id is refused by name.
    const waitFor = async (id: string) => {
      let s: Json = null;
      for (let i = 0; i < 300 && s?.status !== "DONE" && s?.status !== "FAILED"; i++) {
        await new Promise((r) => setTimeout(r, 100));
        s = (await gql(`query ($id: ID!) { importJob(id: $id) { status total imported } }`, { id })).body.data!.importJob;
      }
      return s;
    };
    const skipped = await gql(`mutation ($ids: [ID!]) { predict(pathwayIds: $ids) { id } }`, { ids: [pw.id] });
    expect(await waitFor(skipped.body.data!.predict.id)).toEqual({ status: "DONE", total: 0, imported: 0 });
    const replaced = await gql(`mutation ($ids: [ID!]) { predict(pathwayIds: $ids, replace: true) { id } }`, { ids: [pw.id] });
    expect(await waitFor(replaced.body.data!.predict.id)).toEqual({ status: "DONE", total: 1, imported: 1 });
    const after = await gql(`query ($id: ID!) { pathway(id: $id) { predictions { model emPredicted createdAt } } }`, { id: pw.id });
    expect(after.body.data!.pathway.predictions).toHaveLength(1);
    expect(after.body.data!.pathway.predictions[0].emPredicted).toBe(live.body.data!.pathway.prediction.emPredicted);
    expect(after.body.data!.pathway.predictions[0].createdAt > live.body.data!.pathway.prediction.createdAt).toBe(true);
    // A live prediction and the stored list agree within one response.
    const along = await gql(`mutation ($i: AddPathwayInput!) { addPathway(input: $i) { id hopLength } }`, {
      i: { materialId: nasicon.id, ion: "Li", fromSite: li[0].i, toSite: li[0].i, image: [1, 0, 0] },
    });
    expect(along.body.errors).toBeUndefined();
    const both = await gql(`query ($id: ID!) { pathway(id: $id) { predictions { model emPredicted } prediction(live: true) { model emPredicted } } }`, { id: along.body.data!.addPathway.id });
    expect(both.body.errors).toBeUndefined();
    expect(both.body.data!.pathway.prediction.model).toBe(MODEL);
    expect(both.body.data!.pathway.predictions).toEqual([both.body.data!.pathway.prediction]);
    const unknownId = await gql(`mutation { predict(pathwayIds: ["${pw.id}", "no-such-pathway"]) { id } }`);
    expect(unknownId.body.errors![0]!.extensions.code).toBe("NOT_FOUND");
    expect(unknownId.body.errors![0]!.message).toMatch(/no pathway no-such-pathway/);
    // The model's applicability warnings are stored with each prediction: of these 20 dataset hops, e-VOPO4_Na_1
    // (0.59 Å) and O-MnPO4_Li (0.82 Å) pass closer than 1 Å to a host atom (@ionrank/crystal's pathClearance).
    const warned = await gql(`{ pathways(filter: { hasDft: true }, first: 100) { edges { node { material { name } prediction { warnings } } } } }`);
    const warnings = Object.fromEntries(warned.body.data!.pathways.edges.map((e: Json) => [e.node.material.name, e.node.prediction.warnings]));
    expect(warnings["e-VOPO4_Na_1"]).toEqual([expect.stringMatching(/^the straight path passes 0\.59 Å from a host atom/)]);
    expect(warnings["O-MnPO4_Li"]).toEqual([expect.stringMatching(/^the straight path passes 0\.82 Å from a host atom/)]);
    expect(warnings[train[0].sys_name]).toEqual([]);
    const st = await gql(`{ stats(ion: "Li") { materials pathways labelledPathways model emHistogram { binStart binWidth counts } byIon { ion pathways materials } } models { tag active } }`);
    const s = st.body.data!.stats;
    expect(s.labelledPathways).toBe(21);
    expect(s.emHistogram.counts.reduce((a: number, b: number) => a + b, 0)).toBeGreaterThanOrEqual(4);
    expect(s.byIon.reduce((a: number, x: Json) => a + x.pathways, 0)).toBe(s.pathways);
    expect(st.body.data!.models).toEqual([{ tag: MODEL, active: true }]);
    const unknown = await gql(`mutation { setActiveModel(model: "nosuch@1") { tag } }`);
    expect(unknown.body.errors![0]!.extensions.code).toBe("BAD_USER_INPUT");
  });

  it("refuses what it must: no key, a read-only key, an unknown key, oversized or over-complex queries — with stable codes, no stack traces", async () => {
    const anon = await gql(IMPORT, { s: [] }, null);
    expect(anon.body.errors![0]!.extensions.code).toBe("UNAUTHENTICATED");
    expect(JSON.stringify(anon.body)).not.toMatch(/stacktrace|at \//);
    const ro = await gql(IMPORT, { s: [] }, reader);
    expect(ro.body.errors![0]!.extensions.code).toBe("FORBIDDEN");
    expect((await gql(`{ materials { edges { cursor } } }`, {}, reader)).body.errors).toBeUndefined();
    const bad = await gql(`{ materials { edges { cursor } } }`, {}, "irk_not-a-key");
    expect(bad.status).toBe(401);
    expect(bad.body.errors![0]!.extensions.code).toBe("UNAUTHENTICATED");
    const cursor = await gql(`{ materials(after: "bogus") { edges { cursor } } }`);
    expect(cursor.body.errors![0]!.extensions.code).toBe("BAD_USER_INPUT");
    const ion = await gql(IMPORT, { s: [], ion: "Xx" });
    expect(ion.body.errors![0]!.extensions.code).toBe("BAD_USER_INPUT");
    let deep = "id";
    for (let i = 0; i < 6; i++) deep = `pathways { material { ${deep} } }`;
    const tooDeep = await gql(`{ materials { edges { node { ${deep} } } } }`);
    expect(tooDeep.body.errors![0]!.extensions.code).toBe("QUERY_TOO_COMPLEX");
    const aliases = await gql(`{ ${Array.from({ length: 30 }, (_, i) => `a${i}: stats { materials }`).join(" ")} }`);
    expect(aliases.body.errors![0]!.extensions.code).toBe("QUERY_TOO_COMPLEX");
    const costly = await gql(`{ materials(first: 500) { edges { node { pathways { predictions { model } material { pathways { id } } } } } } }`);
    expect(costly.body.errors![0]!.extensions.code).toBe("QUERY_TOO_COMPLEX");
    expect(costly.body.errors![0]!.message).toMatch(/cost/);
    const tokens = await gql(`{ stats { ${"materials ".repeat(4000)} } }`);
    expect(tokens.body.errors![0]!.extensions.code).toBe("QUERY_TOO_COMPLEX");
    // PostgreSQL cannot store U+0000 (a 500 there, an import failing part-way): refused on both databases, naming
    // the argument, before anything is written.
    const stored = (await gql(`{ stats { materials } }`)).body.data!.stats.materials;
    const nul = await gql(IMPORT, { s: [fixture("LiFePO4.cif"), { name: "nul\u0000.cif", content: "data_x" }] });
    expect([nul.status, nul.body.errors![0]!.extensions.code]).toEqual([400, "BAD_USER_INPUT"]);
    expect(nul.body.errors![0]!.message).toMatch(/^\$s\[1\]\.name: text must not contain NUL/);
    const nulFilter = await gql(`{ materials(filter: { structureClass: "a\\u0000" }) { edges { cursor } } }`);
    expect([nulFilter.status, nulFilter.body.errors![0]!.extensions.code]).toEqual([400, "BAD_USER_INPUT"]);
    expect((await gql(`{ stats { materials } }`)).body.data!.stats.materials).toBe(stored);
    // A binary file's NUL bytes are that file's problem (a failed item), not the request's: the others import.
    const binary = await gql(IMPORT, { s: [{ name: "binary.cif", content: "\u0000\u0001binary" }, fixture("NaCl.cif")] });
    expect(binary.status).toBe(200);
    expect(binary.body.data!.importStructures).toMatchObject({ status: "DONE", processed: 2, failed: 1, errors: [{ name: "binary.cif", index: 0, reason: expect.stringMatching(/^binary\.cif, line 1: value "\\u0000\\u0001binary" has no tag/) }] });
    const big = await gql(IMPORT, { s: [{ name: "big.cif", content: "x".repeat(5_000_000) }] });
    expect(big.status).toBe(413);
    expect(big.body.errors![0]!.extensions.code).toBe("PAYLOAD_TOO_LARGE");
  });

  it("bulk-imports 1,000 files (10 % malformed) with exact counts, re-imports idempotently, and resumes a killed import without loss or duplicates", async () => {
    const src = join(dir, "bulk");
    const { good, bad } = poscars(src, 1000, 10);
    const count = async () => (await gql(`{ stats { materials } }`)).body.data!.stats.materials as number;
    const start = await count();
    const r = ionrank(["import", src, "--json"], env);
    expect(r.code).toBe(1); // some items failed
    const [job] = JSON.parse(r.stdout) as Json[];
    expect(job).toMatchObject({ status: "DONE", processed: 1000, imported: good, duplicates: 0, failed: bad });
    expect(job.errors[0]).toMatchObject({ name: "LiCoO2_00009.POSCAR", index: 9 });
    expect(await count()).toBe(start + good);
    const again = JSON.parse(ionrank(["import", src, "--json"], env).stdout)[0];
    expect(again).toMatchObject({ imported: good, duplicates: good, failed: bad });
    expect(await count()).toBe(start + good);
    // In text, the first ten already stored items by name, then how many more and where to find them all.
    const text = ionrank(["import", src], env).stdout;
    const named = text.split("\n").filter((l) => l.startsWith("  duplicate: "));
    expect(named).toHaveLength(10);
    expect(named[0]).toBe("  duplicate: LiCoO2_00000.POSCAR (item 0): already stored; nothing new written");
    expect(text).toMatch(new RegExp(`  … and ${good - 10} more already stored \\(query importJob\\(id: "[^"]+"\\) \\{ notices\\(kind: DUPLICATE\\) \\} for all\\)\n`));

    // Kill an import part-way (after some batches committed), then resume it.
    const src2 = join(dir, "bulk2");
    const second = poscars(src2, 3000, 10);
    const offset = 1e-4 * 5000; // a different stretch range: all new materials
    for (let i = 0; i < 3000; i++) {
      const f = join(src2, `LiCoO2_${String(i).padStart(5, "0")}.POSCAR`);
      if (i % 10 !== 9) writeFileSync(f, readFileSync(f, "utf8").replace(/^(.*\n)(.*)\n/, (_, a) => `${a}${(1 + offset + (i + 1) * 1e-4).toFixed(6)}\n`));
    }
    const child = spawn(join(ROOT, "node_modules/.bin/ionrank"), ["import", src2, "--batch", "100"], { cwd: ROOT, env });
    let err = "";
    const jobId = await new Promise<string>((resolve, reject) => {
      child.stderr!.on("data", (d: Buffer) => {
        err += d.toString();
        const m = /job (\S+): importing/.exec(err);
        const read = [...err.matchAll(/(\d+) read/g)].at(-1);
        if (m && read && Number(read[1]) >= 500) {
          child.kill("SIGKILL");
          resolve(m[1]!);
        }
      });
      child.once("exit", () => reject(new Error(`import ended before it could be killed: ${err}`)));
    });
    await new Promise((r) => child.once("exit", r));
    const mid = (await gql(`query ($id: ID!) { importJob(id: $id) { status processed imported failed } }`, { id: jobId })).body.data!.importJob;
    expect(mid.status).toBe("RUNNING");
    expect(mid.processed).toBeGreaterThanOrEqual(500);
    expect(mid.processed).toBeLessThan(3000);
    expect(mid.processed % 100).toBe(0); // whole batches only: nothing partial
    expect(await count()).toBe(start + good + mid.imported);
    const resumed = ionrank(["import", src2, "--resume", jobId, "--json"], env);
    expect(JSON.parse(resumed.stdout)[0]).toMatchObject({ id: jobId, status: "DONE", processed: 3000, imported: second.good, duplicates: 0, failed: second.bad });
    expect(await count()).toBe(start + good + second.good);
  });
  it("deletes materials with everything stored for them, all or nothing, with an admin key only, not beside a running job", async () => {
    const k = ionrank(["apikey", "create", "--role", "admin"], env);
    expect(k.code, k.stderr).toBe(0);
    const admin = k.stdout.trim().split("\n").at(-1)!;
    const lines = readFileSync(join(FIXTURES, "LiCoO2.POSCAR"), "utf8").split("\n");
    lines[1] = "1.7"; // stretched: a material of its own
    const imported = await gql(IMPORT, { s: [{ name: "LiCoO2-stretched.POSCAR", content: lines.join("\n") }], ion: "Li", p: true });
    expect(imported.body.data!.importStructures).toMatchObject({ status: "DONE", imported: 1 });
    const newest = (await gql(`{ materials(sort: DATE, first: 1) { edges { node { id name pathways { id prediction { model } } } } } }`)).body.data!.materials.edges[0].node;
    expect(newest.name).toContain("LiCoO2-stretched");
    const hops = newest.pathways.length as number;
    expect(hops).toBeGreaterThan(0);
    expect(newest.pathways.every((p: Json) => p.prediction?.model === MODEL)).toBe(true);
    const before = (await gql(`{ stats { materials pathways } }`)).body.data!.stats;
    const DELETE = `mutation ($ids: [ID!]!) { deleteMaterials(ids: $ids) { materials pathways predictions rankings } }`;

    // Only an admin deletes; other keys are told why, with stable codes and HTTP statuses.
    for (const [key, code, status] of [[null, "UNAUTHENTICATED", 401], [reader, "FORBIDDEN", 403], [editor, "FORBIDDEN", 403]] as const) {
      const r = await gql(DELETE, { ids: [newest.id] }, key);
      expect(r.status).toBe(status);
      expect(r.body.errors![0]!.extensions.code).toBe(code);
    }
    // One unknown id: nothing is deleted, and the id is named.
    const unknown = await gql(DELETE, { ids: [newest.id, "no-such-material"] }, admin);
    expect(unknown.status).toBe(404);
    expect(unknown.body.errors![0]).toMatchObject({ message: "Material no-such-material not found", extensions: { code: "NOT_FOUND" } });
    // A job that is running (here: a predict job with a fresh heartbeat) holds pathway ids: CONFLICT, nothing deleted.
    const db = await openDatabase({ url: env.DATABASE_URL, dataDir: env.IONRANK_DATA_DIR });
    try {
      const running = await db.prisma.importJob.create({ data: { kind: "predict", status: "RUNNING", source: "all" } });
      const busy = await gql(DELETE, { ids: [newest.id] }, admin);
      expect(busy.status).toBe(409);
      expect(busy.body.errors![0]!.extensions.code).toBe("CONFLICT");
      expect(busy.body.errors![0]!.message).toContain(`predict job ${running.id} is running`);
      await db.prisma.importJob.update({ where: { id: running.id }, data: { status: "DONE", finishedAt: new Date() } });
    } finally {
      await db.close();
    }
    expect((await gql(`{ stats { materials pathways } }`)).body.data!.stats).toEqual(before);

    const done = await gql(DELETE, { ids: [newest.id] }, admin);
    expect(done.body.errors).toBeUndefined();
    expect(done.body.data!.deleteMaterials).toEqual({ materials: 1, pathways: hops, predictions: hops, rankings: 1 });
    expect((await gql(`query ($id: ID!) { material(id: $id) { id } }`, { id: newest.id })).body.data!.material).toBeNull();
    expect((await gql(`{ stats { materials pathways } }`)).body.data!.stats).toEqual({ materials: before.materials - 1, pathways: before.pathways - hops });
    const ranked = (await gql(`{ ranking(ion: "Li", first: 500) { edges { node { id } } } }`)).body.data!.ranking.edges.map((e: Json) => e.node.id);
    expect(ranked).not.toContain(newest.id);
  });
});
