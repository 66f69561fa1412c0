/** Base class of the inference package's deliberate errors. */
export class InferenceError extends Error {
  override name = "InferenceError";
}

/** A model card is missing, unreadable or does not describe a usable model. */
export class ModelCardError extends InferenceError {
  override name = "ModelCardError";
}

/** ONNX Runtime could not load or run a model. */
export class OnnxRuntimeError extends InferenceError {
  override name = "OnnxRuntimeError";
}
