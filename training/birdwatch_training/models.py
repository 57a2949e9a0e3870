"""The networks: the chapter's fully connected classifiers (shipped), and a small convnet teacher (never shipped).

Every model maps normalized images [N,3,32,32] to logits [N,2] (class order airplane, bird); softmax is added at
export. The chapter's LogSoftmax + NLLLoss is the same as logits + CrossEntropyLoss.
"""
from __future__ import annotations

import torch
from torch import nn

IN_FEATURES = 3 * 32 * 32
ACTIVATIONS = {"tanh": nn.Tanh, "relu": nn.ReLU, "gelu": nn.GELU}

# name -> MLP keyword arguments. book/deep are the chapter's nets; wide is the student of the default recipe.
MLP_PRESETS = {
    "book": dict(hidden=[512], act="tanh"),  # 3072-512-Tanh-2: 1,574,402 parameters
    "deep": dict(hidden=[1024, 512, 128], act="tanh"),  # 3072-1024-512-128-2: 3,737,474 parameters
    "wide": dict(hidden=[1536, 768], act="gelu", norm="bn"),
}
CHAPTER_PARAMS = {"book": 1_574_402, "deep": 3_737_474}


class MLP(nn.Module):
    """Flatten -> [Linear -> (BatchNorm) -> act -> (Dropout)] * len(hidden) -> Linear(2).

    `fold()` gives the same function as a plain Flatten/Linear/act stack (BatchNorm folded into the Linear before it,
    dropout dropped), which is what gets exported: a fully connected net of Gemm nodes and activations only."""

    def __init__(self, hidden, act="tanh", norm=None, dropout=0.0, in_features=IN_FEATURES, classes=2):
        super().__init__()
        if act not in ACTIVATIONS:
            raise ValueError(f"unknown activation {act!r} (choose from {', '.join(ACTIVATIONS)})")
        if norm not in (None, "none", "bn"):
            raise ValueError(f"unknown norm {norm!r} (choose none or bn)")
        self.config = dict(hidden=list(hidden), act=act, norm=None if norm in (None, "none") else norm,
                           dropout=float(dropout))
        self.classes = classes  # not in config: what is exported always has two outputs (see keep_outputs)
        layers = [nn.Flatten()]
        width = in_features
        for h in hidden:
            layers.append(nn.Linear(width, h))
            if self.config["norm"] == "bn":
                layers.append(nn.BatchNorm1d(h))
            layers.append(ACTIVATIONS[act]())
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            width = h
        layers.append(nn.Linear(width, classes))
        self.net = nn.Sequential(*layers)

    def forward(self, x):
        return self.net(x)

    def describe(self) -> str:
        c = self.config
        parts = [str(IN_FEATURES)] + [str(h) for h in c["hidden"]] + ["2"]
        extra = (", BatchNorm" if c["norm"] else "") + (f", dropout {c['dropout']}" if c["dropout"] else "")
        return f"MLP {'-'.join(parts)} ({c['act']}{extra})"

    @torch.no_grad()
    def fold(self) -> "MLP":
        """A plain MLP (no norm, no dropout) computing what this one computes in eval mode."""
        plain = MLP(self.config["hidden"], self.config["act"], None, 0.0, classes=self.classes)
        src = [m for m in self.net if not isinstance(m, (nn.Dropout, nn.Flatten))]
        dst = [m for m in plain.net if isinstance(m, nn.Linear)]
        i = 0
        for lin in dst:
            w, b = src[i].weight.clone(), src[i].bias.clone()
            i += 1
            if i < len(src) and isinstance(src[i], nn.BatchNorm1d):
                bn = src[i]
                s = bn.weight / torch.sqrt(bn.running_var + bn.eps)
                w, b = w * s[:, None], (b - bn.running_mean) * s + bn.bias
                i += 1
            if i < len(src) and not isinstance(src[i], nn.Linear):
                i += 1  # the activation
            lin.weight.copy_(w)
            lin.bias.copy_(b)
        return plain.eval()


@torch.no_grad()
def keep_outputs(plain: MLP, index) -> MLP:
    """The same MLP with only the outputs `index` (a ten-class student's airplane and bird rows): the exported
    net computes exactly those logits of the trained one."""
    if plain.config["norm"] or plain.config["dropout"]:
        raise ValueError("fold BatchNorm first (MLP.fold())")
    out = MLP(plain.config["hidden"], plain.config["act"], classes=len(index))
    src = [m for m in plain.net if isinstance(m, nn.Linear)]
    dst = [m for m in out.net if isinstance(m, nn.Linear)]
    rows = list(index)
    for k, (a, b) in enumerate(zip(src, dst)):
        last = k == len(src) - 1
        b.weight.copy_(a.weight[rows] if last else a.weight)
        b.bias.copy_(a.bias[rows] if last else a.bias)
    return out.eval()


class Readout(nn.Module):
    """A model's outputs `index` only (a ten-class net read out as airplane vs bird), for evaluation and
    distillation; shares the wrapped model's weights."""

    def __init__(self, inner: nn.Module, index):
        super().__init__()
        self.inner = inner
        self.register_buffer("index", torch.tensor(list(index)), persistent=False)

    def forward(self, x):
        return self.inner(x)[:, self.index.to(x.device)]


def flip_index(channels=3, height=32, width=32) -> torch.Tensor:
    """Index j -> flattened position of the horizontally mirrored pixel: (x flipped).flatten() = x.flatten()[idx]."""
    return torch.arange(channels * height * width).view(channels, height, width).flip(2).reshape(-1)


@torch.no_grad()
def flip_ensemble(plain: MLP) -> MLP:
    """Fold the two-member ensemble {f(x), f(mirrored x)} (logits averaged) into ONE plain MLP with twice the hidden
    units: first layer [W1; W1 P] (P the mirror permutation), deeper hidden layers block-diagonal, output layer
    [V/2, V/2]. Exact: same function as averaging the logits, and still only Linear layers and activations."""
    c = plain.config
    if c["norm"] or c["dropout"]:
        raise ValueError("fold BatchNorm first (MLP.fold())")
    out = MLP([2 * h for h in c["hidden"]], c["act"])
    src = [m for m in plain.net if isinstance(m, nn.Linear)]
    dst = [m for m in out.net if isinstance(m, nn.Linear)]
    idx = flip_index()
    for k, (a, b) in enumerate(zip(src, dst)):
        if k == 0:
            b.weight.copy_(torch.cat([a.weight, a.weight[:, idx]]))
            b.bias.copy_(torch.cat([a.bias, a.bias]))
        elif k < len(src) - 1:
            b.weight.zero_()
            o, i = a.weight.shape
            b.weight[:o, :i] = a.weight
            b.weight[o:, i:] = a.weight
            b.bias.copy_(torch.cat([a.bias, a.bias]))
        else:
            b.weight.copy_(torch.cat([a.weight, a.weight], dim=1) / 2)
            b.bias.copy_(a.bias)
    out.config["flip_ensemble"] = True
    return out.eval()


def build_mlp(name: str, **overrides) -> MLP:
    if name not in MLP_PRESETS:
        raise ValueError(f"unknown model {name!r} (choose from {', '.join(MLP_PRESETS)})")
    kw = dict(MLP_PRESETS[name])
    kw.update({k: v for k, v in overrides.items() if v is not None})
    return MLP(**kw)


def build_model(args, classes: int = 2) -> MLP:
    """The student a run's settings name: the --model preset with any --hidden/--act/--norm/--dropout override."""
    hidden = [int(h) for h in args.hidden.split(",")] if args.hidden else None
    return build_mlp(args.model, hidden=hidden, act=args.act, norm=args.norm, dropout=args.dropout,
                     classes=classes)


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


# --------------------------------------------------------------------------------------------- teacher
def _conv_bn(c_in, c_out):
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True))


class _Residual(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.body = nn.Sequential(_conv_bn(c, c), _conv_bn(c, c))

    def forward(self, x):
        return x + self.body(x)


class ConvTeacher(nn.Module):
    """A small ResNet-9-style convnet (Page's DAWNBench layout, narrowed): the teacher for distillation.
    Trained on the training split only, used to label augmented images, never exported."""

    def __init__(self, width=16, classes=2):
        super().__init__()
        c = width
        self.net = nn.Sequential(
            _conv_bn(3, c),
            _conv_bn(c, 2 * c), nn.MaxPool2d(2), _Residual(2 * c),
            _conv_bn(2 * c, 4 * c), nn.MaxPool2d(2),
            _conv_bn(4 * c, 8 * c), nn.MaxPool2d(2), _Residual(8 * c),
            nn.AdaptiveMaxPool2d(1), nn.Flatten(), nn.Linear(8 * c, classes),
        )
        self.config = dict(width=width)

    def forward(self, x):
        return self.net(x) * 0.125  # logit scale as in the DAWNBench ResNet-9
