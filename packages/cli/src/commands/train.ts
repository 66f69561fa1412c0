import { existsSync } from "node:fs";
import { join } from "node:path";
import { IMAGE_BONDS, type ImageBonds } from "@ionrank/featurize";
import { MODEL_NAME, READOUTS, TARGET_SPACES, type TargetSpace, STAGES, trainPipeline, TrainingError, type Readout, type Stage } from "@ionrank/training";
import { numberFlag, parseArgs } from "../args.js";
import { UsageError, type Output } from "../io.js";

export const trainHelp = `ionrank train --em FILE [--pretrain FILE ... | --trunk FILE] [--work DIR] [--out models] [--name em] [--model-version 1.0.0]
              [--hidden 64] [--alignn-layers 2] [--gcn-layers 2] [--line-k 8] [--readout path|mean]
              [--target identity|log1p] [--dropout 0] [--noise 0.05] [--crop-radius 3.5] [--image-bonds all|host|probe]
              [--pretrain-epochs 4] [--epochs 60] [--folds 5] [--cv-seeds 3] [--members 5] [--batch-size 32] [--seed 0]
              [--jobs N] [--limit N] [--stage S ...]
              [--replace]

The whole Em pipeline: featurize → pre-train on the --pretrain files (multi-property, masked) →
fine-tune with k-fold cross-validation, --cv-seeds runs on the same folds with other seeds (the model card's
figures) → --members networks fine-tuned the same way on every entry (the shipped ensemble; the spread of the
runs' held-out predictions calibrates theirs; --members 0 ships the first run's fold models instead) → the
same cross-validation from scratch → export each member to ONNX with a model card in --out, the trunk beside
them (NAME.trunk.pt, its pre-training record NAME.trunk.json). --trunk FILE fine-tunes from a trunk pre-trained
earlier instead of pre-training (models/em.trunk.pt reruns the bundled model's fine-tuning). The training runs
after pre-training go --jobs at a time (default: one per core), each on 1 torch thread (faster for these small
graphs than 2; IONRANK_TORCH_THREADS overrides). Path structures are cropped to the atoms within
--crop-radius Å of the path (0 = keep all); the Em head reads the mean over all atoms and, with
--readout path, the moving ion's images too (their mean, maximum and middle image). --image-bonds all
(default) lets the ion's images neighbour each other; host and probe cut those bonds (see featurize --help).
--target log1p takes the fine-tuning loss on log(1 + Em); --dropout adds dropout to the Em head while training;
--noise S jitters every atom by S Å (standard deviation) in each fine-tuning batch (augmentation; 0.05 = em@2.3.0).
Stages: ${STAGES.join(", ")}; each resumes from its checkpoints in --work, so a killed run
continues where it stopped. A model already in --out under --name (the bundled models/em.card.json by
default) is only overwritten with --replace. Needs Debian's python3-torch.`;

export async function train(argv: readonly string[], out: Output): Promise<number> {
  const values = ["em", "pretrain", "trunk", "work", "out", "name", "model-version", "hidden", "alignn-layers", "gcn-layers", "line-k", "readout", "target", "dropout", "noise", "crop-radius", "image-bonds", "pretrain-epochs", "epochs", "folds", "cv-seeds", "members", "jobs", "batch-size", "seed", "limit", "stage"];
  const args = parseArgs(argv, { values, booleans: ["replace"], repeatable: ["em", "pretrain", "stage"] });
  if (args.positionals.length > 0) throw new UsageError(`unexpected argument "${args.positionals[0]}"`);
  const em = args.lists.get("em") ?? [];
  if (em.length === 0) throw new UsageError("train needs --em FILE (the 5-image Em dataset)");
  // numberFlag, not Number(): Number("") is 0 and Number("0x10") 16, so "--crop-radius=" would silently mean no crop.
  const int = (name: string, dflt: number, min = 0, max = Number.MAX_SAFE_INTEGER): number =>
    numberFlag(args, name, dflt, (n) => Number.isInteger(n) && n >= min && n <= max, `an integer ≥ ${min}${max < Number.MAX_SAFE_INTEGER ? ` and ≤ ${max}` : ""}`);
  const stages = (args.lists.get("stage") ?? []) as Stage[];
  for (const s of stages) if (!STAGES.includes(s)) throw new UsageError(`unknown --stage ${s}; stages are ${STAGES.join(", ")}`);
  const pretrain = args.lists.get("pretrain") ?? [];
  const trunk = args.flags.get("trunk") as string | undefined;
  if (trunk !== undefined && pretrain.length > 0) throw new UsageError("give either --pretrain FILE … (pre-train a trunk) or --trunk FILE (fine-tune from one pre-trained earlier), not both");
  if (trunk !== undefined && stages.includes("pretrain")) throw new UsageError(`--stage pretrain: with --trunk ${trunk} there is nothing to pre-train`);
  for (const s of ["pretrain", "scratch"] as const) {
    if (stages.includes(s) && pretrain.length === 0 && trunk === undefined) throw new UsageError(`--stage ${s} needs --pretrain FILE (the pre-training data)${s === "scratch" ? ": scratch is the comparison with a pre-trained model" : ""}`);
  }
  const str = (name: string, dflt: string) => (args.flags.get(name) as string | undefined) ?? dflt;
  const oneOf = <T extends string>(name: string, dflt: T, allowed: readonly T[]): T => {
    const v = str(name, dflt) as T;
    if (!allowed.includes(v)) throw new UsageError(`--${name} must be one of ${allowed.join(", ")}`);
    return v;
  };
  const num = (name: string, dflt: number, ok: (v: number) => boolean, what: string): number => numberFlag(args, name, dflt, ok, what);
  const limit = int("limit", 0);
  const cropRadius = num("crop-radius", 3.5, (v) => Number.isFinite(v) && v >= 0, "a distance in Å ≥ 0");
  const readout = oneOf<Readout>("readout", "path", READOUTS);
  const target = oneOf<TargetSpace>("target", "identity", TARGET_SPACES);
  const dropout = num("dropout", 0, (v) => v >= 0 && v < 1, "a probability in [0, 1)");
  const positionNoise = num("noise", 0.05, (v) => v >= 0 && v <= 1, "a distance in Å in [0, 1]");
  const imageBonds = oneOf<ImageBonds>("image-bonds", "all", IMAGE_BONDS);
  // The name becomes file names in --out (NAME.card.json, NAME.member0.onnx): "../x" or "" would write elsewhere.
  const name = str("name", "em");
  if (!MODEL_NAME.test(name)) throw new UsageError(`--name must be a plain file name (letters, digits, ".", "_", "-"; got "${name}"): the model is written as NAME.card.json in --out`);
  const version = str("model-version", "1.0.0");
  if (!/^\S+$/.test(version)) throw new UsageError(`--model-version must be a version without blanks, e.g. 1.0.0 (got "${version}")`);
  const options = {
    em: em.map((file) => ({ file, property: "em" })),
    pretrain: pretrain.map((file) => ({ file })),
    ...(trunk !== undefined ? { trunk } : {}),
    work: str("work", join(".data", "training")),
    out: str("out", "models"),
    name,
    version,
    size: { hidden: int("hidden", 64, 1), alignnLayers: int("alignn-layers", 2), gcnLayers: int("gcn-layers", 2), lineK: int("line-k", 8), readout, target, dropout },
    cropRadius,
    imageBonds,
    pretrainEpochs: int("pretrain-epochs", 4, 1),
    finetuneEpochs: int("epochs", 60, 1),
    positionNoise,
    folds: int("folds", 5, 2),
    cvSeeds: int("cv-seeds", 3, 1),
    members: int("members", 5, 0),
    ...(args.flags.has("jobs") ? { jobs: int("jobs", 1, 1) } : {}),
    batchSize: int("batch-size", 32, 1),
    seed: int("seed", 0, 0, 2 ** 32 - 1), // numpy and torch seeds are 32-bit
    ...(limit > 0 ? { limit } : {}),
    ...(stages.length > 0 ? { stages } : {}),
  };
  // The defaults (--out models --name em) are the bundled model: hours of training would end by overwriting it.
  const existing = join(options.out, `${name}.card.json`);
  if ((stages.length === 0 || stages.includes("export")) && existsSync(existing) && !args.flags.has("replace")) {
    throw new UsageError(`--out ${options.out} already holds a model named "${name}" (${existing}): give --replace to overwrite it, or another --out or --name`);
  }
  try {
    const { card } = await trainPipeline(
      options,
      (line) => out.stderr(`train: ${line}\n`),
    );
    out.stdout(JSON.stringify({ card }) + "\n");
    return 0;
  } catch (e) {
    if (e instanceof TrainingError) {
      out.stderr(`error: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
}
