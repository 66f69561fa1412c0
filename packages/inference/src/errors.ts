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

/** An option given to the service is out of range. */
export class InferenceOptionsError extends InferenceError {
  override name = "InferenceOptionsError";
}

/** One pathway could not be predicted (the others in its batch were); `kind` is the underlying error's name. */
export class PredictionError extends InferenceError {
  override name = "PredictionError";
  constructor(
    message: string,
    readonly kind: string,
  ) {
    super(message);
  }
}
