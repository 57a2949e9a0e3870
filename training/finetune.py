#!/usr/bin/env python3
"""Fine-tune the current model with a club's own labelled shots, mixed with the CIFAR training split, into a
candidate model (what `birdwatch retrain` runs; it can be run by hand too).

  python3 finetune.py --init ../models/birds-vs-airplanes.onnx --club DIR --out CANDIDATE.onnx [--epochs 3]

DIR is an image-folder tree DIR/airplane/*, DIR/bird/* (either may be empty): the club's fine-tune part. The
club's held-out part never comes here. The CIFAR data (--data, else train.py's default data) is split exactly as
train.py split it for the --init model (the seed, val_fraction and selection_fraction in its recipe metadata, unless
--seed/--val-fraction say otherwise), so neither model trains on the selection split or the report split. The
candidate's thresholds (its operating curve) are chosen on the selection split at --bird-budget with the same rule as
train.py, and the report split is where both models are compared. (A model from before the three-way split had no
selection split: then, as before, the threshold is chosen on the report split.) --split-list FILE receives the
report split as JSON lines {"path", "label"} (image files: the originals for an image-folder source; PNG copies of
the decoded 32x32 images for cifar10:DIR), so that birdwatch scores both models on it with the daemon's own
preprocessing. --summary FILE receives one JSON object (threshold, validation figures, counts, history).

Exit codes: 0 done, 2 bad data or usage (one line on stderr), 130 interrupted.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

from birdwatch_training import calibrate, checkpoint, data, export, loop, models, report, views
from birdwatch_training.cli import UsageError, run_cli


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="finetune.py", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--init", required=True, help="the current model (.onnx exported by train.py) to start from")
    p.add_argument("--data", help="the CIFAR data to mix in (image-folder tree or cifar10:DIR), as train.py --data; "
                                  "unset: train.py's default (../shared/data beside the repository where it exists, "
                                  "else CIFAR-10 downloaded once into --cache-dir)")
    p.add_argument("--cache-dir", default=str(data.default_cache_dir()),
                   help=f"as train.py: where CIFAR-10 is downloaded when --data is unset (env {data.CACHE_ENV})")
    p.add_argument("--club", help="the club's fine-tune part: DIR/airplane/*, DIR/bird/* (either may be empty)")
    p.add_argument("--club-share", type=float, default=0.2,
                   help="share of each epoch's images that are club shots (they are repeated to reach it)")
    p.add_argument("--out", required=True, help="the candidate ONNX file to write (its folder must exist)")
    p.add_argument("--epochs", type=int, default=3, help="fine-tuning epochs")
    p.add_argument("--lr", type=float, default=1e-4, help="peak learning rate (AdamW, cosine schedule)")
    p.add_argument("--batch-size", type=int, default=128, help="minibatch size")
    p.add_argument("--val-fraction", type=float, default=None,
                   help="as train.py: share of each class held out (unset: the --init model's recipe, else 0.1)")
    p.add_argument("--seed", type=int, default=None,
                   help="as train.py: the CIFAR split's seed (unset: the --init model's recipe, else 0)")
    p.add_argument("--bird-budget", type=float, default=0.01,
                   help="the candidate's own threshold's bird budget (chosen on the selection split)")
    p.add_argument("--confidence", type=float, default=calibrate.CONFIDENCE,
                   help="confidence of the Clopper-Pearson bound its thresholds are chosen with (as train.py)")
    p.add_argument("--split-list", help="write the report split here as JSON lines {path, label}")
    p.add_argument("--split-images", help="folder for PNG copies of the report split (cifar10:DIR sources)")
    p.add_argument("--summary", help="write a JSON summary here")
    p.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    args = p.parse_args(argv)
    if args.epochs < 1:
        raise UsageError(f"--epochs must be at least 1, got {args.epochs}")
    if not 0.0 <= args.club_share < 1.0:
        raise UsageError(f"--club-share must be in [0, 1), got {args.club_share}")
    if not 0 < args.confidence < 1:
        raise UsageError(f"--confidence must be above 0 and below 1, got {args.confidence}")
    recipe = init_recipe(args.init)
    if args.seed is None:
        args.seed = int(recipe.get("seed", 0))
    if args.val_fraction is None:
        args.val_fraction = float(recipe.get("val_fraction", 0.1))
    # models from before the three-way split had none: their thresholds came from the report split itself
    args.selection_fraction = float(recipe.get("selection_fraction", 0.0))
    return args


def init_recipe(path) -> dict:
    """The recipe stored in the --init model's metadata ({} for a checkpoint or a model without one): its CIFAR
    split's seed and val_fraction give the report split."""
    if not str(path).endswith(".onnx") or not Path(path).is_file():
        return {}
    try:
        recipe = json.loads(export.read_metadata(path).get("recipe", "{}"))
    except Exception:  # not an ONNX file or no JSON recipe: checkpoint.load_init says what is wrong with it
        return {}
    return recipe if isinstance(recipe, dict) else {}


def load_club(root, spec) -> data.Samples | None:
    """The club's fine-tune part; unlike data.load_image_folder, a class may have no images (or the folder none)."""
    if not root:
        return None
    root = Path(root)
    items = []
    for label, cls in enumerate(data.CLASSES):
        d = root / cls
        if d.is_dir():
            items += [(p, label) for p in sorted(d.rglob("*")) if p.is_file() and not p.name.startswith(".")
                      and p.suffix.lower() in data.IMAGE_EXTENSIONS]
    if not items:
        return None
    xs = np.stack([data.load_image_file(p, spec) for p, _ in items])
    y = torch.tensor([label for _, label in items], dtype=torch.int64)
    return data.Samples(torch.from_numpy(xs), y, "club", str(root), [p.relative_to(root).as_posix() for p, _ in items])


def write_split_list(cifar: data.Samples, val_idx: torch.Tensor, path: Path, images_dir):
    """The report split as files birdwatch can classify: the originals, or PNG copies of the decoded images."""
    from PIL import Image
    folder = Path(cifar.source)
    with open(path, "w") as f:
        for n, i in enumerate(val_idx.tolist()):
            label = data.CLASSES[int(cifar.y[i])]
            if cifar.names and folder.is_dir():
                file = folder / cifar.names[i]
            else:
                if not images_dir:
                    raise UsageError("--split-images DIR is needed to list a cifar10:DIR report split")
                file = Path(images_dir) / f"{n:05d}-{label}.png"
                file.parent.mkdir(parents=True, exist_ok=True)
                Image.fromarray(cifar.x[i].permute(1, 2, 0).numpy()).save(file)
            f.write(json.dumps({"path": str(file.resolve()), "label": label}) + "\n")


def main(argv=None) -> int:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    out = Path(args.out).resolve()
    if not out.parent.is_dir():
        raise UsageError(f"output folder {out.parent} does not exist")
    t_start = time.time()
    spec = data.load_preprocessing()
    if not args.data:  # resolved here, as train.py does: only a run that loads data may download it
        args.data = str(data.default_data(args.cache_dir, log=lambda m: print(m, flush=True)))
    cifar = data.load(args.data, spec)
    tr, sel, va = data.three_way_split(cifar.y, args.val_fraction, args.selection_fraction, args.seed)
    cifar_train, selection, val = cifar.subset(tr), cifar.subset(sel), cifar.subset(va)
    chooser = selection if len(selection) else val  # where the candidate's thresholds are chosen
    if args.split_list:
        write_split_list(cifar, va, Path(args.split_list), args.split_images)
    club = load_club(args.club, spec)
    repeats = 0
    parts = [cifar_train]
    if club is not None and args.club_share > 0:
        repeats = max(1, round(args.club_share * len(cifar_train) / ((1 - args.club_share) * len(club))))
        parts += [club] * repeats
    train_set = data.concat(parts)
    club_counts = {} if club is None else club.counts()
    print(f"data: {cifar.source}: training {len(cifar_train)} {cifar_train.counts()}, report split {len(val)} "
          f"{val.counts()}; club {club_counts} x {repeats}", flush=True)

    init = checkpoint.load_init(args.init)
    model, mean, std = init["model"].train(), init["mean"], init["std"]
    norm = loop.Normalizer(mean, std)
    cfg = argparse.Namespace(seed=args.seed, epochs=args.epochs, batch_size=args.batch_size, optimizer="adamw",
                             lr=args.lr, momentum=0.9, weight_decay=0.05, schedule="cosine", augment=True,
                             jitter=0.1, mixup=0.0, label_smoothing=0.1, ema=0.0, patience=0, select="last",
                             distill_temp=1.0)
    before = loop.evaluate(model, val, norm)["acc"]
    model, history = loop.fit(model, train_set, val, norm, cfg, label="finetune", quiet=args.quiet)
    plain = model.fold() if isinstance(model, models.MLP) else model
    threshold, metrics = report.threshold_figures(plain, chooser, norm, args.bird_budget, bootstrap=False,
                                                  confidence=args.confidence)
    metrics["split"] = "selection" if chooser is selection else "report"
    at = metrics
    view_names = views.views_of(spec)
    curve = None
    if chooser is selection:  # the candidate's own curve, as train.py writes it (birdBudget needs one)
        _, _, curve = report.model_curve(plain, norm, selection, val, view_names, resamples=200,
                                         confidence=args.confidence)
        threshold = report.point_at(curve, args.bird_budget)["threshold_text"]
    created = dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    recipe = {"recipe": "finetune", "init": str(Path(args.init).resolve()), "epochs": args.epochs, "lr": args.lr,
              "batch_size": args.batch_size, "schedule": "cosine", "optimizer": "adamw", "augment": True,
              "jitter": 0.1, "label_smoothing": 0.1, "club_share": args.club_share, "club_repeats": repeats,
              "club_images": 0 if club is None else len(club), "val_fraction": args.val_fraction,
              "selection_fraction": args.selection_fraction, "seed": args.seed,
              "bird_budget": args.bird_budget, "confidence": args.confidence, "data": cifar.source}
    meta = {
        "classes": json.dumps(data.CLASSES), "mean": json.dumps(mean), "std": json.dumps(std),
        "threshold": threshold, "confidence": str(args.confidence), "validation_metrics": json.dumps(metrics),
        "recipe": json.dumps(recipe),
        "training_data_digest": train_set.digest, "created_at": created, "preprocessing": json.dumps(spec),
        "model": json.dumps({"description": plain.describe(), "parameters": models.count_params(plain),
                             **plain.config}),
        **({"operating_curve": json.dumps(curve)} if curve else {}),
    }
    export.export_onnx(plain, out, meta)
    summary = {"candidate": str(out), "created_at": created, "threshold": threshold,
               "report_split_accuracy_before": before, "validation_metrics": metrics, "recipe": recipe,
               "training_images": len(train_set), "club": None if club is None else club.counts(),
               "history": history, "seconds": time.time() - t_start, "torch_version": torch.__version__}
    if args.summary:
        Path(args.summary).write_text(json.dumps(summary, indent=1) + "\n")
    print(f"finetune: report-split accuracy {before:.4f} -> {metrics['accuracy']:.4f}; threshold {threshold}: "
          f"airplanes caught {at['airplanes_caught_at_threshold']:.3f}, birds moved "
          f"{at['birds_moved_at_threshold']:.4f}; "
          f"wrote {out} in {time.time() - t_start:.0f}s", flush=True)
    return 0


def cli(argv=None) -> int:
    return run_cli(main, "finetune.py", argv)


if __name__ == "__main__":
    sys.exit(cli())
