"""ONNX export of ensemble members, and the model card."""
import datetime
import os
import shutil

import numpy as np
import torch

from .data import MODEL_INPUTS, GraphDataset, make_batch
from .model import EmNet, model_inputs, parameter_count, to_tensors
from .errors import CheckpointError, OptionError, read_json, write_json
from .train import file_sha256, load_checkpoint, predict, regression_metrics, seed_calibration

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


def load_member(path: str, ds: GraphDataset) -> EmNet:
    ck = load_checkpoint(path, map_location="cpu")
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
    exact_sigmoid(path)


def exact_sigmoid(path: str):
    """Rewrite every ONNX Sigmoid (also the one inside each exported SiLU) as 1 / (1 + exp(−x)).

    ONNX Runtime's CPU Sigmoid uses MLAS's fast logistic approximation (onnxruntime #22557); through the
    gates and SiLUs of this network that moved the output by up to 4.5e-4 eV from PyTorch. The explicit form
    is exact to float32 rounding (measured 1e-6 eV) and saturates cleanly: exp(−x) = inf gives 0, not NaN."""
    import onnx
    from onnx import TensorProto, helper

    m = onnx.load(path)
    g = m.graph
    g.initializer.append(helper.make_tensor("exact_sigmoid_one", TensorProto.FLOAT, [], [1.0]))
    nodes = []
    for i, n in enumerate(g.node):
        if n.op_type != "Sigmoid":
            nodes.append(n)
            continue
        x, y, t = n.input[0], n.output[0], f"exact_sigmoid_{i}"
        nodes += [helper.make_node("Neg", [x], [t + "_neg"]), helper.make_node("Exp", [t + "_neg"], [t + "_exp"]),
                  helper.make_node("Add", [t + "_exp", "exact_sigmoid_one"], [t + "_den"]),
                  helper.make_node("Div", ["exact_sigmoid_one", t + "_den"], [y])]
    del g.node[:]
    g.node.extend(nodes)
    onnx.checker.check_model(m)
    onnx.save(m, path)


SYMBOLS = ("H He Li Be B C N O F Ne Na Mg Al Si P S Cl Ar K Ca Sc Ti V Cr Mn Fe Co Ni Cu Zn Ga Ge As Se Br Kr Rb Sr Y Zr Nb Mo Tc Ru Rh Pd "
           "Ag Cd In Sn Sb Te I Xe Cs Ba La Ce Pr Nd Pm Sm Eu Gd Tb Dy Ho Er Tm Yb Lu Hf Ta W Re Os Ir Pt Au Hg Tl Pb Bi Po At Rn Fr Ra Ac "
           "Th Pa U Np Pu Am Cm Bk Cf Es Fm Md No Lr").split()


def path_steps(ds: GraphDataset) -> list:
    """The vector from each path's first image to its second (None when the graph has no such images).

    The dataset has bond vectors, not positions: use the bond 0→1 where images neighbour each other, else a
    host atom both images bond to (x1 − x0 = v(0→j) − v(1→j); the shortest such difference, so another
    periodic copy of j cannot stand in for it)."""
    a = ds.arrays
    steps = []
    for g in range(ds.count):
        a0 = int(a["atom_offsets"][g])
        if a["is_image"][a0] != 1 or a["is_image"][a0 + 1] != 1:
            steps.append(None)
            continue
        e0, e1, e2 = (int(a["edge_offsets"][a0 + i]) for i in range(3))
        n0, n1 = a["edge_neighbour"][e0:e1], a["edge_neighbour"][e1:e2]
        hit = np.flatnonzero(n0 == 1)
        if len(hit):
            steps.append(a["edge_vector"][e0 + hit[0]].astype(np.float64))
            continue
        v0, v1 = a["edge_vector"][e0:e1].astype(np.float64), a["edge_vector"][e1:e2].astype(np.float64)
        diffs = [v0[i] - v1[j] for i in range(len(n0)) for j in np.flatnonzero(n1 == n0[i])]
        steps.append(min(diffs, key=np.linalg.norm) if diffs else None)
    return steps


# Clearances are reliable below this: a host atom that close to the path is always among its nearest
# image's bonded neighbours, which is all the dataset keeps.
CLEARANCE_CAP = 2.0


def path_clearances(ds: GraphDataset, steps: list) -> list:
    """Closest approach (Å) of a host atom to each path's straight segment, first to last image; None at or
    above CLEARANCE_CAP. Matches @ionrank/crystal's pathClearance, which the service warns with."""
    a = ds.arrays
    images = int(ds.manifest["featurizer"]["config"]["images"])
    out = []
    for g in range(ds.count):
        if steps[g] is None:
            out.append(None)
            continue
        a0 = int(a["atom_offsets"][g])
        seg = steps[g] * (images - 1)
        best = np.inf
        for i in range(images):
            e0, e1 = int(a["edge_offsets"][a0 + i]), int(a["edge_offsets"][a0 + i + 1])
            host = a["is_image"][a0 + a["edge_neighbour"][e0:e1]] == 0
            r = i * steps[g] + a["edge_vector"][e0:e1][host].astype(np.float64)  # host atoms, from image 0
            if len(r) == 0:
                continue
            t = np.clip(r @ seg / (seg @ seg), 0.0, 1.0)
            best = min(best, float(np.linalg.norm(r - t[:, None] * seg[None, :], axis=1).min()))
        out.append(best if best < CLEARANCE_CAP else None)
    return out


def clearance_summary(clearances: list, targets: np.ndarray, heldout: np.ndarray, warn_below: float = 1.0) -> dict:
    """Held-out error of the cross-validation by how close the path passes to a host atom."""
    c = np.array([CLEARANCE_CAP if x is None else x for x in clearances])
    err = np.abs(np.asarray(heldout) - np.asarray(targets))
    edges = [0.0, 0.5, 1.0, 1.5, CLEARANCE_CAP, None]
    bins = []
    for lo, hi in zip(edges[:-1], edges[1:]):
        m = (c >= lo) & (c < hi) if hi is not None else c >= lo
        bins.append({"from_angstrom": lo, "to_angstrom": hi, "n": int(m.sum()),
                     "heldout_mae_ev": float(err[m].mean()) if m.any() else None,
                     "mean_em_dft_ev": float(np.asarray(targets)[m].mean()) if m.any() else None})
    below = c < warn_below
    return {
        "definition": "closest approach of a host atom to the straight path from the first to the last image, Å",
        "warn_below_angstrom": warn_below,
        "heldout_mae_below_ev": float(err[below].mean()) if below.any() else None,
        # Predicted − DFT: negative when the model predicts these barriers too low.
        "heldout_mean_error_below_ev": float((np.asarray(heldout) - np.asarray(targets))[below].mean()) if below.any() else None,
        "n_below": int(below.sum()),
        "heldout_mae_all_ev": float(err.mean()),
        "bins": bins,
    }


def applicability(ds: GraphDataset, heldout: np.ndarray | None = None, clearances: list | None = None) -> dict:
    """What the Em training data covered, so predictions outside it can carry a warning; with the
    cross-validation's held-out predictions, also where in that range the model errs most (`clearances`:
    path_clearances(ds, ...) when the caller has them already)."""
    a = ds.arrays
    z = np.unique(a["atomic_number"])
    ions = np.unique(ds.ion_numbers())
    images = int(ds.manifest["featurizer"]["config"]["images"])
    steps = path_steps(ds)
    lengths = [float(np.linalg.norm(s)) * (images - 1) for s in steps if s is not None]
    out = {
        "elements": [SYMBOLS[i - 1] for i in z.tolist()],
        "ions": [SYMBOLS[i - 1] for i in ions.tolist() if i > 0],
        "atoms": [int(np.diff(a["atom_offsets"]).min()), int(np.diff(a["atom_offsets"]).max())],
        "hop_length_angstrom": [min(lengths), max(lengths)] if lengths else None,
    }
    if heldout is not None:
        out["clearance"] = clearance_summary(clearances if clearances is not None else path_clearances(ds, steps), ds.targets()[:, 0], heldout)
    return out


CV_KEYS = ("members", "folds", "fold_seed", "heldout_predictions", "metrics", "per_fold", "calibration", "epochs", "seconds", "model", "hyperparameters")


def export_ensemble(ds: GraphDataset, cv_dir: str, out_dir: str, name: str, version: str, scratch_dir: str | None,
                    trunk: str | None, parity_count: int = 24, variants: dict | None = None, design_notes: str | None = None,
                    limit: int = 0, seed_runs: list | None = None, members_dir: str | None = None) -> dict:
    """Export the ensemble and write its card. With `members_dir` the ensemble is the members stage's networks
    (trained on every entry) and their spread is calibrated on the held-out spread of the cross-validation runs
    cv_dir + seed_runs (same folds, other seeds); without it, the fold models of cv_dir are the ensemble.
    `trunk`: the pre-trained checkpoint the networks were fine-tuned from (None: from scratch); it ships beside the
    members as NAME.trunk.pt with its pre-training record NAME.trunk.json, so the fine-tuning can be rerun from it."""
    cv = read_cv(cv_dir, ds)
    runs = [cv] + [read_cv(d, ds) for d in seed_runs or []]
    for d, r in zip(seed_runs or [], runs[1:]):
        for key in ("folds", "fold_seed", "model", "hyperparameters", "epochs", "pretrained"):
            if r.get(key) != cv.get(key):
                raise CheckpointError(os.path.join(d, "cv.json"), f"differs from {os.path.join(cv_dir, 'cv.json')} in {key}: "
                                                                  "seed runs must be the same recipe on the same folds, with another --init-seed")
    seeds = [r.get("init_seed", r.get("fold_seed")) for r in runs]
    if len(set(seeds)) != len(seeds):
        raise OptionError("--cv", f"the cross-validation runs must have different init seeds (they have {seeds})")
    members = None
    if members_dir is not None:
        if len(runs) < 2:
            raise OptionError("--members", "needs two or more --cv runs (other --init-seed, same folds): their held-out spread calibrates the members")
        members = read_json(os.path.join(members_dir, "members.json"), "the members stage")
        for key in ("model", "hyperparameters", "epochs", "pretrained"):
            if members.get(key) != cv.get(key):
                raise CheckpointError(os.path.join(members_dir, "members.json"), f"differs from {os.path.join(cv_dir, 'cv.json')} in {key}: "
                                                                                 "the members must be trained with the cross-validated recipe")
        if members.get("featurizer") != ds.featurizer_version or members.get("entries") != ds.count:
            raise CheckpointError(os.path.join(members_dir, "members.json"), f"was trained on {members.get('entries')} entries of featurizer "
                                                                             f"{members.get('featurizer')}; the dataset has {ds.count} of {ds.featurizer_version}")
    if os.path.exists(out_dir) and not os.path.isdir(out_dir):
        raise OptionError(out_dir, "is a file: give a folder for the model")
    # Everything is written into a folder beside out_dir and moved in only when all succeeded, the card
    # last: a failed export never half-replaces an existing model of the same name.
    parent = os.path.dirname(os.path.abspath(out_dir))
    os.makedirs(parent, exist_ok=True)
    prefix = f".{os.path.basename(os.path.abspath(out_dir))}.{name}.partial-"
    stage = os.path.join(parent, f"{prefix}{os.getpid()}")
    remove_stale_stages(parent, prefix)
    shutil.rmtree(stage, ignore_errors=True)
    os.makedirs(stage)
    try:
        card = build_card(ds, cv, cv_dir, stage, name, version, scratch_dir, trunk, parity_count, variants, design_notes, limit,
                          runs=runs, members=members, members_dir=members_dir)
        os.makedirs(out_dir, exist_ok=True)
        shipped = card["pretraining"]["trunk"] if card["pretraining"] else {}
        files = [m["file"] for m in card["ensemble"]["members"]] + [shipped[k] for k in ("file", "record") if k in shipped] + [f"{name}.card.json"]
        for file in files:
            os.replace(os.path.join(stage, file), os.path.join(out_dir, file))
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    # Members of an earlier, larger ensemble of this name are no longer referenced by the card.
    k = len(card["ensemble"]["members"])
    while os.path.exists(os.path.join(out_dir, f"{name}.member{k}.onnx")):
        os.remove(os.path.join(out_dir, f"{name}.member{k}.onnx"))
        k += 1
    return card


def read_cv(cv_dir: str, ds: GraphDataset) -> dict:
    cv_path = os.path.join(cv_dir, "cv.json")
    cv = read_json(cv_path, "the finetune stage")
    missing = [k for k in CV_KEYS if not isinstance(cv, dict) or k not in cv]
    if missing:
        raise CheckpointError(cv_path, f"malformed (no {', '.join(missing)}): delete it to redo the finetune stage")
    if len(cv["folds"]) != ds.count or len(cv["heldout_predictions"]) != ds.count:
        raise CheckpointError(cv_path, f"covers {len(cv['folds'])} entries; the dataset has {ds.count}: export with the --limit and data the cv stage used")
    if cv.get("featurizer", ds.featurizer_version) != ds.featurizer_version:
        raise CheckpointError(cv_path, f"was trained on featurizer {cv['featurizer']}; the dataset uses {ds.featurizer_version}")
    return cv


def remove_stale_stages(parent: str, prefix: str):
    """Staging folders of exports that were killed (their process is gone): hidden, full of ONNX files, and
    beside --out (often the repository root), they would otherwise stay forever."""
    for entry in os.listdir(parent):
        pid = entry[len(prefix):]
        if not entry.startswith(prefix) or not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            os.kill(int(pid), 0)
            continue  # another export of this model is running: leave its folder alone
        except ProcessLookupError:
            shutil.rmtree(os.path.join(parent, entry), ignore_errors=True)
        except OSError:
            continue  # alive, but another user's


def trunk_record_path(trunk: str) -> str:
    """Where a trunk's pre-training record is: pretrain.json beside the pretrain stage's pretrained.pt, NAME.trunk.json
    beside a shipped NAME.trunk.pt (any other FILE.pt: FILE.json)."""
    if os.path.basename(trunk) == "pretrained.pt":
        return os.path.join(os.path.dirname(trunk), "pretrain.json")
    return os.path.splitext(trunk)[0] + ".json"


def ship_trunk(trunk: str, paths: list, out_dir: str, name: str) -> dict:
    """Copy the trunk the networks started from (and its record) into out_dir as NAME.trunk.pt / NAME.trunk.json,
    after checking that it is the one: each network's checkpoint names its starting trunk by SHA-256 prefix."""
    if not os.path.isfile(trunk):
        raise OptionError(trunk, "missing (--trunk: the pre-trained checkpoint the networks were fine-tuned from)")
    sha = file_sha256(trunk)
    for p in paths:
        started = str((load_checkpoint(p, map_location="cpu").get("run") or {}).get("pretrained", ""))
        if started.rpartition("@")[2] != sha[:16]:
            raise CheckpointError(p, f"was fine-tuned from {started or 'an unrecorded start'}, not from {trunk} (SHA-256 {sha[:16]}): "
                                     "give the trunk the networks started from")
    record = trunk_record_path(trunk)
    pre = read_json(record, "the trunk's pre-training record")
    shutil.copyfile(trunk, os.path.join(out_dir, f"{name}.trunk.pt"))
    shutil.copyfile(record, os.path.join(out_dir, f"{name}.trunk.json"))
    return {**pre, "trunk": {"file": f"{name}.trunk.pt", "sha256": sha, "bytes": os.path.getsize(trunk), "record": f"{name}.trunk.json"}}


def build_card(ds: GraphDataset, cv: dict, cv_dir: str, out_dir: str, name: str, version: str, scratch_dir: str | None,
               trunk: str | None, parity_count: int, variants: dict | None, design_notes: str | None, limit: int = 0,
               runs: list | None = None, members: dict | None = None, members_dir: str | None = None) -> dict:
    """Export every member into out_dir and write the card there."""
    runs = runs or [cv]
    y = ds.targets()[:, 0].astype(np.float64)
    if members is not None:
        paths = [os.path.join(members_dir, m) for m in members["members"]]
        records = [{"seed": members["init_seed"] + j} for j in range(len(paths))]
        calibration = seed_calibration(y, runs, len(set(cv["folds"])))
    else:
        paths = [os.path.join(cv_dir, m) for m in cv["members"]]
        records = [{"fold": k} for k in range(len(paths))]
        calibration = {**cv["calibration"], "method": "fold models' spread at every entry (4 of 5 saw it): optimistic, see seed_calibration"}
    members_out = []
    parity_idx = list(range(min(parity_count, ds.count)))
    parity_preds = []
    params = None
    for k, member_path in enumerate(paths):
        model = load_member(member_path, ds)
        params = parameter_count(model)
        file = f"{name}.member{k}.onnx"
        path = os.path.join(out_dir, file)
        export_member(model, ds, path)
        with torch.no_grad():
            parity_preds.append(model(*model_inputs(to_tensors(make_batch(ds, parity_idx))))[:, 0].numpy().tolist())
        members_out.append({"file": file, "sha256": file_sha256(path), "bytes": os.path.getsize(path), **records[k]})
    # In-sample figures of the shipped ensemble on its own training file: `ionrank evaluate` must reproduce them.
    everything = list(range(ds.count))
    ensemble = np.mean([predict(load_member(p, ds), ds, everything, [0])[:, 0] for p in paths], axis=0)
    evaluation = {"data": ds.sha256_of_sources(), "metrics": regression_metrics(ds.targets()[:, 0].astype(np.float64), ensemble.astype(np.float64)),
                  "note": "ensemble mean on the training data itself (in-sample); the cross-validated figures are under cv"}
    scratch = None
    if scratch_dir and os.path.exists(os.path.join(scratch_dir, "cv.json")):
        scratch = read_json(os.path.join(scratch_dir, "cv.json"), "the scratch stage")
    pre = ship_trunk(trunk, paths, out_dir, name) if trunk else None
    clearances = path_clearances(ds, path_steps(ds))
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
        "ensemble": {"members": members_out, "combine": "mean", "uncertainty": "sample standard deviation of members × calibration.scale",
                     "trained_on": "every entry of the training data (the cross-validation measures the recipe)" if members is not None
                     else "the fold models of the cross-validation (each saw 4 of 5 folds)",
                     **({"seconds": members["seconds"], "device": members.get("device")} if members is not None else {})},
        "calibration": calibration,
        "threshold": {"good_conductor_below_ev": 0.65},
        "cv": {
            "folds": len(set(cv["folds"])),
            "stratified_by": "moving ion",
            "fold_seed": cv["fold_seed"],
            "fold_of_entry": dict(zip(ds.ids(), cv["folds"])),
            "pretrained": {"metrics": cv["metrics"], "per_fold": cv["per_fold"], "epochs": cv["epochs"], "seconds": cv["seconds"],
                           "device": cv.get("device")},
            # Held-out prediction of every entry by the first run's fold model that did not see it (parity plot).
            "heldout": {"em_dft": ds.targets()[:, 0].astype(float).tolist(), "em_predicted": cv["heldout_predictions"],
                        "clearance_angstrom": clearances},
            # The same recipe with other seeds on the same folds: every entry's held-out predictions averaged over the runs.
            "seed_runs": None if len(runs) < 2 else {
                "init_seeds": [r.get("init_seed", r.get("fold_seed")) for r in runs],
                "metrics": regression_metrics(y, np.mean([r["heldout_predictions"] for r in runs], axis=0)),
                "per_run": [r["metrics"] for r in runs], "seconds": [r["seconds"] for r in runs], "devices": [r.get("device") for r in runs]},
            "scratch": None if scratch is None else {"metrics": scratch["metrics"], "per_fold": scratch["per_fold"],
                                                    "epochs": scratch["epochs"], "seconds": scratch["seconds"], "device": scratch.get("device")},
            # Other designs measured on the same folds (e.g. freezing early layers).
            "variants": {k: {"metrics": v["metrics"], "epochs": v["epochs"], "seconds": v["seconds"], "model": v["model"],
                             "freeze": v["hyperparameters"].get("freeze", 0), "pretrained": v["pretrained"], "featurizer": v.get("featurizer"),
                             "device": v.get("device")}
                         for k, v in (variants or {}).items()},
            "design_notes": design_notes,
        },
        "pretraining": None if pre is None else {k: pre.get(k) for k in ("properties", "validation_mae", "epochs", "seconds", "device", "train_size", "validation_size", "sources", "entries", "limit", "subset", "trunk")},
        # The sources name whole files; with --limit only their first entries trained the model, and the card must say so.
        "training_data": {"finetune": ds.sha256_of_sources(), **ds.subset_record(limit)},
        "hyperparameters": cv["hyperparameters"],
        "parity": {"entries": [ds.ids()[i] for i in parity_idx], "pytorch_member_predictions": parity_preds, "tolerance_ev": 1e-4},
        "applicability": applicability(ds, np.asarray(cv["heldout_predictions"]), clearances),
        "evaluation": evaluation,
        "labels": "Em from literature DFT NEB (GGA/GGA+U/SCAN/LDA) as compiled by Devi, Butler & Sai Gautam, doi:10.1038/s41524-026-01972-8",
    }
    write_json(os.path.join(out_dir, f"{name}.card.json"), card)
    return card

