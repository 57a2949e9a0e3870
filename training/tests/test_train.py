import json
import subprocess
import sys

import pytest
import torch

import train
from birdwatch_training import augment, checkpoint, data, export, loop, models, recipes
from birdwatch_training import teacher as teacher_mod
from conftest import TRAINING, make_tree

CONTRACT_KEYS = {"classes", "mean", "std", "threshold", "validation_metrics", "recipe", "training_data_digest",
                 "created_at", "preprocessing"}


def run_train(*args):
    """train.py in a child process: what a user runs (exit code, stdout, stderr)."""
    return subprocess.run([sys.executable, str(TRAINING / "train.py"), *map(str, args)], capture_output=True,
                          text=True, timeout=300)


class Result:
    def __init__(self, returncode, stdout, stderr):
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


@pytest.fixture
def train_cli(capsys):
    """train.cli() in this process (no second torch import): same exit code and output as run_train."""
    def run(*args):
        code = train.cli([str(a) for a in args])
        out = capsys.readouterr()
        return Result(code, out.out, out.err)
    return run


def test_one_epoch_lowers_the_loss(small_tree):
    s = data.load_image_folder(small_tree)
    tr, va = data.split(s.y, 0.2, 0)
    train_s, val_s = s.subset(tr), s.subset(va)
    norm = loop.Normalizer(*data.mean_std(train_s.x))
    args = recipes.settings("book", epochs=1, seed=0)
    torch.manual_seed(0)
    m = models.build_mlp("book")
    before = loop.evaluate(m, train_s, norm)["loss"]
    m, hist = loop.fit(m, train_s, val_s, norm, args, log=lambda *_: None, quiet=True)
    after = loop.evaluate(m, train_s, norm)["loss"]
    assert after < before
    assert len(hist) == 1 and set(hist[0]) >= {"train_loss", "train_acc", "val_loss", "val_acc", "seconds"}


def test_augment_and_mix_keep_shapes_and_range():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(6, 3, 32, 32)
    a = augment.augment_batch(x, g, jitter=0.2)
    assert a.shape == x.shape and a.min() >= 0 and a.max() <= 1
    x2 = torch.arange(32.0).view(1, 1, 1, 32).expand(4, 3, 32, 32).contiguous() / 32
    a2 = augment.augment_batch(x2, torch.Generator().manual_seed(1), jitter=0.0)
    # crop + flip of a horizontal ramp: every row is still a (shifted, maybe reversed) piece of the ramp
    assert torch.allclose(a2[:, :, 0], a2[:, :, 31])
    m, perm, lam = augment.mix_batch(x, g)
    assert m.shape == x.shape and 0 <= lam <= 1 and sorted(perm.tolist()) == list(range(6))


def test_train_py_end_to_end_writes_model_card_and_plot(tiny_tree, tmp_path, train_cli):
    out = tmp_path / "out"
    out.mkdir()
    r = train_cli("--data", tiny_tree, "--recipe", "plain", "--epochs", "2", "--batch-size", "8",
                  "--out", out / "m.onnx", "--run-dir", tmp_path / "run", "--quiet")
    assert r.returncode == 0, r.stderr
    assert "1,574,402 parameters" in r.stdout
    meta = export.read_metadata(out / "m.onnx")
    assert CONTRACT_KEYS <= set(meta)
    assert json.loads(meta["classes"]) == ["airplane", "bird"]
    assert len(json.loads(meta["mean"])) == 3 and len(json.loads(meta["std"])) == 3
    s = data.load_image_folder(tiny_tree)
    tr, sel, rep = data.three_way_split(s.y, 0.1, 0.1, 0)
    assert json.loads(meta["mean"]) == pytest.approx(data.mean_std(s.x[tr])[0])
    assert 0 <= float(meta["threshold"]) <= 1.0001
    vm = json.loads(meta["validation_metrics"])
    assert {"accuracy", "airplanes_caught_at_threshold", "birds_moved_at_threshold"} <= set(vm)
    assert meta["training_data_digest"] == s.digest
    assert json.loads(meta["preprocessing"]) == data.load_preprocessing()
    assert json.loads(meta["recipe"])["recipe"] == "plain"
    assert meta["created_at"].endswith("Z")
    card = json.loads((out / "m.json").read_text())
    assert card["threshold"] == meta["threshold"]
    assert card["validation_metrics"]["confusion_matrix_at_threshold"]["matrix"]
    assert len(card["history"]) == 2
    assert (out / "m.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    if card["onnx_check"]["runtime"]:
        assert card["onnx_check"]["max_abs_diff"] <= 1e-5
    # the honest figures: thresholds from the selection split, figures on the report split
    assert vm["split"] == "selection" and vm["images"] == len(sel)
    rm = json.loads(meta["report_metrics"])
    assert rm["split"] == "report" and rm["images"] == len(rep) and rm["counts"] == {"airplane": 2, "bird": 2}
    assert rm["accuracy_interval"][0] <= rm["accuracy"] <= rm["accuracy_interval"][1]
    curve = json.loads(meta["operating_curve"])
    assert curve["threshold_split"] == "selection" and curve["figures_split"] == "report"
    assert [p["bird_budget"] for p in curve["points"]] == [0.005, 0.01, 0.02, 0.05, 0.1]
    assert next(p for p in curve["points"] if p["bird_budget"] == 0.01)["threshold_text"] == meta["threshold"]
    # 2 selection birds certify no budget: every point says so, and how many more birds each needs
    assert meta["confidence"] == "0.9" and card["confidence"] == 0.9 == curve["confidence"]
    assert all(not p["certified"] and p["selection_birds"] == 2 and p["more_birds_needed"] > 0
               for p in curve["points"])
    assert card["operating_curve"] == curve and card["report_metrics"] == rm
    assert json.loads(meta["recipe"])["device"] == "cpu" and card["device"] == "cpu"
    assert card["splits"] == {"training": 32, "selection": 4, "report": 4, "rule": card["splits"]["rule"]}
    fixture = json.loads((TRAINING.parent / "test" / "fixtures" / "model-card.json").read_text())
    assert list(card) == list(fixture)  # the card test checks the nested fields and types
    assert (out / card["curve_plot"]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_distillation_recipe_runs_and_exports_no_conv(tiny_tree, tmp_path, train_cli):
    r = train_cli("--data", tiny_tree, "--recipe", "default", "--epochs", "1", "--teacher-epochs", "1",
                  "--hidden", "64,32", "--batch-size", "8", "--teacher-cache", "no", "--out", tmp_path / "m.onnx",
                  "--run-dir", tmp_path / "run", "--quiet")
    assert r.returncode == 0, r.stderr
    assert "teacher" in r.stdout
    ops = export.op_types(tmp_path / "m.onnx")
    assert "Conv" not in ops and "BatchNormalization" not in ops
    assert ops <= {"Flatten", "Gemm", "Tanh", "Relu", "Gelu", "Erf", "Mul", "Add", "Div", "Softmax", "Constant"}


def test_missing_output_folder_exits_2(tiny_tree, tmp_path):
    r = run_train("--data", tiny_tree, "--epochs", "1", "--out", tmp_path / "nope" / "m.onnx")
    assert r.returncode == 2
    assert r.stderr.strip().count("\n") == 0 and "output folder" in r.stderr and "does not exist" in r.stderr


def test_missing_class_exits_2(tmp_path, train_cli):
    make_tree(tmp_path / "d", 2)
    for f in (tmp_path / "d" / "bird").iterdir():
        f.unlink()
    (tmp_path / "d" / "bird").rmdir()
    r = train_cli("--data", tmp_path / "d", "--epochs", "1", "--out", tmp_path / "m.onnx", "--run-dir", tmp_path / "r")
    assert r.returncode == 2 and r.stderr.strip().count("\n") == 0
    assert "lacks the class folder 'bird/'" in r.stderr


def test_unreadable_image_exits_2_naming_it(tiny_tree, tmp_path, train_cli):
    (tiny_tree / "airplane" / "zzz-bad.png").write_bytes(b"garbage")
    r = train_cli("--data", tiny_tree, "--epochs", "1", "--out", tmp_path / "m.onnx", "--run-dir", tmp_path / "r")
    assert r.returncode == 2 and r.stderr.strip().count("\n") == 0
    assert "zzz-bad.png" in r.stderr


def test_help_explains_every_flag():
    r = run_train("--help")
    assert r.returncode == 0
    for flag in ("--data", "--extra-data", "--recipe", "--model", "--epochs", "--bird-budget", "--out", "--init",
                 "--teacher", "--seed", "--val-fraction"):
        assert flag in r.stdout


def test_init_from_exported_onnx_restores_the_weights(tmp_path):
    torch.manual_seed(0)
    m = models.MLP([16, 8], act="gelu").eval()
    meta = {"model": json.dumps({"hidden": [16, 8], "act": "gelu"}), "mean": "[0.1, 0.2, 0.3]",
            "std": "[0.4, 0.5, 0.6]"}
    path = export.export_onnx(m, tmp_path / "m.onnx", meta)
    init = checkpoint.load_init(path)
    assert init["mean"] == [0.1, 0.2, 0.3] and init["std"] == [0.4, 0.5, 0.6]
    x = torch.randn(4, 3, 32, 32)
    with torch.no_grad():
        assert torch.allclose(init["model"].eval()(x), m(x), atol=1e-6)


def test_fine_tune_with_corrections_from_shipped_weights(tmp_path, train_cli):
    base = make_tree(tmp_path / "base", 12, seed=3)
    corrections = make_tree(tmp_path / "corrections", 5, seed=4, fmt="jpg", size=(64, 48))
    first = tmp_path / "first.onnx"
    r = train_cli("--data", base, "--recipe", "plain", "--model", "book", "--epochs", "1", "--out", first,
                  "--run-dir", tmp_path / "r1", "--quiet")
    assert r.returncode == 0, r.stderr
    second = tmp_path / "second.onnx"
    r = train_cli("--data", base, "--extra-data", corrections, "--init", first, "--recipe", "plain",
                  "--teacher", "none", "--epochs", "1", "--lr", "1e-4", "--out", second, "--run-dir",
                  tmp_path / "r2", "--quiet")
    assert r.returncode == 0, r.stderr
    assert "kept from" in r.stdout and "1,574,402 parameters" in r.stdout
    m1, m2 = export.read_metadata(first), export.read_metadata(second)
    assert m1["mean"] == m2["mean"] and m1["std"] == m2["std"]
    assert m1["training_data_digest"] != m2["training_data_digest"]
    card = json.loads(second.with_suffix(".json").read_text())
    # the base data keeps its splits: 10% of 12 per class = 1 each, plus 10% of 5 (rounded) = 0 or 1 per class
    assert card["training_data"]["report"] in (2, 4) and card["training_data"]["selection"] in (2, 4)
    assert card["training_data"]["images"] == 34


def test_teacher_logits_are_replayed_exactly(small_tree, tmp_path, monkeypatch):
    s = data.load_image_folder(small_tree)
    tr, va = data.split(s.y, 0.2, 0)
    train_s, val_s = s.subset(tr), s.subset(va)
    norm = loop.Normalizer(*data.mean_std(train_s.x))
    args = recipes.settings("default", epochs=2, batch_size=32, ema=0)
    torch.manual_seed(0)
    teacher = models.ConvTeacher(4).eval()
    teacher.cache_key = "test-teacher"
    calls = []
    forward = teacher.forward
    teacher.forward = lambda x: calls.append(1) or forward(x)
    runs = []
    for _ in range(2):
        torch.manual_seed(1)
        m = models.MLP([32], act="gelu", norm="bn")
        cache = teacher_mod.LogitCache.of(teacher, args, train_s, folder=tmp_path / "runs" / "cache")
        m, hist = loop.fit(m, train_s, val_s, norm, args, teacher=teacher, log=lambda *_: None, quiet=True,
                           logit_cache=cache)
        runs.append((hist, loop.evaluate(m, val_s, norm)["logits"]))
    assert len(list((tmp_path / "runs" / "cache").glob("teacher-logits-*.pt"))) == 1
    assert len(calls) == 2 * 5  # 160 images / 32 per batch, 2 epochs, first run only
    assert [h["train_loss"] for h in runs[0][0]] == [h["train_loss"] for h in runs[1][0]]
    assert torch.equal(runs[0][1], runs[1][1])


def test_ten_class_teacher_distillation_on_other_classes_and_auxiliary_task_export_a_two_output_mlp(
        tmp_path, train_cli):
    from test_data import make_other_tree
    two = make_tree(tmp_path / "d" / "cifar10-airplane-bird" / "train", 10)
    make_other_tree(tmp_path / "d" / "cifar10-other-classes" / "train", per_class=3)
    r = train_cli("--data", two, "--teacher", "conv10", "--teacher-epochs", "1", "--teacher-cache", "no",
                  "--other-share", "0.3", "--aux10", "0.5", "--epochs", "1", "--hidden", "32,16",
                  "--batch-size", "8", "--out", tmp_path / "m.onnx", "--run-dir", tmp_path / "run", "--quiet")
    assert r.returncode == 0, r.stderr
    assert "10 classes" in r.stdout and "24 images" in r.stdout  # 16 training airplanes/birds + 8 x 3 others
    assert "ten outputs while training" in r.stdout
    ops = export.op_types(tmp_path / "m.onnx")
    assert "Conv" not in ops and "BatchNormalization" not in ops
    card = json.loads((tmp_path / "m.json").read_text())
    assert card["recipe"]["teacher"] == "conv10" and card["recipe"]["aux10"] == 0.5
    assert card["training_data"]["other_classes"]["images"] == 24
    assert set(card["teacher"]["figures"]) == {"selection", "report"}
    if card["onnx_check"]["runtime"]:  # the exported graph is the two read-out rows of the ten-way net
        assert card["onnx_check"]["max_abs_diff"] <= 1e-5


@pytest.mark.parametrize("flags, message", [
    (["--aux10", "0.5"], "--aux10 needs --other-share"),
    (["--teacher", "none", "--other-share", "0.2"], "--other-share needs a teacher"),
    (["--teacher", "conv10"], "needs CIFAR-10's other classes"),
    (["--device", "cuda"], "torch sees no CUDA GPU"),
    (["--bird-budget", "0.001"], "--bird-budget must be in [0.005, 1)"),
])
def test_recipe_mistakes_exit_2_with_one_line(tiny_tree, tmp_path, train_cli, flags, message):
    if "cuda" in flags and torch.cuda.is_available():
        pytest.skip("this machine has a CUDA GPU")
    r = train_cli("--data", tiny_tree, "--epochs", "1", "--out", tmp_path / "m.onnx", "--run-dir", tmp_path / "r",
                  "--quiet", *flags)
    assert r.returncode == 2 and r.stderr.strip().count("\n") == 0 and message in r.stderr, r.stderr


def test_from_run_exports_a_finished_run_with_the_views_config_says_now(tiny_tree, tmp_path, train_cli, monkeypatch):
    r = train_cli("--data", tiny_tree, "--recipe", "plain", "--epochs", "1", "--batch-size", "8", "--no-export",
                  "--run-dir", tmp_path / "run", "--quiet")
    assert r.returncode == 0, r.stderr
    spec = data.load_preprocessing()
    spec_file = tmp_path / "preprocessing.json"
    spec_file.write_text(json.dumps({**spec, "views": ["identity", "mirror"]}))
    monkeypatch.setattr(data, "PREPROCESSING_JSON", spec_file)
    monkeypatch.setattr(data.load_preprocessing, "__defaults__", (spec_file,))
    r = train_cli("--data", tiny_tree, "--from-run", tmp_path / "run", "--out", tmp_path / "m.onnx", "--quiet")
    assert r.returncode == 0, r.stderr
    meta = export.read_metadata(tmp_path / "m.onnx")
    assert json.loads(meta["preprocessing"])["views"] == ["identity", "mirror"]
    assert json.loads(meta["report_metrics"])["views"] == ["identity", "mirror"]
    assert json.loads(meta["recipe"])["recipe"] == "plain" and json.loads(meta["recipe"])["epochs"] == 1
    saved = checkpoint.load_init(tmp_path / "run" / "model.pt")["model"]
    exported = checkpoint.load_init(tmp_path / "m.onnx")["model"]
    assert all(torch.equal(a, b) for a, b in zip(saved.state_dict().values(), exported.state_dict().values()))
    r = train_cli("--data", tiny_tree, "--from-run", tmp_path / "nothing", "--out", tmp_path / "n.onnx")
    assert r.returncode == 2 and "not a finished train.py run" in r.stderr


def test_camera_degradations_keep_shape_and_range_replay_from_the_seed_and_change_the_image():
    from birdwatch_training import camera
    x = torch.rand(6, 3, 32, 32)
    a = camera.augment(x, torch.Generator().manual_seed(3), p=1.0)
    b = camera.augment(x, torch.Generator().manual_seed(3), p=1.0)
    assert a.shape == x.shape and torch.equal(a, b) and 0 <= a.min() and a.max() <= 1
    assert (a - x).abs().mean() > 0.01
    assert torch.equal(camera.augment(x, torch.Generator().manual_seed(3), p=0.0), x)
    u8 = (x * 255).to(torch.uint8)
    d = camera.degrade(u8, seed=1)
    assert d.dtype == torch.uint8 and d.shape == u8.shape and torch.equal(d, camera.degrade(u8, seed=1))
