"""Batch augmentation for training: random crop with reflect padding, horizontal flip, colour jitter, and mixup or
cutmix. Every draw comes from the generator passed in, so the batches replay exactly from the seed."""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def augment_batch(x: torch.Tensor, gen: torch.Generator, jitter: float, pad: int = 4) -> torch.Tensor:
    """x float [B,3,H,W] in [0,1] -> random crop with reflect padding, horizontal flip, colour jitter."""
    b, _, h, w = x.shape
    xp = F.pad(x, (pad, pad, pad, pad), mode="reflect")
    oy = torch.randint(0, 2 * pad + 1, (b,), generator=gen)
    ox = torch.randint(0, 2 * pad + 1, (b,), generator=gen)
    rows = (oy[:, None] + torch.arange(h)[None, :])[:, None, :, None].expand(b, 3, h, w)
    cols = (ox[:, None] + torch.arange(w)[None, :])[:, None, None, :].expand(b, 3, h, w)
    x = xp[torch.arange(b)[:, None, None, None], torch.arange(3)[None, :, None, None], rows, cols]
    flip = torch.rand(b, generator=gen) < 0.5
    x = torch.where(flip[:, None, None, None], x.flip(3), x)
    if jitter > 0:
        u = lambda: 1 + (torch.rand(b, 1, 1, 1, generator=gen) * 2 - 1) * jitter  # noqa: E731
        x = x * u()  # brightness
        m = x.mean(dim=(1, 2, 3), keepdim=True)
        x = (x - m) * u() + m  # contrast
        g = x.mean(dim=1, keepdim=True)
        x = (x - g) * u() + g  # saturation
        x = x.clamp(0, 1)
    return x


def mix_batch(x: torch.Tensor, gen: torch.Generator):
    """Mixup or cutmix (half each) with a shuffled copy of the batch. Returns mixed x, permutation, lambda."""
    b, _, h, w = x.shape
    perm = torch.randperm(b, generator=gen)
    lam = float(torch.rand(1, generator=gen))  # Beta(1, 1), drawn from `gen` so batches replay exactly
    if torch.rand(1, generator=gen).item() < 0.5:
        return lam * x + (1 - lam) * x[perm], perm, lam
    cut = math.sqrt(1 - lam)
    ch, cw = int(h * cut), int(w * cut)
    cy, cx = int(torch.randint(0, h, (1,), generator=gen)), int(torch.randint(0, w, (1,), generator=gen))
    y0, y1, x0, x1 = max(cy - ch // 2, 0), min(cy + ch // 2, h), max(cx - cw // 2, 0), min(cx + cw // 2, w)
    x = x.clone()
    x[:, :, y0:y1, x0:x1] = x[perm, :, y0:y1, x0:x1]
    return x, perm, 1 - (y1 - y0) * (x1 - x0) / (h * w)
