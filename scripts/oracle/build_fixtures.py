#!/usr/bin/python3
"""Scratch builder for IonRank crystal fixtures (symmetry ops from spglib's Hall database)."""
import math, os, sys
from fractions import Fraction
import numpy as np
import spglib

OUT = "/work/main/packages/crystal/test/fixtures"
os.makedirs(OUT, exist_ok=True)


def op_str(R, t, sep=","):
    parts = []
    for i in range(3):
        s = ""
        for j, v in enumerate("xyz"):
            c = int(round(R[i][j]))
            if c == 1:
                s += ("+" if s else "") + v
            elif c == -1:
                s += "-" + v
        f = Fraction(float(t[i])).limit_denominator(12) % 1
        if f != 0:
            s += f"+{f.numerator}/{f.denominator}"
        parts.append(s)
    return sep.join(parts)


def ops(hall, sep=","):
    d = spglib.get_symmetry_from_database(hall)
    out = [op_str(R, t, sep) for R, t in zip(d["rotations"], d["translations"])]
    assert out[0].replace(" ", "") == "x,y,z"
    assert len(set(out)) == len(out)
    return out


HALL = {"Fm-3m": 523, "Fd-3m:2": 526, "R-3m:H": 458, "Pnma": 292, "R-3c:H": 460, "Ia-3d": 530, "P-1": 2}


def w(name, text):
    with open(os.path.join(OUT, name), "w") as fh:
        fh.write(text)


def cif11_block(name, hm, num, a, b, c, al, be, ga, sites, hall, formula):
    """CIF 1.1 style block with _symmetry_equiv_pos_as_xyz."""
    L = [f"data_{name}", f"_chemical_formula_sum '{formula}'",
         f"_symmetry_space_group_name_H-M '{hm}'", f"_symmetry_Int_Tables_number {num}",
         f"_cell_length_a {a}", f"_cell_length_b {b}", f"_cell_length_c {c}",
         f"_cell_angle_alpha {al}", f"_cell_angle_beta {be}", f"_cell_angle_gamma {ga}",
         "loop_", "_symmetry_equiv_pos_as_xyz"]
    L += [f"  '{o}'" for o in ops(hall, ", ")]
    L += ["loop_", "_atom_site_label", "_atom_site_type_symbol", "_atom_site_symmetry_multiplicity",
          "_atom_site_Wyckoff_symbol", "_atom_site_fract_x", "_atom_site_fract_y", "_atom_site_fract_z",
          "_atom_site_occupancy"]
    for s in sites:
        L.append("  " + " ".join(str(x) for x in s))
    return "\n".join(L) + "\n"


# 1. NaCl -------------------------------------------------------------------
w("NaCl.cif", "# Rock salt NaCl, Fm-3m (225), a = 5.6402 A (Walker et al. 2004 / standard value)\n"
  + cif11_block("NaCl", "F m -3 m", 225, 5.6402, 5.6402, 5.6402, 90, 90, 90,
                [("Na1", "Na", 4, "a", 0, 0, 0, 1.0), ("Cl1", "Cl", 4, "b", 0.5, 0.5, 0.5, 1.0)],
                HALL["Fm-3m"], "Na Cl"))

# 2. LiCoO2 (Akimoto, Gotoh, Oosawa, J. Solid State Chem. 141 (1998) 298) --------
o = ops(HALL["R-3m:H"])
L = ["# LiCoO2, R-3m (166) hexagonal setting. Akimoto et al., JSSC 141 (1998) 298.",
     "# Li on 3a (0,0,0), Co on 3b (0,0,1/2), O on 6c (0,0,z) with z = 0.2396",
     "# (equivalently Co 3a / Li 3b / O z = 0.2604 after an origin shift of (0,0,1/2)).",
     "data_LiCoO2",
     "_chemical_formula_sum 'Li Co O2'",
     "_space_group_crystal_system trigonal",
     "_space_group_IT_number 166",
     "_space_group_name_H-M_alt 'R -3 m :H'",
     "_cell_length_a 2.8156(2)", "_cell_length_b 2.8156(2)", "_cell_length_c 14.0542(6)",
     "_cell_angle_alpha 90", "_cell_angle_beta 90", "_cell_angle_gamma 120",
     "_cell_volume 96.49(1)", "_cell_formula_units_Z 3",
     "loop_", "_space_group_symop_id", "_space_group_symop_operation_xyz"]
L += [f"{i + 1} {s}" for i, s in enumerate(o)]
L += ["loop_", "_atom_type_symbol", "_atom_type_oxidation_number",
      "Li1+ 1", "Co3+ 3", "O2- -2",
      "loop_", "_atom_site_label", "_atom_site_type_symbol", "_atom_site_symmetry_multiplicity",
      "_atom_site_Wyckoff_symbol", "_atom_site_fract_x", "_atom_site_fract_y", "_atom_site_fract_z",
      "_atom_site_occupancy", "_atom_site_B_iso_or_equiv",
      "Li1 Li1+ 3 a 0 0 0 1 1.0(1)",
      "Co1 Co3+ 3 b 0 0 0.5 1 0.25(2)",
      "O1 O2- 6 c 0 0 0.2396(1) 1 0.42(3)"]
w("LiCoO2.cif", "\n".join(L) + "\n")

# 3. LiFePO4 (Streltsov et al., Acta Cryst. B49 (1993) 147) -----------------------
o = ops(HALL["Pnma"], ", ")
L = ["# Triphylite LiFePO4, olivine, Pnma (62). Streltsov et al., Acta Cryst. B49 (1993) 147.",
     "# Atom-site columns deliberately in a non-standard order.",
     "data_LiFePO4",
     "_publ_section_title",
     ";",
     "Atomic and electronic structure of triphylite LiFePO4; a test fixture",
     "with a multi-line text field (lattice a = 10.332 A, b = 6.010 A, c = 4.692 A)",
     ";",
     "_chemical_name_mineral Triphylite",
     "_chemical_name_common 'lithium iron(II) phosphate'",
     "_journal_name_full \"Acta Crystallographica, Section B\"",
     "_chemical_formula_sum 'Li Fe P O4'",
     "_cell_length_a 10.332(4)", "_cell_length_b 6.010(5)", "_cell_length_c 4.692(2)",
     "_cell_angle_alpha 90.0", "_cell_angle_beta 90.0", "_cell_angle_gamma 90.0",
     "_cell_formula_units_Z 4",
     "_symmetry_space_group_name_H-M 'P n m a'",
     "_symmetry_Int_Tables_number 62",
     "loop_", "_symmetry_equiv_pos_site_id", "_symmetry_equiv_pos_as_xyz"]
L += [f"{i + 1} '{s}'" for i, s in enumerate(o)]
L += ["loop_", "_atom_site_fract_z", "_atom_site_label", "_atom_site_type_symbol", "_atom_site_fract_x",
      "_atom_site_U_iso_or_equiv", "_atom_site_fract_y", "_atom_site_occupancy",
      "0          Li1 Li 0          0.0154(5)  0          1.0",
      "0.97472(8) Fe1 Fe 0.28222(3) 0.0058(1)  0.25       1.0",
      "0.41820(9) P1  P  0.09486(5) 0.0045(1)  0.25       1.0",
      "0.7428(2)  O1  O  0.09678(15) 0.0072(3) 0.25       1.0",
      "0.2060(2)  O2  O  0.45710(14) 0.0068(3) 0.25       1.0",
      "0.2848(2)  O3  O  0.16558(10) 0.0077(2) 0.04646(17) 1.0"]
w("LiFePO4.cif", "\n".join(L) + "\n")

# 4. LiMn2O4 spinel, Fd-3m origin choice 2 -----------------------------------------
XO = float(os.environ.get("XO", "0.2625"))
w("LiMn2O4.cif", "# Spinel LiMn2O4, Fd-3m (227) origin choice 2, a = 8.2476 A, O 32e x = 0.2625\n"
  + cif11_block("LiMn2O4", "F d -3 m :2", 227, 8.2476, 8.2476, 8.2476, 90, 90, 90,
                [("Li1", "Li", 8, "a", 0.125, 0.125, 0.125, 1.0),
                 ("Mn1", "Mn", 16, "d", 0.5, 0.5, 0.5, 1.0),
                 ("O1", "O", 32, "e", XO, XO, XO, 1.0)],
                HALL["Fd-3m:2"], "Li Mn2 O4"))

# 5. LiTi2(PO4)3 NASICON, R-3c hexagonal -------------------------------------------
T = dict(Ti=0.1431, P=0.2915, O1=(0.1891, 0.0020, 0.1904), O2=(0.1859, 0.1636, 0.0821))
w("LiTi2PO43.cif", "# NASICON LiTi2(PO4)3, R-3c (167) hexagonal setting, a = 8.51, c = 20.84 A (Z = 6).\n"
  "# Li 6b, Ti 12c, P 18e, O1/O2 36f. Free parameters approximate published NASICON refinements and were\n"
  "# tuned so that P-O = 1.52/1.53, Ti-O = 1.88/1.96 and Li-O = 2.27 A (not copied from one specific paper).\n"
  + cif11_block("LiTi2PO43", "R -3 c :H", 167, 8.51, 8.51, 20.84, 90, 90, 120,
                [("Li1", "Li", 6, "b", 0, 0, 0, 1.0),
                 ("Ti1", "Ti", 12, "c", 0, 0, T["Ti"], 1.0),
                 ("P1", "P", 18, "e", T["P"], 0, 0.25, 1.0),
                 ("O1", "O", 36, "f", *T["O1"], 1.0),
                 ("O2", "O", 36, "f", *T["O2"], 1.0)],
                HALL["R-3c:H"], "Li Ti2 P3 O12"))

# 6. Cubic garnet Li7La3Zr2O12, Ia-3d, partial Li occupancy ---------------------------
w("Li7La3Zr2O12.cif", "# Cubic garnet Li7La3Zr2O12 (LLZO), Ia-3d (230), a = 12.97 A. Partial-occupancy fixture:\n"
  "# Li1 24d occ 0.94, Li2 96h (split site around 48g) occ 0.35 -> Li 56.16 per cell (7.02 per f.u.).\n"
  "# La 24c, Zr 16a, O 96h approximate published values; Li2 placed to give Li-O 1.95-2.29 A.\n"
  + cif11_block("LLZO", "I a -3 d", 230, 12.9700, 12.9700, 12.9700, 90, 90, 90,
                [("La1", "La", 24, "c", 0.125, 0, 0.25, 1.0),
                 ("Zr1", "Zr", 16, "a", 0, 0, 0, 1.0),
                 ("O1", "O", 96, "h", -0.0326, 0.0551, 0.1494, 1.0),
                 ("Li1", "Li", 24, "d", 0.375, 0, 0.25, 0.94),
                 ("Li2", "Li", 96, "h", 0.0905, 0.6811, 0.5679, 0.35)],
                HALL["Ia-3d"], "La3 Li7.02 O12 Zr2"))

# 7. Two data blocks: KCl + made-up triclinic P-1 ---------------------------------------
kcl = cif11_block("KCl", "F m -3 m", 225, 6.2929, 6.2929, 6.2929, 90, 90, 90,
                  [("K1", "K", 4, "a", 0, 0, 0, 1.0), ("Cl1", "Cl", 4, "b", 0.5, 0.5, 0.5, 1.0)],
                  HALL["Fm-3m"], "K Cl")
tri = cif11_block("triclinic_test", "P -1", 2, 5.123, 6.234, 7.345, 81.2, 77.5, 69.8,
                  [("Li1", "Li", 2, "i", 0.1234, 0.2345, 0.3456, 1.0),
                   ("Mg1", "Mg", 1, "a", 0, 0, 0, 1.0),
                   ("O1", "O", 2, "i", 0.3012, 0.4123, 0.1987, 1.0),
                   ("Cl1", "Cl", 2, "i", 0.6543, 0.1876, 0.6789, 1.0)],
                  HALL["P-1"], "Li2 Mg O2 Cl2")
w("multi.cif", "# Two data blocks: KCl rock salt (a = 6.2929 A) and a made-up triclinic P-1 cell\n\n"
  + kcl + "\n" + tri)

# 8. POSCARs for LiCoO2 conventional cell + VASP4 NaCl ---------------------------------
a, c = 2.8156, 14.0542
lat = np.array([[a, 0, 0], [-a / 2, a * math.sqrt(3) / 2, 0], [0, 0, c]])
zO = 0.2396
cen = [(0, 0, 0), (2 / 3, 1 / 3, 1 / 3), (1 / 3, 2 / 3, 2 / 3)]
frac = {"Li": [(t[0], t[1], t[2]) for t in cen],
        "Co": [(t[0], t[1], (t[2] + 0.5) % 1) for t in cen],
        "O": [(t[0], t[1], (t[2] + s * zO) % 1) for t in cen for s in (1, -1)]}
lines = ["LiCoO2 R-3m conventional hexagonal cell (Akimoto 1998)", "1.0"]
lines += ["  %.10f %.10f %.10f" % tuple(v) for v in lat]
lines += ["  Li Co O", "  3 3 6", "Direct"]
for el in ("Li", "Co", "O"):
    lines += ["  %.10f %.10f %.10f" % p for p in frac[el]]
w("LiCoO2.POSCAR", "\n".join(lines) + "\n")

vol = abs(np.linalg.det(lat))
half = lat / 2  # written lattice is half size; negative scale (= volume) restores it (factor 2)
lines = ["LiCoO2 cartesian, scale = -volume, selective dynamics", "%.8f" % -vol]
lines += ["  %.10f %.10f %.10f" % tuple(v) for v in half]
lines += ["  Li Co O", "  3 3 6", "Selective dynamics", "Cartesian"]
k = 0
for el in ("Li", "Co", "O"):
    for p in frac[el]:
        cart = np.array(p) @ half + 0.0  # in units of the written (unscaled) lattice
        flags = "F F F" if el == "Co" else ("T T T" if el == "Li" else "F F T")
        lines.append("  %.10f %.10f %.10f %s" % (*[abs(x) if abs(x) < 1e-12 else x for x in cart], flags))
w("LiCoO2_cart_sd.POSCAR", "\n".join(lines) + "\n")

lines = ["NaCl rock salt, VASP 4 format (no species line; species = Na Cl)", "5.6402",
         "  1.0 0.0 0.0", "  0.0 1.0 0.0", "  0.0 0.0 1.0", "  4 4", "Direct"]
fcc = [(0, 0, 0), (0, 0.5, 0.5), (0.5, 0, 0.5), (0.5, 0.5, 0)]
lines += ["  %.6f %.6f %.6f" % p for p in fcc]
lines += ["  %.6f %.6f %.6f" % tuple((np.array(p) + 0.5) % 1) for p in fcc]
w("NaCl_vasp4.POSCAR", "\n".join(lines) + "\n")

# 9. Extended XYZ: NaCl conventional cell + strained copy -------------------------------
frames = []
for strain in (np.eye(3), np.diag([1.02, 1.0, 0.99]) + np.array([[0, 0.01, 0], [0.01, 0, 0], [0, 0, 0]])):
    L3 = 5.6402 * np.eye(3) @ strain
    frames.append(str(8))
    frames.append('Lattice="%s" Properties=species:S:1:pos:R:3 pbc="T T T"'
                  % " ".join("%.6f" % x for x in L3.flatten()))
    for sp, shift in (("Na", 0), ("Cl", 0.5)):
        for p in fcc:
            f = (np.array(p) + shift) % 1
            frames.append("%-2s %12.6f %12.6f %12.6f" % (sp, *(f @ L3)))
w("nacl.extxyz", "\n".join(frames) + "\n")
print("written")
