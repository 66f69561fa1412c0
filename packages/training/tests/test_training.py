"""Unit tests of the training core (run by `npm test -w @ionrank/training`). They need a featurized
dataset; the test script writes one with `ionrank featurize` and passes its path in IONRANK_TEST_DATASET."""
import json
import os
import tempfile
import unittest

import numpy as np
import torch

from ionrank_training.data import load_dataset, make_batch, make_edge_batch
from ionrank_training.model import EmNet, edge_inputs, model_inputs, to_tensors
from ionrank_training.errors import CheckpointError
from ionrank_training.train import (calibrate, cross_validate, file_sha256, fit, jitter_positions, pretrain, regression_metrics, seed_calibration, set_blas_threads, set_threads,
                                   stratified_folds, train_members)

DATA = os.environ.get("IONRANK_TEST_DATASET")


@unittest.skipUnless(DATA, "IONRANK_TEST_DATASET not set")
class TrainingCore(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        set_threads()
        cls.ds = load_dataset(DATA).subset(range(10))

    def model(self, seed=0):
        torch.manual_seed(seed)
        return EmNet(self.ds.arrays["element_features"], hidden=16, alignn_layers=1, gcn_layers=1, line_k=6)

    def test_batch_layout_matches_the_dataset(self):
        b = make_batch(self.ds, [2, 5])
        a = self.ds.arrays
        n2 = int(a["atom_offsets"][3] - a["atom_offsets"][2])
        self.assertEqual(b["atom_counts"].tolist(), [n2, int(a["atom_offsets"][6] - a["atom_offsets"][5])])
        # First atom of graph 5 sits at batch row n2; its first neighbour slot is the dataset's first edge.
        e0 = int(a["edge_offsets"][a["atom_offsets"][5]])
        self.assertEqual(int(b["nbr_index"][n2, 0]), int(a["edge_neighbour"][e0]) + n2)
        np.testing.assert_array_equal(b["nbr_vector"][n2, 0], a["edge_vector"][e0])
        deg = int(a["edge_offsets"][a["atom_offsets"][5] + 1] - e0)
        self.assertEqual(b["nbr_mask"][n2].sum(), deg)

    def test_padding_does_not_change_predictions(self):
        m = self.model().eval()
        with torch.no_grad():
            alone = m(*model_inputs(to_tensors(make_batch(self.ds, [3]))))[0, 0].item()
            together = m(*model_inputs(to_tensors(make_batch(self.ds, [0, 3, 7]))))[1, 0].item()
        self.assertAlmostEqual(alone, together, places=5)

    def test_path_readout_reads_each_graphs_own_images(self):
        torch.manual_seed(0)
        m = EmNet(self.ds.arrays["element_features"], hidden=16, alignn_layers=1, gcn_layers=1, line_k=6, readout="path").eval()
        with torch.no_grad():
            t = to_tensors(make_batch(self.ds, [0, 3, 7]))
            pooled = m.trunk(*model_inputs(t))
            alone = m(*model_inputs(to_tensors(make_batch(self.ds, [3]))))[0, 0].item()
            together = m.head(pooled)[1, 0].item()
        self.assertEqual(tuple(pooled.shape), (3, 64))
        # Images are the first atoms of each graph; a batch must not hand one graph another's images.
        self.assertAlmostEqual(alone, together, places=5)
        self.assertFalse(torch.allclose(pooled[:, :16], pooled[:, 16:32]))

    def test_blas_threads_follow_torchs(self):
        # OpenBLAS keeps its own pool: without this a 1-thread run still multiplies on every core.
        import ctypes

        before = os.environ.get("IONRANK_TORCH_THREADS")
        try:
            os.environ["IONRANK_TORCH_THREADS"] = "1"
            set_threads()
            path = set_blas_threads(1)
            if path is None:
                self.skipTest("this torch does not use OpenBLAS")
            self.assertEqual(ctypes.CDLL(path).openblas_get_num_threads(), 1)
            self.assertEqual(torch.get_num_threads(), 1)
        finally:
            if before is None:
                del os.environ["IONRANK_TORCH_THREADS"]
            else:
                os.environ["IONRANK_TORCH_THREADS"] = before
            set_threads()

    def test_edge_layout_computes_the_dense_network(self):
        # Training runs on edge lists, export and inference on the dense layout: the same weights must give the same
        # outputs and gradients in both (exactly, up to summation order: compared in float64).
        def double(t):
            return {k: v.double() if v.is_floating_point() else v for k, v in t.items()}

        for line_k, readout in ((6, "path"), (0, "mean")):
            torch.manual_seed(0)
            m = EmNet(self.ds.arrays["element_features"], hidden=16, alignn_layers=2, gcn_layers=1, line_k=line_k, readout=readout).double()
            b = [0, 3, 4, 7, 9]
            dense, edges = double(to_tensors(make_batch(self.ds, b, [0]))), double(to_tensors(make_edge_batch(self.ds, b, [0], line_k)))
            # The dense batch pads: the edge batch holds exactly the real bonds.
            self.assertEqual(edges["edge_src"].shape[0], int(dense["nbr_mask"].sum()))
            self.assertLess(edges["edge_src"].shape[0], dense["nbr_mask"].numel())
            p_dense, p_edges = m(*model_inputs(dense)), m.forward_edges(*edge_inputs(edges))
            torch.testing.assert_close(p_edges, p_dense, atol=1e-12, rtol=0)
            params = [p for p in m.parameters()]
            g_dense = torch.autograd.grad(p_dense.sum(), params, allow_unused=True)
            g_edges = torch.autograd.grad(p_edges.sum(), params, allow_unused=True)
            for (name, _), gd, ge in zip(m.named_parameters(), g_dense, g_edges):
                self.assertEqual(gd is None, ge is None, name)
                if gd is not None:
                    torch.testing.assert_close(ge, gd, atol=1e-12, rtol=1e-9, msg=name)

    def test_edge_batch_triplets_pair_the_nearest_bonds_of_one_centre(self):
        a = self.ds.arrays
        t = make_edge_batch(self.ds, [1, 2], [0], 6)
        deg = np.bincount(t["edge_src"], minlength=len(t["atomic_number"]))
        np.testing.assert_array_equal(deg, np.diff(a["edge_offsets"])[a["atom_offsets"][1]:a["atom_offsets"][3]])
        near = t["near"]
        m = np.minimum(deg, 6)
        self.assertEqual(len(near), int(m.sum()))
        self.assertEqual(len(t["trip_a"]), int((m * (m - 1)).sum()))
        src = t["edge_src"][near]
        self.assertTrue(np.all(src[t["trip_a"]] == src[t["trip_b"]]))  # partners share their centre
        self.assertTrue(np.all(t["trip_a"] != t["trip_b"]))  # a bond is not its own partner
        # Each centre's near bonds are its first 6 slots: the bond slot within its centre is below 6.
        first = np.searchsorted(t["edge_src"], src)
        self.assertTrue(np.all(near - first < 6))
        self.assertEqual(len(set(zip(t["trip_a"].tolist(), t["trip_b"].tolist()))), len(t["trip_a"]))  # no pair twice

    def test_onnx_export_avoids_the_approximate_sigmoid(self):
        import onnx
        from ionrank_training.export import export_member

        m = EmNet(self.ds.arrays["element_features"], hidden=16, alignn_layers=1, gcn_layers=1, line_k=6, readout="path").eval()
        with tempfile.TemporaryDirectory() as d:
            export_member(m, self.ds, os.path.join(d, "m.onnx"))
            ops = {n.op_type for n in onnx.load(os.path.join(d, "m.onnx")).graph.node}
        # ONNX Runtime's Sigmoid is a fast approximation (4.5e-4 eV off PyTorch at the output); gates use exp.
        self.assertNotIn("Sigmoid", ops)
        self.assertIn("Exp", ops)

    def test_log1p_target_exports_in_ev_and_fits_in_log_space(self):
        import onnx
        from ionrank_training.export import export_member

        torch.manual_seed(0)
        m = EmNet(self.ds.arrays["element_features"], hidden=16, alignn_layers=1, gcn_layers=1, line_k=6, readout="path",
                  target="log1p", dropout=0.2).eval()
        t = to_tensors(make_batch(self.ds, [0, 3, 7]))
        with torch.no_grad():
            raw = m.head(m.trunk(*model_inputs(t)))
            out = m(*model_inputs(t))
        # Outputs are eV (expm1 of the head); the loss space maps them back to the head's output.
        torch.testing.assert_close(out, torch.expm1(raw), atol=1e-6, rtol=1e-5)
        torch.testing.assert_close(m.to_target_space(out), raw, atol=1e-6, rtol=1e-5)
        self.assertTrue(torch.equal(m.to_target_space(torch.tensor([0.0])), torch.tensor([0.0])))
        # Dropout acts only while training.
        m.train()
        with torch.no_grad():
            self.assertFalse(torch.allclose(m(*model_inputs(t)), out))
        m.eval()
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "m.onnx")
            export_member(m, self.ds, path)
            g = onnx.load(path).graph
        # No dropout in the exported graph; the output is exp(head) − 1 (ONNX has no Expm1). ONNX Runtime
        # parity of such a model is checked by the TypeScript parity tests.
        self.assertNotIn("Dropout", {n.op_type for n in g.node})
        last = {n.output[0]: n for n in g.node}[g.output[0].name]
        self.assertEqual(last.op_type, "Sub")

    def test_checkpoints_without_dropout_keep_their_layout(self):
        # Shipped members and earlier runs hold these names; a model without dropout must load them.
        m = EmNet(self.ds.arrays["element_features"], hidden=16, alignn_layers=1, gcn_layers=1, line_k=6, readout="path")
        head = sorted(k for k in m.state_dict() if k.startswith("head."))
        self.assertEqual(head, ["head.1.bias", "head.1.weight", "head.3.bias", "head.3.weight", "head.5.bias", "head.5.weight"])

    def test_killed_run_resumes_to_the_same_weights(self):
        # With position noise too: its draws come from the RNG state the checkpoint restores.
        train, val = list(range(8)), [8, 9]
        for noise in (0.0, 0.05):
            with self.subTest(noise=noise), tempfile.TemporaryDirectory() as d:
                a = self.model()
                fit(a, self.ds, train, val, [0], epochs=3, batch_size=4, lr=1e-3, seed=1, checkpoint=os.path.join(d, "a.pt"),
                    log=lambda m: None, noise=noise)

                class Killed(Exception):
                    pass

                def kill_after_first(msg):
                    if msg.startswith("epoch 1/3"):
                        raise Killed()

                b = self.model()
                with self.assertRaises(Killed):
                    fit(b, self.ds, train, val, [0], epochs=3, batch_size=4, lr=1e-3, seed=1, checkpoint=os.path.join(d, "b.pt"),
                        log=kill_after_first, noise=noise)
                torch.manual_seed(999)  # a fresh process would hold another RNG state; the checkpoint's must win
                c = self.model(seed=123)  # ... and other weights
                fit(c, self.ds, train, val, [0], epochs=3, batch_size=4, lr=1e-3, seed=1, checkpoint=os.path.join(d, "b.pt"),
                    log=lambda m: None, noise=noise)
                for (k, va), vc in zip(a.state_dict().items(), c.state_dict().values()):
                    self.assertTrue(torch.equal(va, vc), k)

    def test_card_records_a_limited_training_set(self):
        # The sources name whole files (their sha256 and entry counts): only the card's limit says the first N trained it.
        from ionrank_training.export import export_ensemble

        ds = self.ds.subset(range(6))
        cfg = {"hidden": 8, "alignn_layers": 1, "gcn_layers": 1, "line_k": 6, "readout": "path"}
        with tempfile.TemporaryDirectory() as d:
            quiet = {"epochs": 1, "batch_size": 4, "lr": 1e-3, "seed": 0, "log": lambda m: None}
            pretrain(ds, os.path.join(d, "pre"), cfg, limit=6, **quiet)
            trunk = os.path.join(d, "pre", "pretrained.pt")
            cross_validate(ds, os.path.join(d, "cv"), cfg, pretrained=trunk, folds=2, freeze=0, **quiet)
            card = export_ensemble(ds, os.path.join(d, "cv"), os.path.join(d, "m"), "em", "0.0.1", None, trunk, 2, limit=6)
            # The trunk ships beside the members, byte for byte, with its pre-training record: fine-tuning can be rerun from it.
            shipped = card["pretraining"]["trunk"]
            self.assertEqual((shipped["file"], shipped["record"]), ("em.trunk.pt", "em.trunk.json"))
            with open(trunk, "rb") as a, open(os.path.join(d, "m", "em.trunk.pt"), "rb") as b:
                self.assertEqual(a.read(), b.read())
            self.assertEqual(shipped["sha256"], file_sha256(trunk))
            with open(os.path.join(d, "m", "em.trunk.json")) as f:
                self.assertEqual(json.load(f)["validation_mae"], card["pretraining"]["validation_mae"])
            # Another trunk than the one the networks started from is refused, naming a checkpoint.
            pretrain(ds, os.path.join(d, "pre2"), cfg, limit=6, **{**quiet, "seed": 1})
            with self.assertRaisesRegex(CheckpointError, "fold0.pt: was fine-tuned from pretrained.pt@.*not from"):
                export_ensemble(ds, os.path.join(d, "cv"), os.path.join(d, "m4"), "em", "0.0.1", None, os.path.join(d, "pre2", "pretrained.pt"), 2, limit=6)
            self.assertFalse(os.path.exists(os.path.join(d, "m4")))
            whole = sum(s["entries"] for s in ds.sha256_of_sources())
            self.assertGreater(whole, 6)
            self.assertEqual({k: card["training_data"][k] for k in ("entries", "limit", "subset")}, {"entries": 6, "limit": 6, "subset": True})
            self.assertEqual({k: card["pretraining"][k] for k in ("entries", "limit", "subset")}, {"entries": 6, "limit": 6, "subset": True})
            # The whole of the files: no limit, no subset.
            full = load_dataset(DATA)
            self.assertEqual(full.subset_record(0), {"entries": whole, "limit": None, "subset": False})

    def test_position_noise_moves_atoms_not_bonds(self):
        t = to_tensors(make_batch(self.ds, [0, 1, 2]))
        torch.manual_seed(0)
        jittered = jitter_positions(t, 0.1)
        moved = jittered - t["nbr_vector"]
        mask = t["nbr_mask"].bool()
        self.assertEqual(float(moved[~mask].abs().max()), 0.0)  # padding slots stay empty
        self.assertGreater(float(moved[mask].abs().mean()), 0.05)  # ~ sqrt(2) * 0.1 * sqrt(2 / pi)
        # Every bond i -> j that the structure also holds as j -> i stays its exact reverse: atoms moved, not bonds.
        nbr, vec = t["nbr_index"], t["nbr_vector"]
        pairs = 0
        for i, a in mask.nonzero().tolist():
            j = int(nbr[i, a])
            for b in mask[j].nonzero()[:, 0].tolist():
                if int(nbr[j, b]) == i and torch.allclose(vec[j, b], -vec[i, a], atol=1e-5):
                    pairs += 1
                    torch.testing.assert_close(jittered[j, b], -jittered[i, a], atol=1e-5, rtol=0)
        self.assertGreater(pairs, 100)
        torch.manual_seed(0)
        self.assertTrue(torch.equal(jitter_positions(t, 0.1), jittered))  # seeded
        # The edge layout training uses draws the same displacements: its bonds move exactly as their dense slots.
        e = to_tensors(make_edge_batch(self.ds, [0, 1, 2], None, 6))
        torch.manual_seed(0)
        torch.testing.assert_close(jitter_positions(e, 0.1), jittered[mask], atol=1e-6, rtol=0)

    def test_init_seed_keeps_the_folds_and_changes_the_members(self):
        cfg = {"hidden": 16, "alignn_layers": 1, "gcn_layers": 1, "line_k": 6, "readout": "path"}
        runs = {}
        with tempfile.TemporaryDirectory() as d:
            for name, init in (("a", None), ("b", None), ("c", 100)):
                runs[name] = cross_validate(self.ds, os.path.join(d, name), cfg, pretrained=None, folds=2, epochs=1, batch_size=4, lr=1e-3,
                                            seed=3, freeze=0, log=lambda m: None, init_seed=init)
        self.assertEqual(runs["a"]["folds"], runs["c"]["folds"])
        self.assertEqual(runs["a"]["init_seed"], 3)
        self.assertEqual(runs["a"]["heldout_predictions"], runs["b"]["heldout_predictions"])  # reproducible
        self.assertNotEqual(runs["a"]["heldout_predictions"], runs["c"]["heldout_predictions"])

    def test_members_train_on_every_entry_and_ship_with_a_seed_calibrated_spread(self):
        from ionrank_training.errors import CheckpointError, OptionError
        from ionrank_training.export import export_ensemble

        ds = self.ds.subset(range(8))
        cfg = {"hidden": 8, "alignn_layers": 1, "gcn_layers": 1, "line_k": 6, "readout": "path", "target": "identity", "dropout": 0.0}
        quiet = {"epochs": 2, "batch_size": 4, "lr": 1e-3, "log": lambda m: None}
        with tempfile.TemporaryDirectory() as d:
            cvs = [os.path.join(d, f"cv{r}") for r in range(3)]
            for r, out in enumerate(cvs):
                cross_validate(ds, out, cfg, pretrained=None, folds=2, seed=0, init_seed=100 * r, freeze=0, **quiet)
            m = train_members(ds, os.path.join(d, "mb"), cfg, pretrained=None, members=3, init_seed=0, **quiet)
            self.assertEqual(m["members"], ["member0.pt", "member1.pt", "member2.pt"])
            for j in range(3):  # every member saw every entry, with its own seed
                run = torch.load(os.path.join(d, "mb", f"member{j}.pt"), weights_only=False)["run"]
                self.assertEqual((run["train_size"], run["validation_size"], run["seed"]), (8, 0, j))
            self.assertGreater(m["seconds"], 0)  # the members' training time, summed from their checkpoints
            # Rerun: every member is complete, so nothing is trained again and the record is the same.
            again = train_members(ds, os.path.join(d, "mb"), cfg, pretrained=None, members=3, init_seed=0, **quiet)
            self.assertEqual(again["metrics_in_sample"], m["metrics_in_sample"])
            card = export_ensemble(ds, cvs[0], os.path.join(d, "model"), "em", "0.0.1", None, None, 4, seed_runs=cvs[1:],
                                   members_dir=os.path.join(d, "mb"))
            self.assertEqual([x["seed"] for x in card["ensemble"]["members"]], [0, 1, 2])
            self.assertTrue(all(os.path.exists(os.path.join(d, "model", x["file"])) for x in card["ensemble"]["members"]))
            self.assertEqual(card["calibration"]["runs"], 3)
            self.assertEqual(card["cv"]["seed_runs"]["init_seeds"], [0, 100, 200])
            self.assertEqual(card["evaluation"]["metrics"], m["metrics_in_sample"])  # the shipped members, not the fold models
            # The members need two or more runs to be calibrated, and the cross-validated recipe.
            with self.assertRaises(OptionError):
                export_ensemble(ds, cvs[0], os.path.join(d, "m2"), "em", "0.0.1", None, None, 4, members_dir=os.path.join(d, "mb"))
            train_members(ds, os.path.join(d, "mb-other"), cfg, pretrained=None, members=2, init_seed=0, **{**quiet, "epochs": 1})
            with self.assertRaisesRegex(CheckpointError, "differs .* in epochs"):
                export_ensemble(ds, cvs[0], os.path.join(d, "m3"), "em", "0.0.1", None, None, 4, seed_runs=cvs[1:], members_dir=os.path.join(d, "mb-other"))
            # Two runs with the same seed are one run counted twice.
            with self.assertRaises(OptionError):
                export_ensemble(ds, cvs[0], os.path.join(d, "m4"), "em", "0.0.1", None, None, 4, seed_runs=[cvs[0]], members_dir=os.path.join(d, "mb"))

    def test_seed_calibration_uses_held_out_spread_only(self):
        # Entries 0-3 (fold 0) and 4-7 (fold 1); three runs whose held-out predictions disagree more where they err more.
        y = np.zeros(8)
        spread = np.array([0.1, 0.2, 0.3, 0.4, 0.1, 0.2, 0.3, 0.4])
        runs = [{"folds": [0, 0, 0, 0, 1, 1, 1, 1], "heldout_predictions": (2 * spread + d * spread).tolist()} for d in (-1.0, 0.0, 1.0)]
        c = seed_calibration(y, runs, 2)
        # Spread (ddof 1) is exactly `spread`, the error of the mean 2 x spread: the scale is 2 and covers everything at 1 sigma.
        self.assertAlmostEqual(c["scale"], 2.0)
        self.assertGreaterEqual(c["calibrated"]["within1sigma"], 0.6827)
        self.assertEqual(c["raw"]["within1sigma"], 0.0)
        self.assertGreater(c["spearman_spread_vs_error"], 0.9)
        self.assertEqual([n["fold"] for n in c["nested"]], [0, 1])
        self.assertEqual(len(c["scale_from_pairs"]), 3)

    def test_clearance_summary_bins_the_heldout_errors(self):
        from ionrank_training.export import CLEARANCE_CAP, clearance_summary, path_clearances, path_steps
        c = path_clearances(self.ds, path_steps(self.ds))
        self.assertEqual(len(c), self.ds.count)
        self.assertTrue(all(x is None or 0 <= x < CLEARANCE_CAP for x in c))
        s = clearance_summary([0.2, 0.7, None, 1.2], np.array([2.0, 1.0, 0.5, 0.5]), np.array([1.0, 1.2, 0.5, 0.4]))
        self.assertEqual([b["n"] for b in s["bins"]], [1, 1, 1, 0, 1])  # None counts as at least the cap
        self.assertEqual(s["n_below"], 2)
        self.assertAlmostEqual(s["heldout_mae_below_ev"], 0.6)
        self.assertAlmostEqual(s["heldout_mean_error_below_ev"], -0.4)  # predicted too low on average
        self.assertAlmostEqual(s["heldout_mae_all_ev"], 0.325)

    def test_metrics_and_calibration(self):
        y = np.array([0.2, 0.5, 0.9, 1.5])
        p = np.array([0.3, 0.7, 0.6, 1.5])
        m = regression_metrics(y, p)
        self.assertAlmostEqual(m["mae"], 0.15)
        # Good conductors (< 0.65 eV): true [T, T, F, F], predicted [T, F, T, F].
        self.assertEqual(m["accuracy"], 0.5)
        self.assertEqual(m["precision"], 0.5)
        self.assertEqual(m["recall"], 0.5)
        c = calibrate(y, p, np.array([0.1, 0.1, 0.1, 0.1]))
        self.assertGreater(c["scale"], 1.0)
        self.assertGreaterEqual(c["calibrated"]["within1sigma"], 0.5)

    def test_folds_are_stratified_and_fixed(self):
        labels = np.array([3] * 10 + [11] * 5 + [20] * 5)
        f1 = stratified_folds(labels, 5, 7)
        np.testing.assert_array_equal(f1, stratified_folds(labels, 5, 7))
        self.assertEqual(sorted(np.bincount(f1).tolist()), [4, 4, 4, 4, 4])
        for lab in (3, 11, 20):
            self.assertEqual(len(set(f1[labels == lab].tolist())), 5)


if __name__ == "__main__":
    unittest.main()
