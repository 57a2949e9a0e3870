"""rethreshold.py: an exported model's thresholds chosen again with the bound, from its own weights and splits; the
graph and weights untouched; refuses other data without changing anything."""
import json

import onnx

import rethreshold
import train
from birdwatch_training import card, export
from conftest import make_tree


def weights(path):
    return [t.SerializeToString() for t in onnx.load(str(path)).graph.initializer]


def test_rethreshold_rewrites_the_thresholds_metadata_and_card_and_keeps_the_weights(tmp_path, capsys):
    tree = make_tree(tmp_path / "data", per_class=30, seed=2)
    model = tmp_path / "m.onnx"
    assert train.cli(["--data", str(tree), "--recipe", "plain", "--epochs", "1", "--batch-size", "16",
                      "--out", str(model), "--run-dir", str(tmp_path / "run"), "--quiet"]) == 0
    before, curve_before = weights(model), json.loads(export.read_metadata(model)["operating_curve"])
    assert curve_before["confidence"] == 0.9
    capsys.readouterr()

    assert rethreshold.cli(["--model", str(model), "--data", str(tree), "--confidence", "0.8"]) == 0
    assert "rethreshold: m.onnx: threshold" in capsys.readouterr().out
    meta = export.read_metadata(model)
    curve = json.loads(meta["operating_curve"])
    assert meta["confidence"] == "0.8" and curve["confidence"] == 0.8
    assert all(p["bound"] <= p["bird_budget"] or not p["certified"] for p in curve["points"])
    assert [p["selection_birds"] for p in curve["points"]] == [3] * 5  # 10% of 30 birds
    assert meta["threshold"] == next(p for p in curve["points"] if p["bird_budget"] == 0.01)["threshold_text"]
    assert weights(model) == before
    card_ = json.loads(model.with_suffix(".json").read_text())
    assert tuple(card_) == card.FIELDS and card_["confidence"] == 0.8 and card_["threshold"] == meta["threshold"]
    assert card_["operating_curve"] == curve and "80%" in card_["threshold_rule"]

    other = make_tree(tmp_path / "other", per_class=30, seed=3)
    file_before = model.read_bytes()
    assert rethreshold.cli(["--model", str(model), "--data", str(other)]) == 2
    err = capsys.readouterr().err
    assert err.strip().count("\n") == 0 and "is not the model's" in err
    assert model.read_bytes() == file_before
