"""Baseline for the crystal benchmark: pymatgen builds each training structure and runs
get_all_neighbors(cutoff) on it. Prints one JSON line: {structures, seconds, pairs}."""
import json
import sys
import time

from pymatgen.core import Lattice, Structure

path, cutoff = sys.argv[1], float(sys.argv[2])
t0 = time.perf_counter()
entries = json.load(open(path))
pairs = 0
for e in entries:
    a = e["atoms"]
    s = Structure(Lattice(a["lattice_mat"]), a["elements"], a["coords"], coords_are_cartesian=a.get("cartesian", False))
    pairs += sum(len(n) for n in s.get_all_neighbors(cutoff))
print(json.dumps({"structures": len(entries), "seconds": time.perf_counter() - t0, "pairs": pairs}))
