"""Featurized datasets (written by ``ionrank featurize``) as numpy arrays, and batching into the dense
fixed-k layout the model reads. Nothing here re-derives geometry: training sees exactly what the
TypeScript featurizer produced, so training and serving cannot disagree about inputs."""
import json
import os
from dataclasses import dataclass

import numpy as np

FORMAT = "ionrank-graph-dataset"


@dataclass
class GraphDataset:
    path: str
    manifest: dict
    arrays: dict

    @property
    def count(self) -> int:
        return int(self.manifest["count"])

    @property
    def properties(self) -> list:
        return list(self.manifest["properties"])

    @property
    def featurizer_version(self) -> str:
        return self.manifest["featurizer"]["version"]

    @property
    def bulk_featurizer_version(self) -> str:
        """The version without the path-structure crop (what bulk pre-training graphs depend on)."""
        f = self.manifest["featurizer"]
        return f.get("bulkVersion", f["version"])

    def ids(self) -> list:
        return list(self.manifest["ids"])

    def targets(self) -> np.ndarray:
        return self.arrays["targets"]

    def mask(self) -> np.ndarray:
        return self.arrays["target_mask"]

    def ion_numbers(self) -> np.ndarray:
        """Atomic number of the moving ion of each graph (its first image atom), 0 for bulk graphs."""
        a = self.arrays
        first = a["atom_offsets"][:-1]
        out = np.zeros(self.count, dtype=np.int64)
        has = a["is_image"][first] == 1
        out[has] = a["atomic_number"][first[has]]
        return out

    def sha256_of_sources(self) -> list:
        return self.manifest["sources"]

    def subset(self, first_n) -> "GraphDataset":
        """The first n graphs (for quick runs and tests)."""
        n = min(len(first_n), self.count)
        a = self.arrays
        na = int(a["atom_offsets"][n])
        ne = int(a["edge_offsets"][na])
        arrays = dict(a)
        arrays.update({
            "atom_offsets": a["atom_offsets"][: n + 1], "atomic_number": a["atomic_number"][:na], "is_image": a["is_image"][:na],
            "edge_offsets": a["edge_offsets"][: na + 1], "edge_neighbour": a["edge_neighbour"][:ne], "edge_vector": a["edge_vector"][:ne],
            "edge_length": a["edge_length"][:ne], "targets": a["targets"][:n], "target_mask": a["target_mask"][:n],
            "graph_source": a["graph_source"][:n],
        })
        manifest = dict(self.manifest, count=n, atoms=na, edges=ne, ids=self.manifest["ids"][:n])
        return GraphDataset(self.path, manifest, arrays)


def load_dataset(path: str) -> GraphDataset:
    with open(os.path.join(path, "manifest.json")) as f:
        m = json.load(f)
    if m.get("format") != FORMAT:
        raise ValueError(f"{path}: not an IonRank graph dataset (format {m.get('format')!r})")
    arrays = {}
    for name, spec in m["arrays"].items():
        a = np.fromfile(os.path.join(path, spec["file"]), dtype=spec["dtype"])
        arrays[name] = a.reshape(spec["shape"])
    return GraphDataset(path, m, arrays)


def make_batch(ds: GraphDataset, indices, props=None, line_k: int = 0) -> dict:
    """Dense batch of graphs ``indices``.

    Layout (N atoms in the batch, K = largest degree in the batch):
      atomic_number [N] int64, is_image [N] float32,
      nbr_index [N, K] int64 (batch-wide atom index, 0 where padded), nbr_vector [N, K, 3] float32 (Å),
      nbr_mask [N, K] float32, graph_index [N] int64, atom_counts [G] float32,
      targets [G, P] float32 (0 where absent), target_mask [G, P] float32.
    The line graph is implicit: bond (i, a) pairs with every other bond (i, b) of the same centre.
    """
    a = ds.arrays
    ao, eo = a["atom_offsets"], a["edge_offsets"]
    indices = np.asarray(indices, dtype=np.int64)
    counts = (ao[indices + 1] - ao[indices]).astype(np.int64)
    N = int(counts.sum())
    gidx = np.repeat(np.arange(len(indices)), counts)
    first = np.repeat(ao[indices], counts)  # dataset index of each graph's first atom
    base = np.repeat(np.cumsum(counts) - counts, counts)  # batch index of each graph's first atom
    atoms = first + (np.arange(N) - base)  # dataset index of every batch atom
    deg = (eo[atoms + 1] - eo[atoms]).astype(np.int64)
    K = int(deg.max()) if N else 1
    rows = np.repeat(np.arange(N), deg)
    slots = np.arange(int(deg.sum())) - np.repeat(np.cumsum(deg) - deg, deg)
    eids = np.repeat(eo[atoms], deg) + slots
    nbr = np.zeros((N, K), dtype=np.int64)
    vec = np.zeros((N, K, 3), dtype=np.float32)
    msk = np.zeros((N, K), dtype=np.float32)
    nbr[rows, slots] = a["edge_neighbour"][eids] + np.repeat(base, deg)
    vec[rows, slots] = a["edge_vector"][eids]
    msk[rows, slots] = 1.0
    out = {
        "atomic_number": a["atomic_number"][atoms].astype(np.int64),
        "is_image": a["is_image"][atoms].astype(np.float32),
        "nbr_index": nbr,
        "nbr_vector": vec,
        "nbr_mask": msk,
        "graph_index": gidx.astype(np.int64),
        "atom_counts": counts.astype(np.float32),
    }
    t = a["targets"][indices]
    m = a["target_mask"][indices].astype(np.float32)
    if props is not None:
        t, m = t[:, props], m[:, props]
    out["targets"] = np.nan_to_num(t, nan=0.0).astype(np.float32)
    out["target_mask"] = m
    return out


MODEL_INPUTS = ["atomic_number", "is_image", "nbr_index", "nbr_vector", "nbr_mask", "graph_index", "atom_counts"]
