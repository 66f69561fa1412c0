import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { Pathway, readJsonStructures } from "@ionrank/crystal";
import { collate, DEFAULT_FEATURIZER_CONFIG, featurizerVersion, pathwayGraph } from "@ionrank/featurize";
import { loadModelCard, modelInputs, ModelCardError, openOnnxModel, OnnxRuntimeError } from "../src/index.js";

const SHARED = fileURLToPath(new URL("../../../../shared/data/", import.meta.url));
const train = JSON.parse(readFileSync(join(SHARED, "em/train.json"), "utf8"));
const graph = (i: number) => pathwayGraph(Pathway.fromImageStructure(readJsonStructures(train[i])[0]!));

describe("model inputs (dense fixed-k layout)", () => {
  it("pads every atom to the batch's largest degree and shifts neighbours batch-wide", () => {
    const gs = [graph(0), graph(1)];
    const b = collate(gs);
    const t = modelInputs(b);
    const k = b.maxDegree;
    expect(t.nbr_index!.dims).toEqual([b.numAtoms, k]);
    expect(t.nbr_vector!.dims).toEqual([b.numAtoms, k, 3]);
    const mask = t.nbr_mask!.data as Float32Array;
    expect(mask.reduce((a, x) => a + x, 0)).toBe(b.numEdges);
    // First atom of graph 1: its first slot is graph 1's first edge, shifted by graph 0's atoms.
    const a0 = gs[0]!.numAtoms;
    expect(Number((t.nbr_index!.data as BigInt64Array)[a0 * k])).toBe(a0 + gs[1]!.edgeNeighbour[0]!);
    expect((t.nbr_vector!.data as Float32Array)[a0 * k * 3]).toBe(gs[1]!.edgeVector[0]);
    // Padded slots point at atom 0 with mask 0.
    const deg0 = gs[0]!.edgeOffsets[1]! - gs[0]!.edgeOffsets[0]!;
    if (deg0 < k) {
      expect(mask[deg0]).toBe(0);
      expect(Number((t.nbr_index!.data as BigInt64Array)[deg0])).toBe(0);
    }
    expect(Array.from(t.atom_counts!.data as Float32Array)).toEqual([gs[0]!.numAtoms, gs[1]!.numAtoms]);
  });
});

describe("model cards", () => {
  const write = (card: object, files: Record<string, string>) => {
    const dir = mkdtempSync(join(tmpdir(), "ionrank-card-"));
    for (const [f, text] of Object.entries(files)) writeFileSync(join(dir, f), text);
    writeFileSync(join(dir, "m.card.json"), JSON.stringify(card));
    return join(dir, "m.card.json");
  };
  const sha = (s: string) => createHash("sha256").update(s).digest("hex");
  const base = {
    name: "m",
    version: "1",
    featurizer: { version: featurizerVersion(), config: DEFAULT_FEATURIZER_CONFIG },
    ensemble: { members: [{ file: "a.onnx", sha256: sha("model bytes"), bytes: 11, fold: 0 }], combine: "mean", uncertainty: "" },
    calibration: { scale: 1 },
    threshold: { good_conductor_below_ev: 0.65 },
    inputs: { atomic_number: { dtype: "int64", shape: ["atoms"] } },
    outputs: { em: { dtype: "float32", shape: ["graphs", 1] } },
  };

  const applicability = {
    elements: ["Li", "O"],
    ions: ["Li"],
    hop_length_angstrom: [1.5, 9],
    clearance: { warn_below_angstrom: 1, n_below: 3, heldout_mae_below_ev: 0.6, heldout_mean_error_below_ev: null, heldout_mae_all_ev: 0.26, bins: [] },
  };

  it("accepts a consistent card and names its version", () => {
    const loaded = loadModelCard(write(base, { "a.onnx": "model bytes" }));
    expect(loaded.modelVersion).toBe("m@1");
    expect(loaded.memberPaths[0]).toMatch(/a\.onnx$/);
    // With its applicability block, and with cards from before the clearance table or without hop lengths.
    const { clearance: _c, ...noClearance } = applicability;
    for (const app of [applicability, noClearance, { ...noClearance, hop_length_angstrom: null }]) {
      expect(loadModelCard(write({ ...base, applicability: app }, { "a.onnx": "model bytes" })).card.applicability).toEqual(app);
    }
  });

  it("says why a member file that is there cannot be read (a folder is not missing)", () => {
    const path = write(base, {});
    mkdirSync(join(dirname(path), "a.onnx"));
    expect(() => loadModelCard(path)).toThrowError(/member file a\.onnx cannot be read: EISDIR/);
  });

  it("refuses an empty member file by name, not with ONNX Runtime's words for it", async () => {
    // An empty file whose SHA-256 (of nothing) is what the card records: it passes the checksum.
    const path = write({ ...base, ensemble: { ...base.ensemble, members: [{ ...base.ensemble.members[0]!, sha256: sha("") }] } }, { "a.onnx": "" });
    expect(() => loadModelCard(path)).toThrowError(new ModelCardError(`${path}: member file a.onnx is empty (0 bytes), not an ONNX model`));
    // Opened directly, by path or from bytes: ONNX Runtime said "Model data pointer is null" or "ModelProto does not have a graph".
    const file = join(dirname(path), "a.onnx");
    for (const options of [{}, { bytes: new Uint8Array(0) }]) {
      const error = await openOnnxModel(file, options).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(OnnxRuntimeError);
      expect((error as Error).message).toBe(`cannot load ONNX model ${file}: the file is empty (0 bytes)`);
    }
  });

  it("refuses an em output of another type than float32, the Em the service reads", () => {
    const path = write({ ...base, outputs: { em: { dtype: "int64", shape: ["graphs", 1] } } }, { "a.onnx": "model bytes" });
    expect(() => loadModelCard(path)).toThrowError(new ModelCardError(`${path}: outputs.em is int64; the service reads Em as float32 (eV)`));
  });

  it("refuses a featurizer mismatch, a missing or altered member, and missing fields", () => {
    expect(() => loadModelCard(write({ ...base, featurizer: { version: "ionrank-fz1-k16-c8-x-i5-00000000", config: DEFAULT_FEATURIZER_CONFIG } }, { "a.onnx": "model bytes" }))).toThrowError(
      /model m@1 \(\/.*m\.card\.json\) was built with featurizer ionrank-fz1-k16/,
    );
    expect(() => loadModelCard(write(base, {}))).toThrowError(/member file a\.onnx is missing/);
    expect(() => loadModelCard(write(base, { "a.onnx": "other bytes" }))).toThrowError(/a\.onnx has SHA-256 .* the card says/);
    const { threshold: _t, ...noThreshold } = base;
    expect(() => loadModelCard(write(noThreshold, { "a.onnx": "model bytes" }))).toThrowError(ModelCardError);
  });

  it("refuses fields of the wrong type or range, each by name, as a ModelCardError naming the card", () => {
    const member = base.ensemble.members[0]!;
    const cases: [object, RegExp][] = [
      [{ ...base, calibration: { scale: 0 } }, /calibration\.scale must be a positive number, not 0/],
      [{ ...base, calibration: { scale: -1 } }, /calibration\.scale must be a positive number, not -1/],
      [{ ...base, calibration: { scale: "NaN" } }, /calibration\.scale must be a positive number, not "NaN"/],
      [{ ...base, calibration: {} }, /calibration\.scale must be a positive number, not undefined/],
      [{ ...base, threshold: { good_conductor_below_ev: null } }, /threshold\.good_conductor_below_ev must be a positive number \(eV\), not null/],
      [{ ...base, threshold: { good_conductor_below_ev: "0.65" } }, /threshold\.good_conductor_below_ev must be a positive number/],
      [{ ...base, inputs: undefined }, /model card has no "inputs"/],
      [{ ...base, outputs: { energy: { dtype: "float32", shape: [1] } } }, /"outputs" has no "em" tensor/],
      [{ ...base, featurizer: null }, /model card has no "featurizer"/],
      [{ ...base, name: 5 }, /"name" must be a non-empty string/],
      [{ ...base, ensemble: { members: [{ ...member, file: 7 }] } }, /ensemble member 0 must have "file" and "sha256" strings/],
      [{ ...base, ensemble: { members: [{ file: "a.onnx" }] } }, /ensemble member 0 must have "file" and "sha256" strings/],
      [{ ...base, ensemble: { members: [{ ...member, file: "../../a.onnx" }] } }, /"\.\.\/\.\.\/a\.onnx" is not a file name in the card's folder/],
      [{ ...base, ensemble: { members: [member, member] } }, /ensemble member 1: a\.onnx is listed twice/],
      [{ ...base, ensemble: { members: [{ ...member, sha256: "abc" }] } }, /"sha256" is not a SHA-256 in hex/],
      // The applicability block the warnings read: malformed, it used to fail every prediction with a TypeError.
      [{ ...base, applicability: { ...applicability, elements: "Li" } }, /applicability\.elements must be a list of element symbols, not "Li"/],
      [{ ...base, applicability: {} }, /applicability\.elements must be a list of element symbols, not undefined/],
      [{ ...base, applicability: { ...applicability, hop_length_angstrom: [1.5] } }, /applicability\.hop_length_angstrom must be null or \[shortest, longest\] in Å, not \[1\.5\]/],
      [{ ...base, applicability: { ...applicability, clearance: { ...applicability.clearance, heldout_mae_all_ev: undefined } } }, /applicability\.clearance\.heldout_mae_all_ev must be a number \(eV\), not undefined/],
      [{ ...base, applicability: { ...applicability, clearance: { ...applicability.clearance, heldout_mae_below_ev: "0.6" } } }, /applicability\.clearance\.heldout_mae_below_ev must be a number \(eV\) or null, not "0\.6"/],
      [{ ...base, applicability: { ...applicability, clearance: { ...applicability.clearance, warn_below_angstrom: 0 } } }, /applicability\.clearance\.warn_below_angstrom must be a positive number/],
    ];
    for (const [card, message] of cases) {
      const path = write(card, { "a.onnx": "model bytes" });
      const error = (() => {
        try {
          loadModelCard(path);
        } catch (e) {
          return e as Error;
        }
        return null;
      })();
      expect(error, JSON.stringify(card)).toBeInstanceOf(ModelCardError);
      expect(error!.message.startsWith(`${path}: `)).toBe(true);
      expect(error!.message).toMatch(message);
    }
  });
});
