"""ONNX export of ensemble members, and the model card."""
import datetime
import hashlib
import json
import os

import numpy as np
import torch

from .data import MODEL_INPUTS, GraphDataset, make_batch
from .model import EmNet, model_inputs, parameter_count, to_tensors

OPSET = 17

INPUT_SPEC = {
    "atomic_number": {"dtype": "int64", "shape": ["atoms"], "meaning": "Z of each atom (rows of the element table)"},
    "is_image": {"dtype": "float32", "shape": ["atoms"], "meaning": "1 for the moving ion's path images"},
    "nbr_index": {"dtype": "int64", "shape": ["atoms", "neighbours"], "meaning": "batch-wide index of each neighbour slot (0 when padded)"},
    "nbr_vector": {"dtype": "float32", "shape": ["atoms", "neighbours", 3], "meaning": "centre → neighbour vector, Å"},
    "nbr_mask": {"dtype": "float32", "shape": ["atoms", "neighbours"], "meaning": "1 for real neighbour slots, 0 for padding"},
    "graph_index": {"dtype": "int64", "shape": ["atoms"], "meaning": "graph of each atom"},
    "atom_counts": {"dtype": "float32", "shape": ["graphs"], "meaning": "atoms per graph"},
}
OUTPUT_SPEC = {"em": {"dtype": "float32", "shape": ["graphs", 1], "meaning": "migration barrier Em, eV"}}


def sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def load_member(path: str, ds: GraphDataset) -> EmNet:
    ck = torch.load(path, map_location="cpu")
    cfg = dict(ck["config"])
    outputs = cfg.pop("outputs")
    cutoff = cfg.pop("cutoff")
    m = EmNet(ds.arrays["element_features"], outputs=outputs, cutoff=cutoff, **cfg)
    m.load_state_dict(ck["model"])
    m.eval()
    return m


def export_member(model: EmNet, ds: GraphDataset, path: str):
    sample = to_tensors(make_batch(ds, list(range(min(3, ds.count)))))
    dyn = {
        "atomic_number": {0: "atoms"},
        "is_image": {0: "atoms"},
        "nbr_index": {0: "atoms", 1: "neighbours"},
        "nbr_vector": {0: "atoms", 1: "neighbours"},
        "nbr_mask": {0: "atoms", 1: "neighbours"},
        "graph_index": {0: "atoms"},
        "atom_counts": {0: "graphs"},
        "em": {0: "graphs"},
    }
    torch.onnx.export(model, model_inputs(sample), path, input_names=MODEL_INPUTS, output_names=["em"],
                      dynamic_axes=dyn, opset_version=OPSET, do_constant_folding=True)


def export_ensemble(ds: GraphDataset, cv_dir: str, out_dir: str, name: str, version: str, scratch_dir: str | None,
                    pretrain_dir: str | None, parity_count: int = 24) -> dict:
    with open(os.path.join(cv_dir, "cv.json")) as f:
        cv = json.load(f)
    os.makedirs(out_dir, exist_ok=True)
    members = []
    parity_idx = list(range(min(parity_count, ds.count)))
    parity_preds = []
    params = None
    for k, member in enumerate(cv["members"]):
        model = load_member(os.path.join(cv_dir, member), ds)
        params = parameter_count(model)
        file = f"{name}.member{k}.onnx"
        path = os.path.join(out_dir, file)
        export_member(model, ds, path)
        with torch.no_grad():
            parity_preds.append(model(*model_inputs(to_tensors(make_batch(ds, parity_idx))))[:, 0].numpy().tolist())
        members.append({"file": file, "sha256": sha256(path), "bytes": os.path.getsize(path), "fold": k})
    scratch = None
    if scratch_dir and os.path.exists(os.path.join(scratch_dir, "cv.json")):
        with open(os.path.join(scratch_dir, "cv.json")) as f:
            scratch = json.load(f)
    pre = None
    if pretrain_dir and os.path.exists(os.path.join(pretrain_dir, "pretrain.json")):
        with open(os.path.join(pretrain_dir, "pretrain.json")) as f:
            pre = json.load(f)
    card = {
        "name": name,
        "version": version,
        "date": datetime.date.today().isoformat(),
        "task": "ionic migration barrier Em (eV) of one hop, from its 5-image path structure",
        "featurizer": ds.manifest["featurizer"],
        "inputs": INPUT_SPEC,
        "outputs": OUTPUT_SPEC,
        "opset": OPSET,
        "architecture": {"family": "ALIGNN-style edge-gated convolutions, dense fixed-k layout, LayerNorm", **cv["model"],
                         "parameters": params},
        "ensemble": {"members": members, "combine": "mean", "uncertainty": "sample standard deviation of members × calibration.scale"},
        "calibration": cv["calibration"],
        "threshold": {"good_conductor_below_ev": 0.65},
        "cv": {
            "folds": len(cv["members"]),
            "stratified_by": "moving ion",
            "fold_seed": cv["fold_seed"],
            "fold_of_entry": dict(zip(ds.ids(), cv["folds"])),
            "pretrained": {"metrics": cv["metrics"], "per_fold": cv["per_fold"], "epochs": cv["epochs"], "seconds": cv["seconds"]},
            "scratch": None if scratch is None else {"metrics": scratch["metrics"], "per_fold": scratch["per_fold"],
                                                    "epochs": scratch["epochs"], "seconds": scratch["seconds"]},
        },
        "pretraining": None if pre is None else {k: pre[k] for k in ("properties", "validation_mae", "epochs", "seconds", "train_size", "validation_size", "sources")},
        "training_data": {"finetune": ds.sha256_of_sources()},
        "hyperparameters": cv["hyperparameters"],
        "parity": {"entries": [ds.ids()[i] for i in parity_idx], "pytorch_member_predictions": parity_preds, "tolerance_ev": 1e-4},
        "labels": "Em from literature DFT NEB (GGA/GGA+U/SCAN/LDA) as compiled by Devi, Butler & Sai Gautam, doi:10.1038/s41524-026-01972-8",
    }
    path = os.path.join(out_dir, f"{name}.card.json")
    with open(path, "w") as f:
        json.dump(card, f, indent=1)
        f.write("\n")
    return card

