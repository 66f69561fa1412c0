export { trainPipeline, STAGES, type Stage, type TrainOptions, type ModelSize } from "./pipeline.js";
export { runTrainingCore, TrainingError, PYTHON, TRAINING_ROOT } from "./python.js";
