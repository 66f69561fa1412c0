#!/usr/bin/python3
"""Regenerate packages/crystal/test/fixtures/expected.json with pymatgen (the oracle).

Run from the repo root with the system python (Debian python3-pymatgen 2022.11):
    /usr/bin/python3 scripts/oracle/fixtures_expected.py

For every fixture (and every CIF data block) it records cell, site count, formula and,
for the first site of each element, the sorted neighbour distances within 3.2 A.
"""
import json
import os
import re
import warnings

import numpy as np
from pymatgen.core import Lattice, Structure
from pymatgen.io.cif import CifParser
from pymatgen.io.vasp import Poscar

warnings.filterwarnings("ignore")
FIX = os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../packages/crystal/test/fixtures")
CUTOFF = 3.2


def r(x, n=6):
    return round(float(x), n)


def summarize(s: Structure, file: str, block):
    lat = s.lattice
    neigh, first = {}, {}
    for site in s:  # first site of each element, in pymatgen's (sorted) site order
        el = site.species.elements[0].symbol  # strips oxidation states (Li+ -> Li)
        if el in neigh:
            continue
        first[el] = {"frac": [r(x) for x in site.frac_coords], "occu": r(site.species.num_atoms, 4)}
        neigh[el] = sorted(round(n.nn_distance, 4) for n in s.get_neighbors(site, CUTOFF))
    return {
        "file": file, "block": block, "natoms": len(s),
        "formula": s.composition.formula.replace(" ", ""),
        "reducedFormula": s.composition.reduced_formula,
        "a": r(lat.a), "b": r(lat.b), "c": r(lat.c),
        "alpha": r(lat.alpha), "beta": r(lat.beta), "gamma": r(lat.gamma),
        "volume": r(lat.volume, 4),
        "isOrdered": s.is_ordered,
        "firstSite": first,
        "neighbors": neigh,
    }


def read_poscar(path, default_names=None):
    # pymatgen 2022 multiplies Cartesian coords by the *raw* (negative) scale when the
    # scale line is a volume; VASP uses the derived length factor for both lattice and
    # coords. Rewrite the scale to that positive factor first, as VASP would.
    lines = open(path).read().splitlines()
    scale = float(lines[1].split()[0])
    if scale < 0:
        lat = np.array([[float(t) for t in l.split()[:3]] for l in lines[2:5]])
        lines[1] = repr((-scale / abs(np.linalg.det(lat))) ** (1 / 3))
    return Poscar.from_string("\n".join(lines) + "\n", default_names=default_names).structure


def read_extxyz(path):
    # minimal extended-XYZ reader (species:S:1:pos:R:3 only); pymatgen has none
    out, lines, i = [], open(path).read().splitlines(), 0
    while i < len(lines) and lines[i].strip():
        n = int(lines[i])
        lat = [float(t) for t in re.search(r'Lattice="([^"]+)"', lines[i + 1]).group(1).split()]
        rows = [l.split() for l in lines[i + 2:i + 2 + n]]
        out.append(Structure(Lattice(np.reshape(lat, (3, 3))), [t[0] for t in rows],
                             [[float(x) for x in t[1:4]] for t in rows], coords_are_cartesian=True))
        i += 2 + n
    return out


results = []
for f in sorted(os.listdir(FIX)):
    p = os.path.join(FIX, f)
    if f.endswith(".cif"):
        parser = CifParser(p)
        for name, block in parser._cif.data.items():  # one entry per data block, in file order
            results.append(summarize(parser._get_structure(block, False, False), f, name))
    elif f.endswith(".POSCAR"):
        names = ["Na", "Cl"] if f == "NaCl_vasp4.POSCAR" else None  # VASP4: species from caller
        results.append(summarize(read_poscar(p, names), f, None))
    elif f.endswith(".extxyz"):
        for k, s in enumerate(read_extxyz(p)):
            results.append(summarize(s, f, k))

with open(os.path.join(FIX, "expected.json"), "w") as fh:
    json.dump(results, fh, indent=1)
for e in results:
    print(f"{e['file']:24s} {str(e['block']):16s} n={e['natoms']:4d} {e['formula']:22s} V={e['volume']}")
    for el, d in e["neighbors"].items():
        print(f"    {el:3s} CN(<3.2)={len(d):3d} {d[:14]}")
