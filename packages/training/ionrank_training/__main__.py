"""Command line of the training core: python3 -m ionrank_training {check,pretrain,cv,members,export} …
(`npx ionrank train` drives these stages from TypeScript)."""
import argparse
import json
import math
import os
import sys
import tempfile
import time
import traceback

from .data import check_em_entries, check_folds, load_dataset, require_labels
from .errors import ERROR_PREFIX, OptionError, TrainingCoreError, read_json
from .model import READOUTS, TARGETS
from .train import cross_validate, pretrain, set_threads, train_members


def log(msg: str):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def model_cfg(a) -> dict:
    return {"hidden": a.hidden, "alignn_layers": a.alignn_layers, "gcn_layers": a.gcn_layers, "line_k": a.line_k, "readout": a.readout,
            "target": a.target, "dropout": a.dropout}


def report(record: dict):
    """The one line the TypeScript driver reads (never mixed with the log lines, written in one call)."""
    sys.stdout.write(ERROR_PREFIX + json.dumps(record) + "\n")
    sys.stdout.flush()


def main(argv=None):
    p = argparse.ArgumentParser(prog="ionrank_training")
    p.add_argument("--error-log", default=None, help="where an unexpected error's traceback goes (default: a file in the temp folder)")
    sub = p.add_subparsers(dest="cmd", required=True)

    def common(sp):
        sp.add_argument("--data", required=True, help="featurized dataset directory")
        sp.add_argument("--out", required=True)
        sp.add_argument("--hidden", type=int, default=64)
        sp.add_argument("--alignn-layers", type=int, default=2)
        sp.add_argument("--gcn-layers", type=int, default=2)
        sp.add_argument("--line-k", type=int, default=8, help="line graph among each atom's nearest N bonds (0 = all)")
        sp.add_argument("--readout", choices=sorted(READOUTS), default="path",
                        help="mean over atoms, or 'path': also the moving ion's images (mean, max, middle); pre-training always uses mean")
        sp.add_argument("--target", choices=TARGETS, default="identity", help="space of the fine-tuning loss (pre-training: always identity)")
        sp.add_argument("--dropout", type=float, default=0.0, help="dropout in the head while training")
        sp.add_argument("--epochs", type=int, default=10)
        sp.add_argument("--batch-size", type=int, default=32)
        sp.add_argument("--lr", type=float, default=1e-3)
        sp.add_argument("--seed", type=int, default=0)
        sp.add_argument("--limit", type=int, default=0, help="use only the first N graphs (tests)")

    pt = sub.add_parser("pretrain", help="multi-property pre-training")
    common(pt)
    pt.add_argument("--budget-seconds", type=float, default=0, help="choose the number of epochs to fit this time (overrides --epochs)")
    cv = sub.add_parser("cv", help="k-fold cross-validated fine-tuning: the recipe's figures (and, with export's --members omitted, the ensemble)")
    common(cv)
    cv.add_argument("--pretrained", default=None, help="pretrained.pt, or omit to train from scratch")
    cv.add_argument("--folds", type=int, default=5)
    cv.add_argument("--freeze", type=int, default=0, help="freeze embeddings and the first N-1 ALIGNN layers")
    cv.add_argument("--weight-decay", type=float, default=1e-5, help="AdamW weight decay")
    cv.add_argument("--noise", type=float, default=0.0, help="training-time jitter of atom positions, standard deviation in Å (0 = none)")
    cv.add_argument("--init-seed", type=int, default=None, help="seed of initialisation and data order (default: --seed, which fixes the folds)")
    mb = sub.add_parser("members", help="the shipped ensemble: members fine-tuned on every entry, the cv stage's recipe")
    common(mb)
    mb.add_argument("--pretrained", default=None, help="pretrained.pt, or omit to train from scratch")
    mb.add_argument("--members", type=int, default=5, help="how many (member j: seed --init-seed + j)")
    mb.add_argument("--weight-decay", type=float, default=1e-5, help="AdamW weight decay")
    mb.add_argument("--noise", type=float, default=0.0, help="training-time jitter of atom positions, standard deviation in Å (0 = none)")
    mb.add_argument("--init-seed", type=int, default=None, help="seed of member 0 (default: --seed)")
    ex = sub.add_parser("export", help="export the ensemble to ONNX and write the model card")
    ex.add_argument("--data", required=True)
    ex.add_argument("--cv", required=True, action="append",
                    help="cross-validation folder; give it again for each run with another --init-seed on the same folds (the first is the main one)")
    ex.add_argument("--members", default=None,
                    help="folder of the members stage: they are the ensemble, calibrated on the spread of the --cv runs (needs two or more); "
                         "without it the first run's fold models are")
    ex.add_argument("--scratch", default=None)
    ex.add_argument("--pretrain", default=None, help="the pretrain stage's folder: its pretrained.pt is the trunk (as --trunk)")
    ex.add_argument("--trunk", default=None, help="the pre-trained checkpoint the networks started from (its record FILE.json beside it); "
                                                 "it ships as NAME.trunk.pt")
    ex.add_argument("--out", required=True)
    ex.add_argument("--name", default="em")
    ex.add_argument("--version", default="1.0.0")
    ex.add_argument("--parity", type=int, default=24)
    ex.add_argument("--variant", action="append", default=[], help="NAME=CV_DIR of another design to list in the card")
    ex.add_argument("--design-notes", default=None, help="text file of design measurements to include in the card")
    ex.add_argument("--limit", type=int, default=0, help="use only the first N graphs (as the cv stage did)")
    ck = sub.add_parser("check", help="check an Em dataset before training: its files, kind, labels and the number of folds")
    ck.add_argument("--data", required=True)
    ck.add_argument("--folds", type=int, default=5)
    ck.add_argument("--limit", type=int, default=0)
    a = p.parse_args(argv)
    try:
        run(a)
        return 0
    except TrainingCoreError as e:
        report(e.record())
    except Exception as e:  # a bug, or a failure nobody foresaw: one line here, the traceback in a file
        log_path = write_traceback(a.error_log)
        first = (str(e).splitlines() or [""])[0][:300]
        report({"type": "UnexpectedError", "file": log_path, "reason": f"{type(e).__name__}: {first}",
                "message": f"unexpected error in the training core: {type(e).__name__}: {first} (full traceback in {log_path})"})
    return 1


def write_traceback(path):
    text = traceback.format_exc()
    for target in [path, None] if path else [None]:
        try:
            if target is None:
                fd, target = tempfile.mkstemp(prefix="ionrank-training-error-", suffix=".log")
                os.close(fd)
            os.makedirs(os.path.dirname(os.path.abspath(target)), exist_ok=True)
            with open(target, "a") as f:
                f.write(f"[{time.strftime('%Y-%m-%d %H:%M:%S')}] {' '.join(sys.argv)}\n{text}\n")
            return target
        except OSError:
            continue
    return "(no file could be written)"


# Option ranges, checked before any work: out of range, each failed deep inside torch as an "unexpected error"
# (--epochs 0, --batch-size 0, --lr -1) or, worse, ran (--hidden 0 trained a constant model, --limit -3 used no data).
INT_OPTIONS = {"epochs": 1, "batch_size": 1, "hidden": 1, "alignn_layers": 0, "gcn_layers": 0, "line_k": 0, "limit": 0, "seed": 0,
               "init_seed": 0, "folds": 2, "members": 1, "freeze": 0, "parity": 0}
FLOAT_OPTIONS = {"lr": (lambda v: v > 0, "a learning rate > 0"), "weight_decay": (lambda v: v >= 0, "≥ 0"),
                 "dropout": (lambda v: 0 <= v < 1, "a probability in [0, 1)"), "noise": (lambda v: v >= 0, "a distance in Å ≥ 0"),
                 "budget_seconds": (lambda v: v >= 0, "a number of seconds ≥ 0")}


def check_options(a):
    for name, least in INT_OPTIONS.items():
        v = getattr(a, name, None)
        if isinstance(v, int) and v < least:  # (export's --members is a folder)
            raise OptionError("--" + name.replace("_", "-"), f"must be an integer ≥ {least} (got {v})")
    for name, (ok, what) in FLOAT_OPTIONS.items():
        v = getattr(a, name, None)
        if v is not None and not (math.isfinite(v) and ok(v)):
            raise OptionError("--" + name.replace("_", "-"), f"must be {what} (got {v})")


def run(a):
    check_options(a)
    set_threads(1 if a.cmd in ("cv", "members") else None)
    ds = load_dataset(a.data, kind=None if a.cmd == "pretrain" else "pathway")
    if getattr(a, "limit", 0):
        ds = ds.subset(range(a.limit))
    if a.cmd == "check":
        require_labels(ds)
        check_em_entries(ds)
        check_folds(ds, a.folds)
        print(json.dumps({"entries": ds.count}))
        return
    if a.cmd == "pretrain":
        r = pretrain(ds, a.out, model_cfg(a), epochs=a.epochs, batch_size=a.batch_size, lr=a.lr, seed=a.seed, log=log, budget_seconds=a.budget_seconds,
                     limit=a.limit)
        print(json.dumps({"validation_mae": r["validation_mae"], "seconds": r["seconds"]}))
    elif a.cmd == "cv":
        r = cross_validate(ds, a.out, model_cfg(a), pretrained=a.pretrained, folds=a.folds, epochs=a.epochs, batch_size=a.batch_size,
                           lr=a.lr, seed=a.seed, freeze=a.freeze, log=log, weight_decay=a.weight_decay,
                           init_seed=a.init_seed, noise=a.noise)
        print(json.dumps({"metrics": r["metrics"], "calibration": r["calibration"], "seconds": r["seconds"]}))
    elif a.cmd == "members":
        r = train_members(ds, a.out, model_cfg(a), pretrained=a.pretrained, members=a.members, epochs=a.epochs, batch_size=a.batch_size, lr=a.lr,
                          init_seed=a.seed if a.init_seed is None else a.init_seed, log=log, weight_decay=a.weight_decay, noise=a.noise)
        print(json.dumps({"members": r["members"], "metrics_in_sample": r["metrics_in_sample"], "seconds": r["seconds"]}))
    else:
        from .export import export_ensemble

        variants = {}
        for v in a.variant:
            key, eq, path = v.partition("=")
            if not (key and eq and path):
                raise OptionError("--variant", f"must be NAME=CV_DIR (got {v!r})")
            variants[key] = read_json(f"{path}/cv.json", f"variant {key}")
        if a.design_notes and not os.path.isfile(a.design_notes):
            raise OptionError(a.design_notes, "missing (--design-notes)")
        notes = open(a.design_notes).read() if a.design_notes else None
        if a.pretrain and a.trunk:
            raise OptionError("--trunk", "give either --pretrain (the pretrain stage's folder) or --trunk (a trunk file), not both")
        trunk = a.trunk or (os.path.join(a.pretrain, "pretrained.pt") if a.pretrain else None)
        card = export_ensemble(ds, a.cv[0], a.out, a.name, a.version, a.scratch, trunk, a.parity, variants, notes, limit=a.limit,
                               seed_runs=a.cv[1:], members_dir=a.members)
        print(json.dumps({"card": f"{a.out}/{a.name}.card.json", "members": [m["file"] for m in card["ensemble"]["members"]]}))


if __name__ == "__main__":
    sys.exit(main())
