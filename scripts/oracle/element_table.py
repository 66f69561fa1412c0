#!/usr/bin/python3
"""Generate packages/featurize/src/elements-table.ts (element properties for Z = 1..103).

Usage:  /usr/bin/python3 element_table.py OUTPUT.ts

Needs Debian's python3-pymatgen (tested with 2022.11.7+dfsg1-11+deb12u2): run it with /usr/bin/python3,
not a pyenv/venv interpreter. Reads pymatgen's bundled core/periodic_table.json directly (no network) and
combines it with Cordero et al. 2008 covalent radii typed in below. Output is deterministic.

Conventions (repeated in the generated file's header):
  * group: 1..18; all lanthanides La..Lu and actinides Ac..Lr get group 3 (pymatgen's convention).
  * period: 1..7; La..Lu -> 6, Ac..Lr -> 7.
  * block: pymatgen's Element.block (La..Yb and Ac..No are "f"; Lu and Lr are "d"), EXCEPT He, which
    pymatgen calls "p" (it sits in group 18) and we call "s" (ground state 1s2).
  * electronegativity: Pauling, pymatgen "X"; null where pymatgen has none (He, Ne, Ar).
  * covalentRadius: Cordero 2008; C = sp3 (0.76), Mn/Fe/Co = LOW-spin (1.39/1.32/1.26) -- the first entry
    of Cordero's Table 2, as ASE and periodictable use. (pymatgen's own CovalentRadius table averages
    these instead: C 0.73, Mn 1.50, Fe 1.42, Co 1.38 -- we do not use it.) Cordero stops at Cm (96);
    Bk..Lr use Pyykko & Atsumi 2009 single-bond radii.
  * valenceElectrons: from pymatgen's ground-state electron configuration with period n:
        (electrons in shell n, i.e. ns + np) + (electrons in (n-1)d if block is "d" or "f").
    f electrons are never counted; the filled (n-1)d10 of p-block elements is not counted.
    => s-block 1-2 (He 2); p-block group-10 (3..8); d-block = group number (3..12; Pd 4d10 5s0 -> 10);
       f-block = 6s/7s + 5d/6d electrons (2, 3 or 4 for Th).
  * firstIonizationEnergy: eV, pymatgen "Ionization energies"[0] (NIST ASD).
  * electronAffinity: eV, pymatgen "Electron affinity". pymatgen stores NEGATIVE estimates for elements
    whose anion is unbound (He, Be, N, Ne, Mg, ...); we store 0 for those (EA <= 0, "not bound").
    null would mean "no data" (does not occur for Z <= 103).
  * atomicVolume: cm^3/mol, pymatgen "Molar volume" (WebElements; condensed phase for elements that are
    gases at room temperature); null where pymatgen says "no data" (At, Fr, Fm, Md, No, Lr).
  * atomicMass: u, pymatgen "Atomic mass" (mass number of the longest-lived isotope for radioactive
    elements without a standard atomic weight).
"""

import hashlib
import json
import os
import re
import sys

N_ELEMENTS = 103

SYMBOLS = (
    "H He Li Be B C N O F Ne Na Mg Al Si P S Cl Ar K Ca Sc Ti V Cr Mn Fe Co Ni Cu Zn Ga Ge As Se Br Kr "
    "Rb Sr Y Zr Nb Mo Tc Ru Rh Pd Ag Cd In Sn Sb Te I Xe Cs Ba La Ce Pr Nd Pm Sm Eu Gd Tb Dy Ho Er Tm Yb "
    "Lu Hf Ta W Re Os Ir Pt Au Hg Tl Pb Bi Po At Rn Fr Ra Ac Th Pa U Np Pu Am Cm Bk Cf Es Fm Md No Lr"
).split()
assert len(SYMBOLS) == N_ELEMENTS

# Cordero, B. et al. "Covalent radii revisited", Dalton Trans. 2008, 2832-2838, doi:10.1039/b801115j,
# Table 2 (Angstrom). C = sp3; Mn, Fe, Co = low spin (alternatives in CORDERO_ALTERNATIVES).
CORDERO_2008 = {
    "H": 0.31, "He": 0.28, "Li": 1.28, "Be": 0.96, "B": 0.84, "C": 0.76, "N": 0.71, "O": 0.66,
    "F": 0.57, "Ne": 0.58, "Na": 1.66, "Mg": 1.41, "Al": 1.21, "Si": 1.11, "P": 1.07, "S": 1.05,
    "Cl": 1.02, "Ar": 1.06, "K": 2.03, "Ca": 1.76, "Sc": 1.70, "Ti": 1.60, "V": 1.53, "Cr": 1.39,
    "Mn": 1.39, "Fe": 1.32, "Co": 1.26, "Ni": 1.24, "Cu": 1.32, "Zn": 1.22, "Ga": 1.22, "Ge": 1.20,
    "As": 1.19, "Se": 1.20, "Br": 1.20, "Kr": 1.16, "Rb": 2.20, "Sr": 1.95, "Y": 1.90, "Zr": 1.75,
    "Nb": 1.64, "Mo": 1.54, "Tc": 1.47, "Ru": 1.46, "Rh": 1.42, "Pd": 1.39, "Ag": 1.45, "Cd": 1.44,
    "In": 1.42, "Sn": 1.39, "Sb": 1.39, "Te": 1.38, "I": 1.39, "Xe": 1.40, "Cs": 2.44, "Ba": 2.15,
    "La": 2.07, "Ce": 2.04, "Pr": 2.03, "Nd": 2.01, "Pm": 1.99, "Sm": 1.98, "Eu": 1.98, "Gd": 1.96,
    "Tb": 1.94, "Dy": 1.92, "Ho": 1.92, "Er": 1.89, "Tm": 1.90, "Yb": 1.87, "Lu": 1.87, "Hf": 1.75,
    "Ta": 1.70, "W": 1.62, "Re": 1.51, "Os": 1.44, "Ir": 1.41, "Pt": 1.36, "Au": 1.36, "Hg": 1.32,
    "Tl": 1.45, "Pb": 1.46, "Bi": 1.48, "Po": 1.40, "At": 1.50, "Rn": 1.50, "Fr": 2.60, "Ra": 2.21,
    "Ac": 2.15, "Th": 2.06, "Pa": 2.00, "U": 1.96, "Np": 1.90, "Pu": 1.87, "Am": 1.80, "Cm": 1.69,
}
CORDERO_ALTERNATIVES = {"C": "sp2 0.73, sp 0.69", "Mn": "high-spin 1.61", "Fe": "high-spin 1.52", "Co": "high-spin 1.50"}
# Pyykko, P. & Atsumi, M. "Molecular single-bond covalent radii for elements 1-118",
# Chem. Eur. J. 2009, 15, 186-197, doi:10.1002/chem.200800987 (r1, Angstrom) -- only for Z > 96.
PYYKKO_2009_SINGLE = {"Bk": 1.66, "Cf": 1.68, "Es": 1.65, "Fm": 1.67, "Md": 1.73, "No": 1.76, "Lr": 1.61}

SOURCES = {
    "group": "IUPAC 1-18 numbering as computed by pymatgen Element.group; lanthanides La-Lu and actinides Ac-Lr are all assigned group 3 (pymatgen convention).",
    "period": "Periodic-table row as computed by pymatgen Element.row; La-Lu -> 6, Ac-Lr -> 7.",
    "block": "pymatgen Element.block (La-Yb and Ac-No 'f', Lu and Lr 'd'), except He, which is 's' here (1s2 ground state; pymatgen says 'p').",
    "electronegativity": "Pauling electronegativity, pymatgen periodic_table.json 'X' (pymatgen cites WebElements / CRC Handbook of Chemistry and Physics); null where none is defined (He, Ne, Ar).",
    "covalentRadius": "Cordero et al., 'Covalent radii revisited', Dalton Trans. 2008, 2832-2838, doi:10.1039/b801115j, Table 2 (Angstrom); C = sp3 (0.76), Mn/Fe/Co = low-spin (1.39/1.32/1.26). Bk-Lr (not in Cordero): Pyykko & Atsumi, Chem. Eur. J. 2009, 15, 186-197, single-bond radii r1.",
    "valenceElectrons": "Derived from the ground-state electron configuration in pymatgen periodic_table.json ('Electronic structure', NIST ASD): electrons in the outermost shell n = period (ns + np), plus (n-1)d electrons for d- and f-block elements; f electrons and the filled (n-1)d10 of p-block elements are not counted. s-block 1-2, p-block 3-8, d-block = group number, f-block 2-4.",
    "firstIonizationEnergy": "First ionization energy in eV, pymatgen periodic_table.json 'Ionization energies'[0] (NIST Atomic Spectra Database).",
    "electronAffinity": "Electron affinity in eV, pymatgen periodic_table.json 'Electron affinity' (pymatgen cites Wikipedia's electron affinity data page / CRC Handbook). Elements whose anion is unbound (pymatgen lists a negative estimate) are stored as 0; null means no data.",
    "atomicVolume": "Molar volume in cm^3/mol, pymatgen periodic_table.json 'Molar volume' (WebElements; condensed-phase value for elements that are gases at room temperature); null where pymatgen has no data.",
    "atomicMass": "Atomic mass in u, pymatgen periodic_table.json 'Atomic mass' (IUPAC standard atomic weights; mass number of the longest-lived isotope for elements without one).",
}

LANTHANIDES = range(57, 72)
ACTINIDES = range(89, 104)
ROW_SIZES = (2, 8, 8, 18, 18, 32, 32)


def period_of(z):
    total = 0
    for i, size in enumerate(ROW_SIZES):
        total += size
        if z <= total:
            return i + 1
    raise ValueError(z)


def group_of(z):
    # Same rules as pymatgen.core.periodic_table.Element.group (2022.11.7).
    if z == 1:
        return 1
    if z == 2:
        return 18
    if 3 <= z <= 18:
        r = (z - 2) % 8
        if r == 0:
            return 18
        return r if r <= 2 else 10 + r
    if 19 <= z <= 54:
        r = (z - 18) % 18
        return 18 if r == 0 else r
    if z in LANTHANIDES or z in ACTINIDES:
        return 3
    r = (z - 54) % 32
    if r == 0:
        return 18
    return r - 14 if r >= 18 else r


def block_of(z, group):
    if z == 2:
        return "s"  # deliberate deviation from pymatgen ("p")
    if z in LANTHANIDES or z in ACTINIDES:
        return "d" if z in (71, 103) else "f"
    if group in (1, 2):
        return "s"
    if 13 <= group <= 18:
        return "p"
    return "d"


def parse_config(raw, table):
    """Full ground-state configuration as [(n, l, count)], expanding [Noble gas] cores recursively."""
    text = re.sub(r"<sup>(\d+)</sup>", r"\1", raw).replace("(tentative)", "").strip()
    out = []
    for part in text.split("."):
        part = part.strip()
        core = re.fullmatch(r"\[(\w+)\]", part)
        if core:
            out.extend(parse_config(table[core.group(1)]["Electronic structure"], table))
            continue
        m = re.fullmatch(r"(\d+)([spdf])(\d+)", part)
        if not m:
            raise ValueError(f"cannot parse {part!r} in {raw!r}")
        out.append((int(m.group(1)), m.group(2), int(m.group(3))))
    return out


def valence_electrons(config, period, block):
    n_outer = sum(c for n, l, c in config if n == period and l in "sp")
    n_d = sum(c for n, l, c in config if n == period - 1 and l == "d") if block in ("d", "f") else 0
    return n_outer + n_d


def number_or_none(value):
    """pymatgen stores missing data as None or strings starting with 'no data'."""
    if value is None:
        return None
    if isinstance(value, (int, float)):
        return float(value)
    m = re.match(r"\s*([-+0-9.eE]+)", str(value))
    if not m or str(value).strip().startswith("no data"):
        return None
    return float(m.group(1))


def ts_num(x):
    if x is None:
        return "null"
    if float(x).is_integer():
        return str(int(x))
    return repr(float(x))


def ts_str(s):
    return json.dumps(s, ensure_ascii=True)


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: /usr/bin/python3 element_table.py OUTPUT.ts")
    out_path = sys.argv[1]

    import pymatgen.core  # Debian python3-pymatgen

    version = getattr(pymatgen.core, "__version__", "unknown")
    json_path = os.path.join(os.path.dirname(pymatgen.core.__file__), "periodic_table.json")
    with open(json_path, "rb") as fh:
        raw_bytes = fh.read()
    digest = hashlib.sha256(raw_bytes).hexdigest()
    table = json.loads(raw_bytes)

    rows = []
    notes = []
    for i, sym in enumerate(SYMBOLS):
        z = i + 1
        e = table[sym]
        if int(e["Atomic no"]) != z:
            raise SystemExit(f"{sym}: pymatgen atomic number {e['Atomic no']} != {z}")
        group = group_of(z)
        period = period_of(z)
        block = block_of(z, group)
        config = parse_config(e["Electronic structure"], table)
        if sum(c for _, _, c in config) != z:
            raise SystemExit(f"{sym}: configuration electron count != Z")
        valence = valence_electrons(config, period, block)

        x = e.get("X")
        x = None if x is None or x != x else float(x)  # None / NaN -> null
        if sym in CORDERO_2008:
            rcov = CORDERO_2008[sym]
        else:
            rcov = PYYKKO_2009_SINGLE[sym]
            notes.append(f"{sym}: covalent radius from Pyykko & Atsumi 2009 (not in Cordero 2008)")
        ies = e.get("Ionization energies") or []
        ie = number_or_none(ies[0]) if ies else None
        ea = number_or_none(e.get("Electron affinity"))
        if ea is not None and ea < 0:
            notes.append(f"{sym}: electron affinity {ea} eV in pymatgen (anion unbound) -> 0")
            ea = 0.0
        vol = number_or_none(e.get("Molar volume"))
        mass = number_or_none(e.get("Atomic mass"))
        if mass is None:
            raise SystemExit(f"{sym}: no atomic mass")
        for name, v in (("electronegativity", x), ("firstIonizationEnergy", ie), ("electronAffinity", ea), ("atomicVolume", vol)):
            if v is None:
                notes.append(f"{sym}: {name} = null (no data)")
        rows.append(
            "  { "
            + ", ".join(
                [
                    f"symbol: {ts_str(sym)}",
                    f"Z: {z}",
                    f"group: {group}",
                    f"period: {period}",
                    f"block: {ts_str(block)}",
                    f"electronegativity: {ts_num(x)}",
                    f"covalentRadius: {ts_num(rcov)}",
                    f"valenceElectrons: {valence}",
                    f"firstIonizationEnergy: {ts_num(ie)}",
                    f"electronAffinity: {ts_num(ea)}",
                    f"atomicVolume: {ts_num(vol)}",
                    f"atomicMass: {ts_num(mass)}",
                ]
            )
            + " },"
        )

    header = f"""\
// GENERATED FILE -- do not edit by hand.
// Generated by scripts/oracle/element_table.py (run with Debian's /usr/bin/python3):
//   /usr/bin/python3 scripts/oracle/element_table.py packages/featurize/src/elements-table.ts
// Input: pymatgen {version} core/periodic_table.json (Debian python3-pymatgen), sha256 {digest},
// plus the Cordero 2008 / Pyykko 2009 covalent radii typed into the generator.
//
// Element properties for Z = 1..103 (H..Lr), used to build the CGCNN-style 92-length one-hot atom
// features (group, period, electronegativity, covalent radius, valence electrons, first ionisation
// energy, electron affinity, block, atomic volume). ELEMENT_PROPERTIES[Z - 1] is element Z.
//
// Conventions:
//   group              1..18; every lanthanide (La..Lu) and actinide (Ac..Lr) is group 3.
//   period             1..7; lanthanides 6, actinides 7.
//   block              La..Yb and Ac..No "f", Lu and Lr "d"; He is "s" (pymatgen would say "p").
//   electronegativity  Pauling; null when undefined (He, Ne, Ar).
//   covalentRadius     Angstrom, Cordero et al. 2008; C is sp3 (0.76); Mn, Fe, Co are LOW-spin
//                      (1.39, 1.32, 1.26; high-spin would be 1.61, 1.52, 1.50). Bk..Lr are not in
//                      Cordero and use Pyykko & Atsumi 2009 single-bond radii.
//   valenceElectrons   ns + np electrons of the outermost shell n = period, plus (n-1)d electrons for
//                      d- and f-block elements. f electrons are never counted and the filled (n-1)d10
//                      of p-block elements is not counted: s-block 1-2 (He 2), p-block 3-8 (group - 10),
//                      d-block = group number (3-12), f-block 2-4.
//   firstIonizationEnergy  eV (NIST ASD via pymatgen).
//   electronAffinity   eV; 0 when the anion is unbound (pymatgen lists a negative estimate there);
//                      null would mean "no data" (none for Z <= 103).
//   atomicVolume       cm^3/mol (WebElements molar volume via pymatgen; condensed phase for gases);
//                      null when unknown (At, Fr, Fm, Md, No, Lr).
//   atomicMass         u (IUPAC standard atomic weight; longest-lived isotope mass number otherwise).
"""

    body = [
        header,
        "export interface ElementProperties {",
        "  symbol: string;",
        "  Z: number;",
        "  group: number;",
        "  period: number;",
        '  block: "s" | "p" | "d" | "f";',
        "  electronegativity: number | null;",
        "  covalentRadius: number;",
        "  valenceElectrons: number;",
        "  firstIonizationEnergy: number | null;",
        "  electronAffinity: number | null;",
        "  atomicVolume: number | null;",
        "  atomicMass: number;",
        "}",
        "",
        "/** Index Z - 1 (ELEMENT_PROPERTIES[0] is H, ELEMENT_PROPERTIES[102] is Lr). */",
        "export const ELEMENT_PROPERTIES: readonly ElementProperties[] = Object.freeze([",
        *rows,
        "] satisfies ElementProperties[]);",
        "",
        "/** Where each property comes from, and the conventions used. */",
        'export const ELEMENT_PROPERTY_SOURCES: Record<keyof Omit<ElementProperties, "symbol" | "Z">, string> = {',
        *[f"  {k}:\n    {ts_str(v)}," for k, v in SOURCES.items()],
        "};",
        "",
    ]
    os.makedirs(os.path.dirname(os.path.abspath(out_path)), exist_ok=True)
    with open(out_path, "w", encoding="utf-8", newline="\n") as fh:
        fh.write("\n".join(body))
    for line in notes:
        print(line, file=sys.stderr)
    print(f"wrote {out_path}: {len(rows)} elements", file=sys.stderr)


if __name__ == "__main__":
    main()
