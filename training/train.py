#!/usr/bin/env python3
"""Train the birdwatch bird-vs-airplane classifier (a fully connected net) and export it to ONNX with its threshold.

  python3 train.py                      # the default recipe -> models/birds-vs-airplanes.onnx (+ .json card, .png)
  python3 train.py --recipe book        # the chapter, exactly: 3072-512-Tanh-2, SGD lr 1e-2, batch 64, 100 epochs
  python3 train.py --help               # every flag

See README.md in this folder for the recipes, the figures and how to fine-tune with a club's corrections.
"""
from __future__ import annotations

import argparse
import copy
import datetime as dt
import hashlib
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import calibrate  # noqa: E402
import camera  # noqa: E402
import data  # noqa: E402
import export  # noqa: E402
import models  # noqa: E402
import report  # noqa: E402
import views  # noqa: E402
from progress import Progress  # noqa: E402

DEFAULT_OUT = data.REPO_ROOT / "models" / "birds-vs-airplanes.onnx"
RUNS = HERE / "runs"

# Each recipe fills the flags the user left unset. "book" is the chapter; "default" is what ships.
RECIPES = {
    "book": dict(model="book", optimizer="sgd", lr=1e-2, momentum=0.0, weight_decay=0.0, batch_size=64, epochs=100,
                 schedule="constant", augment=False, jitter=0.0, mixup=0.0, label_smoothing=0.0, ema=0.0,
                 patience=0, select="last", teacher="none", flip_ensemble=False),
    "plain": dict(model="book", optimizer="adamw", lr=1e-3, momentum=0.9, weight_decay=0.05, batch_size=128,
                  epochs=40, schedule="onecycle", augment=True, jitter=0.1, mixup=0.0, label_smoothing=0.1,
                  ema=0.0, patience=0, select="best", teacher="none", flip_ensemble=False),
    "default": dict(model="wide", optimizer="adamw", lr=1e-3, momentum=0.9, weight_decay=0.05, batch_size=128,
                    epochs=120, schedule="onecycle", augment=True, jitter=0.1, mixup=0.5, label_smoothing=0.1,
                    ema=0.0, patience=0, select="best", teacher="conv", flip_ensemble=False),
}
# The convolutional teacher's own recipe (flags --teacher-*), shared by every recipe that distils.
TEACHER = dict(teacher_width=16, teacher_epochs=10, teacher_lr=0.05, teacher_batch_size=128, distill_temp=4.0)


class UsageError(Exception):
    pass


# --------------------------------------------------------------------------------------------- arguments
class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    def _get_help_string(self, action):  # no "(default: None)" noise
        return action.help if action.default is None else super()._get_help_string(action)


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="train.py", formatter_class=_HelpFormatter,
        description="Train the bird-vs-airplane fully connected classifier and export it to ONNX. Flags left unset "
                    "take their value from --recipe.")
    g = p.add_argument_group("data")
    g.add_argument("--data",
                   help="training data: an image-folder tree ROOT/airplane/*, ROOT/bird/* (any size; brought to "
                        "32x32 as config/preprocessing.json says), or 'cifar10:DIR' for torchvision CIFAR10 "
                        "(download=True into DIR, reduced to airplane 0 / bird 1). Unset: "
                        "../shared/data/cifar10-airplane-bird/train beside the repository where it exists, else "
                        "CIFAR-10 downloaded once into --cache-dir and decoded into the same form")
    g.add_argument("--cache-dir", default=str(data.default_cache_dir()),
                   help=f"where CIFAR-10 is downloaded and decoded when --data is unset and there is no "
                        f"../shared/data, and where decoded image tensors are kept (env {data.CACHE_ENV})")
    g.add_argument("--extra-data", action="append", default=[], metavar="DIR",
                   help="another ROOT/airplane, ROOT/bird tree (e.g. what `birdwatch export-corrections DIR` "
                        "writes) added to the data before the split; repeatable")
    g.add_argument("--other-data", default="auto",
                   help="CIFAR-10's eight other classes, ROOT/automobile/*, ROOT/cat/*, ... (for --teacher conv10, "
                        "--other-share, --aux10). auto: cifar10-other-classes/train beside the data's "
                        "cifar10-airplane-bird/train where it exists; none: never")
    g.add_argument("--val-fraction", type=float, default=0.1,
                   help="share of each class held out as the REPORT split (figures only, nothing chosen on it)")
    g.add_argument("--selection-fraction", type=float, default=0.1,
                   help="share of each class held out as the SELECTION split (epoch, threshold, run, flags)")
    g.add_argument("--seed", type=int, default=0, help="seed for the split, initialisation and augmentation")
    g = p.add_argument_group("recipe and model")
    g.add_argument("--recipe", choices=sorted(RECIPES), default="default",
                   help="book = the chapter exactly; plain = augmentation + AdamW + one-cycle; default = what ships")
    g.add_argument("--model", choices=sorted(models.MLP_PRESETS),
                   help="book = 3072-512-Tanh-2 (1,574,402 params), deep = 3072-1024-512-128-2 Tanh (3,737,474), "
                        "wide = the default recipe's student")
    g.add_argument("--hidden", help="override the hidden widths, comma separated, e.g. 2048,1024 (unset: the --model preset)")
    g.add_argument("--act", choices=sorted(models.ACTIVATIONS), help="override the activation (unset: the --model preset)")
    g.add_argument("--norm", choices=["none", "bn"], help="BatchNorm after each hidden Linear, folded at export (unset: the --model preset)")
    g.add_argument("--dropout", type=float, help="dropout after each hidden activation (unset: the --model preset, none)")
    g.add_argument("--flip-ensemble", type=_bool, metavar="yes|no",
                   help="export the ensemble of the net and its mirror image (logits averaged), folded exactly into "
                        "one MLP with twice the hidden units")
    g.add_argument("--init", help="start from these weights: an exported .onnx of the same architecture or a "
                                  "training/runs/*/model.pt; the model's stored mean/std are kept")
    g = p.add_argument_group("optimisation")
    g.add_argument("--epochs", type=int, help="epochs (upper bound when --patience stops early)")
    g.add_argument("--batch-size", type=int, help="minibatch size")
    g.add_argument("--optimizer", choices=["sgd", "adamw"], help="optimizer")
    g.add_argument("--lr", type=float, help="learning rate (peak rate for one-cycle)")
    g.add_argument("--momentum", type=float, help="SGD momentum (nesterov when > 0)")
    g.add_argument("--weight-decay", type=float, help="weight decay")
    g.add_argument("--schedule", choices=["constant", "onecycle", "cosine"], help="learning-rate schedule")
    g.add_argument("--label-smoothing", type=float, help="label smoothing of the hard-label loss")
    g.add_argument("--ema", type=float, help="decay of an exponential moving average of the weights (0 = off); "
                                             "the average is what is evaluated and exported")
    g.add_argument("--patience", type=int, help="stop after this many epochs without a better validation "
                                                "accuracy (0 = never stop early)")
    g.add_argument("--select", choices=["best", "last"], help="export the best-validation epoch or the last")
    g = p.add_argument_group("augmentation")
    g.add_argument("--augment", type=_bool, metavar="yes|no", help="random crop (pad 4, reflect) + horizontal flip")
    g.add_argument("--jitter", type=float, help="colour jitter strength (brightness/contrast/saturation), 0 = off")
    g.add_argument("--mixup", type=float, help="probability that a batch is mixed (mixup or cutmix, half each)")
    g.add_argument("--camera-augment", type=float, default=0.0, metavar="P",
                   help="camera-like degradations (rescale/aspect, blur, exposure, noise, JPEG), each with "
                        "probability P per image (training/camera.py); 0 = off")
    g = p.add_argument_group("distillation")
    g.add_argument("--teacher", choices=["none", "conv", "conv10"],
                   help="distil from a convnet teacher trained here on the training split (never exported): conv "
                        "on airplanes and birds, conv10 on all ten CIFAR-10 classes (read out as airplane vs bird)")
    g.add_argument("--other-share", type=float, default=0.0,
                   help="share of each student epoch drawn from the other-class images (labelled by the teacher's "
                        "airplane-vs-bird logits); the airplanes and birds are all kept, so the epoch grows")
    g.add_argument("--aux10", type=float, default=0.0,
                   help="weight of a ten-class auxiliary loss for the student (true CIFAR-10 labels; a ten-way "
                        "output layer of which only airplane and bird are exported); needs --other-share > 0")
    g.add_argument("--teacher-width", type=int, default=TEACHER["teacher_width"], help="teacher channels (first block)")
    g.add_argument("--teacher-epochs", type=int, default=TEACHER["teacher_epochs"], help="teacher epochs")
    g.add_argument("--teacher-lr", type=float, default=TEACHER["teacher_lr"], help="teacher peak SGD learning rate")
    g.add_argument("--teacher-batch-size", type=int, default=TEACHER["teacher_batch_size"], help="teacher batch size")
    g.add_argument("--distill-temp", type=float, default=TEACHER["distill_temp"], help="distillation temperature: above 1 the student matches the teacher's logits, not just its verdicts")
    g.add_argument("--teacher-cache", type=_bool, default=True, metavar="yes|no",
                   help="reuse a teacher trained earlier with the same data, split and teacher flags "
                        "(training/runs/cache)")
    g = p.add_argument_group("threshold and output")
    g.add_argument("--bird-budget", type=float, default=0.01,
                   help="the bird budget of the model's own threshold: largest share of the selection split's birds "
                        "with P(airplane) >= threshold (the curve has 0.5%%, 1%%, 2%%, 5%%, 10%%)")
    g.add_argument("--confidence", type=float, default=calibrate.CONFIDENCE,
                   help="confidence of the one-sided Clopper-Pearson bound every threshold is chosen with: the "
                        "lowest threshold whose bound on the share of the selection split's birds moved is within "
                        "the budget")
    g.add_argument("--out", default=str(DEFAULT_OUT),
                   help="ONNX file to write; the card (.json) and the plot (.png) go beside it; the folder must exist")
    g.add_argument("--no-export", action="store_true", help="train and report only")
    g.add_argument("--from-run", metavar="DIR",
                   help="train nothing: export a finished run's model (DIR/model.pt, e.g. the row the selection "
                        "split picked), its figures and card made again with the current config/preprocessing.json")
    g.add_argument("--run-dir", help="where the checkpoint, history and log go (unset: training/runs/<recipe>-seed<seed>)")
    g.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    g.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto",
                   help="where to train: auto = cuda when torch sees a CUDA GPU, else cpu")
    g.add_argument("--quiet", action="store_true", help="no progress bar")
    for action in p._actions:  # flags the recipe fills: say what each recipe gives them
        if action.dest in RECIPES["book"]:
            action.default = argparse.SUPPRESS
            action.help += " (by recipe: " + ", ".join(f"{r} {_show(RECIPES[r][action.dest])}" for r in RECIPES) + ")"
    args = p.parse_args(argv)
    for k, v in RECIPES[args.recipe].items():
        if getattr(args, k, None) is None:
            setattr(args, k, v)
    return args


def _show(v) -> str:
    return ("yes" if v else "no") if isinstance(v, bool) else str(v)


def _bool(s: str) -> bool:
    if s.lower() in ("yes", "true", "1", "on"):
        return True
    if s.lower() in ("no", "false", "0", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected yes or no, got {s!r}")


# --------------------------------------------------------------------------------------------- batches
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


class Normalizer:
    def __init__(self, mean, std):
        self.m = torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1)
        self.s = torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1)

    def __call__(self, x01):
        return (x01 - self.m) / self.s


# --------------------------------------------------------------------------------------------- training
class EMA:
    def __init__(self, model, decay):
        self.decay = decay
        self.model = copy.deepcopy(model).eval()
        for p in self.model.parameters():
            p.requires_grad_(False)

    @torch.no_grad()
    def update(self, model):
        for e, m in zip(self.model.state_dict().values(), model.state_dict().values()):
            if e.dtype.is_floating_point:
                e.mul_(self.decay).add_(m.detach(), alpha=1 - self.decay)
            else:
                e.copy_(m)


@torch.no_grad()
def predict(model, x_u8: torch.Tensor, norm: Normalizer, batch: int = 1000) -> torch.Tensor:
    """Logits for uint8 images, in eval mode."""
    was = model.training
    model.eval()
    device = next(model.parameters()).device
    out = torch.cat([model(norm(x_u8[i:i + batch].float() / 255.0).to(device)).cpu()
                     for i in range(0, len(x_u8), batch)])
    model.train(was)
    return out


def evaluate(model, s: data.Samples, norm: Normalizer) -> dict:
    logits = predict(model, s.x, norm)
    return {"loss": float(F.cross_entropy(logits, s.y)), "acc": float((logits.argmax(1) == s.y).float().mean()),
            "logits": logits}


def threshold_figures(plain, split: data.Samples, norm: Normalizer, bird_budget: float, bootstrap: bool = True,
                      confidence: float = calibrate.CONFIDENCE):
    """A model's figures on a held-out split at the threshold chosen there for `bird_budget`: (threshold, metrics).
    One definition for train.py's card and finetune.py's candidate report."""
    ev = evaluate(plain, split, norm)
    p_air = F.softmax(ev["logits"], dim=1)[:, 0].numpy()
    labels = split.y.numpy()
    threshold = calibrate.choose_threshold(p_air, labels, bird_budget, confidence=confidence)
    at = calibrate.metrics_at(p_air, labels, threshold)
    metrics = {"accuracy": ev["acc"], "loss": ev["loss"], "roc_auc": calibrate.roc_auc(p_air, labels),
               "airplanes_caught_at_threshold": at["airplanes_caught_at_threshold"],
               "birds_moved_at_threshold": at["birds_moved_at_threshold"], "bird_budget": bird_budget,
               "accuracy_at_threshold": at["accuracy_at_threshold"],
               "confusion_matrix_at_threshold": at["confusion_matrix_at_threshold"]}
    if bootstrap:
        metrics["airplanes_caught_bootstrap"] = calibrate.caught_bootstrap(p_air, labels, bird_budget)
    metrics.update({"validation_images": len(split), "validation_counts": split.counts()})
    return threshold, metrics


def make_optimizer(model, cfg):
    decay = [p for n, p in model.named_parameters() if p.ndim > 1]
    no_decay = [p for n, p in model.named_parameters() if p.ndim <= 1]
    groups = [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(groups, lr=cfg.lr, momentum=cfg.momentum, nesterov=cfg.momentum > 0)
    return torch.optim.AdamW(groups, lr=cfg.lr)


def lr_at(cfg, step: int, total: int) -> float:
    t = step / max(total, 1)
    if cfg.schedule == "onecycle":  # linear warm-up over 15%, then cosine to 0
        return cfg.lr * (t / 0.15 if t < 0.15 else 0.5 * (1 + math.cos(math.pi * (t - 0.15) / 0.85)))
    if cfg.schedule == "cosine":
        return cfg.lr * 0.5 * (1 + math.cos(math.pi * t))
    return cfg.lr


def fit(model, train: data.Samples, val: data.Samples, norm: Normalizer, cfg, teacher=None, label="model",
        log=print, quiet=False, others: data.Samples | None = None, device="cpu"):
    """Train `model` on `train`, validate on `val` each epoch. Returns (model to use, history list).

    With `others` (ten-class Samples of images that are neither class) and cfg.other_share > 0, each epoch adds
    that share of other-class images, labelled by the teacher. With cfg.aux10 > 0 the model has ten outputs: the
    teacher's two-class logits are matched by outputs airplane and bird, and all ten learn the true labels."""
    gen = torch.Generator().manual_seed(cfg.seed + 1)
    other_share, aux10 = getattr(cfg, "other_share", 0.0), getattr(cfg, "aux10", 0.0)
    use_others = others is not None and other_share > 0
    pool = data.concat([train.ten_class(), others]) if use_others else train
    two = torch.tensor(data.TEN_CLASS_INDEX)
    # two-class label of every pool item (-1: neither class), and its ten-class label where the pool has them
    y2 = pool.y
    if use_others:
        y2 = torch.full((len(pool),), -1, dtype=torch.int64)
        y2[:len(train)] = train.y
    readout = models.Readout(model, data.TEN_CLASS_INDEX) if aux10 > 0 else model
    model.to(device)
    opt = make_optimizer(model, cfg)
    n_two, n_extra = len(train), (round(len(train) * other_share / (1 - other_share)) if use_others else 0)
    n = n_two + n_extra
    steps_per_epoch = math.ceil(n / cfg.batch_size)
    total = steps_per_epoch * cfg.epochs
    ema = EMA(model, cfg.ema) if cfg.ema > 0 else None
    history, best, best_key, since_best, step = [], None, None, 0, 0
    # The batches are a pure function of the seed and the batch/augmentation flags (one generator draws them all),
    # so the teacher's logits on them can be kept and replayed by later runs (another student, more epochs).
    labels_path, cached = None, None
    if teacher is not None and getattr(teacher, "cache_key", None):
        weights = hashlib.sha256(b"".join(t.detach().cpu().numpy().tobytes() for t in teacher.state_dict().values()))
        key = json.dumps({"teacher": teacher.cache_key, "weights": weights.hexdigest(), "n": n, "train": train.digest, "seed": cfg.seed,
                          "batch_size": cfg.batch_size, "augment": cfg.augment, "jitter": cfg.jitter,
                          "mixup": cfg.mixup, **({"camera_augment": cfg.camera_augment}
                                                 if getattr(cfg, "camera_augment", 0) > 0 else {}),
                          **({"others": others.digest, "other_share": other_share}
                                                 if use_others else {})}, sort_keys=True)
        labels_path = RUNS / "cache" / f"teacher-logits-{hashlib.sha256(key.encode()).hexdigest()[:16]}.pt"
        cached = torch.load(labels_path) if labels_path.exists() else []
        if cached:
            log(f"{label}: replaying the teacher's logits for {len(cached)} epochs from {labels_path.name}")
    for epoch in range(1, cfg.epochs + 1):
        replay = cached[epoch - 1] if cached is not None and epoch <= len(cached) else None
        recorded = []
        model.train()
        bar = Progress(steps_per_epoch, f"{label} epoch {epoch}/{cfg.epochs}") if not quiet else None
        t0 = time.time()
        if use_others:  # every airplane and bird, plus a fresh draw of other-class images
            extra = n_two + torch.randperm(len(others), generator=gen)[:n_extra]
            epoch_items = torch.cat([torch.arange(n_two), extra])
            perm = epoch_items[torch.randperm(n, generator=gen)]
        else:
            perm = torch.randperm(n, generator=gen)
        sum_loss, sum_correct, n_judged = 0.0, 0, 0
        for i in range(0, n, cfg.batch_size):
            idx = perm[i:i + cfg.batch_size]
            x = pool.x[idx].float() / 255.0
            y = y2[idx]
            if cfg.augment:
                x = augment_batch(x, gen, cfg.jitter)
            if getattr(cfg, "camera_augment", 0) > 0:
                x = camera.augment(x, gen, cfg.camera_augment)
            mixed = cfg.mixup > 0 and torch.rand(1, generator=gen).item() < cfg.mixup
            if mixed:
                x, mperm, lam = mix_batch(x, gen)
            xn = norm(x).to(device)
            for g in opt.param_groups:
                g["lr"] = lr_at(cfg, step, total)
            out = model(xn)
            logits = out[:, two.to(device)] if aux10 > 0 else out
            if teacher is not None:
                if replay is not None:
                    t_logits = replay[i:i + len(idx)].float().to(device)
                else:
                    with torch.no_grad():
                        t_logits = teacher(xn)
                    recorded.append(t_logits.cpu())
                q = F.softmax(t_logits / cfg.distill_temp, dim=1)
                t = cfg.distill_temp
                loss = -(q * F.log_softmax(logits / t, dim=1)).sum(1).mean() * t * t
            elif mixed:
                loss = lam * F.cross_entropy(logits, y.to(device), label_smoothing=cfg.label_smoothing) + \
                    (1 - lam) * F.cross_entropy(logits, y[mperm].to(device), label_smoothing=cfg.label_smoothing)
            else:
                loss = F.cross_entropy(logits, y.to(device), label_smoothing=cfg.label_smoothing)
            if aux10 > 0:
                y10 = pool.y[idx].to(device)
                aux = F.cross_entropy(out, y10, label_smoothing=cfg.label_smoothing)
                if mixed:
                    aux = lam * aux + (1 - lam) * F.cross_entropy(out, y10[mperm.to(device)],
                                                                  label_smoothing=cfg.label_smoothing)
                loss = loss + aux10 * aux
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            step += 1
            if ema:
                ema.update(model)
            sum_loss += float(loss) * len(idx)
            judged_items = y >= 0
            sum_correct += int((logits.argmax(1).cpu()[judged_items] == y[judged_items]).sum())
            n_judged += int(judged_items.sum())
            if bar:
                bar.update(1, loss=float(loss))
        if bar:
            bar.close()
        seconds = time.time() - t0
        if labels_path is not None and replay is None and epoch == len(cached) + 1:
            cached.append(torch.cat(recorded))
            labels_path.parent.mkdir(parents=True, exist_ok=True)
            torch.save(cached, labels_path)
        judged = ema.model if ema else model
        judged_readout = models.Readout(judged, data.TEN_CLASS_INDEX) if aux10 > 0 else judged
        v = evaluate(judged_readout, val, norm) if len(val) else {"loss": float("nan"), "acc": float("nan")}
        h = {"epoch": epoch, "train_loss": sum_loss / n, "train_acc": sum_correct / max(n_judged, 1),
             "val_loss": v["loss"], "val_acc": v["acc"], "seconds": seconds, "lr": lr_at(cfg, step, total)}
        if ema and len(val):
            h["val_acc_without_ema"] = evaluate(readout, val, norm)["acc"]
        history.append(h)
        key = (v["acc"], -v["loss"])
        mark = ""
        if best_key is None or key > best_key:
            best_key, since_best, mark = key, 0, " *"
            best = copy.deepcopy(judged.state_dict())
            best_epoch = epoch
        else:
            since_best += 1
        log(f"{label} epoch {epoch:3d}/{cfg.epochs}  train loss {h['train_loss']:.4f} acc {h['train_acc']:.4f}  "
            f"val loss {h['val_loss']:.4f} acc {h['val_acc']:.4f}  {seconds:5.1f}s{mark}")
        if cfg.patience and since_best >= cfg.patience:
            log(f"{label}: no better validation accuracy for {cfg.patience} epochs, stopping")
            break
    final = ema.model if ema else model
    if cfg.select == "best" and best is not None:
        final.load_state_dict(best)
        log(f"{label}: using epoch {best_epoch} (best validation accuracy {best_key[0]:.4f})")
    return final.cpu().eval(), history


def load_splits(args, spec: dict):
    """The data of --data and --extra-data, decoded as `spec` (config/preprocessing.json) says, split three ways:
    (sources, all samples, training, selection, report). The selection split chooses (epoch, threshold, run, flags);
    the report split only measures."""
    # Each source is split on its own (same seed), so adding --extra-data never moves an image of the main data
    # between the splits.
    if not args.data:  # resolved here, not at parsing: only a run that loads data may download it
        args.data = str(data.default_data(args.cache_dir, log=lambda m: print(m, flush=True)))
    cache = None if str(args.data).startswith("cifar10:") else Path(args.cache_dir) / "decoded"
    main_source = (data.load_image_folder(args.data, spec, cache_dir=cache) if cache else data.load(args.data, spec))
    sources = [main_source] + [data.load_image_folder(d, spec) for d in args.extra_data]
    splits = [data.three_way_split(src.y, args.val_fraction, args.selection_fraction, args.seed) for src in sources]
    part = lambda k: data.concat([src.subset(sp[k]) for src, sp in zip(sources, splits)])  # noqa: E731
    return sources, data.concat(sources), part(0), part(1), part(2)


def load_others(args, spec: dict):
    """The other-class images, where the run needs them (ten-class teacher, --other-share, --aux10), else None."""
    needed = args.teacher == "conv10" or args.other_share > 0 or args.aux10 > 0
    if not needed:
        return None
    root = (data.other_classes_beside(args.data) if args.other_data == "auto" else
            None if args.other_data == "none" else Path(args.other_data))
    if root is None:
        raise UsageError("this recipe needs CIFAR-10's other classes: pass --other-data ROOT (ROOT/automobile/*, "
                         "ROOT/cat/*, ...); the shared data and the download cache have them beside the airplanes "
                         "and birds")
    return data.load_other_classes(root, spec, cache_dir=Path(args.cache_dir) / "decoded")


def get_teacher(args, train, selection, norm, samples_digest, log, others=None, device="cpu"):
    """Train the convnet teacher on the training split (plus the other classes for conv10), or load it from the
    cache. Returns (a module giving airplane-vs-bird logits, its history)."""
    ten = args.teacher == "conv10"
    cfg = argparse.Namespace(
        seed=args.seed, epochs=args.teacher_epochs, batch_size=args.teacher_batch_size, optimizer="sgd",
        lr=args.teacher_lr, momentum=0.9, weight_decay=5e-4, schedule="onecycle", augment=True, jitter=0.0,
        mixup=0.0, label_smoothing=0.1, ema=0.0, patience=0, select="last", distill_temp=1.0)
    key = json.dumps({"data": samples_digest, "val_fraction": args.val_fraction,
                      "selection_fraction": args.selection_fraction, "width": args.teacher_width,
                      "kind": args.teacher, "others": others.digest if ten else None,
                      **{k: v for k, v in vars(cfg).items()}}, sort_keys=True)
    path = RUNS / "cache" / f"teacher-{hashlib.sha256(key.encode()).hexdigest()[:16]}.pt"
    classes = len(data.CIFAR10_CLASSES) if ten else 2
    teacher = models.ConvTeacher(args.teacher_width, classes=classes)
    readout = models.Readout(teacher, data.TEN_CLASS_INDEX) if ten else teacher
    if args.teacher_cache:
        readout.cache_key = key
    if args.teacher_cache and path.exists():
        saved = torch.load(path)
        teacher.load_state_dict(saved["state_dict"])
        log(f"teacher: {path.name} from the cache (selection acc {saved['val_acc']:.4f}; delete it to retrain)")
        return readout.to(device).eval(), saved["history"]
    fit_train, fit_val = (data.concat([train.ten_class(), others]), selection.ten_class()) if ten else (train, selection)
    log(f"teacher: ConvTeacher width {args.teacher_width}, {classes} classes: {models.count_params(teacher):,} "
        f"parameters, {cfg.epochs} epochs on {len(fit_train)} images (the training split"
        f"{' and the other classes' if ten else ''}; never exported)")
    torch.manual_seed(args.seed)
    teacher = models.ConvTeacher(args.teacher_width, classes=classes)
    teacher, history = fit(teacher, fit_train, fit_val, norm, cfg, label="teacher", log=log, quiet=args.quiet,
                           device=device)
    readout = models.Readout(teacher, data.TEN_CLASS_INDEX) if ten else teacher
    if args.teacher_cache:
        readout.cache_key = key
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save({"state_dict": teacher.state_dict(), "history": history, "val_acc": history[-1]["val_acc"],
                    "key": key}, path)
    return readout.to(device).eval(), history


# --------------------------------------------------------------------------------------------- output
def plot_history(history: list, path: Path, title: str):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    ep = [h["epoch"] for h in history]
    fig, ax = plt.subplots(1, 2, figsize=(10, 4))
    ax[0].plot(ep, [h["train_loss"] for h in history], label="training (augmented batches, vs. their targets; "
                                                             "distillation: x T\u00b2)")
    ax[0].plot(ep, [h["val_loss"] for h in history], label="selection split (chose the epoch)")
    ax[0].set_title("loss (cross entropy)")
    ax[0].set_yscale("log")
    ax[1].plot(ep, [h["train_acc"] for h in history], label="training (augmented batches)")
    ax[1].plot(ep, [h["val_acc"] for h in history], label="selection split (one view)")
    ax[1].set_title("accuracy")
    for a in ax:
        a.set_xlabel("epoch")
        a.grid(alpha=0.3)
        a.legend()
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def load_init(path) -> dict:
    """Weights to fine-tune from: an exported .onnx (its Gemm initializers, in graph order, and its stored
    mean/std/model metadata) or a training/runs/*/model.pt checkpoint. Returns {model (plain MLP), mean, std}."""
    path = Path(path)
    if not path.is_file():
        raise UsageError(f"--init {path}: no such file")
    if path.suffix == ".pt":
        ck = torch.load(path, map_location="cpu")
        m = models.MLP(ck["config"]["hidden"], ck["config"]["act"])
        m.load_state_dict(ck["state_dict"])
        return {"model": m, "mean": ck["mean"], "std": ck["std"]}
    import onnx
    from onnx import numpy_helper
    g = onnx.load(str(path))
    meta = {p.key: p.value for p in g.metadata_props}
    if "model" not in meta or "mean" not in meta:
        raise UsageError(f"--init {path}: not a birdwatch model (no 'model'/'mean' metadata)")
    cfg = json.loads(meta["model"])
    m = models.MLP(cfg["hidden"], cfg["act"])
    m.config["flip_ensemble"] = bool(cfg.get("flip_ensemble", False))
    inits = {t.name: numpy_helper.to_array(t) for t in g.graph.initializer}
    gemms = [n for n in g.graph.node if n.op_type == "Gemm"]
    linears = [layer for layer in m.net if isinstance(layer, torch.nn.Linear)]
    if len(gemms) != len(linears):
        raise UsageError(f"--init {path}: {len(gemms)} Gemm nodes for {len(linears)} Linear layers")
    with torch.no_grad():
        for node, lin in zip(gemms, linears):
            trans_b = next((a.i for a in node.attribute if a.name == "transB"), 0)
            w, b = inits[node.input[1]], inits[node.input[2]]
            lin.weight.copy_(torch.from_numpy(np.array(w if trans_b else w.T)))
            lin.bias.copy_(torch.from_numpy(np.array(b)))
    return {"model": m, "mean": json.loads(meta["mean"]), "std": json.loads(meta["std"])}


def build_model(args, classes: int = 2) -> models.MLP:
    hidden = [int(h) for h in args.hidden.split(",")] if args.hidden else None
    return models.build_mlp(args.model, hidden=hidden, act=args.act, norm=args.norm, dropout=args.dropout,
                            classes=classes)


def recipe_dict(args) -> dict:
    keys = ["recipe", "model", "hidden", "act", "norm", "dropout", "epochs", "batch_size", "optimizer", "lr",
            "momentum", "weight_decay", "schedule", "label_smoothing", "ema", "patience", "select", "augment",
            "jitter", "mixup", "flip_ensemble", "teacher", "teacher_width", "teacher_epochs", "teacher_lr",
            "teacher_batch_size", "distill_temp", "val_fraction", "selection_fraction", "seed", "bird_budget",
            "confidence",
            "extra_data", "init", "other_share", "aux10", "other_data", "camera_augment"]
    return {k: getattr(args, k, None) for k in keys}


def main(argv=None) -> int:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    out = Path(args.out).resolve()
    if not args.no_export and not out.parent.is_dir():
        raise UsageError(f"output folder {out.parent} does not exist")
    run_dir = Path(args.run_dir) if args.run_dir else RUNS / f"{args.recipe}-seed{args.seed}"
    run_dir.mkdir(parents=True, exist_ok=True)
    log_lines = []

    def log(msg):
        print(msg, flush=True)
        log_lines.append(msg)

    if args.aux10 > 0 and not args.other_share > 0:
        raise UsageError("--aux10 needs --other-share > 0 (the ten-class task needs images of the other classes)")
    if args.other_share > 0 and args.teacher == "none":
        raise UsageError("--other-share needs a teacher (--teacher conv or conv10): the other-class images have no "
                         "airplane-vs-bird label of their own")
    if not 0 <= args.other_share < 1:
        raise UsageError(f"--other-share must be in [0, 1), got {args.other_share}")
    if not report.BUDGETS[0] <= args.bird_budget < 1:
        raise UsageError(f"--bird-budget must be in [{report.BUDGETS[0]}, 1) (the curve's smallest budget is "
                         f"{report.BUDGETS[0]}), got {args.bird_budget}")
    if not 0 < args.confidence < 1:
        raise UsageError(f"--confidence must be above 0 and below 1, got {args.confidence}")
    t_start = time.time()
    device = resolve_device(args.device, log)
    spec = data.load_preprocessing()
    view_names = views.views_of(spec)
    finished = load_finished_run(args.from_run, args) if args.from_run else None  # its recipe: the same splits
    sources, samples, train, selection, report_split = load_splits(args, spec)
    others = load_others(args, spec)
    for src in sources + ([others] if others is not None else []):
        log(f"data: {src.source}: {len(src)} images {src.counts()}, sha256 {src.digest[:16]}...")
    log(f"decoded in {time.time() - t_start:.1f}s; training {len(train)} {train.counts()}, selection "
        f"{len(selection)} {selection.counts()}, report {len(report_split)} {report_split.counts()}")
    if finished:
        done = finished
        log(f"model: {done['plain'].describe()} from {args.from_run} (trained there; figures and card made again "
            f"here with views {'+'.join(view_names)})")
    else:
        done = train_student(args, train, selection, report_split, others, samples, view_names, device, log)
    plain, mean, std, history = done["plain"], done["mean"], done["std"], done["history"]
    n_params, trained, device = done["n_params"], done["trained"], done["device"]
    teacher_history, teacher_figures = done["teacher_history"], done["teacher_figures"]
    norm = Normalizer(mean, std)
    epoch_seconds = float(np.median([h["seconds"] for h in history]))

    # the figures: thresholds on the selection split, everything shown on the report split
    p_sel, p_rep, curve = report.model_curve(plain, norm, selection, report_split, view_names,
                                             confidence=args.confidence)
    own = report.point_at(curve, args.bird_budget)
    threshold = own["threshold_text"]
    metrics = {**report.split_metrics(p_sel, selection.y.numpy(), "selection"),
               **{k: v for k, v in calibrate.metrics_at(p_sel, selection.y.numpy(), threshold).items()
                  if k != "threshold"}, "bird_budget": args.bird_budget, "views": view_names,
               "confidence": args.confidence, "bound": own["bound"], "certified": own["certified"]}
    p_cam = report.p_airplane(plain, camera.degrade(report_split.x, seed=args.seed), norm, view_names)
    report_metrics = {**report.split_metrics(p_rep, report_split.y.numpy(), "report"), "views": view_names,
                      "camera_like": {**report.split_metrics(p_cam, report_split.y.numpy(), "report, camera-like "
                                                             "copy (training/camera.py, seed of the run)"),
                                      "caught_and_moved_at_threshold": {
                                          k: v for k, v in calibrate.metrics_at(p_cam, report_split.y.numpy(),
                                                                                threshold).items()
                                          if k in ("airplanes_caught_at_threshold", "birds_moved_at_threshold")}},
                      "at_threshold": {k: v for k, v in calibrate.metrics_at(p_rep, report_split.y.numpy(),
                                                                             threshold).items()}}
    torch.save({"config": plain.config, "state_dict": plain.state_dict(), "mean": mean, "std": std},
               run_dir / "model.pt")
    (run_dir / "history.json").write_text(json.dumps(history, indent=1))

    at1 = report.point_at(curve, 0.01)
    summary = [
        f"selection split: accuracy {metrics['accuracy']:.4f}, ROC AUC {metrics['roc_auc']:.4f} (it chose the "
        f"epoch and the thresholds)",
        f"REPORT split ({report_metrics['images']} images, nothing chosen on them; views {'+'.join(view_names)}): "
        f"accuracy {report_metrics['accuracy']:.4f} (90% {report_metrics['accuracy_interval']}), ROC AUC "
        f"{report_metrics['roc_auc']:.4f}, airplanes caught at <=1% birds (bootstrap mean) "
        f"{report_metrics['airplanes_caught_at_1pct_bootstrap']['mean']:.3f}",
        "curve (threshold from the selection split -> report split): " + "; ".join(
            f"{p['bird_budget']:.1%}: t={p['threshold_text']} (bound {p['bound']:.4f}"
            f"{'' if p['certified'] else ', not certified'}) caught {p['airplanes_caught']:.3f} moved "
            f"{p['birds_moved']:.3f}" for p in curve["points"]),
        f"median epoch {epoch_seconds:.2f}s, {len(history)} epochs on {device}, total {time.time() - t_start:.0f}s",
    ]
    recipe = recipe_dict(args)
    recipe.update(trained_architecture=trained, device=device, threads=args.threads)
    if not args.no_export:
        created = dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")
        meta = {
            "classes": json.dumps(data.CLASSES),
            "mean": json.dumps(mean), "std": json.dumps(std),
            "threshold": threshold,
            "confidence": str(args.confidence),
            "validation_metrics": json.dumps(metrics),
            "report_metrics": json.dumps(report_metrics),
            "operating_curve": json.dumps(curve),
            "recipe": json.dumps(recipe),
            "training_data_digest": samples.digest,
            "created_at": created,
            "preprocessing": json.dumps(spec),
            "model": json.dumps({"description": plain.describe(), "parameters": models.count_params(plain),
                                 **plain.config}),
        }
        export.export_onnx(plain, out, meta)
        probe = norm(report_split.x[:256].float() / 255.0)
        runtime = export.available_runtime()
        diff = export.check_against_torch(plain, out, probe, runtime) if runtime else None
        if diff is not None and diff > 1e-5:
            raise RuntimeError(f"exported graph differs from the PyTorch model by {diff:g} (> 1e-5)")
        ops = sorted(export.op_types(out))
        curve_png = out.with_name(out.stem + "-curve.png")
        card = {
            "model_file": out.name, "created_at": created, "classes": data.CLASSES,
            "input": {"name": "image", "shape": ["N", 3, 32, 32], "type": "float32",
                      "meaning": "RGB, /255, normalized with mean/std"},
            "output": {"name": "probabilities", "shape": ["N", 2], "type": "float32",
                       "meaning": "softmax, [airplane, bird]"},
            "mean": mean, "std": std, "threshold": threshold, "confidence": args.confidence,
            "threshold_rule": f"move a shot when P(airplane) >= threshold; the lowest threshold whose one-sided "
                              f"{args.confidence:.0%} Clopper-Pearson upper bound on the share of the selection "
                              f"split's birds moved is at most {args.bird_budget:.1%}",
            "splits": {"training": len(train), "selection": len(selection), "report": len(report_split),
                       "rule": "seeded, stratified, disjoint; the selection split chose the epoch and the "
                               "thresholds; the report split chose nothing"},
            "report_metrics": report_metrics, "operating_curve": curve,
            "validation_metrics": metrics, "model": json.loads(meta["model"]), "onnx_ops": ops,
            "teacher": {"kind": args.teacher, "figures": teacher_figures, "history": teacher_history},
            "trained_parameters": n_params, "recipe": recipe, "training_data": {
                "source": samples.source, "digest_sha256": samples.digest, "images": len(samples),
                "other_classes": None if others is None else {"source": others.source, "images": len(others),
                                                              "digest_sha256": others.digest},
                "training": len(train), "selection": len(selection), "report": len(report_split),
                "counts": samples.counts()},
            "preprocessing": spec, "epoch_seconds_median": epoch_seconds, "device": device, "history": history,
            "onnx_check": {"runtime": runtime, "max_abs_diff": diff, "inputs": int(probe.shape[0])},
            "torch_version": torch.__version__, "plot": out.with_suffix(".png").name, "curve_plot": curve_png.name,
            "training_seconds": round(done.get("seconds") or (time.time() - t_start)),
        }
        out.with_suffix(".json").write_text(json.dumps(card, indent=1) + "\n")
        plot_history(history, out.with_suffix(".png"),
                     f"{plain.describe()}, recipe {args.recipe}: selection acc {metrics['accuracy']:.4f}")
        report.plot_curve(curve, curve_png,
                          f"{plain.describe()}: report split ({report_metrics['images']} images), "
                          f"accuracy {report_metrics['accuracy']:.3f}")
        summary.append(f"wrote {out} (+ .json card, .png plots); ONNX ops {ops}; "
                       + (f"torch-vs-ONNX max abs diff {diff:.2e} ({runtime})" if runtime else
                          "no ONNX runtime here: torch-vs-ONNX check skipped"))
    (run_dir / "result.json").write_text(json.dumps({
        "recipe": recipe, "model": plain.describe(), "parameters": models.count_params(plain),
        "trained_parameters": n_params, "validation_metrics": metrics, "report_metrics": report_metrics,
        "operating_curve": curve, "threshold": threshold, "epochs_run": len(history),
        "epoch_seconds_median": epoch_seconds, "teacher_figures": teacher_figures, "teacher_history": teacher_history,
        "total_seconds": time.time() - t_start}, indent=1) + "\n")
    log("---- summary ----")
    for s in summary:
        log(s)
    (run_dir / "log.txt").write_text("\n".join(log_lines) + "\n")
    return 0


def train_student(args, train, selection, report_split, others, samples, view_names, device, log) -> dict:
    """Teacher (if any), then the student; returns what the figures and the card need."""
    init = load_init(args.init) if args.init else None
    if init:
        mean, std = init["mean"], init["std"]
        log(f"mean {[round(m, 4) for m in mean]}  std {[round(s, 4) for s in std]} (kept from {args.init})")
    else:
        mean, std = data.mean_std(train.x)
        log(f"mean {[round(m, 4) for m in mean]}  std {[round(s, 4) for s in std]} (training split)")
    norm = Normalizer(mean, std)

    teacher, teacher_history, teacher_figures = None, [], None
    if args.teacher in ("conv", "conv10"):
        teacher, teacher_history = get_teacher(args, train, selection, norm, samples.digest, log, others, device)
        for p in teacher.parameters():
            p.requires_grad_(False)
        teacher_figures = {name: report.split_metrics(report.p_airplane(teacher, s.x, norm, view_names), s.y.numpy(),
                                                      name, resamples=500)
                           for name, s in (("selection", selection), ("report", report_split))}
        log(f"teacher ({args.teacher}), airplane vs bird: selection acc {teacher_figures['selection']['accuracy']:.4f}"
            f", report acc {teacher_figures['report']['accuracy']:.4f}, report caught at 1% (bootstrap mean) "
            f"{teacher_figures['report']['airplanes_caught_at_1pct_bootstrap']['mean']:.3f}")

    torch.manual_seed(args.seed)
    if init:
        model = init["model"].train()
        args.model, args.hidden = "from-init", ",".join(str(h) for h in model.config["hidden"])
        args.act, args.norm, args.dropout = model.config["act"], "none", 0.0
    else:
        model = build_model(args, classes=len(data.CIFAR10_CLASSES) if args.aux10 > 0 else 2)
    n_params = models.count_params(model)
    log(f"model: {model.describe()}: {n_params:,} parameters" + (f" (weights from {args.init})" if init else "")
        + (" (ten outputs while training; airplane and bird exported)" if args.aux10 > 0 else ""))
    trained = dict(model.config)  # the architecture as trained (BatchNorm, dropout), for the recipe record
    if args.model in models.CHAPTER_PARAMS and not (args.hidden or args.act or args.norm == "bn"):
        assert n_params == models.CHAPTER_PARAMS[args.model], "parameter count differs from the chapter's"

    model, history = fit(model, train, selection, norm, args, teacher=teacher, label="mlp", log=log,
                         quiet=args.quiet, others=others, device=device)
    plain = model.fold() if isinstance(model, models.MLP) else model
    if args.aux10 > 0:
        plain = models.keep_outputs(plain, data.TEN_CLASS_INDEX)
    if args.flip_ensemble and not plain.config.get("flip_ensemble"):
        plain = models.flip_ensemble(plain)
        log(f"flip ensemble folded into one MLP: {plain.describe()}, {models.count_params(plain):,} parameters")
    return {"plain": plain, "mean": mean, "std": std, "history": history, "n_params": n_params, "trained": trained,
            "teacher_history": teacher_history, "teacher_figures": teacher_figures, "device": device,
            "seconds": None}


def load_finished_run(run_dir, args) -> dict:
    """--from-run: a finished run's model (its model.pt, history.json, result.json) instead of training one; the
    run's recipe replaces the flags, so the card describes how the model was trained."""
    run_dir = Path(run_dir)
    try:
        result = json.loads((run_dir / "result.json").read_text())
        history = json.loads((run_dir / "history.json").read_text())
    except (OSError, ValueError) as e:
        raise UsageError(f"--from-run {run_dir}: not a finished train.py run ({e})") from e
    saved = load_init(run_dir / "model.pt")
    recipe = result["recipe"]
    for k in recipe_dict(args):
        if k in recipe:
            setattr(args, k, recipe[k])
    return {"plain": saved["model"].eval(), "mean": saved["mean"], "std": saved["std"], "history": history,
            "n_params": result["trained_parameters"], "trained": recipe.get("trained_architecture"),
            "teacher_history": result.get("teacher_history", []), "teacher_figures": result.get("teacher_figures"),
            "device": recipe.get("device", "cpu"), "seconds": result.get("total_seconds")}


def resolve_device(choice: str, log=print) -> str:
    """--device: auto picks cuda when torch sees a GPU; asking for cuda without one is a usage error."""
    has_cuda = torch.cuda.is_available()
    if choice == "cuda" and not has_cuda:
        raise UsageError("--device cuda: torch sees no CUDA GPU here (use --device auto or cpu)")
    device = "cuda" if choice == "cuda" or (choice == "auto" and has_cuda) else "cpu"
    log(f"device: {device}" + (" (auto: no CUDA GPU visible to torch)" if choice == "auto" and not has_cuda else ""))
    return device


def run_cli(entry, name: str, argv=None) -> int:
    """entry(argv) with the exit codes: 0 done, 2 bad data or usage (one line on stderr), 130 interrupted."""
    try:
        return entry(argv)
    except (data.DataError, UsageError) as e:
        print(f"{name}: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{name}: interrupted", file=sys.stderr)
        return 130


def cli(argv=None) -> int:
    return run_cli(main, "train.py", argv)


if __name__ == "__main__":
    sys.exit(cli())
