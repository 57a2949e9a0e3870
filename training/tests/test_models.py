import torch

from birdwatch_training import models


def test_chapter_parameter_counts():
    assert models.count_params(models.build_mlp("book")) == 1_574_402
    assert models.count_params(models.build_mlp("deep")) == 3_737_474
    assert models.CHAPTER_PARAMS == {"book": 1_574_402, "deep": 3_737_474}


def test_book_model_is_the_chapters_layers():
    m = models.build_mlp("book")
    kinds = [type(layer).__name__ for layer in m.net]
    assert kinds == ["Flatten", "Linear", "Tanh", "Linear"]
    assert m(torch.zeros(5, 3, 32, 32)).shape == (5, 2)


def test_fold_keeps_the_function_and_drops_batchnorm():
    torch.manual_seed(0)
    m = models.MLP([64, 32], act="gelu", norm="bn", dropout=0.2)
    m.train()
    for _ in range(3):  # give BatchNorm non-trivial running statistics
        m(torch.randn(16, 3, 32, 32) * 2 + 1)
    with torch.no_grad():
        for mod in m.net:
            if isinstance(mod, torch.nn.BatchNorm1d):
                mod.weight.uniform_(0.5, 1.5)
                mod.bias.uniform_(-0.5, 0.5)
    m.eval()
    plain = m.fold()
    assert not any(isinstance(x, (torch.nn.BatchNorm1d, torch.nn.Dropout)) for x in plain.net)
    x = torch.randn(8, 3, 32, 32)
    assert torch.allclose(m(x), plain(x), atol=1e-5)
    assert models.count_params(plain) == models.count_params(models.MLP([64, 32], act="gelu"))


def test_teacher_shapes():
    t = models.ConvTeacher(8)
    assert t(torch.zeros(2, 3, 32, 32)).shape == (2, 2)


def test_flip_ensemble_is_one_mlp_averaging_the_mirror_logits():
    torch.manual_seed(0)
    for hidden in ([24], [24, 12]):
        m = models.MLP(hidden, act="gelu").eval()
        e = models.flip_ensemble(m)
        assert [type(x).__name__ for x in e.net].count("Linear") == len(hidden) + 1
        x = torch.randn(5, 3, 32, 32)
        with torch.no_grad():
            want = (m(x) + m(x.flip(3))) / 2
            assert torch.allclose(e(x), want, atol=1e-5)
            assert torch.allclose(e(x), e(x.flip(3)), atol=1e-5)


def test_a_ten_class_student_exports_exactly_its_airplane_and_bird_outputs():
    torch.manual_seed(0)
    ten = models.MLP([16, 8], "gelu", norm="bn", classes=10)
    ten.train()
    ten(torch.randn(32, 3, 32, 32))  # move the BatchNorm statistics
    ten.eval()
    x = torch.randn(5, 3, 32, 32)
    two = models.keep_outputs(ten.fold(), [0, 2])
    assert [m.out_features for m in two.net if isinstance(m, torch.nn.Linear)][-1] == 2
    with torch.no_grad():
        assert torch.allclose(two(x), ten(x)[:, [0, 2]], atol=1e-5)
        assert torch.allclose(models.Readout(ten, [0, 2])(x), ten(x)[:, [0, 2]])
