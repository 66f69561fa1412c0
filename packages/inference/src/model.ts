import type { CrystalGraph } from "@ionrank/featurize";
import { openOnnxModel, type OnnxModel, type SessionOptions } from "./backend.js";
import { ensembleSummary, loadModelCard, type ModelCard } from "./card.js";
import { PredictionError } from "./errors.js";
import { nonFiniteEm, planRuns, runMembers, tailGraph } from "./runs.js";

/** One Em prediction: ensemble mean, calibrated uncertainty, and each member's value (all eV). */
export interface EmPrediction {
  em: number;
  /** Member standard deviation × the card's calibration scale (≈ 1σ, 68 % coverage on cross-validation). */
  uncertainty: number;
  members: number[];
  /** Em below the card's threshold (0.65 eV): a "good conductor" hop. */
  goodConductor: boolean;
  /** "<name>@<version>" of the model that made it. */
  modelVersion: string;
}

/** The shipped Em ensemble: every member of a model card, run on ONNX Runtime. */
export class EmModel {
  private tail: CrystalGraph | null = null;

  private constructor(
    readonly card: ModelCard,
    readonly modelVersion: string,
    private readonly members: OnnxModel[],
  ) {}

  static async load(cardPath: string, options: SessionOptions = {}): Promise<EmModel> {
    const loaded = loadModelCard(cardPath);
    const members = await Promise.all(loaded.memberPaths.map((p) => openOnnxModel(p, options)));
    return new EmModel(loaded.card, loaded.modelVersion, members);
  }

  get provider(): string {
    return this.members[0]!.provider;
  }

  /**
   * Raw member outputs for graphs, as [member][graph]: the same numbers the service gives (runs planned alike).
   * A member answering NaN or ±Infinity for a graph is a PredictionError naming the graph and the member, as
   * the service refuses that pathway.
   */
  async memberPredictions(graphs: readonly CrystalGraph[]): Promise<number[][]> {
    const out = this.members.map(() => new Array<number>(graphs.length));
    this.tail ??= tailGraph(this.card.featurizer.config);
    for (const run of planRuns(graphs.map((graph, i) => ({ graph, i })))) {
      const per = await runMembers(this.members, run.map((x) => x.graph), this.tail);
      per.forEach((values, k) => run.forEach((x, j) => (out[k]![x.i] = values[j]!)));
    }
    const paths = this.members.map((m) => m.path);
    for (let g = 0; g < graphs.length; g++) {
      const bad = nonFiniteEm(paths, out.map((m) => m[g]!));
      if (bad) throw new PredictionError(`graph ${g}: ${bad.message}`, bad.name);
    }
    return out;
  }

  /** Predict Em for path-structure graphs (see `pathwayGraph`). */
  async predict(graphs: readonly CrystalGraph[]): Promise<EmPrediction[]> {
    const per = await this.memberPredictions(graphs);
    const threshold = this.card.threshold.good_conductor_below_ev;
    return graphs.map((_, g) => {
      const values = per.map((m) => m[g]!);
      const { mean, std } = ensembleSummary(values, this.card);
      return { em: mean, uncertainty: std, members: values, goodConductor: mean < threshold, modelVersion: this.modelVersion };
    });
  }

  async release(): Promise<void> {
    await Promise.all(this.members.map((m) => m.release()));
  }
}
