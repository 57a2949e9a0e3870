import json
import math

import numpy as np
import pytest

from birdwatch_training import calibrate
from conftest import TRAINING

FIXTURE = json.loads((TRAINING.parent / "test" / "fixtures" / "clopper-pearson.json").read_text())


def test_the_bound_and_the_birds_needed_equal_scipys_table_the_typescript_side_is_tested_against():
    for row in FIXTURE["bounds"]:
        assert calibrate.upper_bound(row["k"], row["n"], row["confidence"]) == pytest.approx(row["bound"], abs=1e-12)
    for row in FIXTURE["more_birds_needed"]:
        assert calibrate.more_birds_needed(row["k"], row["n"], row["budget"], row["confidence"]) == \
            row["more_birds_needed"], row
    assert len(FIXTURE["bounds"]) > 100 and len(FIXTURE["more_birds_needed"]) > 50


def test_no_bird_moved_needs_ln_d_over_ln_1_minus_b_birds():
    # the statistics notes' closed form: U(0, n) = 1 - d^(1/n); certifying 1% at 90% takes 230 birds, 2% 114
    assert calibrate.upper_bound(0, 50) == pytest.approx(1 - 0.1 ** (1 / 50))
    assert calibrate.birds_allowed(229, 0.01) is None and calibrate.birds_allowed(230, 0.01) == 0
    assert calibrate.more_birds_needed(0, 0, 0.02) == math.ceil(math.log(0.1) / math.log(0.98)) == 114


def test_threshold_is_the_lowest_whose_bound_is_within_the_budget():
    # 1000 birds at 0.000 .. 0.999, 100 airplanes at 0.9 .. 0.999: k* = 5 at 1% (U(5, 1000) <= 1% < U(6, 1000))
    birds = np.arange(1000) / 1000.0
    planes = 0.9 + np.arange(100) / 1000.0
    p = np.concatenate([planes, birds]).astype(np.float32)
    y = np.array([0] * 100 + [1] * 1000)
    k = calibrate.birds_allowed(1000, 0.01)
    assert calibrate.upper_bound(k, 1000) <= 0.01 < calibrate.upper_bound(k + 1, 1000) and k == 5
    chosen = calibrate.choose(p, y, 0.01)
    assert chosen["threshold"] == calibrate.choose_threshold(p, y, 0.01)
    t = float(chosen["threshold"])
    assert np.float32(0.994) < t <= 0.995  # birds 0.995 .. 0.999 move; 0.994 must stay
    assert chosen == {"threshold": chosen["threshold"], "confidence": 0.9, "birds": 1000, "birds_moved": 5,
                      "bound": calibrate.upper_bound(5, 1000), "certified": True, "more_birds_needed": 0}
    m = calibrate.metrics_at(p, y, chosen["threshold"])
    assert m["birds_moved_at_threshold"] == pytest.approx(5 / 1000)
    assert m["airplanes_caught_at_threshold"] == pytest.approx(5 / 100)  # planes at 0.995 .. 0.999
    assert m["confusion_matrix_at_threshold"]["matrix"] == [[5, 95], [5, 995]]
    # a higher confidence asks more of the same birds: fewer may move, the threshold rises
    assert float(calibrate.choose_threshold(p, y, 0.01, confidence=0.99)) > t


def test_too_few_birds_never_certify_and_say_how_many_more_are_needed():
    # 100 birds cannot certify 1% even with none moved: the strictest threshold the birds give, not certified
    p = np.array([0.9, 0.95] + list(np.linspace(0.1, 0.6, 100)), dtype=np.float32)
    y = np.array([0, 0] + [1] * 100)
    chosen = calibrate.choose(p, y, 0.01)
    assert chosen["certified"] is False and chosen["birds_moved"] == 0 and chosen["birds"] == 100
    assert chosen["more_birds_needed"] == 130  # 230 in all, as the fixture has it
    assert 0.6 < float(chosen["threshold"]) <= 0.61
    assert chosen["bound"] == pytest.approx(1 - 0.1 ** (1 / 100))


def test_separable_scores_catch_all_airplanes():
    p = np.array([0.9, 0.95, 0.99] + [0.1, 0.2, 0.3] * 100, dtype=np.float32)
    y = np.array([0, 0, 0] + [1] * 300)
    t = calibrate.choose_threshold(p, y, 0.01)  # k* = 0 of 300 birds: just above 0.3
    assert 0.3 < float(t) <= 0.31
    m = calibrate.metrics_at(p, y, t)
    assert m["airplanes_caught_at_threshold"] == 1.0 and m["birds_moved_at_threshold"] == 0.0
    assert m["accuracy_at_threshold"] == 1.0


def test_threshold_string_holds_in_float32_near_one():
    birds = np.array([0.99999994, 0.9999999, 0.5] + [0.1] * 97, dtype=np.float32)
    planes = np.array([1.0, 0.99999994, 0.9], dtype=np.float32)
    p = np.concatenate([planes, birds])
    y = np.array([0] * 3 + [1] * 100)
    t = calibrate.choose_threshold(p, y, 0.04, margin=0)  # one of 100 birds may move at 4%; exact float32 boundary
    m = calibrate.metrics_at(p, y, t)
    assert m["birds_moved_at_threshold"] == 0.01
    assert np.float32(float(t)) > np.float32(0.9999999)
    assert m["airplanes_caught_at_threshold"] == pytest.approx(2 / 3)


def test_ties_never_exceed_the_budget():
    birds = np.array([0.8] * 5 + [0.1] * 95, dtype=np.float32)
    p = np.concatenate([np.array([0.9, 0.8], dtype=np.float32), birds])
    y = np.array([0, 0] + [1] * 100)
    assert calibrate.birds_allowed(100, 0.1) == 5
    t = calibrate.choose_threshold(p, y, 0.09)  # 4 of 100 birds may move at 9%
    m = calibrate.metrics_at(p, y, t)
    assert m["birds_moved_at_threshold"] == 0.0  # moving any 0.8 bird would move all five
    assert m["airplanes_caught_at_threshold"] == 0.5


def test_the_bound_keeps_the_promise_where_the_point_rule_breaks_it():
    # Seeded simulation: 500 labelled birds with uniform scores (so a threshold t moves 1 - t of all birds) choose a
    # threshold at a 2% budget; the true share moved exceeds the budget in about 1 - confidence of the trials with
    # the bound, and in about half of them with the point rule floor(budget x n).
    rng = np.random.default_rng(20)
    trials, n, budget = 400, 500, 0.02
    over_bound = over_point = 0
    for _ in range(trials):
        birds = rng.random(n).astype(np.float32)
        y = np.ones(n, dtype=int)
        over_bound += 1 - float(calibrate.choose_threshold(birds, y, budget)) > budget
        point = np.sort(birds)[::-1][calibrate._point_allowed(n, budget)]
        over_point += 1 - float(point) > budget
    assert over_bound / trials <= 0.13  # 0.1 expected (binomial sd 0.015); the margin only makes it stricter
    assert over_point / trials >= 0.35


def test_roc_auc():
    assert calibrate.roc_auc(np.array([0.9, 0.8, 0.1, 0.2]), np.array([0, 0, 1, 1])) == 1.0
    assert calibrate.roc_auc(np.array([0.5, 0.5]), np.array([0, 1])) == 0.5


def test_threshold_keeps_a_runtime_margin_above_the_staying_bird():
    # another runtime may score each shot up to 1e-5 differently (export.py checks torch vs ONNX to that bound)
    birds = np.array([0.9, 0.5] + [0.1] * 98, dtype=np.float32)
    p = np.concatenate([np.array([0.95, 0.500004], dtype=np.float32), birds])
    y = np.array([0, 0] + [1] * 100)
    t = calibrate.choose_threshold(p, y, 0.04)  # one of 100 birds may move at 4%: 0.9; 0.5 must stay
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
    # 200 birds at 0.1 except three outliers at 0.95 (1% of 200 is two): on this split the third outlier sets the
    # point rule's threshold above every airplane at 0.9 (none caught), but resamples holding fewer than three outliers
    # catch them all, so the bootstrap spreads over the whole range.
    p = np.array([0.9] * 50 + [0.95] * 3 + [0.1] * 197)
    y = np.array([0] * 50 + [1] * 200)
    assert calibrate._highest_bird_that_stays(p[y == 1], calibrate._point_allowed(200, 0.01)) == 0.95
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
