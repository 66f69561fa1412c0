import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), "fixtures");
export const SHARED_DATA = join(dirname(fileURLToPath(import.meta.url)), "../../../../shared/data");

export function fixture(name: string): string {
  return readFileSync(join(FIXTURES, name), "utf8");
}

export interface TrainEntry {
  jid?: string;
  sys_name: string;
  target: number;
  atoms: { lattice_mat: number[][]; coords: number[][]; elements: string[]; cartesian: boolean };
}

let train: TrainEntry[] | undefined;
/** The shared 559-pathway training set, read once per test file. */
export function trainingSet(): TrainEntry[] {
  train ??= JSON.parse(readFileSync(join(SHARED_DATA, "em/train.json"), "utf8")) as TrainEntry[];
  return train;
}
