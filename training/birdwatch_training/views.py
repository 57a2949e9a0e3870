"""Multi-view inference: the same fully connected net run on a few fixed views of the 32x32 input, softmax
probabilities averaged. The views are written once, in config/preprocessing.json (`"views"`); training copies that
file into the model's metadata and the daemon (src/model/views.ts) applies the views the model carries."""
from __future__ import annotations

import torch
import torch.nn.functional as F

VIEWS = ("identity", "mirror")


def views_of(spec: dict) -> list:
    """The views a preprocessing spec asks for (absent: the image as is). ValueError on an unknown name."""
    names = list(spec.get("views", ["identity"]))
    unknown = [n for n in names if n not in VIEWS]
    if not names or unknown:
        raise ValueError(f"preprocessing views {names!r}: each must be one of {', '.join(VIEWS)}")
    return names


def apply_view(x: torch.Tensor, name: str) -> torch.Tensor:
    """x [N,3,H,W] (raw or normalized: a per-channel normalization commutes with every view here)."""
    if name == "identity":
        return x
    if name == "mirror":  # left-right: column x -> W-1-x in every channel
        return x.flip(3)
    raise ValueError(f"unknown view {name!r}")


@torch.no_grad()
def probabilities(model, x_normalized: torch.Tensor, views) -> torch.Tensor:
    """[N,2] softmax probabilities averaged over the views."""
    return torch.stack([F.softmax(model(apply_view(x_normalized, v)), dim=1) for v in views]).mean(0)
