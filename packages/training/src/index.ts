export { trainPipeline, MODEL_NAME, STAGES, READOUTS, TARGET_SPACES, type Stage, type TrainOptions, type ModelSize, type Readout, type TargetSpace } from "./pipeline.js";
export { runTrainingCore, TrainingError, PYTHON, TRAINING_ROOT } from "./python.js";
