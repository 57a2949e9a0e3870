"""Training data without --data: ../shared/data where it exists, else CIFAR-10 from torchvision's download, decoded
into the same trees. Nothing here touches the network: the conversion reads tiny batch files written in torchvision's
on-disk format (cifar-10-batches-py: python pickles), and "offline" is a download from a closed local port."""
import pickle
import socket

import numpy as np
import pytest
from PIL import Image
from torchvision.datasets import CIFAR10

from birdwatch_training import data
import train
from conftest import make_tree

LABEL_NAMES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def write_batches(folder, per_batch=6, seed=0):
    """Tiny data_batch_1..5 + batches.meta as CIFAR-10 ships them: 'data' uint8 [N, 3072] (the red plane, then green,
    then blue, each row-major), 'labels' ints. Returns (images [N,32,32,3], labels) in batch order."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True)
    images, labels = [], []
    for b, (name, _) in enumerate(CIFAR10.train_list):
        x = rng.integers(0, 256, size=(per_batch, 3072), dtype=np.uint8)
        y = [int(v) for v in (np.arange(per_batch) + 3 * b) % 10]
        with open(folder / name, "wb") as f:
            pickle.dump({"batch_label": f"training batch {b + 1} of 5", "labels": y, "data": x,
                         "filenames": [f"{b}_{i}.png" for i in range(per_batch)]}, f, protocol=2)
        images += list(x.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))
        labels += y
    with open(folder / CIFAR10.meta["filename"], "wb") as f:
        pickle.dump({"label_names": LABEL_NAMES, "num_cases_per_batch": per_batch, "num_vis": 3072}, f, protocol=2)
    return images, labels


@pytest.fixture
def closed_url(monkeypatch):
    """CIFAR-10's download pointed at a local port nothing listens on: a real, immediate connection failure."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # free now, and closed once the socket is
    monkeypatch.setattr(CIFAR10, "url", f"http://127.0.0.1:{port}/cifar-10-python.tar.gz")
    return CIFAR10.url


def test_batches_decode_into_the_shared_copys_trees_pixel_for_pixel(tmp_path):
    cache = tmp_path / "cache"
    images, labels = write_batches(cache / "cifar10" / CIFAR10.base_folder)
    root = data.ensure_cifar10(cache, log=lambda m: None)
    assert root == cache / "data" / "cifar10-airplane-bird" / "train"
    others = cache / "data" / "cifar10-other-classes" / "train"
    assert sorted(p.name for p in root.iterdir()) == ["airplane", "bird"]
    assert sorted(p.name for p in others.iterdir()) == sorted(set(LABEL_NAMES) - {"airplane", "bird"})
    # Numbered per class in batch order, every pixel kept (PNG), every image somewhere exactly once.
    seen = {c: 0 for c in LABEL_NAMES}
    for img, label in zip(images, labels):
        cls = LABEL_NAMES[label]
        folder = root if cls in ("airplane", "bird") else others
        decoded = np.asarray(Image.open(folder / cls / f"{seen[cls]:04d}.png").convert("RGB"))
        np.testing.assert_array_equal(decoded, img)
        seen[cls] += 1
    assert sum(len(list((root if c in ("airplane", "bird") else others).joinpath(c).iterdir())) for c in LABEL_NAMES) \
        == len(images) == 30
    # What training then reads: the same airplane 0 / bird 1 samples as the shared copy would give.
    s = data.load_image_folder(root)
    assert s.counts() == {"airplane": labels.count(0), "bird": labels.count(2)}
    assert not (cache / "data.partial").exists()


def test_a_decoded_cache_is_reused_and_an_interrupted_decode_redone(tmp_path):
    cache = tmp_path / "cache"
    write_batches(cache / "cifar10" / CIFAR10.base_folder)
    (cache / "data.partial" / "cifar10-airplane-bird" / "train" / "airplane").mkdir(parents=True)  # a killed decode
    (cache / "data.partial" / "stray.txt").write_text("left by a crash")
    lines = []
    root = data.ensure_cifar10(cache, log=lines.append)
    assert not (cache / "data" / "stray.txt").exists() and not (cache / "data.partial").exists()
    assert any("decoding" in m for m in lines)
    for f in (cache / "cifar10" / CIFAR10.base_folder).iterdir():
        f.unlink()  # no batches, no network: only the decoded trees can answer
    lines.clear()
    assert data.ensure_cifar10(cache, log=lines.append) == root and lines == []


def test_offline_is_one_clear_line_saying_what_to_pass(tmp_path, closed_url):
    cache = tmp_path / "cache"
    with pytest.raises(data.DataError) as e:
        data.ensure_cifar10(cache, log=lambda m: None)
    msg = str(e.value)
    assert "\n" not in msg
    assert msg.startswith(f"cannot download CIFAR-10 from {closed_url}")
    assert "pass --data DIR" in msg and "cifar-10-python.tar.gz" in msg and str(cache / "cifar10") in msg
    assert not (cache / "data").exists()


def test_unreadable_batch_is_named(tmp_path):
    cache = tmp_path / "cache"
    batches = cache / "cifar10" / CIFAR10.base_folder
    write_batches(batches)
    (batches / "data_batch_3").write_bytes(b"not a pickle")
    with pytest.raises(data.DataError, match="unreadable CIFAR-10 batch .*data_batch_3"):
        data.ensure_cifar10(cache, log=lambda m: None)
    assert not (cache / "data").exists()


def test_default_is_the_shared_copy_where_it_exists(tmp_path, monkeypatch):
    shared = tmp_path / "shared" / "data"
    make_tree(shared / "cifar10-airplane-bird" / "train", per_class=2)
    monkeypatch.setattr(data, "SHARED_DATA", shared)
    assert data.default_data(tmp_path / "cache") == shared / "cifar10-airplane-bird" / "train"
    assert not (tmp_path / "cache").exists()


def test_a_subprocess_sees_no_shared_copy_either(tmp_path):
    """conftest hides ../shared through the environment, so train.py run as a subprocess is on a clone too."""
    import subprocess
    import sys
    out = subprocess.run([sys.executable, "-c", "from birdwatch_training import data; print(data.SHARED_DATA)"],
                         cwd=data.REPO_ROOT / "training", capture_output=True, text=True, check=True).stdout.strip()
    assert out == str(tmp_path / "no-shared-data")


def test_else_the_cache_folder_from_the_flag_or_the_environment(tmp_path, monkeypatch):
    assert not data.SHARED_DATA.exists()  # conftest: as on a clone
    write_batches(tmp_path / "flag" / "cifar10" / CIFAR10.base_folder)
    assert data.default_data(tmp_path / "flag", log=lambda m: None) == \
        tmp_path / "flag" / "data" / "cifar10-airplane-bird" / "train"
    monkeypatch.setenv("BIRDWATCH_CACHE", str(tmp_path / "env"))
    assert data.default_cache_dir() == tmp_path / "env"
    assert train.parse_args([]).cache_dir == str(tmp_path / "env")
    monkeypatch.delenv("BIRDWATCH_CACHE")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    assert data.default_cache_dir() == tmp_path / "home" / ".cache" / "birdwatch"


def test_train_without_data_offline_exits_2_with_one_line(tmp_path, capsys, closed_url):
    # conftest: no ../shared/data here, as on a clone
    code = train.cli(["--cache-dir", str(tmp_path / "cache"), "--epochs", "1", "--out", str(tmp_path / "m.onnx"),
                      "--run-dir", str(tmp_path / "r")])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("train.py: cannot download CIFAR-10") and "pass --data DIR" in err
