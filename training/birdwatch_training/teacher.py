"""The convolutional teacher (never exported) and its caches: the teacher trained on the training split (or loaded
from training/runs/cache, keyed by data, split and teacher settings), and the logits it gave on each epoch's batches
(`LogitCache`), which a later student run with the same batches replays instead of running the teacher again."""
from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

import torch

from birdwatch_training import data, loop, models

CACHE = Path(__file__).resolve().parents[1] / "runs" / "cache"


class LogitCache:
    """The teacher's logits on every epoch's batches so far, in a file keyed by the teacher's weights and everything
    that draws the batches (seed, batch size, augmentation, the training images, the other-class share)."""

    def __init__(self, teacher, cfg, train: data.Samples, others: data.Samples | None = None, folder: Path = None):
        use_others = others is not None and getattr(cfg, "other_share", 0.0) > 0
        weights = hashlib.sha256(b"".join(t.detach().cpu().numpy().tobytes() for t in teacher.state_dict().values()))
        key = json.dumps({"teacher": teacher.cache_key, "weights": weights.hexdigest(),
                          "n": loop.epoch_size(train, others, cfg), "train": train.digest, "seed": cfg.seed,
                          "batch_size": cfg.batch_size, "augment": cfg.augment, "jitter": cfg.jitter,
                          "mixup": cfg.mixup, **({"camera_augment": cfg.camera_augment}
                                                 if getattr(cfg, "camera_augment", 0) > 0 else {}),
                          **({"others": others.digest, "other_share": cfg.other_share} if use_others else {})},
                         sort_keys=True)
        self.path = (folder or CACHE) / f"teacher-logits-{hashlib.sha256(key.encode()).hexdigest()[:16]}.pt"
        self.name = self.path.name

    @classmethod
    def of(cls, teacher, cfg, train, others=None, folder: Path = None):
        """The cache of a teacher that has a cache key (a cached teacher), else None."""
        return cls(teacher, cfg, train, others, folder) if getattr(teacher, "cache_key", None) else None

    def load(self) -> list:
        return torch.load(self.path) if self.path.exists() else []

    def save(self, epochs: list) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        torch.save(epochs, self.path)


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
    path = CACHE / f"teacher-{hashlib.sha256(key.encode()).hexdigest()[:16]}.pt"
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
    fit_train, fit_val = ((data.concat([train.ten_class(), others]), selection.ten_class()) if ten
                          else (train, selection))
    log(f"teacher: ConvTeacher width {args.teacher_width}, {classes} classes: {models.count_params(teacher):,} "
        f"parameters, {cfg.epochs} epochs on {len(fit_train)} images (the training split"
        f"{' and the other classes' if ten else ''}; never exported)")
    torch.manual_seed(args.seed)
    teacher = models.ConvTeacher(args.teacher_width, classes=classes)
    teacher, history = loop.fit(teacher, fit_train, fit_val, norm, cfg, label="teacher", log=log,
                                quiet=args.quiet, device=device)
    readout = models.Readout(teacher, data.TEN_CLASS_INDEX) if ten else teacher
    if args.teacher_cache:
        readout.cache_key = key
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save({"state_dict": teacher.state_dict(), "history": history, "val_acc": history[-1]["val_acc"],
                    "key": key}, path)
    return readout.to(device).eval(), history
