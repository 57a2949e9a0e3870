#!/usr/bin/env python3
"""Choose an exported model's thresholds again with the current rule, without training it again.

  python3 rethreshold.py                                  # models/birds-vs-airplanes.onnx, confidence 0.9
  python3 rethreshold.py --model M.onnx --confidence 0.95

Scores the model's own weights (its ONNX Gemm initializers) with its own views on the selection split of the data it
was trained on (split again from its recipe's seed and fractions; the data's digest must match the model's), chooses
each bird budget's threshold there with the confidence bound (birdwatch_training/calibrate.py), measures it on the
report split, and rewrites the model's metadata (threshold, confidence, operating_curve, the selection and report
figures at the threshold), its card beside it and its curve plot. Refuses, changing nothing, when the scores do not
reproduce the figures the model was shipped with (other data, other weights).

Exit codes: 0 done, 2 bad data or usage (one line on stderr), 130 interrupted.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

import onnx
import torch

from birdwatch_training import calibrate, card, checkpoint, data, export, loop, recipes, report, views
from birdwatch_training.cli import UsageError, run_cli

DEFAULT_MODEL = data.REPO_ROOT / "models" / "birds-vs-airplanes.onnx"


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="rethreshold.py", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--model", default=str(DEFAULT_MODEL), help="the exported model to rewrite (its card beside it)")
    p.add_argument("--data", help="the data it was trained on (unset: its card's training_data.source, else "
                                  "train.py's default)")
    p.add_argument("--cache-dir", default=str(data.default_cache_dir()), help="decoded-image cache, as train.py")
    p.add_argument("--confidence", type=float, default=calibrate.CONFIDENCE,
                   help="confidence of the Clopper-Pearson bound the thresholds are chosen with")
    p.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    args = p.parse_args(argv)
    if not 0 < args.confidence < 1:
        raise UsageError(f"--confidence must be above 0 and below 1, got {args.confidence}")
    return args


def rewrite_metadata(path: Path, changes: dict) -> None:
    """The same graph and weights with these metadata_props set (the rest kept in order), written atomically."""
    model = onnx.load(str(path))
    props = {p.key: p.value for p in model.metadata_props}
    props.update(changes)
    del model.metadata_props[:]
    for key, value in props.items():
        model.metadata_props.add(key=key, value=value)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        onnx.save(model, tmp)
        os.chmod(tmp, path.stat().st_mode)  # mkstemp made it 0600
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def main(argv=None) -> int:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    path = Path(args.model).resolve()
    meta = export.read_metadata(path) if path.is_file() else None
    if not meta or "recipe" not in meta or "operating_curve" not in meta:
        raise UsageError(f"--model {path}: not a birdwatch model with a recipe and an operating curve")
    card_path = path.with_suffix(".json")
    old_card = json.loads(card_path.read_text()) if card_path.is_file() else None
    recipe = json.loads(meta["recipe"])
    spec = json.loads(meta["preprocessing"])
    view_names = views.views_of(spec)
    source = args.data or (old_card or {}).get("training_data", {}).get("source")
    cfg = recipes.settings(recipe.get("recipe", "default"), data=source, cache_dir=args.cache_dir,
                           extra_data=recipe.get("extra_data") or [], seed=recipe["seed"],
                           val_fraction=recipe["val_fraction"], selection_fraction=recipe["selection_fraction"])
    _, samples, _, selection, report_split = data.load_splits(cfg, spec)
    if samples.digest != meta["training_data_digest"]:
        raise data.DataError(f"the data at {cfg.data} is not the model's (sha256 {samples.digest[:16]}... against "
                             f"{meta['training_data_digest'][:16]}...): pass --data")
    saved = checkpoint.load_init(path)
    plain, norm = saved["model"].eval(), loop.Normalizer(saved["mean"], saved["std"])
    budget = float(recipe.get("bird_budget", 0.01))
    curve, threshold, metrics, report_metrics = report.run_figures(
        plain, norm, selection, report_split, view_names, budget, args.confidence, recipe["seed"])

    # The scores must be the ones the model shipped with: the same figures, and its thresholds again by the rule it
    # was made with (the bound at its confidence; before the bound: at most floor(budget x n) selection birds).
    old_sel, old_rep = json.loads(meta["validation_metrics"]), json.loads(meta["report_metrics"])
    for name, old, new in (("selection", old_sel, metrics), ("report", old_rep, report_metrics)):
        if (old["accuracy"], old["roc_auc"]) != (new["accuracy"], new["roc_auc"]):
            raise data.DataError(f"the {name} split's figures differ from the model's ({new['accuracy']}, "
                                 f"{new['roc_auc']} against {old['accuracy']}, {old['roc_auc']}): other data or views")
    p_sel, y_sel = report.p_airplane(plain, selection.x, norm, view_names), selection.y.numpy()
    birds = p_sel[y_sel == calibrate.BIRD]
    for point in json.loads(meta["operating_curve"])["points"]:
        if "confidence" in meta:
            again = calibrate.choose_threshold(p_sel, y_sel, point["bird_budget"], confidence=float(meta["confidence"]))
        else:
            stays = calibrate._highest_bird_that_stays(birds, calibrate._point_allowed(len(birds),
                                                                                       point["bird_budget"]))
            again = "0" if stays is None else calibrate._decimal_above(stays + calibrate.RUNTIME_MARGIN)
        if again != point["threshold_text"]:
            raise data.DataError(f"the model's rule does not give its {point['bird_budget']:.1%} threshold again "
                                 f"({again} against {point['threshold_text']}): other data or weights")

    changes = {"threshold": threshold, "confidence": str(args.confidence),
               "validation_metrics": json.dumps(metrics), "report_metrics": json.dumps(report_metrics),
               "operating_curve": json.dumps(curve)}
    rewrite_metadata(path, changes)
    if old_card is not None:
        new_card = {**old_card, "threshold": threshold, "confidence": args.confidence,
                    "threshold_rule": card.threshold_rule(budget, args.confidence), "operating_curve": curve,
                    "validation_metrics": metrics, "report_metrics": report_metrics}
        order = list(card.FIELDS)
        card.write(path, {k: new_card[k] for k in order if k in new_card}
                   | {k: v for k, v in new_card.items() if k not in order})
        report.plot_curve(curve, card.curve_plot(path), f"{plain.describe()}: report split "
                          f"({report_metrics['images']} images), accuracy {report_metrics['accuracy']:.3f}")
    for line in report.summary_lines(metrics, report_metrics, curve):
        print(line, flush=True)
    print(f"rethreshold: {path.name}: threshold {meta['threshold']} -> {threshold} (confidence {args.confidence})")
    return 0


def cli(argv=None) -> int:
    return run_cli(main, "rethreshold.py", argv)


if __name__ == "__main__":
    sys.exit(cli())
