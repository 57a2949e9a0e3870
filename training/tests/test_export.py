import json

import numpy as np
import onnx
import pytest
import torch

from birdwatch_training import export
from birdwatch_training import models

RUNTIME = export.available_runtime()
needs_runtime = pytest.mark.skipif(RUNTIME is None, reason="no ONNX runtime: neither Python onnxruntime nor node "
                                                           "with onnxruntime-node (run npm install) is available")


def _meta():
    return {"classes": json.dumps(["airplane", "bird"]), "mean": "[0.5, 0.5, 0.5]", "std": "[0.25, 0.25, 0.25]",
            "threshold": "0.9"}


@pytest.mark.parametrize("name", ["book", "wide"])
def test_export_round_trip(tmp_path, name):
    torch.manual_seed(0)
    m = models.build_mlp(name, hidden=[64, 32] if name == "wide" else None)
    if name == "wide":
        m.train()
        m(torch.randn(32, 3, 32, 32))
        m = m.eval().fold()
    path = export.export_onnx(m.eval(), tmp_path / "m.onnx", _meta())
    g = onnx.load(str(path))
    onnx.checker.check_model(g)
    assert [i.name for i in g.graph.input] == ["image"]
    assert [o.name for o in g.graph.output] == ["probabilities"]
    dims = g.graph.input[0].type.tensor_type.shape.dim
    assert dims[0].dim_param and [d.dim_value for d in dims[1:]] == [3, 32, 32]
    assert g.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    assert export.read_metadata(path) == _meta()
    assert "Conv" not in export.op_types(path) and "Softmax" in export.op_types(path)
    assert not list(tmp_path.glob("*.tmp"))


@needs_runtime
def test_onnx_matches_torch(tmp_path):
    torch.manual_seed(1)
    m = models.build_mlp("book").eval()
    path = export.export_onnx(m, tmp_path / "m.onnx", _meta())
    for n in (1, 7):  # dynamic batch
        x = torch.randn(n, 3, 32, 32)
        got = export.run_onnx(path, x.numpy())
        assert got.shape == (n, 2)
        assert np.allclose(got.sum(1), 1, atol=1e-6)
        assert export.check_against_torch(m, path, x) <= 1e-5


def test_export_needs_string_metadata(tmp_path):
    with pytest.raises(TypeError):
        export.export_onnx(models.build_mlp("book"), tmp_path / "m.onnx", {"threshold": 0.5})
    assert not list(tmp_path.iterdir())
