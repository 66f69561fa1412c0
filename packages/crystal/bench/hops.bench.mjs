// Hop enumeration on supercells of rock-salt NaCl (every supercell translation is a symmetry operation):
// symmetry analysis and hop classification timed apart; symmetryOf (moyo on the primitive cell, lifted) against
// moyo on the whole supercell, same run, up to 4×4×4. Run: npm run bench -w @ionrank/crystal
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { performance } from "node:perf_hooks";
import { enumerateHops, readCif, symmetryOf } from "../dist/index.js";
import { moyoSymmetryOf } from "../dist/symmetry.js";

const nacl = readCif(readFileSync(fileURLToPath(new URL("../test/fixtures/NaCl.cif", import.meta.url)), "utf8"))[0];
for (const m of [1, 2, 3, 4, 5]) {
  const s = nacl.supercell([m, m, m]);
  let t0 = performance.now();
  const ops = symmetryOf(s).operations.length;
  const sym = (performance.now() - t0) / 1000;
  t0 = performance.now();
  const r = enumerateHops(s, "Na");
  const all = (performance.now() - t0) / 1000;
  let direct = "";
  if (m <= 4) {
    t0 = performance.now();
    moyoSymmetryOf(s);
    direct = `, moyo on the whole supercell ${((performance.now() - t0) / 1000).toFixed(2)} s`;
  }
  console.log(`NaCl ${m}×${m}×${m} (${s.length} atoms, ${ops} operations): symmetry ${sym.toFixed(2)} s${direct}, enumerateHops ${all.toFixed(2)} s (${r.hops.length} classes, first ×${r.hops[0].multiplicity})`);
}
