import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach } from "vitest";
import type { MaterialInput } from "../src/index.js";

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
