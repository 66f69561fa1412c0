"""Training-step benchmark: the edge-list layout training runs on against the dense layout export and inference
use, on the same batches, same weights and same thread count, alternating so both see the same machine load.
Run by `npm run bench -w @ionrank/training` (bench/training.bench.mjs featurizes the data first):

    python3 -m ionrank_training.bench --data EM_DIR [--bulk BULK_DIR] [--threads 1] [--rounds 3]
"""
import argparse
import json
import statistics
import time

import numpy as np
import torch

from .data import load_dataset, make_batch, make_edge_batch
from .model import EmNet, edge_inputs, model_inputs, to_tensors
from .train import batches, masked_l1, set_blas_threads, training_batch


def time_epoch(model, opt, ds, bs, props, layout: str) -> float:
    """Seconds for one pass of training steps over batches `bs` (batching, forward, backward, optimiser)."""
    t0 = time.perf_counter()
    for b in bs:
        if layout == "dense":
            t = to_tensors(make_batch(ds, b, props))
            pred = model(*model_inputs(t))
        else:
            t = training_batch(model, ds, b, props, "cpu")
            pred = model.forward_edges(*edge_inputs(t))
        loss = masked_l1(pred, t["targets"], t["target_mask"])
        opt.zero_grad()
        loss.backward()
        opt.step()
    return time.perf_counter() - t0


def bench(path: str, label: str, graphs: int, batch_size: int, readout: str, rounds: int) -> dict:
    ds = load_dataset(path)
    props = list(range(len(ds.properties)))
    torch.manual_seed(0)
    model = EmNet(ds.arrays["element_features"], hidden=64, alignn_layers=2, gcn_layers=2, line_k=8, readout=readout, outputs=len(props),
                  cutoff=float(ds.manifest["featurizer"]["config"]["cutoff"]))
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)  # small steps: the weights stay comparable across rounds
    # Only graphs with a label for some property (a batch of unlabelled graphs has no loss to step on).
    labelled = np.flatnonzero(ds.mask().any(axis=1))[:graphs]
    bs = batches(labelled, batch_size, np.random.default_rng(0))
    time_epoch(model, opt, ds, bs[:2], props, "dense")  # warm-up: allocator, kernels
    time_epoch(model, opt, ds, bs[:2], props, "edges")
    times = {"dense": [], "edges": []}
    for _ in range(rounds):
        for layout in ("dense", "edges"):
            times[layout].append(time_epoch(model, opt, ds, bs, props, layout))
    d, e = statistics.median(times["dense"]), statistics.median(times["edges"])
    k = model.config["line_k"]
    b0 = make_batch(ds, bs[0], props)
    e0 = make_edge_batch(ds, bs[0], props, k)
    return {
        "data": label, "graphs": int(len(labelled)), "batch_size": batch_size, "rounds": rounds, "threads": torch.get_num_threads(),
        "dense_seconds": d, "edges_seconds": e, "speedup": d / e,
        "dense_ms_per_graph": 1000 * d / len(labelled), "edges_ms_per_graph": 1000 * e / len(labelled),
        # What the dense layout computes that the edge lists do not (first batch): padded bond slots and triplets.
        "bond_slots_dense": int(b0["nbr_mask"].size), "bonds": int(len(e0["edge_src"])),
        "triplet_slots_dense": int(b0["nbr_mask"].shape[0] * min(k, b0["nbr_mask"].shape[1]) ** 2), "triplets": int(len(e0["trip_a"])),
    }


def main():
    p = argparse.ArgumentParser(prog="ionrank_training.bench")
    p.add_argument("--data", required=True, help="featurized Em dataset (path structures)")
    p.add_argument("--bulk", default=None, help="featurized pre-training dataset (bulk crystals)")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--graphs", type=int, default=447, help="graphs per timed pass (447 = one cross-validation fold's training set)")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    set_blas_threads(a.threads)  # as training sets it
    results = [bench(a.data, "Em path structures (fine-tuning)", a.graphs, 32, "path", a.rounds)]
    if a.bulk:
        results.append(bench(a.bulk, "bulk crystals (pre-training)", 4 * a.graphs, 64, "mean", a.rounds))
    for r in results:
        print(f"{r['data']}: {r['graphs']} graphs, batch {r['batch_size']}, {r['threads']} thread(s), median of {r['rounds']} passes: "
              f"dense {r['dense_seconds']:.2f} s, edge lists {r['edges_seconds']:.2f} s -> {r['speedup']:.2f}x "
              f"({r['edges_ms_per_graph']:.1f} ms per graph; first batch: {r['bonds']} bonds for {r['bond_slots_dense']} dense slots, "
              f"{r['triplets']} triplets for {r['triplet_slots_dense']})", flush=True)
    print(json.dumps(results))


if __name__ == "__main__":
    main()
