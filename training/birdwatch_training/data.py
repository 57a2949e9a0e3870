"""Loading the bird-vs-airplane data into memory, once.

Two sources, one result (a `Samples` of uint8 images [N,3,32,32] and labels 0 airplane / 1 bird):
  * an image-folder tree ROOT/airplane/* and ROOT/bird/* (our shared data, a club's own shots, or what
    `birdwatch export-corrections DIR` writes);
  * torchvision's CIFAR10 (download=True), reduced to the chapter's two classes with label_map {0: 0, 2: 1}.

Without --data, `default_data` picks ../shared/data beside the repository (or $BIRDWATCH_SHARED_DATA) where it
exists, else CIFAR-10 downloaded once by torchvision into a cache folder and decoded into the same two trees the shared
copy has (`ensure_cifar10`).

Every image goes through `preprocess_pil`, which follows config/preprocessing.json, the file the daemon reads too.
"""
from __future__ import annotations

import hashlib
import json
import os
import pickle
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps

CLASSES = ["airplane", "bird"]
REPO_ROOT = Path(__file__).resolve().parents[2]  # training/birdwatch_training/data.py
PREPROCESSING_JSON = REPO_ROOT / "config" / "preprocessing.json"
SHARED_ENV = "BIRDWATCH_SHARED_DATA"
# Beside the repository, where the project keeps it; $BIRDWATCH_SHARED_DATA elsewhere (read at import, so a subprocess
# such as train.py run by a test sees the location its parent set; the tests point it at an empty folder).
SHARED_DATA = (Path(os.environ[SHARED_ENV]).expanduser() if os.environ.get(SHARED_ENV)
               else REPO_ROOT.parent / "shared" / "data")
TWO_CLASS_TREE = Path("cifar10-airplane-bird") / "train"  # under a data folder: airplane/, bird/
OTHER_CLASSES_TREE = Path("cifar10-other-classes") / "train"  # the other eight CIFAR-10 classes
CACHE_ENV = "BIRDWATCH_CACHE"
IMAGE_EXTENSIONS = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm", ".pgm"}
CIFAR10_LABEL_MAP = {0: 0, 2: 1}  # CIFAR-10 airplane 0 -> 0, bird 2 -> 1 (the chapter's cifar2)
CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
OTHER_CLASSES = [c for c in CIFAR10_CLASSES if c not in CLASSES]
TEN_CLASS_INDEX = [CIFAR10_CLASSES.index(c) for c in CLASSES]  # airplane 0, bird 2: the two-class read-out


class DataError(Exception):
    """A problem with the input data that the user must fix (reported in one line, exit code 2)."""


# --------------------------------------------------------------------------------------------- preprocessing
def load_preprocessing(path: Path = PREPROCESSING_JSON) -> dict:
    try:
        spec = json.loads(Path(path).read_text())
    except (OSError, ValueError) as e:
        raise DataError(f"cannot read preprocessing spec {path}: {e}") from e
    r = spec.get("resize", {})
    if r.get("fit") != "cover" or r.get("position") not in ("centre", "center") or r.get("kernel") != "lanczos3":
        raise DataError(f"{path}: training only implements resize fit=cover, position=centre, kernel=lanczos3")
    return spec


_LANCZOS = getattr(Image, "Resampling", Image).LANCZOS


def preprocess_pil(img: Image.Image, spec: dict) -> np.ndarray:
    """PIL image -> uint8 array [3,H,W]: EXIF orientation, RGB (alpha dropped), fit cover centre lanczos."""
    r = spec["resize"]
    img = ImageOps.exif_transpose(img)
    if img.mode != "RGB":
        img = img.convert("RGB")  # RGBA -> RGB drops alpha without compositing, as the spec says
    if img.size != (r["width"], r["height"]):
        img = ImageOps.fit(img, (r["width"], r["height"]), _LANCZOS, centering=(0.5, 0.5))
    return np.asarray(img, dtype=np.uint8).transpose(2, 0, 1).copy()


def load_image_file(path: Path, spec: dict) -> np.ndarray:
    try:
        with Image.open(path) as img:
            img.load()
            return preprocess_pil(img, spec)
    except Exception as e:  # PIL raises many kinds (UnidentifiedImageError, OSError, SyntaxError...)
        raise DataError(f"unreadable image {path}: {e.__class__.__name__}: {e}") from e


# --------------------------------------------------------------------------------------------- samples
@dataclass
class Samples:
    x: torch.Tensor  # uint8 [N,3,32,32]
    y: torch.Tensor  # int64 [N], an index into `classes` (0 airplane, 1 bird by default)
    digest: str  # sha256 over the data (see the loaders)
    source: str
    names: list = field(default_factory=list)
    classes: list = field(default_factory=lambda: list(CLASSES))

    def __len__(self) -> int:
        return int(self.y.shape[0])

    def subset(self, idx: torch.Tensor) -> "Samples":
        names = [self.names[i] for i in idx.tolist()] if self.names else []
        return Samples(self.x[idx], self.y[idx], self.digest, self.source, names, self.classes)

    def counts(self) -> dict:
        return {c: int((self.y == i).sum()) for i, c in enumerate(self.classes)}

    def ten_class(self) -> "Samples":
        """The same images labelled with CIFAR-10's ten class indices (airplane 0, bird 2, ...)."""
        if self.classes == CIFAR10_CLASSES:
            return self
        index = torch.tensor([CIFAR10_CLASSES.index(c) for c in self.classes])
        return Samples(self.x, index[self.y], self.digest, self.source, self.names, list(CIFAR10_CLASSES))


def concat(parts: list) -> Samples:
    if len(parts) == 1:
        return parts[0]
    if any(p.classes != parts[0].classes for p in parts):
        parts = [p.ten_class() for p in parts]
    h = hashlib.sha256()
    for p in parts:
        h.update(p.digest.encode())
    return Samples(torch.cat([p.x for p in parts]), torch.cat([p.y for p in parts]), h.hexdigest(),
                   " + ".join(p.source for p in parts), sum((p.names for p in parts), []), parts[0].classes)


def list_image_folder(root: Path, classes: list = CLASSES) -> list:
    """[(path, label)] for ROOT/<class>/* of each class (label = its index in `classes`), sorted; raises DataError
    when a class folder is missing or empty."""
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"data folder {root} does not exist")
    items = []
    for label, cls in enumerate(classes):
        d = root / cls
        if not d.is_dir():
            raise DataError(f"data folder {root} lacks the class folder '{cls}/' (need {', '.join(classes)})")
        files = sorted(p for p in d.rglob("*")
                       if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in IMAGE_EXTENSIONS)
        if not files:
            raise DataError(f"class folder {d} holds no images ({', '.join(sorted(IMAGE_EXTENSIONS))})")
        items += [(p, label) for p in files]
    return items


def load_image_folder(root, spec: dict | None = None, classes: list = CLASSES, cache_dir=None) -> Samples:
    """Decode a whole ROOT/<class> tree (airplane and bird unless `classes` says otherwise) into memory. The digest
    covers each file's relative path, label and bytes, in sorted order. With `cache_dir`, the decoded tensor is kept
    there and reused while every file's path, size and mtime and the preprocessing spec stay the same."""
    spec = spec or load_preprocessing()
    root = Path(root)
    items = list_image_folder(root, classes)
    cache_file = None
    if cache_dir is not None:
        key = hashlib.sha256(json.dumps([spec, classes]).encode())
        for p, label in items:
            st = p.stat()
            key.update(f"{p.relative_to(root).as_posix()}\0{label}\0{st.st_size}\0{st.st_mtime_ns}\0".encode())
        cache_file = Path(cache_dir) / f"decoded-{key.hexdigest()[:16]}.pt"
        if cache_file.is_file():
            saved = torch.load(cache_file)
            return Samples(saved["x"], saved["y"], saved["digest"], str(root), saved["names"], list(classes))
    h = hashlib.sha256()
    xs = np.empty((len(items), 3, spec["resize"]["height"], spec["resize"]["width"]), dtype=np.uint8)
    for i, (p, label) in enumerate(items):
        try:
            raw = p.read_bytes()
        except OSError as e:
            raise DataError(f"unreadable image {p}: {e}") from e
        h.update(f"{p.relative_to(root).as_posix()}\0{label}\0{len(raw)}\0".encode())
        h.update(raw)
        xs[i] = load_image_file(p, spec)
    y = torch.tensor([label for _, label in items], dtype=torch.int64)
    names = [p.relative_to(root).as_posix() for p, _ in items]
    if cache_file is not None:  # written beside, then renamed: an interrupted run never leaves half a cache
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        partial = cache_file.with_suffix(".partial")
        torch.save({"x": torch.from_numpy(xs), "y": y, "digest": h.hexdigest(), "names": names}, partial)
        partial.replace(cache_file)
    return Samples(torch.from_numpy(xs), y, h.hexdigest(), str(root), names, list(classes))


def other_classes_beside(two_class_root) -> Path | None:
    """The other eight CIFAR-10 classes where the data folder's layout has them: .../cifar10-airplane-bird/train ->
    .../cifar10-other-classes/train (the shared copy and the download cache both look like that)."""
    root = Path(two_class_root)
    if root.parts[-2:] != TWO_CLASS_TREE.parts:
        return None
    other = root.parent.parent / OTHER_CLASSES_TREE
    return other if other.is_dir() else None


def load_other_classes(root, spec: dict | None = None, cache_dir=None) -> Samples:
    """CIFAR-10's eight other classes (ROOT/automobile/*, ROOT/cat/*, ...; every one must be there), labelled with
    their CIFAR-10 class index. None of them is an airplane or a bird."""
    s = load_image_folder(root, spec, OTHER_CLASSES, cache_dir)
    return s.ten_class()


def reduce_two_class(dataset, spec: dict | None = None, label_map: dict = CIFAR10_LABEL_MAP) -> Samples:
    """Any dataset of (PIL image, label) items (torchvision CIFAR10) -> Samples with the chapter's two classes.
    Items whose label is not in label_map are dropped; the rest get label_map[label]."""
    spec = spec or load_preprocessing()
    targets = getattr(dataset, "targets", None)
    if targets is not None:
        keep = [i for i, t in enumerate(targets) if int(t) in label_map]
    else:
        keep = [i for i in range(len(dataset)) if int(dataset[i][1]) in label_map]
    h = hashlib.sha256()
    xs, ys = [], []
    for i in keep:
        img, label = dataset[i]
        label = label_map[int(label)]
        if not isinstance(img, Image.Image):
            raise DataError("CIFAR10 items must be PIL images (construct it without a transform)")
        arr = preprocess_pil(img, spec)
        h.update(bytes([label]))
        h.update(arr.tobytes())
        xs.append(arr)
        ys.append(label)
    if not xs:
        raise DataError("the dataset holds no airplane or bird images")
    return Samples(torch.from_numpy(np.stack(xs)), torch.tensor(ys, dtype=torch.int64), h.hexdigest(), "cifar10", [])


def load_cifar10(root, spec: dict | None = None) -> Samples:
    try:
        from torchvision.datasets import CIFAR10
    except ImportError as e:
        raise DataError(f"--data cifar10:DIR needs torchvision ({e})") from e
    try:
        ds = CIFAR10(str(root), train=True, download=True)
    except Exception as e:
        raise DataError(f"cannot load CIFAR10 into {root}: {e}") from e
    s = reduce_two_class(ds, spec)
    s.source = f"cifar10:{root}"
    return s


def load(source: str, spec: dict | None = None) -> Samples:
    """'cifar10:DIR' or an image-folder path."""
    spec = spec or load_preprocessing()
    if str(source).startswith("cifar10:"):
        return load_cifar10(str(source)[len("cifar10:"):] or "data/cifar10", spec)
    return load_image_folder(source, spec)


# --------------------------------------------------------------------------------------------- split & stats
def split(y: torch.Tensor, val_fraction: float, seed: int):
    """Seeded, stratified split -> (train_idx, val_idx). Each class gives round(val_fraction * n_class) images."""
    if not 0.0 <= val_fraction < 1.0:
        raise DataError(f"validation fraction must be in [0, 1), got {val_fraction}")
    g = torch.Generator().manual_seed(seed)
    train_idx, val_idx = [], []
    for c in range(len(CLASSES)):
        idx = torch.nonzero(y == c).flatten()
        idx = idx[torch.randperm(len(idx), generator=g)]
        n_val = int(round(val_fraction * len(idx)))
        val_idx.append(idx[:n_val])
        train_idx.append(idx[n_val:])
    return torch.sort(torch.cat(train_idx)).values, torch.sort(torch.cat(val_idx)).values


def three_way_split(y: torch.Tensor, report_fraction: float, selection_fraction: float, seed: int):
    """Seeded, stratified, disjoint -> (train_idx, selection_idx, report_idx). The report split is exactly
    `split(y, report_fraction, seed)`'s held-out part (so it is the validation split of the models trained before
    the three-way split); the selection split takes round(selection_fraction * n_class) of each class from the
    rest, with the seed + 1."""
    if not 0.0 <= selection_fraction < 1.0 or report_fraction + selection_fraction >= 1.0:
        raise DataError(f"report fraction {report_fraction} + selection fraction {selection_fraction} must be < 1")
    rest, report = split(y, report_fraction, seed)
    g = torch.Generator().manual_seed(seed + 1)
    train_idx, selection_idx = [], []
    for c in range(int(y.max()) + 1 if len(y) else 0):
        idx = rest[y[rest] == c]
        idx = idx[torch.randperm(len(idx), generator=g)]
        n_sel = int(round(selection_fraction * int((y == c).sum())))
        selection_idx.append(idx[:n_sel])
        train_idx.append(idx[n_sel:])

    def cat(parts):
        return torch.sort(torch.cat(parts)).values if parts else torch.zeros(0, dtype=torch.int64)
    return cat(train_idx), cat(selection_idx), report


def mean_std(x_uint8: torch.Tensor):
    """Per-channel mean and std of images scaled to [0, 1], as the chapter computes them
    (stack, view(3, -1), mean(dim=1), std(dim=1)); in float64 for stability."""
    v = x_uint8.permute(1, 0, 2, 3).reshape(x_uint8.shape[1], -1).double() / 255.0
    return v.mean(dim=1).tolist(), v.std(dim=1).tolist()


def normalize(x_uint8: torch.Tensor, mean, std) -> torch.Tensor:
    m = torch.tensor(mean, dtype=torch.float32).view(1, -1, 1, 1)
    s = torch.tensor(std, dtype=torch.float32).view(1, -1, 1, 1)
    return (x_uint8.float() / 255.0 - m) / s


# --------------------------------------------------------------------------------------------- default data
def default_cache_dir() -> Path:
    """$BIRDWATCH_CACHE, else $XDG_CACHE_HOME/birdwatch, else ~/.cache/birdwatch."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "birdwatch"


def default_data(cache_dir=None, log=print) -> Path:
    """The training data when --data is not given: the shared copy beside the repository where it exists, else
    CIFAR-10 downloaded into `cache_dir` (once) and decoded into the same form."""
    shared = SHARED_DATA / TWO_CLASS_TREE
    if shared.is_dir():
        return shared
    cache = Path(cache_dir) if cache_dir else default_cache_dir()
    return ensure_cifar10(cache, log=log)


def ensure_cifar10(cache: Path, log=print) -> Path:
    """CACHE/data/{cifar10-airplane-bird,cifar10-other-classes}/train/<class>/NNNN.png, as ../shared/data has them
    (all 50,000 training images, ten classes); returns the airplane/bird tree. Downloads cifar-10-python.tar.gz with
    torchvision (md5 checked, its progress bar) into CACHE/cifar10 unless its batches are there already, then decodes
    them into CACHE/data.partial and renames that into place, so CACHE/data exists only complete."""
    cache = Path(cache)
    out = cache / "data"
    if (out / TWO_CLASS_TREE).is_dir():
        return out / TWO_CLASS_TREE
    try:
        from torchvision.datasets import CIFAR10
        from torchvision.datasets.utils import download_and_extract_archive
    except ImportError as e:
        raise DataError(f"without --data and ../shared/data, training downloads CIFAR-10 with torchvision, which is "
                        f"missing ({e}); install it or pass --data DIR") from e
    batches = cache / "cifar10" / CIFAR10.base_folder
    names = [name for name, _ in CIFAR10.train_list] + [CIFAR10.meta["filename"]]
    if not all((batches / n).is_file() for n in names):
        url = CIFAR10.url
        log(f"data: no ../shared/data beside the repository; downloading CIFAR-10 (163 MB, once) into "
            f"{cache / 'cifar10'}")
        try:
            download_and_extract_archive(url, str(cache / "cifar10"), filename=CIFAR10.filename, md5=CIFAR10.tgz_md5)
        except Exception as e:  # URLError, socket errors, a corrupt download (RuntimeError), a full disk (OSError)
            reason = " ".join(str(getattr(e, "reason", None) or e).split())
            raise DataError(f"cannot download CIFAR-10 from {url} ({e.__class__.__name__}: {reason}); offline? pass "
                            f"--data DIR (a folder with airplane/ and bird/ images, e.g. ../shared/data/"
                            f"cifar10-airplane-bird/train), or put {CIFAR10.filename} into {cache / 'cifar10'}") from e
    log(f"data: decoding CIFAR-10 into {out} (once)")
    partial = cache / "data.partial"
    shutil.rmtree(partial, ignore_errors=True)  # an interrupted earlier decode
    counts = convert_cifar10_batches(batches, partial, [n for n, _ in CIFAR10.train_list], CIFAR10.meta["filename"])
    os.replace(partial, out)
    log(f"data: {sum(counts.values())} images, " + ", ".join(f"{c} {n}" for c, n in counts.items()))
    return out / TWO_CLASS_TREE


def read_cifar10_batch(path: Path) -> tuple:
    """One batch file of torchvision's on-disk CIFAR-10 (the python pickle of cifar-10-batches-py):
    (uint8 [N,32,32,3], list of labels)."""
    try:
        with open(path, "rb") as f:
            entry = pickle.load(f, encoding="latin1")
        x = np.asarray(entry["data"], dtype=np.uint8).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
        y = [int(v) for v in entry["labels"]]
    except Exception as e:
        raise DataError(f"unreadable CIFAR-10 batch {path}: {e.__class__.__name__}: {e}") from e
    if len(y) != len(x):
        raise DataError(f"CIFAR-10 batch {path}: {len(x)} images but {len(y)} labels")
    return x, y


def convert_cifar10_batches(batches: Path, out: Path, batch_names: list, meta_name: str) -> dict:
    """Decode CIFAR-10 batch files into out/cifar10-airplane-bird/train/{airplane,bird}/NNNN.png and
    out/cifar10-other-classes/train/<class>/NNNN.png (lossless; numbered per class in batch order, as in
    ../shared/data). Returns {class: count}."""
    try:
        with open(Path(batches) / meta_name, "rb") as f:
            label_names = list(pickle.load(f, encoding="latin1")["label_names"])
    except Exception as e:
        raise DataError(f"unreadable CIFAR-10 class list {Path(batches) / meta_name}: {e}") from e
    missing = [c for c in CLASSES if c not in label_names]
    if missing:
        raise DataError(f"CIFAR-10 class list {Path(batches) / meta_name} lacks {', '.join(missing)}")
    counts = {c: 0 for c in label_names}
    for name in batch_names:
        x, y = read_cifar10_batch(Path(batches) / name)
        for img, label in zip(x, y):
            cls = label_names[label]
            d = Path(out) / (TWO_CLASS_TREE if cls in CLASSES else OTHER_CLASSES_TREE) / cls
            if counts[cls] == 0:
                d.mkdir(parents=True, exist_ok=True)
            Image.fromarray(img, "RGB").save(d / f"{counts[cls]:04d}.png")
            counts[cls] += 1
    return counts


# --------------------------------------------------------------------------------------------- a run's data
def load_splits(args, spec: dict):
    """The data of --data and --extra-data, decoded as `spec` (config/preprocessing.json) says, split three ways:
    (sources, all samples, training, selection, report). The selection split chooses (epoch, threshold, run, flags);
    the report split only measures."""
    # Each source is split on its own (same seed), so adding --extra-data never moves an image of the main data
    # between the splits.
    if not args.data:  # resolved here, not at parsing: only a run that loads data may download it
        args.data = str(default_data(args.cache_dir, log=lambda m: print(m, flush=True)))
    cache = None if str(args.data).startswith("cifar10:") else Path(args.cache_dir) / "decoded"
    main_source = (load_image_folder(args.data, spec, cache_dir=cache) if cache else load(args.data, spec))
    sources = [main_source] + [load_image_folder(d, spec) for d in args.extra_data]
    splits = [three_way_split(src.y, args.val_fraction, args.selection_fraction, args.seed) for src in sources]
    part = lambda k: concat([src.subset(sp[k]) for src, sp in zip(sources, splits)])  # noqa: E731
    return sources, concat(sources), part(0), part(1), part(2)


def load_others(args, spec: dict):
    """The other-class images, where the run needs them (ten-class teacher, --other-share, --aux10), else None."""
    needed = args.teacher == "conv10" or args.other_share > 0 or args.aux10 > 0
    if not needed:
        return None
    root = (other_classes_beside(args.data) if args.other_data == "auto" else
            None if args.other_data == "none" else Path(args.other_data))
    if root is None:
        raise DataError("this recipe needs CIFAR-10's other classes: pass --other-data ROOT (ROOT/automobile/*, "
                        "ROOT/cat/*, ...); the shared data and the download cache have them beside the airplanes "
                        "and birds")
    return load_other_classes(root, spec, cache_dir=Path(args.cache_dir) / "decoded")
