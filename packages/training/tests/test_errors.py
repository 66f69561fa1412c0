"""Bad input to the training core gives a typed error naming the file (and entry) and the reason; results
are written atomically. Run with the featurized dataset in IONRANK_TEST_DATASET (see test_training.py)."""
import io
import json
import math
import os
import shutil
import subprocess
import tempfile
import unittest
from contextlib import redirect_stdout
from unittest import mock

import numpy as np
import torch

from ionrank_training import __main__ as cli
from ionrank_training.data import load_dataset
from ionrank_training.errors import ERROR_PREFIX, CheckpointError, DatasetError, DivergedError, OptionError, write_json
from ionrank_training.train import cross_validate, diverged, pretrain, set_threads

DATA = os.environ.get("IONRANK_TEST_DATASET")
CFG = {"hidden": 8, "alignn_layers": 1, "gcn_layers": 1, "line_k": 6, "readout": "path"}
QUIET = {"log": lambda m: None}


@unittest.skipUnless(DATA, "IONRANK_TEST_DATASET not set")
class BadInput(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        set_threads()
        cls.ds = load_dataset(DATA).subset(range(6))

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="ionrank-errors-")
        self.addCleanup(shutil.rmtree, self.tmp)

    def copy(self) -> str:
        d = os.path.join(self.tmp, "data")
        shutil.rmtree(d, ignore_errors=True)
        shutil.copytree(DATA, d)
        return d

    def edit_manifest(self, d, change):
        p = os.path.join(d, "manifest.json")
        with open(p) as f:
            m = json.load(f)
        change(m)
        with open(p, "w") as f:
            json.dump(m, f)

    def cv(self, ds, out="cv", **kw):
        args = dict(pretrained=None, folds=2, epochs=1, batch_size=4, lr=1e-3, seed=0, freeze=0, **QUIET)
        args.update(kw)
        return cross_validate(ds, os.path.join(self.tmp, out), CFG, **args)

    def test_damaged_datasets_name_the_file_and_reason(self):
        def garbage_neighbours(d):
            a = np.fromfile(os.path.join(d, "edge_neighbour.bin"), dtype="<i4")
            a[40:50] = 99999
            a.tofile(os.path.join(d, "edge_neighbour.bin"))

        cases = [
            (lambda d: os.remove(os.path.join(d, "edge_length.bin")), "edge_length.bin", "missing"),
            (lambda d: os.truncate(os.path.join(d, "edge_vector.bin"), 100), "edge_vector.bin", "has 100 bytes"),
            (lambda d: open(os.path.join(d, "edge_vector.bin"), "ab").write(b"1234"), "edge_vector.bin", "truncated or from another dataset"),
            (lambda d: self.edit_manifest(d, lambda m: m.update(format="other")), "manifest.json", "not an IonRank graph dataset"),
            (lambda d: open(os.path.join(d, "manifest.json"), "w").write('{"format": "ionrank-gr'), "manifest.json", "not valid JSON"),
            (garbage_neighbours, "edge_neighbour.bin", "neighbour index 99999"),
        ]
        for damage, file, reason in cases:
            with self.subTest(file=file, reason=reason):
                d = self.copy()
                damage(d)
                with self.assertRaises(DatasetError) as e:
                    load_dataset(d)
                self.assertTrue(e.exception.file.endswith(file), e.exception.file)
                self.assertIn(reason, e.exception.reason)
                self.assertNotIn("\n", str(e.exception))

    def test_bulk_dataset_is_refused_where_path_structures_are_needed(self):
        d = self.copy()
        self.edit_manifest(d, lambda m: [s.update(kind="bulk") for s in m["sources"]])
        with self.assertRaisesRegex(DatasetError, "was featurized as bulk graphs; this stage needs pathway graphs"):
            load_dataset(d, kind="pathway")

    def test_unlabelled_entry_and_too_many_folds_are_refused_by_entry(self):
        d = self.copy()
        mask = np.fromfile(os.path.join(d, "target_mask.bin"), dtype="u1")
        mask[2] = 0
        mask.tofile(os.path.join(d, "target_mask.bin"))
        ds = load_dataset(d).subset(range(6))
        with self.assertRaises(DatasetError) as e:
            self.cv(ds)
        self.assertIn(f"entry {ds.ids()[2]} has no target", e.exception.reason)
        self.assertFalse(os.path.exists(os.path.join(self.tmp, "cv", "cv.json")))
        with self.assertRaisesRegex(OptionError, "--folds 4 needs at least 4 labelled entries .* the dataset has 3"):
            self.cv(self.ds.subset(range(3)), folds=4)

    def test_checkpoints_from_other_settings_or_damaged_say_so(self):
        self.cv(self.ds, "a", epochs=1)
        os.remove(os.path.join(self.tmp, "a", "cv.json"))
        with self.assertRaisesRegex(CheckpointError, "fold0.pt: was written with hidden 8; this run asks for 16: use another --work or delete it"):
            cross_validate(self.ds, os.path.join(self.tmp, "a"), dict(CFG, hidden=16), pretrained=None, folds=2, epochs=1, batch_size=4, lr=1e-3,
                           seed=0, freeze=0, **QUIET)
        with self.assertRaisesRegex(CheckpointError, "fold0.pt: was written with epochs 1; this run asks for 3"):
            self.cv(self.ds, "a", epochs=3)
        fold0 = os.path.join(self.tmp, "a", "fold0.pt")
        os.truncate(fold0, 500)
        with self.assertRaisesRegex(CheckpointError, "fold0.pt: cannot be read .*truncated or not a checkpoint"):
            self.cv(self.ds, "a", epochs=1)
        # A checkpoint of the same settings that is not a per-epoch one (a bare trunk): nothing to resume from.
        self.cv(self.ds, "c", epochs=1)
        os.remove(os.path.join(self.tmp, "c", "cv.json"))
        fold0 = os.path.join(self.tmp, "c", "fold0.pt")
        ck = torch.load(fold0)
        torch.save({"model": ck["model"], "config": ck["config"]}, fold0)
        with self.assertRaisesRegex(CheckpointError, "fold0.pt: is not a resumable training checkpoint \\(no optimizer\\): delete it to redo that step"):
            self.cv(self.ds, "c", epochs=1)
        # A pre-trained trunk of another width, or from another featurizer.
        pre = os.path.join(self.tmp, "pre")
        pretrain(self.ds, pre, dict(CFG, hidden=16), epochs=1, batch_size=4, lr=1e-3, seed=0, **QUIET)
        with self.assertRaisesRegex(CheckpointError, "pretrained.pt: was written with hidden 16; this run asks for 8"):
            self.cv(self.ds, "b", pretrained=os.path.join(pre, "pretrained.pt"))
        ck = torch.load(os.path.join(pre, "pretrained.pt"))
        torch.save(dict(ck, featurizer="ionrank-fz0-other"), os.path.join(pre, "pretrained.pt"))
        with self.assertRaisesRegex(CheckpointError, "was pre-trained on featurizer ionrank-fz0-other; the dataset uses"):
            cross_validate(self.ds, os.path.join(self.tmp, "b"), dict(CFG, hidden=16), pretrained=os.path.join(pre, "pretrained.pt"), folds=2,
                           epochs=1, batch_size=4, lr=1e-3, seed=0, freeze=0, **QUIET)

    def test_repeated_entries_and_negative_barriers_are_refused_by_entry(self):
        # Overlapping Em files: a copy of an entry in another fold leaks it into its own training set.
        d = self.copy()
        self.edit_manifest(d, lambda m: m["ids"].__setitem__(4, m["ids"][1]))
        ds = load_dataset(d).subset(range(6))
        with self.assertRaises(DatasetError) as e:
            self.cv(ds)
        self.assertEqual(e.exception.reason, f"entry {ds.ids()[1]} appears twice (earlier in the same file): cross-validation would train on one "
                                             "copy and hold out the other; give each entry once")
        self.assertEqual(e.exception.file, ds.manifest["sources"][0]["file"])
        self.assertFalse(os.path.exists(os.path.join(self.tmp, "cv", "cv.json")))
        # A negative barrier: log1p would clamp it and train on it silently.
        d = self.copy()
        t = np.fromfile(os.path.join(d, "targets.bin"), dtype="<f4")
        t[3] = -2.0
        t.tofile(os.path.join(d, "targets.bin"))
        ds = load_dataset(d).subset(range(6))
        with self.assertRaisesRegex(DatasetError, f"entry {ds.ids()[3]} has target -2: a migration barrier \\(eV\\) cannot be negative"):
            self.cv(ds)
        code, out = self.main(["check", "--data", d, "--folds", "2"])
        self.assertEqual((code, json.loads(out[len(ERROR_PREFIX):])["type"]), (1, "DatasetError"))

    def test_resuming_folds_under_other_folds_trunk_or_freeze_is_refused(self):
        # Complete fold checkpoints are reused as they are: they must have been made the way this run asks for.
        self.cv(self.ds, "a")
        os.remove(os.path.join(self.tmp, "a", "cv.json"))
        pre = os.path.join(self.tmp, "pre")
        pretrain(self.ds, pre, CFG, epochs=1, batch_size=4, lr=1e-3, seed=0, **QUIET)
        for kw, message in [(dict(pretrained=os.path.join(pre, "pretrained.pt")), "was written with pretrained none; this run asks for pretrained.pt@"),
                            (dict(freeze=1), "was written with freeze 0; this run asks for 1"),
                            (dict(seed=1, init_seed=0), "was written with fold seed 0; this run asks for 1")]:
            with self.subTest(**{k: str(v) for k, v in kw.items()}):
                with self.assertRaisesRegex(CheckpointError, "fold0.pt: " + message):
                    self.cv(self.ds, "a", **kw)
                self.assertFalse(os.path.exists(os.path.join(self.tmp, "a", "cv.json")))

    def test_options_out_of_range_are_named_before_any_work(self):
        out = os.path.join(self.tmp, "cv")
        for flag, value, reason in [("--epochs", "0", "must be an integer ≥ 1 (got 0)"), ("--batch-size", "0", "must be an integer ≥ 1 (got 0)"),
                                    ("--lr", "-1", "must be a learning rate > 0 (got -1.0)"), ("--lr", "nan", "must be a learning rate > 0 (got nan)"),
                                    ("--hidden", "0", "must be an integer ≥ 1 (got 0)"), ("--limit", "-3", "must be an integer ≥ 0 (got -3)"),
                                    ("--folds", "1", "must be an integer ≥ 2 (got 1)"), ("--dropout", "2", "must be a probability in [0, 1) (got 2.0)")]:
            with self.subTest(flag=flag, value=value):
                code, text = self.main(["cv", "--data", DATA, "--out", out, "--folds", "2", flag, value])
                self.assertEqual(code, 1)
                rec = json.loads(text[len(ERROR_PREFIX):])
                self.assertEqual((rec["type"], rec["file"], rec["reason"]), ("OptionError", flag, reason))
                self.assertFalse(os.path.exists(out))
        code, text = self.main(["export", "--data", DATA, "--cv", out, "--out", os.path.join(self.tmp, "m"), "--variant", "freeze1"])
        self.assertEqual(json.loads(text[len(ERROR_PREFIX):])["message"], "--variant: must be NAME=CV_DIR (got 'freeze1')")
        with self.assertRaisesRegex(OptionError, "--folds 1: cross-validation needs at least 2 folds"):
            self.cv(self.ds, folds=1)

    def main(self, argv):
        buf = io.StringIO()
        with redirect_stdout(buf):
            code = cli.main(argv)
        return code, buf.getvalue()

    def test_results_are_written_atomically_and_never_hold_nan(self):
        path = os.path.join(self.tmp, "cv.json")
        write_json(path, {"mae": 0.1})
        with self.assertRaisesRegex(CheckpointError, "NaN or infinity"):
            write_json(path, {"mae": math.nan})
        with open(path) as f:
            self.assertEqual(json.load(f), {"mae": 0.1})
        # A crash while pretrained.pt is written (the stage's "done" marker) must not leave a truncated one.
        real_save = torch.save

        def crash(obj, f, *a, **kw):
            if str(f).endswith("pretrained.pt") or ".pt.partial-" in str(f):
                with open(f, "wb") as out:
                    out.write(b"partial")
                raise OSError("no space left on device")
            return real_save(obj, f, *a, **kw)

        with mock.patch.object(torch, "save", crash), self.assertRaises(OSError):
            pretrain(self.ds, os.path.join(self.tmp, "pre"), CFG, epochs=1, batch_size=4, lr=1e-3, seed=0, **QUIET)
        self.assertFalse(os.path.exists(os.path.join(self.tmp, "pre", "pretrained.pt")))
        self.assertEqual([f for f in os.listdir(os.path.join(self.tmp, "pre")) if "partial" in f], [])

    def test_divergence_says_what_to_delete_and_saves_no_nan_checkpoint(self):
        # An absurd learning rate (the option checks take any lr > 0) sends the weights to NaN in the first epoch.
        out = os.path.join(self.tmp, "cv")
        buf = io.StringIO()
        with redirect_stdout(buf):
            code = cli.main(["cv", "--data", DATA, "--out", out, "--limit", "6", "--hidden", "8", "--alignn-layers", "1", "--gcn-layers", "1",
                             "--line-k", "6", "--folds", "2", "--epochs", "2", "--batch-size", "4", "--lr", "1e30"])
        self.assertEqual(code, 1)
        rec = json.loads(buf.getvalue().strip().splitlines()[-1][len(ERROR_PREFIX):])
        self.assertEqual((rec["type"], rec["file"]), ("DivergedError", out))
        self.assertRegex(rec["reason"], r"^training diverged to NaN or infinity at epoch 1/2 .*; no checkpoint was saved: rerun with other settings")
        # A saved NaN checkpoint would be resumed by every rerun (same settings) and end in NaN again.
        self.assertEqual([f for f in os.listdir(out) if f.endswith(".pt")], [])
        with self.assertRaisesRegex(DivergedError, "training diverged to NaN or infinity at epoch 1/1"):
            pretrain(self.ds, os.path.join(self.tmp, "pre"), CFG, epochs=1, batch_size=4, lr=1e30, seed=0, **QUIET)
        self.assertFalse(os.path.exists(os.path.join(self.tmp, "pre", "checkpoint.pt")))
        # Checkpoints of earlier epochs or folds would be resumed: the whole folder must go.
        for f in ("fold0.pt", "fold1.pt"):
            open(os.path.join(out, f), "wb").close()
        e = diverged(os.path.join(out, "fold1.pt"), "at epoch 2/2 (train L1 nan, validation MAE [nan])")
        self.assertEqual(e.file, out)
        self.assertEqual(e.reason, "training diverged to NaN or infinity at epoch 2/2 (train L1 nan, validation MAE [nan]); a rerun would resume from its "
                                   f"checkpoints (fold0.pt, fold1.pt) and diverge again: delete {out} (all of it) and rerun with other settings "
                                   "(e.g. a lower learning rate or another seed)")

    def test_failed_export_leaves_the_existing_model_whole(self):
        from ionrank_training.export import export_ensemble

        self.cv(self.ds, "cv")
        out = os.path.join(self.tmp, "models")
        export_ensemble(self.ds, os.path.join(self.tmp, "cv"), out, "em", "1.0.0", None, None, 4)
        before = {f: open(os.path.join(out, f), "rb").read() for f in os.listdir(out)}
        self.assertEqual(sorted(before), ["em.card.json", "em.member0.onnx", "em.member1.onnx"])
        # A staging folder left by an export that was killed (its process is gone) is cleared by the next export.
        dead = subprocess.Popen(["true"])
        dead.wait()
        stale = os.path.join(self.tmp, f".models.em.partial-{dead.pid}")
        os.makedirs(stale)
        with open(os.path.join(stale, "em.member0.onnx"), "wb") as f:
            f.write(b"half")
        export_ensemble(self.ds, os.path.join(self.tmp, "cv"), out, "em", "1.0.0", None, None, 4)
        self.assertEqual([f for f in os.listdir(self.tmp) if "partial" in f], [])
        before = {f: open(os.path.join(out, f), "rb").read() for f in os.listdir(out)}
        os.truncate(os.path.join(self.tmp, "cv", "fold1.pt"), 500)  # the second member fails to load
        with self.assertRaisesRegex(CheckpointError, "fold1.pt: cannot be read"):
            export_ensemble(self.ds, os.path.join(self.tmp, "cv"), out, "em", "2.0.0", None, None, 4)
        self.assertEqual({f: open(os.path.join(out, f), "rb").read() for f in os.listdir(out)}, before)
        self.assertEqual([f for f in os.listdir(self.tmp) if "partial" in f], [])
        # A dataset of another --limit than the cross-validation's is refused before anything is written.
        with self.assertRaisesRegex(CheckpointError, "cv.json: covers 6 entries; the dataset has 4"):
            export_ensemble(self.ds.subset(range(4)), os.path.join(self.tmp, "cv"), out, "em", "2.0.0", None, None, 4)

    def test_main_prints_one_machine_readable_line_and_no_traceback(self):
        def run(argv):
            buf = io.StringIO()
            with redirect_stdout(buf):
                code = cli.main(argv)
            return code, buf.getvalue()

        code, out = run(["cv", "--data", os.path.join(self.tmp, "nowhere"), "--out", os.path.join(self.tmp, "cv")])
        self.assertEqual(code, 1)
        self.assertEqual(len(out.strip().splitlines()), 1)
        self.assertTrue(out.startswith(ERROR_PREFIX))
        rec = json.loads(out[len(ERROR_PREFIX):])
        self.assertEqual(rec["type"], "DatasetError")
        self.assertEqual(rec["file"], os.path.join(self.tmp, "nowhere"))
        # Anything unforeseen: one line naming it, the traceback in the error log.
        log = os.path.join(self.tmp, "error.log")
        with mock.patch.object(cli, "run", side_effect=RuntimeError("boom\nsecond line")):
            code, out = run(["--error-log", log, "check", "--data", DATA])
        self.assertEqual(code, 1)
        rec = json.loads(out[len(ERROR_PREFIX):])
        self.assertEqual(rec["message"], f"unexpected error in the training core: RuntimeError: boom (full traceback in {log})")
        with open(log) as f:
            self.assertIn("Traceback", f.read())


if __name__ == "__main__":
    unittest.main()
