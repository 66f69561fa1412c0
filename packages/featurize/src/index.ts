export { ELEMENT_PROPERTIES, ELEMENT_PROPERTY_SOURCES, type ElementProperties } from "./elements-table.js";
export { ELEMENT_FEATURES, ELEMENT_FEATURE_LENGTH, ENCODING_SEGMENTS, MAX_ATOMIC_NUMBER, elementFeatures } from "./encoding.js";
export {
  DEFAULT_FEATURIZER_CONFIG,
  featurizerVersion,
  assertFeaturizerVersion,
  bulkFeaturizerVersion,
  checkFeaturizerConfig,
  FeaturizerConfigError,
  FeaturizerMismatchError,
  IMAGE_BONDS,
  type FeaturizerConfig,
  type ImageBonds,
} from "./config.js";
export { structureGraph, pathwayGraph, pathStructureGraph, lineGraph, UnsupportedElementError, type CrystalGraph, type LineGraph } from "./graph.js";
export { collate, type GraphBatch } from "./collate.js";
export {
  featurizeDataset,
  DatasetError,
  DATASET_FORMAT,
  DATASET_FORMAT_VERSION,
  type DatasetInput,
  type DatasetKind,
  type DatasetSummary,
  type IsolatedAtoms,
  type FeaturizeDatasetOptions,
} from "./dataset.js";
