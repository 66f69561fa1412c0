import { createHash } from "node:crypto";
import { ELEMENT_FEATURES, ELEMENT_FEATURE_LENGTH } from "./encoding.js";

/** Everything that changes the tensors a model reads. Recorded in every dataset and model card. */
export interface FeaturizerConfig {
  /** Neighbours per atom (ties at the k-th distance are all kept). */
  k: number;
  /** Neighbour cutoff, Å. */
  cutoff: number;
  /** Node feature set: CGCNN-style element encoding plus the path-image flag. */
  features: "cgcnn92+image";
  /** Images per migration path in path structures. */
  images: number;
  /** Neighbours within this of the k-th distance count as tied, Å. */
  tieTolerance: number;
  /**
   * Path structures keep only the atoms within this distance of a path image, Å (0 = the whole path
   * structure). Em is a local property: cropping cuts the cost per pathway and stops mean pooling from
   * diluting the path's neighbourhood with far-away host atoms. Bulk structures are never cropped.
   */
  cropRadius: number;
  /**
   * Which bonds touch the moving ion's path images. "all": images bond like any atom, so up to four of an
   * image's k places go to the same ion's other images (the seed paper's MODEL-3). "host": an image's
   * neighbours are host atoms only — the other images are the same ion at other moments, not atoms it meets,
   * and bonds between them are collinear (angle cosines ±1) — while host atoms keep the images among their
   * neighbours. "probe": host atoms ignore the images too, so messages flow only host → image: the host
   * graph is the bare host and each image reads the host cage at its point on the path.
   * Bulk structures have no images, so this never changes bulk graphs.
   */
  imageBonds: ImageBonds;
}

export type ImageBonds = "all" | "host" | "probe";
export const IMAGE_BONDS: readonly ImageBonds[] = ["all", "host", "probe"];

export const DEFAULT_FEATURIZER_CONFIG: Readonly<FeaturizerConfig> = Object.freeze({
  k: 12,
  cutoff: 8,
  features: "cgcnn92+image",
  images: 5,
  tieTolerance: 1e-4,
  cropRadius: 0,
  imageBonds: "all",
});

/** Bump when the graph construction itself changes (not its parameters). */
const GRAPH_SCHEME = 1;

/**
 * The featurizer version string, e.g. "ionrank-fz1-k12-c8-cgcnn92+image-i5-3f2a9c1e": readable parameters
 * plus a hash of the scheme, every parameter and the element feature table, so any change that alters the
 * tensors changes the version.
 */
export function featurizerVersion(config: FeaturizerConfig = DEFAULT_FEATURIZER_CONFIG): string {
  checkFeaturizerConfig(config);
  const bonds = imageBondsOf(config);
  return bulkFeaturizerVersion(config) + (cropOf(config) > 0 ? `-crop${cropOf(config)}` : "") + (bonds === "all" ? "" : `-i${bonds}`);
}

/**
 * The version without the crop radius: the part that bulk (pre-training) graphs depend on, so a trunk
 * pre-trained on bulk structures can be fine-tuned on cropped path structures.
 */
export function bulkFeaturizerVersion(config: FeaturizerConfig = DEFAULT_FEATURIZER_CONFIG): string {
  checkFeaturizerConfig(config);
  const h = createHash("sha256");
  h.update(JSON.stringify({ scheme: GRAPH_SCHEME, ...canonical(config), featureLength: ELEMENT_FEATURE_LENGTH }));
  h.update(new Uint8Array(ELEMENT_FEATURES.buffer, ELEMENT_FEATURES.byteOffset, ELEMENT_FEATURES.byteLength));
  return `ionrank-fz${GRAPH_SCHEME}-k${config.k}-c${config.cutoff}-${config.features}-i${config.images}-${h.digest("hex").slice(0, 8)}`;
}

function canonical(c: FeaturizerConfig): Omit<FeaturizerConfig, "cropRadius" | "imageBonds"> {
  return { k: c.k, cutoff: c.cutoff, features: c.features, images: c.images, tieTolerance: c.tieTolerance };
}

// Cards and datasets written before cropping existed have no cropRadius: they are uncropped.
function cropOf(c: FeaturizerConfig): number {
  return c.cropRadius ?? 0;
}

/** Cards and datasets written before the option existed have no imageBonds: images bonded like any atom. */
export function imageBondsOf(c: FeaturizerConfig): ImageBonds {
  const v = c.imageBonds ?? "all";
  if (!IMAGE_BONDS.includes(v)) throw new FeaturizerConfigError(`imageBonds is ${JSON.stringify(v)}; this IonRank knows ${IMAGE_BONDS.join(", ")}`);
  return v;
}

/**
 * Throw FeaturizerConfigError unless every setting is one graphs can be built with. Out-of-range values would
 * not fail later: a negative or NaN tieTolerance cuts ties by site order, a negative or NaN cropRadius means
 * "no crop", an unknown feature set is ignored — each a silently different graph under a version that names it.
 */
export function checkFeaturizerConfig(c: FeaturizerConfig): void {
  const bad = (what: string, v: unknown, want: string) => {
    throw new FeaturizerConfigError(`${what} is ${typeof v === "number" ? String(v) : JSON.stringify(v)}; it must be ${want}`);
  };
  if (c === null || typeof c !== "object") throw new FeaturizerConfigError(`a featurizer config is an object, not ${JSON.stringify(c)}`);
  if (!(Number.isInteger(c.k) && c.k >= 1)) bad("k", c.k, "a positive integer");
  if (!(typeof c.cutoff === "number" && Number.isFinite(c.cutoff) && c.cutoff > 0)) bad("cutoff", c.cutoff, "a positive, finite distance in Å");
  if (c.features !== "cgcnn92+image") bad("features", c.features, '"cgcnn92+image", the only feature set this IonRank knows');
  if (!(Number.isInteger(c.images) && c.images >= 2)) bad("images", c.images, "an integer ≥ 2");
  if (!(typeof c.tieTolerance === "number" && Number.isFinite(c.tieTolerance) && c.tieTolerance >= 0)) bad("tieTolerance", c.tieTolerance, "a finite distance ≥ 0 Å");
  const crop = cropOf(c);
  if (!(typeof crop === "number" && Number.isFinite(crop) && crop >= 0)) bad("cropRadius", crop, "a finite distance ≥ 0 Å (0: no crop)");
  imageBondsOf(c);
}

/** A featurizer setting (from a card, a dataset or a caller) that this IonRank does not know. */
export class FeaturizerConfigError extends Error {
  override name = "FeaturizerConfigError";
}

/** A model (or dataset) was built with a different featurizer than the one running. */
export class FeaturizerMismatchError extends Error {
  override name = "FeaturizerMismatchError";
  constructor(
    readonly expected: string,
    readonly actual: string,
    readonly what: string,
  ) {
    super(`${what} was built with featurizer ${expected}, but this IonRank runs ${actual}: re-featurize and retrain, or run the matching IonRank version`);
  }
}

/** Throw unless `version` is exactly the running featurizer's version. */
export function assertFeaturizerVersion(version: string, what = "the model", config: FeaturizerConfig = DEFAULT_FEATURIZER_CONFIG): void {
  let running: string;
  try {
    running = featurizerVersion(config);
  } catch (e) {
    // Name the model (or dataset) whose settings they are.
    if (e instanceof FeaturizerConfigError) throw new FeaturizerConfigError(`${what} has featurizer settings this IonRank cannot use: ${e.message}`);
    throw e;
  }
  if (version !== running) throw new FeaturizerMismatchError(version, running, what);
}
