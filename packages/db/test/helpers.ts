import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach } from "vitest";
import { readCif } from "@ionrank/crystal";
import { createPostgresDatabase, openDatabase, type IonRankDb, type MaterialInput } from "../src/index.js";

const dirs: string[] = [];

/** A fresh temporary folder, removed after the test. */
export function tempDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), "ionrank-db-"));
  dirs.push(dir);
  return dir;
}

afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A small rock-salt-like LiCl cell, shifted by `shift` so each value of it is a distinct material. */
export function licl(shift = 0): MaterialInput {
  return {
    name: `LiCl-${shift}`,
    formula: "Li1 Cl1",
    reducedFormula: "LiCl",
    elements: ["Li", "Cl"],
    spaceGroup: 225,
    structure: {
      lattice: [
        [0, 2.57, 2.57],
        [2.57, 0, 2.57],
        [2.57, 2.57, 0],
      ],
      sites: [
        { species: "Li", frac: [shift, 0, 0] },
        { species: "Cl", frac: [0.5, 0.5, 0.5] },
      ],
    },
    citation: "10.17188/1186286",
    functional: "PBE",
  };
}

/**
 * A new, empty database on the test PostgreSQL server that scripts/test.sh starts (IONRANK_TEST_POSTGRES_URL).
 * Throws when no server was started: the PostgreSQL tests must not silently pass without one.
 */
export async function freshPostgresUrl(): Promise<string> {
  const admin = process.env.IONRANK_TEST_POSTGRES_URL;
  if (!admin) throw new Error("IONRANK_TEST_POSTGRES_URL is not set: run the tests with `npm test` (scripts/test.sh starts PostgreSQL)");
  return createPostgresDatabase(admin, `ionrank_db_${process.pid}_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`);
}

/** The same tests run on both databases. */
export const BACKENDS: { name: string; open: () => Promise<IonRankDb> }[] = [
  { name: "SQLite", open: () => openDatabase({ dataDir: tempDir() }) },
  { name: "PostgreSQL", open: async () => openDatabase({ url: await freshPostgresUrl() }) },
];

/**
 * A CIF's first structure as another program would write it as a POSCAR: the cell turned 90° about z, species in
 * reverse order and each species' sites reversed, no labels, 10 decimals, and coordinates of 0 written as
 * 0.9999999999 (1 after rounding). The same crystal, with another content hash.
 */
export function poscarOfCif(cif: string, comment = "written by another program"): string {
  const s = readCif(cif)[0]!;
  const species = [...new Set(s.sites.map((x) => x.element))].reverse();
  const groups = species.map((el) => s.sites.filter((x) => x.element === el).reverse());
  const f = (x: number) => (x === 0 ? "0.9999999999" : x.toFixed(10)).padStart(16);
  return [
    comment,
    "1.0",
    ...s.lattice.matrix.map(([x, y, z]) => [-y!, x!, z!].map((v) => v.toFixed(10).padStart(16)).join("")),
    species.join(" "),
    groups.map((g) => g.length).join(" "),
    "Direct",
    ...groups.flat().map((x) => x.frac.map(f).join("")),
  ].join("\n") + "\n";
}
