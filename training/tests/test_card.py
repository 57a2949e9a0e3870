"""The model card as the one Python writer (birdwatch_training/card.py) writes it has exactly the fields and types of
test/fixtures/model-card.json, the fixture the TypeScript card writer is tested against too.

BIRDWATCH_WRITE_CARD_FIXTURE=1 rewrites the fixture from the writer (small synthetic values); review the diff."""
import json
import os
from pathlib import Path

import torch

from birdwatch_training import card, data, loop, models, recipes, report
from conftest import TRAINING

FIXTURE = TRAINING.parent / "test" / "fixtures" / "model-card.json"


def synthetic_samples(n_per_class: int, seed: int, source: str) -> data.Samples:
    g = torch.Generator().manual_seed(seed)
    x = torch.randint(0, 256, (2 * n_per_class, 3, 32, 32), generator=g, dtype=torch.uint8)
    y = torch.tensor([0] * n_per_class + [1] * n_per_class)
    return data.Samples(x, y, f"{seed:064x}", source)


def synthetic_card() -> dict:
    """A card from a tiny model trained one epoch on random images: every field filled as the writer fills it."""
    torch.manual_seed(0)
    train, selection, report_split = (synthetic_samples(n, s, "synthetic") for n, s in ((40, 1), (40, 2), (40, 3)))
    samples = data.concat([train, selection, report_split])
    others = data.Samples(train.x[:8], torch.tensor([1, 3, 4, 5, 6, 7, 8, 9]), "f" * 64, "synthetic-others",
                          classes=list(data.CIFAR10_CLASSES))
    cfg = recipes.settings("plain", epochs=1, batch_size=40, hidden="8", quiet=True)
    norm = loop.Normalizer([0.5, 0.5, 0.5], [0.25, 0.25, 0.25])
    model, history = loop.fit(models.build_model(cfg), train, selection, norm, cfg, log=lambda *_: None, quiet=True)
    plain = model.fold()
    views = ["identity", "mirror"]
    curve, threshold, metrics, report_metrics = report.run_figures(plain, norm, selection, report_split, views,
                                                                   0.01, 0.9, 0)
    figures = {name: report.split_metrics(report.p_airplane(plain, s.x, norm, views), s.y.numpy(), name, resamples=50)
               for name, s in (("selection", selection), ("report", report_split))}
    recipe = {**recipes.record(cfg), "trained_architecture": dict(plain.config), "device": "cpu", "threads": 2}
    meta = card.metadata(plain=plain, mean=[0.5, 0.5, 0.5], std=[0.25, 0.25, 0.25], threshold=threshold,
                         confidence=0.9, selection_metrics=metrics, report_metrics=report_metrics, curve=curve,
                         recipe=recipe, digest=samples.digest, created="2026-01-01T00:00:00Z",
                         spec={**data.load_preprocessing(), "views": views})
    return card.card(out=Path("/models/m.onnx"), meta=meta, bird_budget=0.01, samples=samples, train=train,
                     selection=selection, report_split=report_split, others=others, onnx_ops=["Gemm", "Softmax"],
                     teacher={"kind": "conv", "figures": figures, "history": history}, trained_parameters=24610,
                     epoch_seconds=0.5, device="cpu", history=history,
                     onnx_check={"runtime": "node", "max_abs_diff": 1.2e-07, "inputs": 80}, torch_version="2.0.0",
                     training_seconds=3)


def shape(value):
    """A JSON value's fields and types: objects by key, arrays by their first element, numbers as one type."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    return "null" if value is None else type(value).__name__


def test_the_writer_writes_exactly_the_fixtures_fields_and_types():
    written = json.loads(json.dumps(synthetic_card()))  # as the file holds it
    if os.environ.get("BIRDWATCH_WRITE_CARD_FIXTURE"):
        FIXTURE.write_text(json.dumps(written, indent=1) + "\n")
    fixture = json.loads(FIXTURE.read_text())
    assert shape(written) == shape(fixture)
    assert tuple(fixture) == card.FIELDS
    # every field shows its type, except the recipe's unset overrides and an MLP without normalization (null)
    nulls = {k for k, v in shape(fixture).items() if "null" in json.dumps(v)}
    assert nulls == {"model", "recipe"}, nulls
    assert fixture["confidence"] == 0.9 and fixture["operating_curve"]["confidence"] == 0.9
    point = fixture["operating_curve"]["points"][0]
    assert {"bound", "certified", "more_birds_needed", "selection_birds"} <= set(point)


def test_the_fixture_catches_a_missing_or_retyped_field():
    fixture = json.loads(FIXTURE.read_text())
    assert shape({**fixture, "threshold": 0.5}) != shape(fixture)
    assert shape({k: v for k, v in fixture.items() if k != "confidence"}) != shape(fixture)
