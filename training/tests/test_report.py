"""The shipped figures: thresholds from the selection split, figures on the report split, the budget lookup."""
import numpy as np
import pytest
import torch

from birdwatch_training import calibrate
from birdwatch_training import report
from birdwatch_training import views


def test_curve_takes_each_threshold_from_the_selection_split_and_measures_it_on_the_report_split():
    # selection: 1000 birds scored 0.000..0.999, 100 airplanes at 0.9999 -> the bound lets 5 birds through at 1%
    sel_p = np.concatenate([np.arange(1000) / 1000, np.full(100, 0.9999)]).astype(np.float32)
    sel_y = np.array([1] * 1000 + [0] * 100)
    # report: birds all at 0.5, airplanes half at 0.2 and half at 0.9995
    rep_p = np.concatenate([np.full(100, 0.5), np.full(50, 0.2), np.full(50, 0.9995)]).astype(np.float32)
    rep_y = np.array([1] * 100 + [0] * 100)
    curve = report.operating_curve(sel_p, sel_y, rep_p, rep_y, resamples=200)
    assert curve["threshold_split"] == "selection" and curve["figures_split"] == "report"
    assert curve["confidence"] == 0.9 and "Clopper-Pearson" in curve["rule"]
    one = report.point_at(curve, 0.01)
    assert one["bird_budget"] == 0.01
    assert 0.994 < one["threshold"] <= 0.995  # just above the sixth-highest selection bird (0.994)
    assert (one["selection_birds"], one["selection_birds_moved"], one["certified"], one["more_birds_needed"]) == \
        (1000, 5, True, 0)
    assert one["bound"] == pytest.approx(calibrate.upper_bound(5, 1000), abs=1e-6) and one["bound"] <= 0.01
    assert one["airplanes_caught"] == 0.5 and one["birds_moved"] == 0.0  # measured on the report split
    ten = report.point_at(curve, 0.1)
    k = calibrate.birds_allowed(1000, 0.1)
    assert ten["selection_birds_moved"] == k and 0.999 - k / 1000 < ten["threshold"] <= 1 - k / 1000
    for p in curve["points"]:
        lo, hi = p["airplanes_caught_interval"]
        assert lo <= p["airplanes_caught"] <= hi
        assert p["certified"] and p["bound"] <= p["bird_budget"]


def test_a_curve_from_too_few_selection_birds_says_which_points_are_not_certified():
    sel_p = np.concatenate([np.linspace(0, 0.5, 100), np.full(20, 0.9)]).astype(np.float32)
    sel_y = np.array([1] * 100 + [0] * 20)
    curve = report.operating_curve(sel_p, sel_y, sel_p, sel_y, resamples=50)
    half, ten = report.point_at(curve, 0.005), report.point_at(curve, 0.1)
    assert not half["certified"] and half["selection_birds_moved"] == 0 and half["threshold"] > 0.5
    assert half["more_birds_needed"] == calibrate.more_birds_needed(0, 100, 0.005) > 0
    assert ten["certified"] and ten["more_birds_needed"] == 0


def test_budget_lookup_never_exceeds_the_budget_asked_for():
    curve = {"points": [{"bird_budget": b, "threshold": t} for b, t in
                        ((0.005, 0.9), (0.01, 0.8), (0.02, 0.7), (0.05, 0.6), (0.1, 0.5))]}
    assert report.point_at(curve, 0.02)["threshold"] == 0.7
    assert report.point_at(curve, 0.03)["threshold"] == 0.7  # 3% -> the 2% point, not the 5% one
    assert report.point_at(curve, 0.5)["threshold"] == 0.5
    with pytest.raises(ValueError, match="below the curve's smallest"):
        report.point_at(curve, 0.001)


def test_split_metrics_accuracy_interval_and_counts():
    p = np.array([0.9] * 40 + [0.2] * 10 + [0.1] * 45 + [0.7] * 5, dtype=np.float32)
    y = np.array([0] * 50 + [1] * 50)
    m = report.split_metrics(p, y, "report", resamples=300)
    assert m["split"] == "report" and m["counts"] == {"airplane": 50, "bird": 50}
    assert m["accuracy"] == 0.85
    assert m["accuracy_interval"][0] < 0.85 < m["accuracy_interval"][1]


def test_views_average_the_probabilities_of_the_image_and_its_mirror():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 32 * 32, 2))
    x = torch.rand(4, 3, 32, 32)
    both = views.probabilities(net, x, ["identity", "mirror"])
    expect = (torch.softmax(net(x), 1) + torch.softmax(net(x.flip(3)), 1)) / 2
    assert torch.allclose(both, expect) and not torch.allclose(both, torch.softmax(net(x), 1))
    assert views.views_of({}) == ["identity"]
    with pytest.raises(ValueError, match="flip"):
        views.views_of({"views": ["identity", "flip"]})
