"""ONNX export with the model-file contract (docs/model.md), and the torch-vs-ONNX check.

Input `image` float32 [N,3,32,32] (normalized with the stored mean/std), output `probabilities` float32 [N,2]
(softmax, airplane then bird), metadata_props all strings.
"""
from __future__ import annotations

import inspect
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import onnx
import torch
from torch import nn

HERE = Path(__file__).resolve().parent
ONNX_CHECK_MJS = HERE / "onnx_check.mjs"
OPSET = 13


class WithSoftmax(nn.Module):
    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, image):
        return torch.softmax(self.model(image), dim=1)


def export_onnx(model: nn.Module, path, metadata: dict, opset: int = OPSET) -> Path:
    """Export `model` (logits) + softmax to `path`, with metadata_props, checked by onnx.checker.
    Written to a temporary file beside `path` and renamed, so a reader never sees half a model."""
    path = Path(path)
    wrapped = WithSoftmax(model).eval()
    dummy = torch.zeros(1, 3, 32, 32)
    kwargs = dict(input_names=["image"], output_names=["probabilities"],
                  dynamic_axes={"image": {0: "N"}, "probabilities": {0: "N"}},
                  opset_version=opset, do_constant_folding=True)
    if "dynamo" in inspect.signature(torch.onnx.export).parameters:
        kwargs["dynamo"] = False  # torch >= 2.9 defaults to the dynamo exporter, which needs onnxscript
    fd, tmp = tempfile.mkstemp(suffix=".onnx.tmp", dir=str(path.parent))
    os.close(fd)
    try:
        with torch.no_grad():
            torch.onnx.export(wrapped, dummy, tmp, **kwargs)
        m = onnx.load(tmp)
        del m.metadata_props[:]
        for k, v in metadata.items():
            if not isinstance(v, str):
                raise TypeError(f"metadata {k} must be a string")
            p = m.metadata_props.add()
            p.key, p.value = k, v
        m.producer_name = "birdwatch-training"
        m.doc_string = ("birdwatch bird-vs-airplane classifier: image [N,3,32,32] -> probabilities [N,2] "
                        "(airplane, bird)")
        onnx.checker.check_model(m)
        onnx.save(m, tmp)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; the daemon may run as another user
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def read_metadata(path) -> dict:
    return {p.key: p.value for p in onnx.load(str(path)).metadata_props}


def op_types(path) -> set:
    return {n.op_type for n in onnx.load(str(path)).graph.node}


# --------------------------------------------------------------------------------------------- running ONNX
def available_runtime() -> str | None:
    """'onnxruntime' (Python), 'node' (onnxruntime-node through onnx_check.mjs), or None."""
    try:
        import onnxruntime  # noqa: F401
        return "onnxruntime"
    except ImportError:
        pass
    node = shutil.which("node")
    if node:
        r = subprocess.run([node, "-e", "require.resolve('onnxruntime-node')"], cwd=str(HERE),
                           capture_output=True, text=True)
        if r.returncode == 0:
            return "node"
    return None


def run_onnx(path, x: np.ndarray, runtime: str | None = None) -> np.ndarray:
    x = np.ascontiguousarray(x, dtype="<f4")
    runtime = runtime or available_runtime()
    if runtime == "onnxruntime":
        import onnxruntime as ort
        s = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        return s.run(["probabilities"], {"image": x})[0]
    if runtime == "node":
        with tempfile.TemporaryDirectory() as d:
            fin, fout = Path(d) / "in.f32", Path(d) / "out.f32"
            x.tofile(fin)
            r = subprocess.run([shutil.which("node"), str(ONNX_CHECK_MJS), str(path), str(fin), str(x.shape[0]),
                                str(fout)], cwd=str(HERE), capture_output=True, text=True)
            if r.returncode != 0:
                raise RuntimeError(f"onnxruntime-node failed: {r.stderr.strip()}")
            info = json.loads(r.stdout.strip().splitlines()[-1])
            if info["inputNames"] != ["image"] or info["outputNames"] != ["probabilities"]:
                raise RuntimeError(f"unexpected input/output names {info}")
            return np.fromfile(fout, dtype="<f4").reshape(x.shape[0], 2)
    raise RuntimeError("no ONNX runtime: neither Python onnxruntime nor node with onnxruntime-node is available")


def check_against_torch(model: nn.Module, path, x: torch.Tensor, runtime: str | None = None) -> float:
    """Max abs difference between the PyTorch model's probabilities and the ONNX graph's on the same inputs."""
    with torch.no_grad():
        ref = WithSoftmax(model).eval()(x).numpy()
    got = run_onnx(path, x.numpy(), runtime)
    return float(np.abs(ref - got).max())


def checked(model: nn.Module, path, x: torch.Tensor, tolerance: float = 1e-5) -> dict:
    """The exported graph scored against the PyTorch model on `x` (normalized images) with whichever runtime is here:
    {runtime, max_abs_diff, inputs} (runtime None: none here, nothing checked). Raises when they differ."""
    runtime = available_runtime()
    diff = check_against_torch(model, path, x, runtime) if runtime else None
    if diff is not None and diff > tolerance:
        raise RuntimeError(f"exported graph differs from the PyTorch model by {diff:g} (> {tolerance:g})")
    return {"runtime": runtime, "max_abs_diff": diff, "inputs": int(x.shape[0])}
