"""The ALIGNN-style Em network in a dense fixed-k layout.

Each atom keeps its K neighbour slots (padded, masked); each bond's line-graph partners are the other
bonds of the same centre atom, so a triplet tensor is [N, K, K]. Sums are masked reductions over a
fixed axis — exact in ONNX Runtime, unlike scatter-add exports (see DEVELOPERS.md). LayerNorm stands in
for ALIGNN's BatchNorm: padding makes batch statistics ill-defined, and LayerNorm behaves the same in
training and inference.
"""
import torch
from torch import nn
import torch.nn.functional as F


class RBF(nn.Module):
    """Gaussian radial basis on [lo, hi] with `bins` centres, gamma = 1 / spacing (as ALIGNN)."""

    def __init__(self, lo: float, hi: float, bins: int):
        super().__init__()
        self.register_buffer("centres", torch.linspace(lo, hi, bins))
        self.gamma = 1.0 / ((hi - lo) / (bins - 1))

    def forward(self, x):
        return torch.exp(-self.gamma * (x.unsqueeze(-1) - self.centres) ** 2)


def mlp(i, o):
    return nn.Sequential(nn.Linear(i, o), nn.LayerNorm(o), nn.SiLU())


class EdgeGatedConv(nn.Module):
    """Edge-gated graph convolution over a dense neighbour axis (axis -2 of `nbr_feat`)."""

    def __init__(self, h: int):
        super().__init__()
        self.src_gate = nn.Linear(h, h)
        self.dst_gate = nn.Linear(h, h)
        self.edge_gate = nn.Linear(h, h)
        self.src_update = nn.Linear(h, h)
        self.dst_update = nn.Linear(h, h)
        self.norm_nodes = nn.LayerNorm(h)
        self.norm_edges = nn.LayerNorm(h)

    def forward(self, x, x_nbr_gate, x_nbr_value, e, mask):
        # x: [..., H] centre nodes; x_nbr_*: [..., K, H] neighbour terms; e: [..., K, H]; mask: [..., K]
        m = self.src_gate(x).unsqueeze(-2) + x_nbr_gate + self.edge_gate(e)
        s = torch.sigmoid(m) * mask.unsqueeze(-1)
        h = (s * x_nbr_value).sum(-2) / (s.sum(-2) + 1e-6)
        x = x + F.silu(self.norm_nodes(self.src_update(x) + h))
        e = e + F.silu(self.norm_edges(m)) * mask.unsqueeze(-1)
        return x, e

    def forward_edges(self, x, e, centre, nbr):
        """The same convolution on an edge list (training's layout): edge p joins centre[p] to nbr[p], both rows
        of x; e is [P, H]. Sums over a centre's edges are index_add (exact on CPU; never exported)."""
        m = self.src_gate(x).index_select(0, centre) + self.dst_gate(x).index_select(0, nbr) + self.edge_gate(e)
        s = torch.sigmoid(m)
        num = torch.zeros_like(x).index_add(0, centre, s * self.dst_update(x).index_select(0, nbr))
        den = torch.zeros_like(x).index_add(0, centre, s)
        x = x + F.silu(self.norm_nodes(self.src_update(x) + num / (den + 1e-6)))
        e = e + F.silu(self.norm_edges(m))
        return x, e


class AtomConv(nn.Module):
    def __init__(self, h):
        super().__init__()
        self.conv = EdgeGatedConv(h)

    def forward(self, x, e, nbr, mask):
        n, k = nbr.shape
        flat = nbr.reshape(-1)
        gate = self.conv.dst_gate(x).index_select(0, flat).reshape(n, k, -1)
        value = self.conv.dst_update(x).index_select(0, flat).reshape(n, k, -1)
        return self.conv(x, gate, value, e, mask)

    def forward_edges(self, x, e, src, dst):
        return self.conv.forward_edges(x, e, src, dst)


class LineConv(nn.Module):
    """Bonds of one centre exchange messages; triplet features t are [N, K, K, H]."""

    def __init__(self, h):
        super().__init__()
        self.conv = EdgeGatedConv(h)

    def forward(self, y, t, tmask):
        gate = self.conv.dst_gate(y).unsqueeze(1)  # partner b of bond a: [N, 1, K, H] broadcast over a
        value = self.conv.dst_update(y).unsqueeze(1)
        return self.conv(y, gate, value, t, tmask)

    def forward_edges(self, y, t, trip_a, trip_b):
        return self.conv.forward_edges(y, t, trip_a, trip_b)


# Readouts and the width of what each hands the head, in multiples of the hidden size.
READOUTS = {"mean": 1, "path": 4}

# Spaces the head predicts in. The network always outputs the property itself (eV for Em); the loss is taken
# in the target space: "log1p" halves the weight of a 1 eV error at Em = 1 eV and quarters it at 3 eV, so the
# sparse high-barrier tail pulls less on the fit of the low barriers that decide "good conductor".
TARGETS = ("identity", "log1p")


class EmNet(nn.Module):
    def __init__(self, element_features, hidden=64, alignn_layers=2, gcn_layers=2, outputs=1, cutoff=8.0, line_k=0, readout="mean", images=5,
                 target="identity", dropout=0.0):
        super().__init__()
        if readout not in READOUTS:
            raise ValueError(f"readout must be one of {sorted(READOUTS)}, not {readout!r}")
        if target not in TARGETS:
            raise ValueError(f"target must be one of {list(TARGETS)}, not {target!r}")
        self.config = dict(hidden=hidden, alignn_layers=alignn_layers, gcn_layers=gcn_layers, outputs=outputs, cutoff=cutoff, line_k=line_k,
                           readout=readout, images=images, target=target, dropout=dropout)
        self.register_buffer("element_features", torch.as_tensor(element_features, dtype=torch.float32))
        f = self.element_features.shape[1] + 1
        self.atom_embed = mlp(f, hidden)
        self.rbf = RBF(0.0, cutoff, 80)
        self.edge_embed = nn.Sequential(mlp(80, 64), mlp(64, hidden))
        self.abf = RBF(-1.0, 1.0, 40)
        self.angle_embed = nn.Sequential(mlp(40, 64), mlp(64, hidden))
        self.alignn = nn.ModuleList([nn.ModuleList([LineConv(hidden), AtomConv(hidden)]) for _ in range(alignn_layers)])
        self.gcn = nn.ModuleList([AtomConv(hidden) for _ in range(gcn_layers)])
        self.head = self.make_head(outputs)

    def make_head(self, outputs):
        h = self.config["hidden"] * READOUTS[self.config["readout"]]
        p = self.config["dropout"]
        if p <= 0:
            # This exact layout (module indices 1, 3, 5) is what every checkpoint without dropout holds.
            return nn.Sequential(nn.SiLU(), nn.Linear(h, 128), nn.SiLU(), nn.Linear(128, 128), nn.SiLU(), nn.Linear(128, outputs))
        # Dropout only in the head (training only; an exported model has none): the trunk is shared with pre-training.
        return nn.Sequential(nn.SiLU(), nn.Dropout(p), nn.Linear(h, 128), nn.SiLU(), nn.Dropout(p), nn.Linear(128, 128), nn.SiLU(),
                             nn.Linear(128, outputs))

    def reset_head(self, outputs):
        self.config["outputs"] = outputs
        self.head = self.make_head(outputs)

    def embed_atoms(self, atomic_number, is_image):
        feats = self.element_features.index_select(0, atomic_number - 1)
        return self.atom_embed(torch.cat([feats, is_image.unsqueeze(-1)], dim=-1))

    def trunk(self, atomic_number, is_image, nbr_index, nbr_vector, nbr_mask, graph_index, atom_counts):
        x = self.embed_atoms(atomic_number, is_image)
        length = torch.sqrt((nbr_vector * nbr_vector).sum(-1) + 1e-12)  # [N, K]
        e = self.edge_embed(self.rbf(length)) * nbr_mask.unsqueeze(-1)
        lk = self.config["line_k"]
        if len(self.alignn) > 0:
            unit = nbr_vector / length.unsqueeze(-1)
            # Line graph only among each centre's nearest `line_k` bonds when set (cheaper triplets).
            ku = unit if lk <= 0 else unit[:, :lk]
            km = nbr_mask if lk <= 0 else nbr_mask[:, :lk]
            cos = torch.clamp(torch.matmul(ku, ku.transpose(1, 2)), -1.0, 1.0)  # [N, K', K']
            ar = torch.arange(km.shape[1], device=km.device)
            off_diagonal = (ar.unsqueeze(0) != ar.unsqueeze(1)).to(km.dtype)  # a bond is not its own partner
            tmask = km.unsqueeze(2) * km.unsqueeze(1) * off_diagonal
            t = self.angle_embed(self.abf(cos)) * tmask.unsqueeze(-1)
            for line, atom in self.alignn:
                if lk <= 0:
                    e, t = line(e, t, tmask)
                else:
                    near, t = line(e[:, :lk], t, tmask)
                    e = torch.cat([near, e[:, lk:]], dim=1)
                x, e = atom(x, e, nbr_index, nbr_mask)
        for atom in self.gcn:
            x, e = atom(x, e, nbr_index, nbr_mask)
        return self.readout(x, is_image, graph_index, atom_counts)

    def trunk_edges(self, atomic_number, is_image, edge_src, edge_dst, edge_vector, near, trip_a, trip_b, graph_index, atom_counts):
        """`trunk` on edge and triplet lists (data.make_edge_batch): the same network and weights, computed on the
        real bonds and triplets only — the dense layout's padded slots are masked out there, so both give the same
        outputs and gradients up to summation order. Training uses this; export and inference use `trunk`."""
        x = self.embed_atoms(atomic_number, is_image)
        length = torch.sqrt((edge_vector * edge_vector).sum(-1) + 1e-12)  # [E]
        e = self.edge_embed(self.rbf(length))
        if len(self.alignn) > 0:
            unit = (edge_vector / length.unsqueeze(-1)).index_select(0, near)
            cos = torch.clamp((unit.index_select(0, trip_a) * unit.index_select(0, trip_b)).sum(-1), -1.0, 1.0)  # [T]
            t = self.angle_embed(self.abf(cos))
            everything = near.shape[0] == e.shape[0]  # line_k ≤ 0: every bond is in the line graph
            for line, atom in self.alignn:
                y, t = line.forward_edges(e if everything else e.index_select(0, near), t, trip_a, trip_b)
                e = y if everything else e.index_copy(0, near, y)
                x, e = atom.forward_edges(x, e, edge_src, edge_dst)
        for atom in self.gcn:
            x, e = atom.forward_edges(x, e, edge_src, edge_dst)
        return self.readout(x, is_image, graph_index, atom_counts)

    def readout(self, x, is_image, graph_index, atom_counts):
        # Mean pooling per graph as a one-hot matmul (exact and export-friendly).
        g = atom_counts.shape[0]
        onehot = (graph_index.unsqueeze(0) == torch.arange(g, device=x.device).unsqueeze(1)).to(x.dtype)
        pooled = torch.matmul(onehot, x) / atom_counts.unsqueeze(-1)
        if self.config["readout"] == "mean":
            return pooled
        # "path": Em is set where the ion passes, so the moving ion's own image atoms are read out directly —
        # their mean, their maximum (the bottleneck) and the middle image — beside the mean over all atoms.
        # Every path structure has exactly `images` image atoms, first in the graph and in path order.
        n = self.config["images"]
        rows = torch.nonzero(is_image > 0.5).squeeze(1)
        xi = x.index_select(0, rows).reshape(g, n, x.shape[-1])
        return torch.cat([pooled, xi.mean(1), xi.max(1).values, xi[:, n // 2]], dim=-1)

    def forward(self, atomic_number, is_image, nbr_index, nbr_vector, nbr_mask, graph_index, atom_counts):
        return self.output(self.head(self.trunk(atomic_number, is_image, nbr_index, nbr_vector, nbr_mask, graph_index, atom_counts)))

    def forward_edges(self, *edge_inputs):
        """`forward` on the edge-list layout (inputs in the order `edge_inputs` gives)."""
        return self.output(self.head(self.trunk_edges(*edge_inputs)))

    def output(self, out):
        # exp − 1 rather than expm1: ONNX has no Expm1 (the absolute error is ~1e-7 eV).
        return torch.exp(out) - 1.0 if self.config["target"] == "log1p" else out

    def to_target_space(self, y):
        """Map properties (model outputs or labels) into the space the loss is taken in."""
        # The clamp keeps log1p finite if an output ever underflows to −1 (labels are ≥ 0).
        return torch.log1p(torch.clamp(y, min=-0.999999)) if self.config["target"] == "log1p" else y


def parameter_count(model) -> int:
    return sum(p.numel() for p in model.parameters())


def to_tensors(batch: dict, device="cpu") -> dict:
    return {k: torch.as_tensor(v, device=device) for k, v in batch.items()}


def model_inputs(t: dict) -> tuple:
    return (t["atomic_number"], t["is_image"], t["nbr_index"], t["nbr_vector"], t["nbr_mask"], t["graph_index"], t["atom_counts"])


def edge_inputs(t: dict) -> tuple:
    return (t["atomic_number"], t["is_image"], t["edge_src"], t["edge_dst"], t["edge_vector"], t["near"], t["trip_a"], t["trip_b"],
            t["graph_index"], t["atom_counts"])

