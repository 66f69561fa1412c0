// npm run bench -w @ionrank/api: import throughput, and ranking / filtered-materials latency with 100,000
// pathways in SQLite under 1 and 32 concurrent clients (real HTTP against the real server).
import { randomUUID } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { importPath, openDatabase } from "@ionrank/db";
import { readEnv, startApi } from "../dist/index.js";

const FIX = fileURLToPath(new URL("../../../packages/crystal/test/fixtures/", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "ionrank-api-bench-"));
const N_IMPORT = Number(process.env.BENCH_IMPORT ?? 5000);
const MATERIALS = 25_000;
const PATHWAYS_PER = 4;

/**
 * LiCoO2 number i, a distinct material for the import's structure key (lattice lengths to ~1e-3 Å, fractional
 * coordinates to ~1.2e-4): the scale factor moves c by 1.4e-3 Å per step, and every 100 the oxygen parameter u by
 * 2.5e-4 (all six O sites, so the symmetry and the hops stay those of R-3m).
 */
function distinctLiCoO2(base, i) {
  const lines = [...base];
  lines[1] = (1 + ((i % 100) + 1) * 1e-4).toFixed(6);
  const u = 0.2396 + Math.floor(i / 100) * 2.5e-4;
  const o = [[0, 0, u], [0, 0, 1 - u], [2 / 3, 1 / 3, 1 / 3 + u], [2 / 3, 1 / 3, 1 / 3 - u], [1 / 3, 2 / 3, 2 / 3 + u], [1 / 3, 2 / 3, 2 / 3 - u]];
  o.forEach((f, k) => (lines[14 + k] = "  " + f.map((x) => x.toFixed(10)).join(" ")));
  return lines.join("\n");
}

// 1. Import throughput: N distinct POSCAR files from a directory, no predictions.
{
  const src = join(dir, "poscars");
  mkdirSync(src);
  const base = readFileSync(join(FIX, "LiCoO2.POSCAR"), "utf8").split("\n");
  for (let i = 0; i < N_IMPORT; i++) writeFileSync(join(src, `s${String(i).padStart(6, "0")}.POSCAR`), distinctLiCoO2(base, i));
  const db = await openDatabase({ url: `file:${join(dir, "import.db")}` });
  let t0 = performance.now();
  const r = await importPath(db, src);
  const dt = (performance.now() - t0) / 1000;
  console.log(`import: ${r.imported} POSCAR files (${r.duplicates} duplicates) in ${dt.toFixed(2)} s → ${(r.imported / dt).toFixed(0)} structures/s (goal ≥ 500; no hops, no predictions)`);
  t0 = performance.now();
  const r2 = await importPath(db, src, { ion: "Li" });
  const dt2 = (performance.now() - t0) / 1000;
  console.log(`import again with --ion Li: ${r2.imported} structures (${r2.duplicates} already stored; ${r2.pathways} new pathways) in ${dt2.toFixed(2)} s → ${(r2.imported / dt2).toFixed(0)} structures/s (hop enumeration included)`);
  await db.close();
}

// 1b. Memory stays flat while streaming 100,000 structures from one NDJSON file (resident set sampled as it goes).
{
  const N = Number(process.env.BENCH_STREAM ?? 100_000);
  const file = join(dir, "many.ndjson");
  const lines = [];
  for (let i = 0; i < N; i++) {
    // Distinct materials for the structure key: a in 2e-3 Å steps, and every 1,000 the Cl site moved by 2.5e-4.
    const a = 2.8 + (i % 1000) * 2e-3;
    const x = 0.5 + Math.floor(i / 1000) * 2.5e-4;
    lines.push(JSON.stringify({ lattice: { matrix: [[a, 0, 0], [0, a, 0], [0, 0, a]] }, sites: [{ species: [{ element: "Li", occu: 1 }], abc: [0, 0, 0] }, { species: [{ element: "Cl", occu: 1 }], abc: [x, 0.5, 0.5] }] }));
  }
  writeFileSync(file, lines.join("\n") + "\n");
  lines.length = 0;
  global.gc?.();
  const db = await openDatabase({ url: `file:${join(dir, "stream.db")}` });
  const samples = [];
  const t0 = performance.now();
  const r = await importPath(db, file, { batchSize: 500, onProgress: (c) => { if (c.processed % 10_000 === 0) samples.push([c.processed, process.memoryUsage().rss / 2 ** 20]); } });
  const dt = (performance.now() - t0) / 1000;
  console.log(`stream: ${r.imported} structures (${r.duplicates} duplicates) from one NDJSON file in ${dt.toFixed(1)} s → ${(r.imported / dt).toFixed(0)}/s; RSS (MiB) at ${samples.map(([n, m]) => `${n / 1000}k ${m.toFixed(0)}`).join(", ")}`);
  await db.close();
}

// 2. A database with 100,000 predicted pathways (25,000 materials × 4 hops, rankings computed).
const url = `file:${join(dir, "big.db")}`;
{
  const db = await openDatabase({ url });
  const t0 = performance.now();
  const structure = JSON.stringify({ lattice: [[3, 0, 0], [0, 3, 0], [0, 0, 3]], sites: [{ species: "Li", frac: [0, 0, 0] }, { species: "O", frac: [0.5, 0.5, 0.5] }] });
  const ions = ["Li", "Na", "Mg"];
  const others = ["O", "S", "P", "Fe", "Mn", "Co", "Ti", "Se"];
  await db.prisma.model.create({ data: { name: "em", version: "bench", card: "{}", active: true } });
  for (let c = 0; c < MATERIALS; c += 2500) {
    const mats = [], paths = [], preds = [], ranks = [];
    for (let i = c; i < c + 2500; i++) {
      const id = randomUUID();
      const ion = ions[i % 3];
      const els = [ion, others[i % 8], others[(i * 7 + 3) % 8]].filter((x, k, a) => a.indexOf(x) === k).sort();
      mats.push({ id, name: `m${i}`, formula: els.join(""), reducedFormula: els.join(""), elements: els.join(","), spaceGroup: 1 + (i % 230), structureClass: ["OLIVINE", "SPINEL", "LAYERED", "NASICON"][i % 4], contentHash: `h${i}`, structure });
      let best = Infinity;
      for (let k = 0; k < PATHWAYS_PER; k++) {
        const pid = randomUUID();
        const em = ((i * 9301 + k * 49297) % 233280) / 233280 * 2;
        best = Math.min(best, em);
        paths.push({ id: pid, materialId: id, ion, initial: "[0,0,0]", final: "[0.5,0,0]", images: "[]", hopLength: 2 + k, contentHash: `p${i}-${k}`, ...(k === 0 && i % 10 === 0 ? { emDft: em, emDftSource: "bench" } : {}) });
        preds.push({ pathwayId: pid, model: "em@bench", emPredicted: em, emStd: 0.1, pGood: em < 0.65 ? 0.9 : 0.1 });
      }
      ranks.push({ materialId: id, ion, model: "em@bench", hops: PATHWAYS_PER, lowestEm: best, percolationEm: best, percolationDim: 1, rankEm: best, emStd: 0.1, pGood: best < 0.65 ? 0.9 : 0.1, hasDft: i % 10 === 0 });
    }
    await db.prisma.material.createMany({ data: mats });
    await db.prisma.pathway.createMany({ data: paths });
    await db.prisma.prediction.createMany({ data: preds });
    await db.prisma.materialRanking.createMany({ data: ranks });
  }
  console.log(`setup: ${MATERIALS} materials, ${await db.prisma.pathway.count()} pathways with predictions, in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  await db.close();
}

// 3. Latency over HTTP.
const api = await startApi({ ...readEnv({ DATABASE_URL: url, IONRANK_API_PORT: "0", IONRANK_MODEL: "none", NODE_ENV: "production" }) }, { log: () => {} });
const QUERIES = {
  "ranking(ion: Li) first page": `{ ranking(ion: "Li", first: 20) { edges { node { id formula } ranking { rankEm pGood emStd } } pageInfo { endCursor } } }`,
  "materials(filtered, sort EM)": `{ materials(filter: { ion: "Na", elementsNone: ["Fe"], emMax: 1.2, hasDft: true }, sort: EM, first: 20) { edges { node { id formula spaceGroup } ranking { rankEm } } } }`,
  "materials(filter, sort FORMULA) + pathways": `{ materials(filter: { elementsAll: ["Mg", "S"] }, sort: FORMULA, first: 20) { edges { node { formula pathways { hopLength prediction { emPredicted } } } } } }`,
};
async function measure(query, clients, total) {
  const lat = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (next++ < total) {
        const t = performance.now();
        const res = await fetch(api.url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ query }) });
        const body = await res.json();
        if (body.errors) throw new Error(JSON.stringify(body.errors));
        lat.push(performance.now() - t);
      }
    }),
  );
  lat.sort((a, b) => a - b);
  return { p50: lat[Math.floor(lat.length * 0.5)], p95: lat[Math.floor(lat.length * 0.95)] };
}
for (const [name, q] of Object.entries(QUERIES)) {
  await measure(q, 4, 40); // warm-up
  for (const clients of [1, 32]) {
    const r = await measure(q, clients, clients === 1 ? 200 : 640);
    console.log(`${name}, ${String(clients).padStart(2)} client(s): p50 ${r.p50.toFixed(1)} ms, p95 ${r.p95.toFixed(1)} ms${name.startsWith("ranking") ? " (goal p95 ≤ 50 ms)" : ""}`);
  }
}
await api.stop();
console.log(`peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`);
