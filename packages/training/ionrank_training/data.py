"""Featurized datasets (written by ``ionrank featurize``) as numpy arrays, and batching into the dense
fixed-k layout the model reads. Nothing here re-derives geometry: training sees exactly what the
TypeScript featurizer produced, so training and serving cannot disagree about inputs."""
import json
import os
from dataclasses import dataclass

import numpy as np

from .errors import DatasetError, OptionError, read_json

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

    def subset_record(self, limit: int) -> dict:
        """What of the featurized files a stage used: with --limit only the first graphs, which the sources' entry
        counts (whole files) do not show. `subset` is None where a manifest does not count its files' entries."""
        counts = [s.get("entries") for s in self.manifest["sources"]]
        total = sum(counts) if all(isinstance(c, int) for c in counts) else None
        return {"entries": self.count, "limit": limit or None, "subset": None if total is None else self.count < total}

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


# Shape of every array in units of the manifest's counts (P = properties; None = any length).
SHAPES = {
    "element_features": (None, None), "atom_offsets": ("count+1",), "atomic_number": ("atoms",), "is_image": ("atoms",),
    "edge_offsets": ("atoms+1",), "edge_neighbour": ("edges",), "edge_vector": ("edges", 3), "edge_length": ("edges",),
    "targets": ("count", "P"), "target_mask": ("count", "P"), "graph_source": ("count",),
}


def load_dataset(path: str, kind: str | None = None) -> GraphDataset:
    """Read and check a featurized dataset: every file the manifest lists exists with the size its shape
    implies, offsets and neighbour indices are in range, and (with `kind`) it holds that kind of graphs.
    Anything else raises DatasetError naming the file (and the entry) instead of a numpy error later."""
    mpath = os.path.join(path, "manifest.json")
    if not os.path.isdir(path):
        raise DatasetError(path, "no such dataset folder (written by featurize)")
    m = read_json(mpath, "the featurized dataset", DatasetError)
    if not isinstance(m, dict) or m.get("format") != FORMAT:
        raise DatasetError(mpath, f"not an IonRank graph dataset (format {m.get('format') if isinstance(m, dict) else None!r})")
    try:
        count, atoms, edges, props = int(m["count"]), int(m["atoms"]), int(m["edges"]), len(m["properties"])
        dims = {"count": count, "count+1": count + 1, "atoms": atoms, "atoms+1": atoms + 1, "edges": edges, "P": props}
        specs = {name: m["arrays"][name] for name in SHAPES}
        if len(m["ids"]) != count or not isinstance(m["featurizer"]["config"], dict) or not isinstance(m["sources"], list):
            raise ValueError("ids, featurizer or sources do not fit its count")
    except (KeyError, TypeError, ValueError) as e:
        raise DatasetError(mpath, f"malformed manifest ({'missing ' + str(e) if isinstance(e, KeyError) else e})") from None
    arrays = {}
    for name, spec in m["arrays"].items():
        file = os.path.join(path, str(spec.get("file")))
        want = SHAPES.get(name)
        shape = [int(d) for d in spec["shape"]]
        if want is not None and (len(want) != len(shape) or any(w is not None and dims.get(w, w) != d for w, d in zip(want, shape))):
            raise DatasetError(file, f"shape {shape} does not fit a dataset of {count} graphs, {atoms} atoms, {edges} edges")
        if not os.path.isfile(file):
            raise DatasetError(file, "missing (the manifest lists it): featurize the data again")
        dtype = np.dtype(spec["dtype"])
        size, expected = os.path.getsize(file), int(np.prod(shape)) * dtype.itemsize
        if size != expected:
            raise DatasetError(file, f"has {size} bytes; the manifest's shape {shape} implies {expected} (truncated or from another dataset)")
        arrays[name] = np.fromfile(file, dtype=dtype).reshape(shape)
    ds = GraphDataset(path, m, arrays)
    check_graphs(ds, {name: os.path.join(path, str(spec["file"])) for name, spec in specs.items()})
    if kind is not None:
        check_kind(ds, kind)
    return ds


def check_graphs(ds: GraphDataset, files: dict):
    """Offsets, indices and values in range: a damaged file must fail here, naming it, not as an IndexError."""
    a, ids = ds.arrays, ds.ids()

    def offsets(name, total):
        o = a[name]
        if o[0] != 0 or o[-1] != total or np.any(np.diff(o) < (1 if name == "atom_offsets" else 0)):
            raise DatasetError(files[name], f"offsets are not increasing from 0 to {total} (damaged file)")

    offsets("atom_offsets", ds.manifest["atoms"])
    offsets("edge_offsets", ds.manifest["edges"])
    z = a["atomic_number"]
    if len(z) and (z.min() < 1 or z.max() > a["element_features"].shape[0]):
        raise DatasetError(files["atomic_number"], f"atomic numbers outside 1..{a['element_features'].shape[0]} (damaged file)")
    graph_of_atom = np.repeat(np.arange(ds.count), np.diff(a["atom_offsets"]))
    graph_of_edge = np.repeat(graph_of_atom, np.diff(a["edge_offsets"]))
    nbr = a["edge_neighbour"]
    bad = np.flatnonzero((nbr < 0) | (nbr >= np.diff(a["atom_offsets"])[graph_of_edge]))
    if len(bad):
        g = int(graph_of_edge[bad[0]])
        raise DatasetError(files["edge_neighbour"], f"entry {ids[g]}: neighbour index {int(nbr[bad[0]])} is outside its {int(np.diff(a['atom_offsets'])[g])} atoms "
                                                    f"({len(bad)} bad edges; damaged file)")
    for name in ("edge_vector", "edge_length"):
        if not np.all(np.isfinite(a[name])):
            raise DatasetError(files[name], "holds NaN or infinity (damaged file)")
    src = a["graph_source"]
    if len(src) and (src.min() < 0 or src.max() >= len(ds.manifest["sources"])):
        raise DatasetError(files["graph_source"], "source indices outside the manifest's sources (damaged file)")
    t, mk = a["targets"], a["target_mask"].astype(bool)
    if not np.all(np.isfinite(t[mk])):
        raise DatasetError(files["targets"], "labelled targets hold NaN or infinity (damaged file)")


def check_kind(ds: GraphDataset, kind: str):
    """Em stages need path structures (their first atoms are the moving ion's images); bulk crystals have none."""
    for s in ds.manifest["sources"]:
        if s.get("kind", kind) != kind:
            raise DatasetError(ds.path, f"{s.get('file')} was featurized as {s.get('kind')} graphs; this stage needs {kind} graphs"
                               + (" (the Em dataset: path structures)" if kind == "pathway" else ""))
    if kind == "pathway":
        images = int(ds.manifest["featurizer"]["config"].get("images", 5))
        first = ds.arrays["atom_offsets"][:-1]
        idx = first[:, None] + np.arange(images)[None, :]
        ok = (np.diff(ds.arrays["atom_offsets"]) >= images)[:, None] & (ds.arrays["is_image"][np.minimum(idx, len(ds.arrays["is_image"]) - 1)] == 1)
        bad = np.flatnonzero(~ok.all(axis=1))
        if len(bad):
            raise DatasetError(ds.path, f"entry {ds.ids()[bad[0]]} does not start with {images} path images: not a path-structure (Em) dataset")


def require_labels(ds: GraphDataset, prop: int = 0):
    """Every entry must carry a label for training: an unlabelled one would be trained on as 0 eV and its
    held-out error would be NaN, silently."""
    missing = np.flatnonzero(ds.mask()[:, prop] == 0)
    if len(missing):
        i = int(missing[0])
        src = source_file(ds, i)
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        raise DatasetError(src, f"entry {ds.ids()[i]}{more} has no target (missing or null): every {ds.properties[prop]} entry needs a label to train on")


def source_file(ds: GraphDataset, i: int) -> str:
    """The input file graph i was featurized from (as the manifest names it)."""
    return ds.manifest["sources"][int(ds.arrays["graph_source"][i])].get("file", ds.path)


def check_em_entries(ds: GraphDataset):
    """What cross-validated Em training needs beyond labels: each entry once, and barriers ≥ 0.

    A repeated entry (one file given twice under other names, or overlapping files) lands in two folds, so CV
    holds out one copy while training on the other and reports too good a figure; the card, keyed by id, would
    also list fewer entries than were trained on. A negative barrier is not physical, and log1p cannot take
    one ≤ −1 (model.to_target_space clamps it, silently)."""
    first = {}
    for i, e in enumerate(ds.ids()):
        if e in first:
            j = first[e]
            where = "earlier in the same file" if source_file(ds, i) == source_file(ds, j) else f"also in {source_file(ds, j)}"
            raise DatasetError(source_file(ds, i), f"entry {e} appears twice ({where}): cross-validation would train on one copy and "
                                                   "hold out the other; give each entry once")
        first[e] = i
    y, mk = ds.targets()[:, 0], ds.mask()[:, 0].astype(bool)
    bad = np.flatnonzero(mk & (y < 0))
    if len(bad):
        i = int(bad[0])
        more = f" (and {len(bad) - 1} more)" if len(bad) > 1 else ""
        raise DatasetError(source_file(ds, i), f"entry {ds.ids()[i]}{more} has target {float(y[i]):.6g}: a migration barrier (eV) cannot be negative")


def check_folds(ds: GraphDataset, folds: int):
    """Folds are dealt round-robin, so each holds out at least one entry exactly when folds ≤ entries."""
    if folds < 2:
        raise OptionError(ds.path, f"--folds {folds}: cross-validation needs at least 2 folds")
    if folds > ds.count:
        raise OptionError(ds.path, f"--folds {folds} needs at least {folds} labelled entries (each fold holds out one or more); the dataset has {ds.count}")


def batch_bonds(ds: GraphDataset, indices) -> dict:
    """What both batch layouts share: graphs ``indices`` laid end to end, every batch atom's dataset index and degree,
    and every bond's centre row, slot among its centre's bonds and dataset index (bonds in (centre, slot) order)."""
    a = ds.arrays
    ao, eo = a["atom_offsets"], a["edge_offsets"]
    indices = np.asarray(indices, dtype=np.int64)
    counts = (ao[indices + 1] - ao[indices]).astype(np.int64)
    N = int(counts.sum())
    first = np.repeat(ao[indices], counts)  # dataset index of each graph's first atom
    base = np.repeat(np.cumsum(counts) - counts, counts)  # batch index of each graph's first atom
    atoms = first + (np.arange(N) - base)  # dataset index of every batch atom
    deg = (eo[atoms + 1] - eo[atoms]).astype(np.int64)
    slots = np.arange(int(deg.sum())) - np.repeat(np.cumsum(deg) - deg, deg)
    return {"indices": indices, "counts": counts, "N": N, "base": base, "atoms": atoms, "deg": deg, "rows": np.repeat(np.arange(N), deg),
            "slots": slots, "eids": np.repeat(eo[atoms], deg) + slots, "graph_index": np.repeat(np.arange(len(indices)), counts)}


def batch_atoms_and_targets(ds: GraphDataset, b: dict, props) -> tuple:
    """The per-atom and per-graph arrays both layouts hand the model, and the targets and their mask."""
    a = ds.arrays
    atoms = {"atomic_number": a["atomic_number"][b["atoms"]].astype(np.int64), "is_image": a["is_image"][b["atoms"]].astype(np.float32),
             "graph_index": b["graph_index"].astype(np.int64), "atom_counts": b["counts"].astype(np.float32)}
    t = a["targets"][b["indices"]]
    m = a["target_mask"][b["indices"]].astype(np.float32)
    if props is not None:
        t, m = t[:, props], m[:, props]
    return atoms, {"targets": np.nan_to_num(t, nan=0.0).astype(np.float32), "target_mask": m}


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
    b = batch_bonds(ds, indices)
    N, deg, rows, slots, eids = b["N"], b["deg"], b["rows"], b["slots"], b["eids"]
    K = int(deg.max()) if N else 1
    nbr = np.zeros((N, K), dtype=np.int64)
    vec = np.zeros((N, K, 3), dtype=np.float32)
    msk = np.zeros((N, K), dtype=np.float32)
    nbr[rows, slots] = a["edge_neighbour"][eids] + np.repeat(b["base"], deg)
    vec[rows, slots] = a["edge_vector"][eids]
    msk[rows, slots] = 1.0
    atoms, targets = batch_atoms_and_targets(ds, b, props)
    return {"atomic_number": atoms["atomic_number"], "is_image": atoms["is_image"], "nbr_index": nbr, "nbr_vector": vec, "nbr_mask": msk,
            "graph_index": atoms["graph_index"], "atom_counts": atoms["atom_counts"], **targets}


MODEL_INPUTS = ["atomic_number", "is_image", "nbr_index", "nbr_vector", "nbr_mask", "graph_index", "atom_counts"]


def make_edge_batch(ds: GraphDataset, indices, props=None, line_k: int = 0) -> dict:
    """The same graphs as ``make_batch``, as edge and triplet lists (training's layout: no padding).

    The dense layout pads every atom to the batch's largest degree (19 slots for a mean of 8.2 bonds per atom in
    cropped path structures) and every line-graph centre to line_k² pairs (64 for ~43 real ones); the padded slots
    are masked out but still computed. Training works on the real bonds and triplets only; export and inference
    keep the dense layout (exact in ONNX without scatter ops). Both describe the same network (model.EmNet).

    Layout (E bonds, in the dense layout's slot order: centre atom, then slot):
      edge_src [E], edge_dst [E] int64 (batch atom indices), edge_vector [E, 3] float32 (Å),
      near [E'] int64: the bonds among their centre's nearest `line_k` (all bonds when line_k ≤ 0),
      trip_a, trip_b [T] int64: ordered pairs a ≠ b of near bonds of one centre, as indices into `near`;
      atomic_number, is_image, graph_index, atom_counts, targets, target_mask as in make_batch.
    """
    a = ds.arrays
    b = batch_bonds(ds, indices)
    deg, slots, eids = b["deg"], b["slots"], b["eids"]
    near = np.flatnonzero(slots < line_k) if line_k > 0 else np.arange(len(slots))
    m = np.minimum(deg, line_k) if line_k > 0 else deg  # near bonds per centre, first in its slots
    pairs = m * m
    local = np.arange(int(pairs.sum())) - np.repeat(np.cumsum(pairs) - pairs, pairs)
    mm = np.maximum(np.repeat(m, pairs), 1)
    start = np.repeat(np.cumsum(m) - m, pairs)  # each centre's first bond in `near`
    ta, tb = local // mm, local % mm
    keep = ta != tb
    atoms, targets = batch_atoms_and_targets(ds, b, props)
    return {
        "atomic_number": atoms["atomic_number"], "is_image": atoms["is_image"],
        "edge_src": b["rows"], "edge_dst": a["edge_neighbour"][eids].astype(np.int64) + np.repeat(b["base"], deg),
        "edge_vector": a["edge_vector"][eids].astype(np.float32), "near": near.astype(np.int64),
        "trip_a": (start + ta)[keep].astype(np.int64), "trip_b": (start + tb)[keep].astype(np.int64),
        "graph_index": atoms["graph_index"], "atom_counts": atoms["atom_counts"], **targets,
    }
