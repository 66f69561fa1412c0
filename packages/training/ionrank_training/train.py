"""Training loops: masked multi-property pre-training, fine-tuning with k-fold cross-validation,
resumable checkpoints, metrics and ensemble calibration."""
import ctypes
import hashlib
import json
import math
import os
import random
import time

import numpy as np
import torch

from .data import GraphDataset, check_em_entries, check_folds, make_edge_batch, require_labels
from .errors import CheckpointError, DivergedError, OptionError, read_json, save_torch, write_json
from .model import EmNet, edge_inputs, to_tensors

GOOD_CONDUCTOR_EV = 0.65


def set_threads(default: int | None = None):
    """Torch threads: IONRANK_TORCH_THREADS, else `default`, else 2 where there are 2 cores. Fine-tuning on cropped
    path structures (~29 atoms) is faster on 1 thread: two such runs took 62.7 s one after the other at 2 threads,
    35.3 s at 1 thread and 23.6 s side by side at 1 thread each on this project's 2-core machine."""
    n = int(os.environ.get("IONRANK_TORCH_THREADS", str(default or min(2, os.cpu_count() or 1))))
    torch.set_num_threads(n)
    set_blas_threads(n)


def set_blas_threads(n: int) -> str | None:
    """Debian's torch multiplies matrices with OpenBLAS, which keeps its own thread pool (one thread per core) whatever
    torch.set_num_threads says: a "1-thread" fine-tuning run still split its GEMMs over 2 threads, and two runs side by
    side (--jobs 2) put 4 busy threads on 2 cores (measured: each run's OpenBLAS worker used ~30 % of a core). Returns
    the library set, or None where torch does not use OpenBLAS (MKL builds set their threads with torch's)."""
    try:
        with open("/proc/self/maps") as f:
            libs = {line.split()[-1] for line in f if "openblas" in line}
    except OSError:
        return None
    for path in sorted(libs):
        try:
            ctypes.CDLL(path).openblas_set_num_threads(ctypes.c_int(n))
            return path
        except (OSError, AttributeError):
            continue
    return None


def device() -> str:
    return "cuda" if torch.cuda.is_available() and os.environ.get("IONRANK_DEVICE", "auto") != "cpu" else "cpu"


def load_checkpoint(path: str, map_location=None):
    """A checkpoint; one that is missing or cannot be read raises CheckpointError naming it."""
    if not os.path.isfile(path):
        raise CheckpointError(path, "missing")
    try:
        # Checkpoints hold optimiser/scheduler state and RNG tensors, not only weights (torch ≥ 2.6 defaults to weights_only).
        try:
            ck = torch.load(path, map_location=map_location or device(), weights_only=False)
        except TypeError:  # torch < 1.13 has no weights_only
            ck = torch.load(path, map_location=map_location or device())
        if not isinstance(ck, dict) or "model" not in ck or "config" not in ck:
            raise ValueError("no model in it")
        return ck
    except Exception as e:
        raise CheckpointError(path, f"cannot be read ({str(e).splitlines()[0] if str(e) else type(e).__name__}; truncated or not a checkpoint): delete it to redo that step") from None


def check_settings(path: str, written: dict, asked: dict, keys=None):
    """A checkpoint resumed or fine-tuned from must come from the same settings: name the first that differs."""
    for k in keys or sorted(set(written) | set(asked)):
        if k in written and k in asked and written[k] != asked[k]:
            name = k.replace("_", " ")
            raise CheckpointError(path, f"was written with {name} {written[k]}; this run asks for {asked[k]}: use another --work or delete it")


def file_sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def device_name() -> str:
    return f"CPU, {torch.get_num_threads()} thread(s)" if device() == "cpu" else torch.cuda.get_device_name(0)


def seed_everything(seed: int):
    random.seed(seed)
    np.random.seed(seed % 2**32)  # numpy's legacy seed is 32-bit; fold k seeds with seed + k
    torch.manual_seed(seed)


def stratified_folds(labels: np.ndarray, k: int, seed: int) -> np.ndarray:
    """Fold number of every item: items of each label are shuffled (seeded) and dealt round-robin."""
    rng = np.random.default_rng(seed)
    fold = np.zeros(len(labels), dtype=np.int64)
    offset = 0
    for lab in sorted(set(labels.tolist())):
        idx = np.flatnonzero(labels == lab)
        rng.shuffle(idx)
        fold[idx] = (np.arange(len(idx)) + offset) % k
        offset += len(idx)  # continue dealing where the last label stopped, so fold sizes stay even
    return fold


def batches(indices, batch_size: int, rng=None):
    idx = np.array(indices)
    if rng is not None:
        rng.shuffle(idx)
    return [idx[i:i + batch_size] for i in range(0, len(idx), batch_size)]


def masked_l1(pred, target, mask):
    return ((pred - target).abs() * mask).sum() / mask.sum().clamp(min=1.0)


def training_batch(model, ds: GraphDataset, b, props, dev) -> dict:
    """Tensors of graphs `b` in the edge-list layout training runs on (EmNet.forward_edges; fine-tuning steps 1.6x faster
    than in the dense layout, which pads cropped path structures to 19 bond slots per atom for a mean of 8.2: npm run
    bench -w @ionrank/training)."""
    return to_tensors(make_edge_batch(ds, b, props, model.config["line_k"]), dev)


def predict(model, ds: GraphDataset, indices, props=None, batch_size=32) -> np.ndarray:
    model.eval()
    out = []
    dev = next(model.parameters()).device
    with torch.no_grad():
        for b in batches(indices, batch_size):
            t = training_batch(model, ds, b, props, dev)
            out.append(model.forward_edges(*edge_inputs(t)).cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0, model.config["outputs"]), dtype=np.float32)


def jitter_positions(t: dict, sigma: float) -> torch.Tensor:
    """Bond vectors of the batch with every atom displaced by N(0, sigma²) Å per axis: a bond's vector moves by
    the difference of its two atoms' displacements, so lengths and angles stay those of one perturbed
    structure (a periodic image moves with its atom). Drawn on the CPU from torch's seeded generator, so a
    resumed or GPU run of the same torch build draws the same noise (other torch versions draw other noise).
    Takes either layout (edge lists: returns edge_vector; dense: nbr_vector); both draw the same displacements."""
    d = (torch.randn(t["atomic_number"].shape[0], 3) * sigma)
    if "edge_vector" in t:
        d = d.to(t["edge_vector"].device)
        return t["edge_vector"] + d.index_select(0, t["edge_dst"]) - d.index_select(0, t["edge_src"])
    d = d.to(t["nbr_vector"].device)
    return t["nbr_vector"] + (d[t["nbr_index"]] - d.unsqueeze(1)) * t["nbr_mask"].unsqueeze(-1)


def fit(model, ds, train_idx, val_idx, props, *, epochs, batch_size, lr, seed, checkpoint, log, weight_decay=1e-5, noise=0.0, settings=None):
    """Train with AdamW + one-cycle LR and masked L1 loss. Checkpoints after every epoch (model, optimiser,
    scheduler, RNG state, history); a run restarted with the same arguments resumes after the last
    completed epoch and ends with the same weights as an uninterrupted run. `noise` > 0 jitters atom
    positions (Å, see jitter_positions) in training batches only: augmentation against over-fitting.
    `settings`: what else the caller's result depends on (fold assignment, starting weights, frozen layers),
    recorded in the checkpoint and checked on resume like the rest."""
    dev = next(model.parameters()).device
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    steps = max(1, math.ceil(len(train_idx) / batch_size)) * epochs
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps)
    history = []
    start = 0
    # What else fixes the result: resuming under other values would silently mix two runs.
    run = {"epochs": epochs, "batch_size": batch_size, "lr": lr, "seed": seed, "weight_decay": weight_decay, "noise": noise,
           "train_size": len(train_idx), "validation_size": len(val_idx), **(settings or {})}
    if checkpoint and os.path.exists(checkpoint):
        ck = load_checkpoint(checkpoint)
        check_settings(checkpoint, ck["config"], model.config)
        check_settings(checkpoint, ck.get("run", {}), run)
        try:
            model.load_state_dict(ck["model"])
            opt.load_state_dict(ck["optimizer"])
            sched.load_state_dict(ck["scheduler"])
            # load_checkpoint maps every tensor to the training device; the CPU generator only takes a CPU state.
            torch.set_rng_state(ck["torch_rng"].cpu())
            history = ck["history"]
            start = ck["epoch"] + 1
        except (KeyError, AttributeError, RuntimeError, ValueError, TypeError) as e:
            # Same settings, but not a per-epoch checkpoint of fit (e.g. a pretrained.pt copied in): no optimiser
            # state to resume from.
            what = f"no {e.args[0]}" if isinstance(e, KeyError) else (str(e).splitlines() or [type(e).__name__])[0][:200]
            raise CheckpointError(checkpoint, f"is not a resumable training checkpoint ({what}): delete it to redo that step") from None
        log(f"resumed from {checkpoint} after epoch {start}")
    for epoch in range(start, epochs):
        t0 = time.time()
        model.train()
        # The data order depends only on (seed, epoch), so a resumed run sees the same batches.
        rng = np.random.default_rng([seed, epoch])
        total, n = 0.0, 0
        for b in batches(train_idx, batch_size, rng):
            t = training_batch(model, ds, b, props, dev)
            if noise > 0:
                t["edge_vector"] = jitter_positions(t, noise)
            pred = model.forward_edges(*edge_inputs(t))
            # Padding targets are NaN-free zeros where masked, so the transform is safe everywhere.
            loss = masked_l1(model.to_target_space(pred), model.to_target_space(t["targets"]), t["target_mask"])
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            opt.step()
            sched.step()
            total += float(loss) * len(b)
            n += len(b)
        val = None
        if len(val_idx) > 0:
            p = predict(model, ds, val_idx, props)
            t = ds.targets()[np.asarray(val_idx)][:, props]
            m = ds.mask()[np.asarray(val_idx)][:, props].astype(bool)
            val = [float(np.abs(p[:, j] - t[:, j])[m[:, j]].mean()) if m[:, j].any() else None for j in range(len(props))]
        if not math.isfinite(total / max(n, 1)) or any(v is not None and not math.isfinite(v) for v in val or []):
            # Raised before the checkpoint is saved: the stage's results would otherwise hold NaN or fail much later.
            raise diverged(checkpoint, f"at epoch {epoch + 1}/{epochs} (train L1 {total / max(n, 1):.4g}, validation MAE {fmt(val)})")
        history.append({"epoch": epoch, "train_l1": total / max(n, 1), "val_mae": val, "seconds": time.time() - t0})
        if checkpoint:
            # Written atomically, so a run killed at any moment leaves the last completed epoch.
            save_torch({"model": model.state_dict(), "optimizer": opt.state_dict(), "scheduler": sched.state_dict(),
                        "torch_rng": torch.get_rng_state(), "history": history, "epoch": epoch, "config": model.config, "run": run}, checkpoint)
        log(f"epoch {epoch + 1}/{epochs} train L1 {total / max(n, 1):.4f} val MAE {fmt(val)} ({time.time() - t0:.0f} s)")
    return history


def diverged(checkpoint: str | None, when: str) -> DivergedError:
    """A rerun resumes from the stage's saved checkpoints with the same weights, data order and settings, so it diverges
    again, and other settings are refused while those checkpoints exist: only deleting the folder starts it afresh."""
    what = f"training diverged to NaN or infinity {when}"
    other = "rerun with other settings (e.g. a lower learning rate or another seed)"
    if not checkpoint:
        return DivergedError("training", f"{what}: {other}")
    folder = os.path.dirname(os.path.abspath(checkpoint))
    saved = sorted(f for f in os.listdir(folder) if f.endswith(".pt")) if os.path.isdir(folder) else []
    if not saved:  # nothing to resume from: the diverged epoch is never saved
        return DivergedError(folder, f"{what}; no checkpoint was saved: {other}")
    return DivergedError(folder, f"{what}; a rerun would resume from its checkpoints ({', '.join(saved)}) and diverge again: "
                                 f"delete {folder} (all of it) and {other}")


def fmt(v):
    if v is None:
        return "-"
    return "[" + ", ".join("-" if x is None else f"{x:.3f}" for x in v) + "]"


def regression_metrics(y: np.ndarray, p: np.ndarray) -> dict:
    err = p - y
    ss_res = float((err ** 2).sum())
    ss_tot = float(((y - y.mean()) ** 2).sum())
    good_true = y < GOOD_CONDUCTOR_EV
    good_pred = p < GOOD_CONDUCTOR_EV
    tp = int((good_true & good_pred).sum())
    fp = int((~good_true & good_pred).sum())
    fn = int((good_true & ~good_pred).sum())
    return {
        "n": int(len(y)),
        "mae": float(np.abs(err).mean()),
        "rmse": float(np.sqrt((err ** 2).mean())),
        "r2": 1.0 - ss_res / ss_tot if ss_tot > 0 else None,
        "accuracy": float((good_true == good_pred).mean()),
        "precision": tp / (tp + fp) if tp + fp else None,
        "recall": tp / (tp + fn) if tp + fn else None,
    }


def calibrate(y: np.ndarray, heldout: np.ndarray, spread: np.ndarray) -> dict:
    """Scale factor s so that |y − ŷ| ≤ s·σ for 68.27 % of the cross-validation predictions, and the
    coverage of ±1σ and ±2σ before and after scaling."""
    z = np.abs(y - heldout) / np.maximum(spread, 1e-6)
    s = float(np.quantile(z, 0.6827))
    cov = lambda f: {"within1sigma": float((z <= f).mean()), "within2sigma": float((z <= 2 * f).mean())}  # noqa: E731
    return {"scale": s, "raw": cov(1.0), "calibrated": cov(s)}


def new_model(ds: GraphDataset, cfg: dict, outputs: int) -> EmNet:
    fz = ds.manifest["featurizer"]["config"]
    return EmNet(ds.arrays["element_features"], outputs=outputs, cutoff=float(fz["cutoff"]), images=int(fz.get("images", 5)), **cfg).to(device())


def epochs_for_budget(model, ds, train_idx, props, *, batch_size: int, budget_seconds: float, validation: int, log) -> int:
    """How many epochs fit in `budget_seconds`: time a few training steps on a copy of the model (the
    model itself is left untouched), then scale to an epoch plus its validation pass."""
    import copy

    probe = copy.deepcopy(model)
    opt = torch.optim.AdamW(probe.parameters(), lr=1e-4)
    rng = np.random.default_rng(12345)
    bs = batches(train_idx, batch_size, rng)[:25]
    dev = next(model.parameters()).device
    warm = min(5, len(bs) // 2)
    t0 = time.time()
    for n, b in enumerate(bs):
        if n == warm:  # the first steps include allocator and kernel warm-up
            if dev.type == "cuda":
                torch.cuda.synchronize()
            t0 = time.time()
        t = training_batch(probe, ds, b, props, dev)
        loss = masked_l1(probe.forward_edges(*edge_inputs(t)), t["targets"], t["target_mask"])
        opt.zero_grad()
        loss.backward()
        opt.step()
    if dev.type == "cuda":
        torch.cuda.synchronize()
    per_step = (time.time() - t0) / max(1, len(bs) - warm)
    per_epoch = per_step * (math.ceil(len(train_idx) / batch_size) + 0.4 * math.ceil(validation / batch_size))
    epochs = max(1, int(budget_seconds // per_epoch))
    log(f"time budget {budget_seconds:.0f} s: {per_step * 1000:.0f} ms per step, ~{per_epoch:.0f} s per epoch -> {epochs} epochs")
    return epochs


def pretrain(ds: GraphDataset, out: str, cfg: dict, *, epochs: int, batch_size: int, lr: float, seed: int, log, budget_seconds: float = 0,
             limit: int = 0) -> dict:
    """Multi-property pre-training: one trunk, one head output per property, masked loss; 10 % of each
    property held out for validation."""
    os.makedirs(out, exist_ok=True)
    seed_everything(seed)
    props = list(range(len(ds.properties)))
    mask = ds.mask().astype(bool)
    if mask.any(axis=1).sum() < 2:
        raise OptionError(ds.path, f"pre-training needs at least 2 labelled structures; the dataset has {int(mask.any(axis=1).sum())}")
    rng = np.random.default_rng(seed)
    val = []
    for j in props:
        idx = np.flatnonzero(mask[:, j])
        rng.shuffle(idx)
        val.extend(idx[: max(1, len(idx) // 10)].tolist())
    val = sorted(set(val))
    train = sorted(set(range(ds.count)) - set(val))
    # Bulk crystals have no path images: the trunk is pre-trained with the mean readout whatever the Em head uses;
    # targets are scaled to [−1, 1] (no log1p), and dropout is an Em-head option (this head is thrown away).
    cfg = dict(cfg, readout="mean", target="identity", dropout=0.0)
    model = new_model(ds, cfg, len(props))
    if budget_seconds > 0 and not os.path.exists(os.path.join(out, "checkpoint.pt")):
        epochs = epochs_for_budget(model, ds, train, props, batch_size=batch_size, budget_seconds=budget_seconds, validation=len(val), log=log)
        write_json(os.path.join(out, "epochs.json"), {"epochs": epochs, "budget_seconds": budget_seconds}, indent=None)
    elif budget_seconds > 0:  # a resumed budgeted run keeps its schedule
        epochs = read_json(os.path.join(out, "epochs.json"), "the budgeted pre-training")["epochs"]
    t0 = time.time()
    history = fit(model, ds, train, val, props, epochs=epochs, batch_size=batch_size, lr=lr, seed=seed,
                  checkpoint=os.path.join(out, "checkpoint.pt"), log=log)
    result = {
        "properties": ds.properties,
        "validation_mae": dict(zip(ds.properties, history[-1]["val_mae"])),
        "epochs": epochs,
        "device": device_name(),
        "seconds": sum(h["seconds"] for h in history),
        "wall_seconds_this_run": time.time() - t0,
        "train_size": len(train),
        "validation_size": len(val),
        "model": model.config,
        "featurizer": ds.featurizer_version,
        "sources": ds.sha256_of_sources(),
        **ds.subset_record(limit),  # the model card says which part of the sources pre-trained it
        "history": history,
    }
    # pretrain.json first: pretrained.pt is what marks the stage done.
    write_json(os.path.join(out, "pretrain.json"), result)
    save_torch({"model": model.state_dict(), "config": model.config, "featurizer": ds.bulk_featurizer_version}, os.path.join(out, "pretrained.pt"))
    return result


def load_trunk(pretrained: str | None, cfg: dict, ds: GraphDataset):
    """The pre-trained checkpoint to fine-tune from (None: from scratch) and how the results name it."""
    if not pretrained:
        return None, "none"
    trunk = load_checkpoint(pretrained)
    # Only the trunk is carried over: its shape must match, the head's need not.
    check_settings(pretrained, trunk["config"], cfg, keys=["hidden", "alignn_layers", "gcn_layers", "line_k"])
    # Pre-training graphs are bulk structures, never cropped: compare the bulk part of the versions.
    if trunk.get("featurizer") != ds.bulk_featurizer_version:
        raise CheckpointError(pretrained, f"was pre-trained on featurizer {trunk.get('featurizer')}; the dataset uses {ds.bulk_featurizer_version}: "
                                          "pre-train again on data featurized like it (another --work)")
    return trunk, f"{os.path.basename(pretrained)}@{file_sha256(pretrained)[:16]}"


def start_model(ds: GraphDataset, cfg: dict, trunk) -> EmNet:
    """A fresh Em network, with the pre-trained trunk's weights when there is one (the head stays fresh)."""
    model = new_model(ds, cfg, 1)
    if trunk is not None:
        state = {k: v for k, v in trunk["model"].items() if not k.startswith("head.")}
        missing = model.load_state_dict(state, strict=False)
        assert all(m.startswith("head.") for m in missing.missing_keys), missing
    return model


def hyperparameters(batch_size: int, lr: float, freeze: int, weight_decay: float, noise: float) -> dict:
    """The fine-tuning recipe as results record it (export compares the members' with the cross-validation's)."""
    return {"batch_size": batch_size, "lr": lr, "optimizer": "AdamW", "schedule": "one-cycle", "loss": "L1",
            "freeze": freeze, "weight_decay": weight_decay, "position_noise": noise}


def cross_validate(ds: GraphDataset, out: str, cfg: dict, *, pretrained: str | None, folds: int, epochs: int, batch_size: int,
                   lr: float, seed: int, freeze: int, log, weight_decay: float = 1e-5, init_seed: int | None = None,
                   noise: float = 0.0) -> dict:
    """k-fold cross-validation of fine-tuning (or training from scratch when `pretrained` is None).
    Folds are stratified by the moving ion and saved; each fold model is kept as an ensemble member.
    `seed` fixes the folds; `init_seed` (default: `seed`) the initialisation and data order, so several runs
    on the same folds measure what more members per fold would buy."""
    init_seed = seed if init_seed is None else init_seed
    require_labels(ds)
    check_em_entries(ds)
    check_folds(ds, folds)
    trunk, start_from = load_trunk(pretrained, cfg, ds)
    os.makedirs(out, exist_ok=True)
    y = ds.targets()[:, 0].astype(np.float64)
    fold = stratified_folds(ds.ion_numbers(), folds, seed)
    heldout = np.zeros(ds.count)
    members = []
    t0 = time.time()
    for k in range(folds):
        seed_everything(init_seed + k)
        train = np.flatnonzero(fold != k).tolist()
        val = np.flatnonzero(fold == k).tolist()
        model = start_model(ds, cfg, trunk)
        if freeze > 0:
            frozen = [model.atom_embed, model.edge_embed, model.angle_embed, *list(model.alignn)[: max(0, freeze - 1)]]
            for mod in frozen:
                for p in mod.parameters():
                    p.requires_grad_(False)
        log(f"fold {k + 1}/{folds}: {len(train)} train, {len(val)} validation")
        fit(model, ds, train, val, [0], epochs=epochs, batch_size=batch_size, lr=lr, seed=init_seed + k,
            checkpoint=os.path.join(out, f"fold{k}.pt"), log=log, weight_decay=weight_decay, noise=noise,
            # A fold resumed (or reused when complete) under other folds, another trunk or other frozen layers
            # would be reported as if trained with this run's: the held-out figures would be wrong, silently.
            settings={"fold_seed": seed, "folds": folds, "pretrained": start_from, "freeze": freeze})
        heldout[val] = predict(model, ds, val, [0])[:, 0]
        members.append(os.path.join(out, f"fold{k}.pt"))
    # Spread of the whole ensemble at every point, for calibration against the held-out errors.
    all_preds = []
    for path in members:
        m = new_model(ds, cfg, 1)
        m.load_state_dict(load_checkpoint(path)["model"])
        all_preds.append(predict(m, ds, list(range(ds.count)), [0])[:, 0])
    if not (np.all(np.isfinite(all_preds)) and np.all(np.isfinite(heldout))):
        raise diverged(members[0], "(the members' predictions)")
    spread = np.std(np.stack(all_preds), axis=0, ddof=1)
    result = {
        "pretrained": bool(pretrained),
        "folds": fold.tolist(),
        "fold_seed": seed,
        "init_seed": init_seed,
        "metrics": regression_metrics(y, heldout),
        "per_fold": [regression_metrics(y[fold == k], heldout[fold == k]) for k in range(folds)],
        "calibration": calibrate(y, heldout, spread),
        "heldout_predictions": heldout.tolist(),
        "epochs": epochs,
        "seconds": time.time() - t0,
        "device": device_name(),
        "model": cfg,
        "members": [os.path.basename(m) for m in members],
        "featurizer": ds.featurizer_version,
        "sources": ds.sha256_of_sources(),
        "hyperparameters": hyperparameters(batch_size, lr, freeze, weight_decay, noise),
    }
    write_json(os.path.join(out, "cv.json"), result)
    log(f"CV ({'pre-trained' if pretrained else 'scratch'}): " + json.dumps({k: round(v, 4) if isinstance(v, float) else v for k, v in result["metrics"].items()}))
    return result


def train_members(ds: GraphDataset, out: str, cfg: dict, *, pretrained: str | None, members: int, epochs: int, batch_size: int, lr: float,
                  init_seed: int, log, weight_decay: float = 1e-5, noise: float = 0.0) -> dict:
    """The shipped ensemble: `members` networks fine-tuned on every labelled entry, the same recipe as the
    cross-validation, member j initialised and shuffled with seed init_seed + j. Cross-validation measures the
    recipe (each fold model sees 80 % of the entries); these members see all of them, which the learning curve
    says is worth having (MAE falls as n^-0.28 with no sign of flattening). Their spread is calibrated on the
    seed spread of the cross-validation's held-out predictions (seed_calibration), never on these members."""
    require_labels(ds)
    check_em_entries(ds)
    trunk, start_from = load_trunk(pretrained, cfg, ds)
    os.makedirs(out, exist_ok=True)
    everything = list(range(ds.count))
    files = []
    t0 = time.time()
    for j in range(members):
        seed_everything(init_seed + j)
        model = start_model(ds, cfg, trunk)
        log(f"member {j + 1}/{members}: {ds.count} entries, seed {init_seed + j}")
        fit(model, ds, everything, [], [0], epochs=epochs, batch_size=batch_size, lr=lr, seed=init_seed + j,
            checkpoint=os.path.join(out, f"member{j}.pt"), log=log, weight_decay=weight_decay, noise=noise,
            settings={"pretrained": start_from, "members": "all entries"})
        files.append(f"member{j}.pt")
    preds, seconds = [], 0.0
    for f in files:
        ck = load_checkpoint(os.path.join(out, f))
        model = new_model(ds, cfg, 1)
        model.load_state_dict(ck["model"])
        preds.append(predict(model, ds, everything, [0])[:, 0])
        seconds += sum(h["seconds"] for h in ck["history"])  # training time, also across resumed runs
    preds = np.stack(preds)
    if not np.all(np.isfinite(preds)):
        raise diverged(os.path.join(out, files[0]), "(the members' predictions)")
    result = {
        "pretrained": bool(pretrained),
        "members": files,
        "init_seed": init_seed,
        "entries": ds.count,
        # On the entries the members were trained on: a fit, not a test (the cross-validation is the test).
        "metrics_in_sample": regression_metrics(ds.targets()[:, 0].astype(np.float64), preds.mean(axis=0).astype(np.float64)),
        "epochs": epochs,
        "seconds": seconds,
        "wall_seconds_this_run": time.time() - t0,
        "device": device_name(),
        "model": cfg,
        "featurizer": ds.featurizer_version,
        "sources": ds.sha256_of_sources(),
        "hyperparameters": hyperparameters(batch_size, lr, 0, weight_decay, noise),
    }
    write_json(os.path.join(out, "members.json"), result)
    log(f"members: {members} trained on all {ds.count} entries in {result['seconds']:.0f} s")
    return result


def seed_calibration(y: np.ndarray, runs: list, folds: int) -> dict:
    """Calibration of a seed ensemble's spread from cross-validation runs on the same folds with other seeds.

    Every entry has one held-out prediction per run, from models that never saw it, so their spread is the
    spread of members on data they were not trained on - what the shipped members show on a new pathway.
    (The fold models' spread at an entry is not: 4 of 5 saw it, and that spread mostly echoes the held-out
    member's own error, which makes any scale fitted on it circular.) Also reported: the scale fitted on 4
    folds and the coverage it gives on the fifth (out-of-sample check of the calibration), and the scale fitted
    on every pair of runs (the scale shrinks as more members make the spread less noisy, so a scale fitted on
    m runs is conservative for an ensemble of more members)."""
    import itertools

    H = np.stack([np.asarray(r["heldout_predictions"], dtype=np.float64) for r in runs])
    fold = np.asarray(runs[0]["folds"])
    spread = H.std(axis=0, ddof=1)
    mean = H.mean(axis=0)
    result = calibrate(y, mean, spread)
    z = np.abs(y - mean) / np.maximum(spread, 1e-6)
    nested, fold_scale = [], np.zeros(len(z))
    for k in range(folds):
        s = float(np.quantile(z[fold != k], 0.6827))
        fold_scale[fold == k] = s
        nested.append({"fold": k, "scale": s, "within1sigma": float((z[fold == k] <= s).mean()), "within2sigma": float((z[fold == k] <= 2 * s).mean())})
    pairs = [calibrate(y, H[[a, b]].mean(axis=0), H[[a, b]].std(axis=0, ddof=1))["scale"] for a, b in itertools.combinations(range(len(runs)), 2)]
    return {
        **result,
        "method": f"spread of {len(runs)} cross-validation runs' held-out predictions (same folds, other seeds)",
        "runs": len(runs),
        "spearman_spread_vs_error": spearman(spread, np.abs(y - mean)),
        "nested": nested,
        # Over all entries, each judged by the scale fitted without its fold.
        "nested_within1sigma": float((z <= fold_scale).mean()),
        "nested_within2sigma": float((z <= 2 * fold_scale).mean()),
        "scale_from_pairs": pairs,
    }


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    ra, rb = np.argsort(np.argsort(a)), np.argsort(np.argsort(b))
    return float(np.corrcoef(ra, rb)[0, 1])
