import json
import os

import numpy as np
import pytest
import torch
from PIL import Image, ImageOps

from birdwatch_training import data
from conftest import make_tree


def test_loads_tree_with_label_mapping(tmp_path):
    root = tmp_path / "d"
    (root / "airplane").mkdir(parents=True)
    (root / "bird").mkdir()
    Image.new("RGB", (32, 32), (255, 0, 0)).save(root / "airplane" / "a.png")
    Image.new("RGB", (32, 32), (0, 0, 255)).save(root / "airplane" / "b.jpg", quality=100)
    Image.new("RGB", (32, 32), (0, 255, 0)).save(root / "bird" / "c.png")
    (root / "bird" / ".hidden.png").write_bytes(b"not an image, skipped")
    (root / "bird" / "notes.txt").write_text("skipped: not an image extension")
    s = data.load_image_folder(root)
    assert s.x.dtype == torch.uint8 and tuple(s.x.shape) == (3, 3, 32, 32)
    assert s.y.tolist() == [0, 0, 1]
    assert s.names == ["airplane/a.png", "airplane/b.jpg", "bird/c.png"]
    assert s.x[0, :, 0, 0].tolist() == [255, 0, 0]
    assert s.x[2, :, 5, 5].tolist() == [0, 255, 0]
    assert s.counts() == {"airplane": 2, "bird": 1}
    assert len(s.digest) == 64
    # the digest changes when any byte of the data changes
    Image.new("RGB", (32, 32), (0, 254, 0)).save(root / "bird" / "c.png")
    assert data.load_image_folder(root).digest != s.digest


def test_any_image_size_and_mode_becomes_32x32_rgb_like_the_spec(tmp_path):
    spec = data.load_preprocessing()
    assert spec == json.loads(data.PREPROCESSING_JSON.read_text())
    root = tmp_path / "d"
    (root / "airplane").mkdir(parents=True)
    (root / "bird").mkdir()
    rng = np.random.default_rng(0)
    big = Image.fromarray(rng.integers(0, 255, (60, 100, 3), dtype=np.uint8))
    big.save(root / "airplane" / "wide.png")
    rgba = Image.fromarray(rng.integers(0, 255, (40, 40, 4), dtype=np.uint8), "RGBA")
    rgba.save(root / "bird" / "alpha.png")
    Image.new("L", (10, 10), 77).save(root / "bird" / "grey.png")
    s = data.load_image_folder(root)
    assert tuple(s.x.shape) == (3, 3, 32, 32)
    expect = np.asarray(ImageOps.fit(big, (32, 32), Image.LANCZOS, centering=(0.5, 0.5))).transpose(2, 0, 1)
    assert np.array_equal(s.x[0].numpy(), expect)
    # alpha dropped (not composited): same as the RGB channels resized
    expect_rgba = np.asarray(ImageOps.fit(rgba.convert("RGB"), (32, 32), Image.LANCZOS)).transpose(2, 0, 1)
    assert np.array_equal(s.x[1].numpy(), expect_rgba)
    assert s.x[2].unique().tolist() == [77]


def test_exif_orientation_is_applied(tmp_path):
    img = Image.new("RGB", (32, 32), (0, 0, 255))
    img.paste((255, 0, 0), (0, 0, 32, 8))  # red band on top as stored
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display": the top band ends up on the right
    p = tmp_path / "o.jpg"
    img.save(p, exif=exif.tobytes(), quality=100)
    arr = data.load_image_file(p, data.load_preprocessing())
    assert arr[0, 16, 30] > 200 and arr[2, 16, 30] < 60  # right edge red
    assert arr[0, 2, 16] < 60 and arr[2, 2, 16] > 200  # top edge blue


def test_mean_std_match_hand_computation():
    x = torch.randint(0, 256, (7, 3, 4, 5), dtype=torch.uint8)
    mean, std = data.mean_std(x)
    f = x.numpy().astype(np.float64) / 255.0
    for c in range(3):
        v = f[:, c].ravel()
        assert mean[c] == pytest.approx(v.sum() / v.size, abs=1e-12)
        assert std[c] == pytest.approx(np.sqrt(((v - v.mean()) ** 2).sum() / (v.size - 1)), abs=1e-12)
    n = data.normalize(x, mean, std)
    assert n.dtype == torch.float32
    assert n[:, 0].mean().item() == pytest.approx(0.0, abs=1e-5)
    assert n[:, 1].std().item() == pytest.approx(1.0, abs=1e-4)


def test_split_is_seeded_stratified_and_disjoint():
    y = torch.tensor([0] * 50 + [1] * 30)
    tr, va = data.split(y, 0.1, seed=3)
    tr2, va2 = data.split(y, 0.1, seed=3)
    assert torch.equal(tr, tr2) and torch.equal(va, va2)
    assert not set(tr.tolist()) & set(va.tolist())
    assert len(tr) + len(va) == 80
    assert (y[va] == 0).sum() == 5 and (y[va] == 1).sum() == 3
    _, va3 = data.split(y, 0.1, seed=4)
    assert not torch.equal(va, va3)


def test_missing_class_folder_is_a_clear_error(tmp_path):
    (tmp_path / "d" / "airplane").mkdir(parents=True)
    Image.new("RGB", (32, 32)).save(tmp_path / "d" / "airplane" / "a.png")
    with pytest.raises(data.DataError, match="lacks the class folder 'bird/'"):
        data.load_image_folder(tmp_path / "d")
    with pytest.raises(data.DataError, match="does not exist"):
        data.load_image_folder(tmp_path / "nowhere")


def test_unreadable_image_names_the_file(tiny_tree):
    bad = tiny_tree / "bird" / "broken.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 this is not really a jpeg")
    with pytest.raises(data.DataError, match=r"unreadable image .*broken\.jpg"):
        data.load_image_folder(tiny_tree)


class FakeCIFAR10:
    """Stands in for torchvision.datasets.CIFAR10: (PIL image, label) items and a `targets` list."""

    def __init__(self, labels, with_targets=True):
        self.labels = labels
        if with_targets:
            self.targets = list(labels)
        self.images = [Image.new("RGB", (32, 32), (i * 20 % 256, label * 25, 7)) for i, label in enumerate(labels)]

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        return self.images[i], self.labels[i]


@pytest.mark.parametrize("with_targets", [True, False])
def test_cifar10_is_reduced_to_airplane_0_and_bird_1(with_targets):
    labels = [0, 1, 2, 3, 2, 9, 0, 8, 2]
    fake = FakeCIFAR10(labels, with_targets)
    s = data.reduce_two_class(fake)
    keep = [i for i, label in enumerate(labels) if label in (0, 2)]
    assert s.y.tolist() == [0, 1, 1, 0, 1]
    assert [int(v) for v in s.x[:, 0, 0, 0]] == [i * 20 % 256 for i in keep]
    assert [int(v) for v in s.x[:, 1, 0, 0]] == [labels[i] * 25 for i in keep]
    assert data.CIFAR10_LABEL_MAP == {0: 0, 2: 1}
    assert len(s.digest) == 64


def test_load_dispatches_cifar10_prefix(monkeypatch):
    seen = {}

    def fake_loader(root, spec=None):
        seen["root"] = root
        return "loaded"

    monkeypatch.setattr(data, "load_cifar10", fake_loader)
    assert data.load("cifar10:/tmp/c10") == "loaded" and seen["root"] == "/tmp/c10"


def test_concat_of_sources(tmp_path):
    a = data.load_image_folder(make_tree(tmp_path / "a", 3, seed=1))
    b = data.load_image_folder(make_tree(tmp_path / "b", 2, seed=2))
    c = data.concat([a, b])
    assert len(c) == 10 and c.counts() == {"airplane": 5, "bird": 5}
    assert c.digest not in (a.digest, b.digest)


# ------------------------------------------------------------------ the three-way split and the other classes
def test_three_way_split_is_disjoint_stratified_seeded_and_keeps_the_old_validation_split_as_report():
    y = torch.tensor([0] * 60 + [1] * 40)
    tr, sel, rep = data.three_way_split(y, 0.1, 0.2, seed=7)
    assert set(tr.tolist()).isdisjoint(sel.tolist()) and set(tr.tolist()).isdisjoint(rep.tolist())
    assert set(sel.tolist()).isdisjoint(rep.tolist())
    assert sorted(tr.tolist() + sel.tolist() + rep.tolist()) == list(range(100))
    assert [int((y[rep] == c).sum()) for c in (0, 1)] == [6, 4]  # 10% of each class
    assert [int((y[sel] == c).sum()) for c in (0, 1)] == [12, 8]  # 20% of each class, from the rest
    again = data.three_way_split(y, 0.1, 0.2, seed=7)
    assert all(torch.equal(a, b) for a, b in zip((tr, sel, rep), again))
    other = data.three_way_split(y, 0.1, 0.2, seed=8)
    assert not torch.equal(sel, other[1])
    # the report split is the held-out part of the two-way split the earlier models were validated on
    assert torch.equal(rep, data.split(y, 0.1, seed=7)[1])
    with pytest.raises(data.DataError, match="must be < 1"):
        data.three_way_split(y, 0.5, 0.5, seed=0)


def make_other_tree(root, per_class=2, seed=0):
    rng = np.random.default_rng(seed)
    for cls in data.OTHER_CLASSES:
        (root / cls).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            Image.fromarray(rng.integers(0, 255, (32, 32, 3), dtype=np.uint8)).save(root / cls / f"{i}.png")
    return root


def test_other_classes_load_with_their_cifar10_labels_and_sit_beside_the_two_class_tree(tmp_path):
    two = tmp_path / "data" / "cifar10-airplane-bird" / "train"
    two.mkdir(parents=True)
    assert data.other_classes_beside(two) is None  # nothing there yet
    other = make_other_tree(tmp_path / "data" / "cifar10-other-classes" / "train")
    assert data.other_classes_beside(two) == other
    s = data.load_other_classes(other)
    assert len(s) == 16 and s.classes == data.CIFAR10_CLASSES
    assert sorted(set(s.y.tolist())) == [1, 3, 4, 5, 6, 7, 8, 9]  # never airplane (0) or bird (2)
    assert s.y[s.names.index("ship/0.png")] == data.CIFAR10_CLASSES.index("ship")
    ab = data.Samples(torch.zeros(2, 3, 32, 32, dtype=torch.uint8), torch.tensor([0, 1]), "d", "ab")
    assert ab.ten_class().y.tolist() == [0, 2] and data.concat([ab, s]).y.tolist()[:2] == [0, 2]
    (other / "truck" / "0.png").unlink()
    (other / "truck" / "1.png").unlink()
    with pytest.raises(data.DataError, match="truck"):
        data.load_other_classes(other)


def test_the_decoded_tensor_is_cached_and_redone_when_a_file_changes(tmp_path):
    root = tmp_path / "data"
    for label, cls in enumerate(data.CLASSES):
        (root / cls).mkdir(parents=True)
        Image.new("RGB", (32, 32), (200 * label, 10, 10)).save(root / cls / "a.png")
    cache = tmp_path / "cache"
    first = data.load_image_folder(root, cache_dir=cache)
    assert len(list(cache.glob("decoded-*.pt"))) == 1
    # same size and mtime, other pixels: the cache is what answers (proof that it is used)
    f = root / "bird" / "a.png"
    st = f.stat()
    Image.new("RGB", (32, 32), (0, 200, 10)).save(f)
    assert f.stat().st_size == st.st_size
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert torch.equal(data.load_image_folder(root, cache_dir=cache).x, first.x)
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))  # a changed file: decoded again
    redone = data.load_image_folder(root, cache_dir=cache)
    assert not torch.equal(redone.x, first.x) and redone.x[1, 1, 0, 0] == 200
