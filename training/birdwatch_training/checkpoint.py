"""Weights in: a model to start from or to export (an exported .onnx's Gemm initializers, or a training/runs/*/model.pt
checkpoint), and a finished train.py run (its model, history and recipe)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from birdwatch_training import cli, models, recipes


def load_init(path) -> dict:
    """Weights to fine-tune from: an exported .onnx (its Gemm initializers, in graph order, and its stored
    mean/std/model metadata) or a training/runs/*/model.pt checkpoint. Returns {model (plain MLP), mean, std}."""
    path = Path(path)
    if not path.is_file():
        raise cli.UsageError(f"--init {path}: no such file")
    if path.suffix == ".pt":
        ck = torch.load(path, map_location="cpu")
        m = models.MLP(ck["config"]["hidden"], ck["config"]["act"])
        m.load_state_dict(ck["state_dict"])
        return {"model": m, "mean": ck["mean"], "std": ck["std"]}
    import onnx
    from onnx import numpy_helper
    g = onnx.load(str(path))
    meta = {p.key: p.value for p in g.metadata_props}
    if "model" not in meta or "mean" not in meta:
        raise cli.UsageError(f"--init {path}: not a birdwatch model (no 'model'/'mean' metadata)")
    cfg = json.loads(meta["model"])
    m = models.MLP(cfg["hidden"], cfg["act"])
    m.config["flip_ensemble"] = bool(cfg.get("flip_ensemble", False))
    inits = {t.name: numpy_helper.to_array(t) for t in g.graph.initializer}
    gemms = [n for n in g.graph.node if n.op_type == "Gemm"]
    linears = [layer for layer in m.net if isinstance(layer, torch.nn.Linear)]
    if len(gemms) != len(linears):
        raise cli.UsageError(f"--init {path}: {len(gemms)} Gemm nodes for {len(linears)} Linear layers")
    with torch.no_grad():
        for node, lin in zip(gemms, linears):
            trans_b = next((a.i for a in node.attribute if a.name == "transB"), 0)
            w, b = inits[node.input[1]], inits[node.input[2]]
            lin.weight.copy_(torch.from_numpy(np.array(w if trans_b else w.T)))
            lin.bias.copy_(torch.from_numpy(np.array(b)))
    return {"model": m, "mean": json.loads(meta["mean"]), "std": json.loads(meta["std"])}


def load_finished_run(run_dir, args) -> dict:
    """--from-run: a finished run's model (its model.pt, history.json, result.json) instead of training one; the
    run's recipe replaces the flags, so the card describes how the model was trained."""
    run_dir = Path(run_dir)
    try:
        result = json.loads((run_dir / "result.json").read_text())
        history = json.loads((run_dir / "history.json").read_text())
    except (OSError, ValueError) as e:
        raise cli.UsageError(f"--from-run {run_dir}: not a finished train.py run ({e})") from e
    saved = load_init(run_dir / "model.pt")
    recipe = result["recipe"]
    for k in recipes.RECORDED:
        if k in recipe:
            setattr(args, k, recipe[k])
    return {"plain": saved["model"].eval(), "mean": saved["mean"], "std": saved["std"], "history": history,
            "n_params": result["trained_parameters"], "trained": recipe.get("trained_architecture"),
            "teacher_history": result.get("teacher_history", []), "teacher_figures": result.get("teacher_figures"),
            "device": recipe.get("device", "cpu"), "seconds": result.get("total_seconds")}
