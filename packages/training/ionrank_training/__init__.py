"""IonRank's PyTorch training core: reads featurized graph datasets (``ionrank featurize``), trains the
ALIGNN-style Em model (multi-property pre-training, fine-tuning, cross-validation, ensembles) and exports
ONNX models with model cards. Run as ``python3 -m ionrank_training <command>``."""
