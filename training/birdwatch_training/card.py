"""What a trained model carries and ships beside it, written in one place: the ONNX `metadata_props` (strings, the
contract the daemon reads) and the model card (models/<name>.json: the same figures and how they were made).
test/fixtures/model-card.json is a card as `card` writes it; the Python and the TypeScript tests check against it."""
from __future__ import annotations

import json
from pathlib import Path

from birdwatch_training import data, models

INPUT = {"name": "image", "shape": ["N", 3, 32, 32], "type": "float32",
         "meaning": "RGB, /255, normalized with mean/std"}
OUTPUT = {"name": "probabilities", "shape": ["N", 2], "type": "float32", "meaning": "softmax, [airplane, bird]"}
# The card's fields, in the order `card` writes them.
FIELDS = ("model_file", "created_at", "classes", "input", "output", "mean", "std", "threshold", "confidence",
          "threshold_rule", "splits", "report_metrics", "operating_curve", "validation_metrics", "model", "onnx_ops",
          "teacher", "trained_parameters", "recipe", "training_data", "preprocessing", "epoch_seconds_median", "device",
          "history", "onnx_check", "torch_version", "plot", "curve_plot", "training_seconds")
SPLIT_RULE = ("seeded, stratified, disjoint; the selection split chose the epoch and the thresholds; the report "
              "split chose nothing")


def model_description(plain) -> dict:
    return {"description": plain.describe(), "parameters": models.count_params(plain), **plain.config}


def threshold_rule(bird_budget: float, confidence: float) -> str:
    return (f"move a shot when P(airplane) >= threshold; the lowest threshold whose one-sided {confidence:.0%} "
            f"Clopper-Pearson upper bound on the share of the selection split's birds moved is at most "
            f"{bird_budget:.1%}")


def metadata(*, plain, mean, std, threshold: str, confidence: float, selection_metrics: dict, report_metrics: dict,
             curve: dict, recipe: dict, digest: str, created: str, spec: dict) -> dict:
    """The ONNX metadata_props, every value a string (JSON where structured)."""
    return {
        "classes": json.dumps(data.CLASSES),
        "mean": json.dumps(mean), "std": json.dumps(std),
        "threshold": threshold,
        "confidence": str(confidence),
        "validation_metrics": json.dumps(selection_metrics),
        "report_metrics": json.dumps(report_metrics),
        "operating_curve": json.dumps(curve),
        "recipe": json.dumps(recipe),
        "training_data_digest": digest,
        "created_at": created,
        "preprocessing": json.dumps(spec),
        "model": json.dumps(model_description(plain)),
    }


def card(*, out: Path, meta: dict, bird_budget: float, samples, train, selection, report_split, others,
         onnx_ops: list, teacher: dict, trained_parameters: int, epoch_seconds: float, device: str, history: list,
         onnx_check: dict, torch_version: str, training_seconds: int) -> dict:
    """The model card: the metadata's figures as JSON, and the splits, data, teacher, history and export check."""
    j = json.loads
    confidence = float(meta["confidence"])
    return {
        "model_file": out.name, "created_at": meta["created_at"], "classes": j(meta["classes"]),
        "input": INPUT, "output": OUTPUT,
        "mean": j(meta["mean"]), "std": j(meta["std"]), "threshold": meta["threshold"], "confidence": confidence,
        "threshold_rule": threshold_rule(bird_budget, confidence),
        "splits": {"training": len(train), "selection": len(selection), "report": len(report_split),
                   "rule": SPLIT_RULE},
        "report_metrics": j(meta["report_metrics"]), "operating_curve": j(meta["operating_curve"]),
        "validation_metrics": j(meta["validation_metrics"]), "model": j(meta["model"]), "onnx_ops": onnx_ops,
        "teacher": teacher, "trained_parameters": trained_parameters, "recipe": j(meta["recipe"]),
        "training_data": {
            "source": samples.source, "digest_sha256": samples.digest, "images": len(samples),
            "other_classes": None if others is None else {"source": others.source, "images": len(others),
                                                          "digest_sha256": others.digest},
            "training": len(train), "selection": len(selection), "report": len(report_split),
            "counts": samples.counts()},
        "preprocessing": j(meta["preprocessing"]), "epoch_seconds_median": epoch_seconds, "device": device,
        "history": history, "onnx_check": onnx_check, "torch_version": torch_version,
        "plot": out.with_suffix(".png").name, "curve_plot": curve_plot(out).name,
        "training_seconds": training_seconds,
    }


def curve_plot(out: Path) -> Path:
    return out.with_name(out.stem + "-curve.png")


def write(out: Path, card_: dict) -> Path:
    path = out.with_suffix(".json")
    path.write_text(json.dumps(card_, indent=1) + "\n")
    return path
