export { EmModel, type EmPrediction } from "./model.js";
export { loadModelCard, ensembleSummary, type ModelCard, type LoadedCard, type RegressionMetrics } from "./card.js";
export { openOnnxModel, type OnnxModel, type Provider, type SessionOptions, type TensorData } from "./backend.js";
export { modelInputs } from "./tensors.js";
export { InferenceError, InferenceOptionsError, ModelCardError, OnnxRuntimeError, PredictionError } from "./errors.js";
export { EmPredictor, pathInput, normalCdf, type EmResult, type PathInput, type PredictorOptions } from "./predictor.js";
