export { trainPipeline, STAGES, READOUTS, type Stage, type TrainOptions, type ModelSize, type Readout } from "./pipeline.js";
export { runTrainingCore, TrainingError, PYTHON, TRAINING_ROOT } from "./python.js";
