"""finetune.py (what `birdwatch retrain` runs): starts from the exported model's weights, keeps its mean/std, splits
the CIFAR data exactly as train.py does (the report split), lists that split, tolerates a club folder with one class
empty, and refuses bad usage with exit code 2."""
import json


import finetune
from birdwatch_training import checkpoint, data, export
from conftest import TRAINING, make_tree

SHIPPED = TRAINING.parent / "models" / "birds-vs-airplanes.onnx"


def test_one_epoch_writes_a_candidate_from_the_current_weights(tmp_path, capsys):
    cifar = make_tree(tmp_path / "cifar", per_class=20)
    club = tmp_path / "club"
    make_tree(club, per_class=3, seed=5)
    for f in (club / "airplane").iterdir():  # a club folder with only birds is fine
        f.unlink()
    out, split, summary = tmp_path / "cand.onnx", tmp_path / "split.jsonl", tmp_path / "summary.json"
    code = finetune.cli(["--init", str(SHIPPED), "--data", str(cifar), "--club", str(club), "--out", str(out),
                         "--epochs", "1", "--split-list", str(split), "--summary", str(summary), "--quiet",
                         "--bird-budget", "0.1"])
    assert code == 0, capsys.readouterr().err
    meta, shipped = export.read_metadata(out), export.read_metadata(SHIPPED)
    assert json.loads(meta["mean"]) == json.loads(shipped["mean"]) and meta["std"] == shipped["std"]
    assert json.loads(meta["recipe"])["recipe"] == "finetune"
    assert json.loads(meta["model"])["hidden"] == json.loads(shipped["model"])["hidden"]
    # The report split is train.py's validation split of the same data and seed.
    s = data.load_image_folder(cifar)
    _, va = data.split(s.y, 0.1, 0)
    listed = [json.loads(line) for line in split.read_text().splitlines()]
    assert [(str((cifar / s.names[i]).resolve()), data.CLASSES[int(s.y[i])]) for i in va.tolist()] == \
        [(e["path"], e["label"]) for e in listed]
    result = json.loads(summary.read_text())
    assert result["club"] == {"airplane": 0, "bird": 3}
    assert result["validation_metrics"]["validation_images"] == len(listed) == 4
    # One epoch at a small learning rate moves the weights, but not far.
    a, b = checkpoint.load_init(SHIPPED)["model"], checkpoint.load_init(out)["model"]
    diffs = [float((p - q).abs().max()) for p, q in zip(a.parameters(), b.parameters())]
    assert 0 < max(diffs) < 0.1


def test_bad_usage_is_one_line_and_exit_2(tmp_path, capsys):
    assert finetune.cli(["--init", str(tmp_path / "none.onnx"), "--out", str(tmp_path / "c.onnx"),
                         "--data", str(tmp_path)]) == 2
    assert capsys.readouterr().err.startswith("finetune.py: ")
    assert finetune.cli(["--init", str(SHIPPED), "--out", str(tmp_path / "c.onnx"), "--epochs", "0"]) == 2


def test_the_cifar_split_is_the_init_models_own_unless_asked(tmp_path, capsys):
    """birdwatch retrain's --seed is the club split's alone: finetune.py takes the CIFAR split's seed and
    val_fraction from the --init model's recipe, so the report split stays the one neither model trained on."""
    import onnx
    cifar = make_tree(tmp_path / "cifar", per_class=20)
    s = data.load_image_folder(cifar)
    init = tmp_path / "init.onnx"  # the shipped weights, recorded as split with seed 3 and val_fraction 0.2
    m = onnx.load(str(SHIPPED))
    for p in m.metadata_props:
        if p.key == "recipe":
            p.value = json.dumps({**json.loads(p.value), "seed": 3, "val_fraction": 0.2})
    onnx.save(m, str(init))

    def listed(*extra):
        split = tmp_path / "split.jsonl"
        code = finetune.cli(["--init", str(init), "--data", str(cifar), "--out", str(tmp_path / "c.onnx"),
                             "--epochs", "1", "--split-list", str(split), "--quiet", *extra])
        assert code == 0, capsys.readouterr().err
        return [json.loads(line)["path"] for line in split.read_text().splitlines()]

    def expected(fraction, seed):
        return [str((cifar / s.names[i]).resolve()) for i in data.split(s.y, fraction, seed)[1].tolist()]

    assert expected(0.2, 3) != expected(0.1, 0)
    assert listed() == expected(0.2, 3)
    recipe = json.loads(export.read_metadata(tmp_path / "c.onnx")["recipe"])
    assert (recipe["seed"], recipe["val_fraction"]) == (3, 0.2)  # a candidate of the candidate keeps the split
    assert listed("--seed", "0", "--val-fraction", "0.1") == expected(0.1, 0)
