import numpy as np
import pytest

import calibrate


def test_threshold_keeps_birds_within_budget_and_catches_most_airplanes():
    # 200 birds with P(airplane) = 0.000, 0.005, ..., 0.995; 100 airplanes at 0.5 .. 0.995 step 0.005
    birds = np.arange(200) / 200.0
    planes = 0.5 + np.arange(100) / 200.0
    p = np.concatenate([planes, birds]).astype(np.float32)
    y = np.array([0] * 100 + [1] * 200)
    t = calibrate.choose_threshold(p, y, 0.01)  # 2 birds may be moved: 0.995 and 0.99; 0.985 must stay
    assert float(t) > np.float32(0.985) and float(t) <= 0.99
    m = calibrate.metrics_at(p, y, t)
    assert m["birds_moved_at_threshold"] == pytest.approx(2 / 200)
    assert m["airplanes_caught_at_threshold"] == pytest.approx(2 / 100)  # planes at 0.99, 0.995
    assert m["confusion_matrix_at_threshold"]["matrix"] == [[2, 98], [2, 198]]


def test_separable_scores_catch_all_airplanes():
    p = np.array([0.9, 0.95, 0.99, 0.1, 0.2, 0.3], dtype=np.float32)
    y = np.array([0, 0, 0, 1, 1, 1])
    t = calibrate.choose_threshold(p, y, 0.01)  # no bird may move: just above 0.3
    assert 0.3 < float(t) <= 0.31
    m = calibrate.metrics_at(p, y, t)
    assert m["airplanes_caught_at_threshold"] == 1.0 and m["birds_moved_at_threshold"] == 0.0
    assert m["accuracy_at_threshold"] == 1.0


def test_threshold_string_holds_in_float32_near_one():
    birds = np.array([0.99999994, 0.9999999, 0.5] + [0.1] * 97, dtype=np.float32)
    planes = np.array([1.0, 0.99999994, 0.9], dtype=np.float32)
    p = np.concatenate([planes, birds])
    y = np.array([0] * 3 + [1] * 100)
    t = calibrate.choose_threshold(p, y, 0.01, margin=0)  # one bird may move; exact float32 boundary
    m = calibrate.metrics_at(p, y, t)
    assert m["birds_moved_at_threshold"] <= 0.01
    assert np.float32(float(t)) > np.float32(0.9999999)
    assert m["airplanes_caught_at_threshold"] == pytest.approx(2 / 3)


def test_ties_never_exceed_the_budget():
    birds = np.array([0.8] * 5 + [0.1] * 95, dtype=np.float32)
    p = np.concatenate([np.array([0.9, 0.8], dtype=np.float32), birds])
    y = np.array([0, 0] + [1] * 100)
    t = calibrate.choose_threshold(p, y, 0.02)
    m = calibrate.metrics_at(p, y, t)
    assert m["birds_moved_at_threshold"] == 0.0  # moving any 0.8 bird would move all five
    assert m["airplanes_caught_at_threshold"] == 0.5


def test_roc_auc():
    assert calibrate.roc_auc(np.array([0.9, 0.8, 0.1, 0.2]), np.array([0, 0, 1, 1])) == 1.0
    assert calibrate.roc_auc(np.array([0.5, 0.5]), np.array([0, 1])) == 0.5


def test_threshold_keeps_a_runtime_margin_above_the_staying_bird():
    # another runtime may score each shot up to 1e-5 differently (export.py checks torch vs ONNX to that bound)
    birds = np.array([0.9, 0.5] + [0.1] * 98, dtype=np.float32)
    p = np.concatenate([np.array([0.95, 0.500004], dtype=np.float32), birds])
    y = np.array([0, 0] + [1] * 100)
    t = calibrate.choose_threshold(p, y, 0.01)  # one bird may move: 0.9; 0.5 must stay
    assert float(t) >= 0.5 + calibrate.RUNTIME_MARGIN
    shifted = calibrate.metrics_at(p + np.float32(0.99e-5), y, t)  # every score nudged up
    assert shifted["birds_moved_at_threshold"] <= 0.01
    assert calibrate.metrics_at(p, y, t)["airplanes_caught_at_threshold"] == 0.5  # 0.500004 is within the margin


def test_bootstrap_of_airplanes_caught_shows_how_much_a_few_birds_decide():
    # Separable: every resample catches every airplane.
    p = np.array([0.9] * 50 + [0.1] * 200)
    y = np.array([0] * 50 + [1] * 200)
    b = calibrate.caught_bootstrap(p, y, 0.01, resamples=200)
    assert b["mean"] == b["p10"] == b["p90"] == 1.0
    # 200 birds at 0.1 except three outliers at 0.95 (1% allows two): the point estimate on this split is 0 (the
    # third outlier sets the threshold above every airplane at 0.9), but resamples holding fewer than three outliers
    # catch them all, so the bootstrap spreads over the whole range.
    p = np.array([0.9] * 50 + [0.95] * 3 + [0.1] * 197)
    y = np.array([0] * 50 + [1] * 200)
    assert calibrate.metrics_at(p, y, calibrate.choose_threshold(p, y, 0.01))["airplanes_caught_at_threshold"] == 0.0
    b = calibrate.caught_bootstrap(p, y, 0.01, resamples=500, seed=1)
    assert b["p10"] == 0.0 and b["p90"] == 1.0
    assert 0.3 < b["mean"] < 0.7  # P(at most 2 outliers in 200 draws at 1.5%) = 0.42
    assert calibrate.caught_bootstrap(p, y, 0.01, resamples=500, seed=1) == b  # seeded: repeatable


def test_caught_up_to_averages_airplanes_caught_over_budgets():
    # Birds at 0/256 .. 199/256, airplanes at 100/256 .. 199/256 (exact in binary): with k birds moved (k = 1..10
    # at 5% of 200) the staying bird is at (199 - k) / 256 and exactly k airplanes score above it, so the mean is
    # (1 + ... + 10) / 10 / 100.
    birds = np.arange(200) / 256.0
    planes = np.arange(100, 200) / 256.0
    p = np.concatenate([planes, birds])
    y = np.array([0] * 100 + [1] * 200)
    assert calibrate.caught_up_to(p, y, 0.05) == pytest.approx(0.055)
    assert calibrate.caught_up_to(np.array([0.9, 0.8, 0.1, 0.2]), np.array([0, 0, 1, 1]), 0.5) == 1.0
    with pytest.raises(ValueError):
        calibrate.caught_up_to(np.array([0.9, 0.1]), np.array([0, 1]), 0.05)  # 5% of one bird: no budget at all
