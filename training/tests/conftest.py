"""Shared fixtures: tiny generated image-folder trees (no shared data needed)."""
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

TRAINING = Path(__file__).resolve().parent.parent
torch.set_num_threads(2)


@pytest.fixture(autouse=True)
def nothing_beside_the_repository(tmp_path, monkeypatch):
    """Every test runs as on a fresh clone: no ../shared/data, an empty cache folder. A test that forgot --data then
    fails the same way in CI (which has ../shared beside the checkout) as on a club's server. Set in the environment
    too, so a subprocess (train.py, finetune.py) sees the same; data is imported already here, hence setattr."""
    from birdwatch_training import data
    monkeypatch.setenv(data.SHARED_ENV, str(tmp_path / "no-shared-data"))
    monkeypatch.setattr(data, "SHARED_DATA", tmp_path / "no-shared-data")
    monkeypatch.setenv("BIRDWATCH_CACHE", str(tmp_path / "cache"))


def make_image(rng, label, size=(32, 32)):
    """Airplanes: blue-ish top (sky); birds: green/brown-ish. Noisy, so the task is learnable but not trivial."""
    w, h = size
    base = np.array([90, 140, 220] if label == 0 else [110, 150, 70], dtype=np.float64)
    arr = base + rng.normal(0, 40, size=(h, w, 3))
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), "RGB")


def make_tree(root: Path, per_class: int, seed: int = 0, fmt: str = "png", size=(32, 32)) -> Path:
    rng = np.random.default_rng(seed)
    for label, cls in enumerate(["airplane", "bird"]):
        d = root / cls
        d.mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            make_image(rng, label, size).save(d / f"{i:03d}.{fmt}")
    return root


@pytest.fixture
def tiny_tree(tmp_path):
    return make_tree(tmp_path / "data", per_class=20)


@pytest.fixture
def small_tree(tmp_path):
    return make_tree(tmp_path / "data", per_class=100, seed=1)
