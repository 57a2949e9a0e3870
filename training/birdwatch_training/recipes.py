"""The recipes, as data: training/recipes/*.json. base.json holds the settings every recipe shares, teacher.json the
convolutional teacher's, book/plain/default.json what each recipe fills, ablation-r2.json the ablation's rows (the
default recipe with a few settings changed). `settings` merges them into the one config a run reads."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from birdwatch_training import data, report
from birdwatch_training.cli import UsageError

RECIPES_DIR = Path(__file__).resolve().parents[1] / "recipes"
NAMES = ("book", "plain", "default")  # the recipes train.py --recipe offers


def _read(name: str) -> dict:
    values = json.loads((RECIPES_DIR / f"{name}.json").read_text())
    return {k: v for k, v in values.items() if not k.startswith("_")}


def base() -> dict:
    """The shared settings (train.py's defaults for the flags a recipe does not fill); cache_dir resolved."""
    values = _read("base")
    values["cache_dir"] = values["cache_dir"] or str(data.default_cache_dir())
    return values


def teacher() -> dict:
    return _read("teacher")


def recipe(name: str) -> dict:
    """What recipe `name` fills: the flags train.py leaves to the recipe."""
    if name not in NAMES:
        raise ValueError(f"no recipe {name!r} (recipes: {', '.join(NAMES)})")
    return _read(name)


def settings(name: str = "default", **overrides) -> argparse.Namespace:
    """A whole run's config: the shared settings, the teacher's, recipe `name`'s, then `overrides` (None = unset)."""
    merged = {**base(), **teacher(), **recipe(name), "recipe": name}
    merged.update({k: v for k, v in overrides.items() if v is not None})
    return argparse.Namespace(**merged)


def ablation_rows() -> list:
    """[(row, what it measures, train.py arguments)] of the round-2 ablation."""
    rows = json.loads((RECIPES_DIR / "ablation-r2.json").read_text())["rows"]
    return [(r["row"], r["what"], [a for k, v in r["settings"].items() for a in (f"--{k.replace('_', '-')}", str(v))])
            for r in rows]


def check(cfg) -> None:
    """Settings that cannot work together: one line (UsageError, exit code 2)."""
    smallest = report.BUDGETS[0]  # the operating curve's smallest budget
    if cfg.aux10 > 0 and not cfg.other_share > 0:
        raise UsageError("--aux10 needs --other-share > 0 (the ten-class task needs images of the other classes)")
    if cfg.other_share > 0 and cfg.teacher == "none":
        raise UsageError("--other-share needs a teacher (--teacher conv or conv10): the other-class images have "
                         "no airplane-vs-bird label of their own")
    if not 0 <= cfg.other_share < 1:
        raise UsageError(f"--other-share must be in [0, 1), got {cfg.other_share}")
    if not smallest <= cfg.bird_budget < 1:
        raise UsageError(f"--bird-budget must be in [{smallest}, 1) (the curve's smallest budget is {smallest}), "
                         f"got {cfg.bird_budget}")
    if not 0 < cfg.confidence < 1:
        raise UsageError(f"--confidence must be above 0 and below 1, got {cfg.confidence}")


RECORDED = ["recipe", "model", "hidden", "act", "norm", "dropout", "epochs", "batch_size", "optimizer", "lr",
            "momentum", "weight_decay", "schedule", "label_smoothing", "ema", "patience", "select", "augment",
            "jitter", "mixup", "flip_ensemble", "teacher", "teacher_width", "teacher_epochs", "teacher_lr",
            "teacher_batch_size", "distill_temp", "val_fraction", "selection_fraction", "seed", "bird_budget",
            "confidence", "extra_data", "init", "other_share", "aux10", "other_data", "camera_augment"]


def record(cfg) -> dict:
    """The recipe as the model's metadata and card record it."""
    return {k: getattr(cfg, k, None) for k in RECORDED}
