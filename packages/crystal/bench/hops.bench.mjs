// Hop enumeration on supercells of rock-salt NaCl (every supercell translation is a symmetry operation):
// symmetry analysis (moyo) and hop classification timed apart. Run: npm run bench -w @ionrank/crystal
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { performance } from "node:perf_hooks";
import { enumerateHops, readCif, symmetryOf } from "../dist/index.js";

const nacl = readCif(readFileSync(fileURLToPath(new URL("../test/fixtures/NaCl.cif", import.meta.url)), "utf8"))[0];
for (const m of [1, 2, 3]) {
  const s = nacl.supercell([m, m, m]);
  let t0 = performance.now();
  const ops = symmetryOf(s).operations.length;
  const sym = (performance.now() - t0) / 1000;
  t0 = performance.now();
  const r = enumerateHops(s, "Na");
  const all = (performance.now() - t0) / 1000;
  console.log(`NaCl ${m}×${m}×${m} (${s.length} atoms, ${ops} operations): symmetry ${sym.toFixed(2)} s, enumerateHops ${all.toFixed(2)} s (${r.hops.length} classes, first ×${r.hops[0].multiplicity})`);
}
