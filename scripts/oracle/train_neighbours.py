#!/usr/bin/python3
"""Oracle: pymatgen neighbour lists for a deterministic sample of train.json.

Run from any cwd:  /usr/bin/python3 scripts/oracle/train_neighbours.py
Writes packages/crystal/test/fixtures/train-neighbours.json (one entry per line).
"""
import json
import os
import time

from pymatgen.core import Lattice, Structure

CUTOFF = 8.0  # Å, radius for get_all_neighbors
SHELL = 4.0  # Å, radius for the full shell lists of the first/last atom

# Paths are resolved from this file so the script works from any cwd.
REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DATA = os.path.join(REPO, "..", "shared", "data", "em", "train.json")
OUT = os.path.join(REPO, "packages", "crystal", "test", "fixtures", "train-neighbours.json")


def max_obliquity(lat):
    """Largest |angle - 90°| over alpha, beta, gamma."""
    return max(abs(a - 90.0) for a in Lattice(lat).angles)


def choose(entries):
    """Deterministic sample: most/fewest atoms, 4 most oblique, 18 evenly spaced."""
    n = len(entries)
    natoms = [len(e["atoms"]["elements"]) for e in entries]
    idx = range(n)
    picks = [max(idx, key=lambda i: natoms[i]),  # first index on ties
             min(idx, key=lambda i: natoms[i])]
    # stable sort: ties broken by lower index
    picks += sorted(idx, key=lambda i: -max_obliquity(entries[i]["atoms"]["lattice_mat"]))[:4]
    picks += [round(k * (n - 1) / 17) for k in range(18)]
    return sorted(set(picks))  # dedupe, order by index


def sorted_dists(nbrs, r=None):
    """Sorted neighbour distances (optionally only those <= r), rounded to 1e-5."""
    d = sorted(nb.nn_distance for nb in nbrs)
    return [round(x, 5) for x in d if r is None or x <= r]


def main():
    with open(DATA) as f:
        entries = json.load(f)
    chosen = choose(entries)

    # Build structures up front so the timing covers only get_all_neighbors.
    structs = []
    for i in chosen:
        a = entries[i]["atoms"]
        assert not a.get("cartesian", False)
        structs.append(Structure(Lattice(a["lattice_mat"]), a["elements"], a["coords"]))

    t0 = time.perf_counter()
    # Excludes each site paired with itself at zero distance; periodic self-images are included.
    all_nbrs = [s.get_all_neighbors(CUTOFF) for s in structs]
    wall = time.perf_counter() - t0

    lines = []
    for i, s, nbrs in zip(chosen, structs, all_nbrs):
        counts = [len(nb) for nb in nbrs]
        rec = {
            "index": i,
            "sys_name": entries[i]["sys_name"],
            "natoms": len(s),
            "volume": round(s.volume, 6),
            "counts": counts,
            "first12": sorted_dists(nbrs[0])[:12],
            "totalPairs": sum(counts),
            "shell4First": sorted_dists(nbrs[0], SHELL),
            "shell4Last": sorted_dists(nbrs[-1], SHELL),
        }
        lines.append(json.dumps(rec, separators=(",", ":")))

    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        f.write("[\n" + ",\n".join(lines) + "\n]\n")

    print(f"indices: {chosen}")
    print(f"get_all_neighbors({CUTOFF}) over {len(structs)} structures: {wall:.3f} s")
    print(f"wrote {OUT} ({os.path.getsize(OUT)} bytes)")


if __name__ == "__main__":
    main()
