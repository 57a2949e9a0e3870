"""Camera-like degradations of 32x32 images: what a real camera's shot looks like after the daemon's cover/centre
resize, compared with CIFAR's clean, centred crops. Used two ways:
  * as training augmentation (`train.py --camera-augment P`: each degradation applied to an image with
    probability P);
  * to measure robustness: `degrade(x, seed)` makes a fixed camera-like copy of a split, and the figures on that copy
    say what a model loses on such images.
Each degradation is drawn per image from the generator, so a batch replays exactly from the seed.
"""
from __future__ import annotations

import io

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image


def _per_image(b: int, p: float, gen: torch.Generator) -> torch.Tensor:
    return torch.rand(b, generator=gen) < p


def rescale(x: torch.Tensor, gen: torch.Generator, p: float) -> torch.Tensor:
    """The subject smaller or larger, and a different aspect ratio: a random crop of 55-100% of the area with aspect
    3:4 to 4:3, resized back (bilinear, antialiased), or the whole image shrunk into a reflect-padded frame."""
    b, _, h, w = x.shape
    out = x.clone()
    for i in torch.nonzero(_per_image(b, p, gen)).flatten().tolist():
        area = float(torch.empty(1).uniform_(0.55, 1.0, generator=gen))
        aspect = float(torch.exp(torch.empty(1).uniform_(np.log(3 / 4), np.log(4 / 3), generator=gen)))
        if torch.rand(1, generator=gen) < 0.3:  # zoom out: the subject smaller, surroundings reflected
            pad = int(torch.randint(2, 9, (1,), generator=gen))
            big = F.pad(x[i:i + 1], (pad, pad, pad, pad), mode="reflect")
            out[i] = F.interpolate(big, size=(h, w), mode="bilinear", align_corners=False, antialias=True)[0]
            continue
        ch = max(8, min(h, int(round((area * h * w / aspect) ** 0.5))))
        cw = max(8, min(w, int(round((area * h * w * aspect) ** 0.5))))
        y0 = int(torch.randint(0, h - ch + 1, (1,), generator=gen))
        x0 = int(torch.randint(0, w - cw + 1, (1,), generator=gen))
        crop = x[i:i + 1, :, y0:y0 + ch, x0:x0 + cw]
        out[i] = F.interpolate(crop, size=(h, w), mode="bilinear", align_corners=False, antialias=True)[0]
    return out


def blur(x: torch.Tensor, gen: torch.Generator, p: float) -> torch.Tensor:
    """Out of focus or motion: a Gaussian blur, sigma 0.3-1.2 pixels."""
    b = x.shape[0]
    pick = _per_image(b, p, gen)
    sigma = torch.empty(b).uniform_(0.3, 1.2, generator=gen)
    if not pick.any():
        return x
    r = torch.arange(-2, 3, dtype=x.dtype)
    k1 = torch.exp(-(r[None, :] ** 2) / (2 * sigma[:, None] ** 2))
    k1 = k1 / k1.sum(1, keepdim=True)  # [B,5]
    k2 = (k1[:, :, None] * k1[:, None, :])  # [B,5,5]
    weight = k2[:, None].repeat_interleave(3, 0)  # [B*3,1,5,5]
    blurred = F.conv2d(F.pad(x.reshape(1, -1, *x.shape[2:]), (2, 2, 2, 2), mode="reflect"), weight,
                       groups=weight.shape[0]).reshape(x.shape)
    return torch.where(pick[:, None, None, None], blurred, x)


def noise(x: torch.Tensor, gen: torch.Generator, p: float) -> torch.Tensor:
    """Sensor noise in low light: Gaussian, sigma 0.01-0.05 of the range."""
    b = x.shape[0]
    pick = _per_image(b, p, gen)
    sigma = torch.empty(b, 1, 1, 1).uniform_(0.01, 0.05, generator=gen)
    n = torch.randn(x.shape, generator=gen) * sigma
    return torch.where(pick[:, None, None, None], (x + n).clamp(0, 1), x)


def exposure(x: torch.Tensor, gen: torch.Generator, p: float) -> torch.Tensor:
    """Under- or over-exposed, and a different tone curve: gain 2^U(-1, 0.7), gamma U(0.7, 1.4)."""
    b = x.shape[0]
    pick = _per_image(b, p, gen)
    gain = 2 ** torch.empty(b, 1, 1, 1).uniform_(-1.0, 0.7, generator=gen)
    gamma = torch.empty(b, 1, 1, 1).uniform_(0.7, 1.4, generator=gen)
    return torch.where(pick[:, None, None, None], (x.clamp(1e-6, 1) ** gamma * gain).clamp(0, 1), x)


def jpeg(x: torch.Tensor, gen: torch.Generator, p: float) -> torch.Tensor:
    """A camera's JPEG at quality 25-85 (after the resize, so its blocks land on the 32x32 input)."""
    out = x.clone()
    b = x.shape[0]
    pick = _per_image(b, p, gen)
    quality = torch.randint(25, 86, (b,), generator=gen)
    for i in torch.nonzero(pick).flatten().tolist():
        arr = (x[i].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
        buf = io.BytesIO()
        Image.fromarray(arr).save(buf, format="JPEG", quality=int(quality[i]))
        buf.seek(0)
        out[i] = torch.from_numpy(np.asarray(Image.open(buf).convert("RGB"), dtype=np.float32) / 255).permute(2, 0, 1)
    return out


def augment(x: torch.Tensor, gen: torch.Generator, p: float) -> torch.Tensor:
    """x float [B,3,H,W] in [0,1]: each degradation with probability p, in the order a camera applies them."""
    for step in (rescale, blur, exposure, noise, jpeg):
        x = step(x, gen, p)
    return x


def degrade(x_u8: torch.Tensor, seed: int = 0, p: float = 0.5) -> torch.Tensor:
    """A fixed camera-like copy of uint8 images (for measuring, never for choosing)."""
    gen = torch.Generator().manual_seed(seed)
    out = [augment(x_u8[i:i + 256].float() / 255, gen, p) for i in range(0, len(x_u8), 256)]
    return (torch.cat(out) * 255).round().clamp(0, 255).to(torch.uint8)
