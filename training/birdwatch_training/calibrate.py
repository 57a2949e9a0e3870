"""The operating threshold: the daemon moves a shot when P(airplane) >= threshold.

Chosen from labelled birds' scores with a confidence bound (the rule the TypeScript side has in src/calibrate/):
the lowest threshold whose one-sided Clopper-Pearson upper bound, at `confidence` (0.9 by default), on the share of
birds it moves is at most the bird budget. Written as a decimal string that, compared in float32 or float64, gives
exactly the counts reported. Both definitions are tested against test/fixtures/clopper-pearson.json.
"""
from __future__ import annotations

import math
from decimal import ROUND_CEILING, Decimal, InvalidOperation

import numpy as np
from scipy.stats import beta

AIRPLANE, BIRD = 0, 1
CONFIDENCE = 0.9


def upper_bound(k: int, n: int, confidence: float = CONFIDENCE) -> float:
    """One-sided Clopper-Pearson upper bound on the share of birds moved when k of n labelled birds are:
    BetaQuantile(confidence; k + 1, n - k), and 1 when k >= n (or n = 0: nothing is known)."""
    if n <= 0 or k >= n:
        return 1.0
    return float(beta.ppf(confidence, k + 1, n - k))


def birds_allowed(n: int, budget: float, confidence: float = CONFIDENCE) -> int | None:
    """k*: the most of n labelled birds that may score at or above the threshold with the bound within the budget
    (the bound grows with k). None when even k = 0 is over the budget: too few birds to certify it."""
    if upper_bound(0, n, confidence) > budget:
        return None
    lo, hi = 0, n  # U(lo) <= budget; find the largest such k by bisection
    if upper_bound(hi, n, confidence) <= budget:
        return hi
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if upper_bound(mid, n, confidence) <= budget:
            lo = mid
        else:
            hi = mid
    return lo


def more_birds_needed(k: int, n: int, budget: float, confidence: float = CONFIDENCE) -> int:
    """How many more randomly labelled birds, none of them moved, before k moved of them certify the budget: the
    smallest n' >= n with U(k, n') <= budget, minus n (0 when it is certified already)."""
    if not 0 < budget < 1:
        raise ValueError(f"a bird budget is a share above 0 and below 1, got {budget}")
    if upper_bound(k, n, confidence) <= budget:
        return 0
    lo, hi = max(n, k), max(n, k) + 1  # U(k, lo) > budget; grow hi until U(k, hi) <= budget, then bisect
    while upper_bound(k, hi, confidence) > budget:
        lo, hi = hi, 2 * hi
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if upper_bound(k, mid, confidence) <= budget:
            hi = mid
        else:
            lo = mid
    return hi - n


def _decimal_above(s: float, max_digits: int = 60) -> str:
    """Shortest decimal string t with s < t <= t32, where t32 is the next float32 above float32(s), and t rounds to
    t32 in float32. So, for any float32 score p: p >= t (compared in float64, as the daemon's JavaScript does, or in
    float32) exactly when p > s."""
    s32 = np.float32(s)
    t32 = np.nextafter(s32, np.float32(np.inf))
    lo = (Decimal(float(s32)) + Decimal(float(t32))) / 2  # float32 rounding sends values above this to t32
    hi = Decimal(float(t32))
    for d in range(0, max_digits + 1):
        q = Decimal(1).scaleb(-d)
        try:
            t = lo.quantize(q, rounding=ROUND_CEILING)
        except InvalidOperation:  # more digits than the decimal context holds
            break
        if t == lo:
            t += q
        if t <= hi:
            return f"{t:f}"
    return repr(float(t32))


# The exported graph may differ from PyTorch by up to this much (export.py checks it), and so may another runtime:
# the threshold keeps this distance above the bird that must stay, so that bird stays under any of them.
RUNTIME_MARGIN = 1e-5


def choose(p_airplane: np.ndarray, labels: np.ndarray, bird_budget: float = 0.01,
           confidence: float = CONFIDENCE, margin: float = RUNTIME_MARGIN) -> dict:
    """The threshold for `bird_budget` from the labelled birds' scores, and what certifies it.

    k* = the most birds that may move with U(k*, n) <= budget; the threshold lies `margin` above the (k* + 1)-th
    highest bird (birds tied with it stay too, so ties only leave fewer birds moved), so it holds even when every
    score moves by up to `margin` (a different runtime's rounding). When even no bird moved cannot certify the
    budget (too few birds), the threshold is the strictest the birds give (above the highest one) and `certified`
    is false. Returns {threshold (decimal string), confidence, birds n, birds_moved k (at or above the threshold),
    bound U(k, n), certified, more_birds_needed}."""
    p_airplane = np.asarray(p_airplane, dtype=np.float32)
    labels = np.asarray(labels)
    birds = p_airplane[labels == BIRD]
    if len(birds) == 0:
        raise ValueError("no labelled birds to calibrate the threshold on")
    n = len(birds)
    allowed = birds_allowed(n, bird_budget, confidence)
    stays = _highest_bird_that_stays(birds, 0 if allowed is None else allowed)
    threshold = "0" if stays is None else _decimal_above(stays + margin)
    k = int((birds >= np.float32(float(threshold))).sum())
    bound = upper_bound(k, n, confidence)
    return {"threshold": threshold, "confidence": confidence, "birds": n, "birds_moved": k, "bound": bound,
            "certified": bound <= bird_budget, "more_birds_needed": more_birds_needed(k, n, bird_budget, confidence)}


def choose_threshold(p_airplane: np.ndarray, labels: np.ndarray, bird_budget: float = 0.01,
                     margin: float = RUNTIME_MARGIN, confidence: float = CONFIDENCE) -> str:
    """The threshold of `choose`, alone (a decimal string)."""
    return choose(p_airplane, labels, bird_budget, confidence, margin)["threshold"]


def _highest_bird_that_stays(bird_scores: np.ndarray, allowed: int) -> float | None:
    """The score the threshold must lie just above when `allowed` birds may move: that of the highest-scoring bird
    beyond them (birds tied with it stay too, so ties only leave fewer birds moved). None when every bird may move."""
    birds = np.sort(bird_scores)[::-1]
    return None if allowed >= len(birds) else float(birds[allowed])


def _point_allowed(n: int, bird_budget: float) -> int:
    """floor(budget x n): the birds a budget lets through as a share of a sample. The rule of the ranking figures
    below (how many airplanes a model ranks above that many birds), not a certified threshold; the 1e-9 absorbs
    0.07 x 100 = 7.000000001."""
    return int(math.floor(bird_budget * n + 1e-9))


def metrics_at(p_airplane: np.ndarray, labels: np.ndarray, threshold: str | float) -> dict:
    """Confusion matrix and rates when shots with P(airplane) >= threshold are moved.
    confusion_matrix rows = true [airplane, bird], columns = decision [moved (airplane), kept (bird)]."""
    p = np.asarray(p_airplane, dtype=np.float32)
    labels = np.asarray(labels)
    moved = p >= np.float32(float(threshold))
    air, bird = labels == AIRPLANE, labels == BIRD
    cm = [[int((moved & air).sum()), int((~moved & air).sum())],
          [int((moved & bird).sum()), int((~moved & bird).sum())]]
    n_air, n_bird = max(int(air.sum()), 1), max(int(bird.sum()), 1)
    return {
        "threshold": float(threshold),
        "airplanes_caught_at_threshold": cm[0][0] / n_air,
        "birds_moved_at_threshold": cm[1][0] / n_bird,
        "accuracy_at_threshold": (cm[0][0] + cm[1][1]) / max(len(labels), 1),
        "confusion_matrix_at_threshold": {"rows": "true [airplane, bird]",
                                          "columns": "decision [moved as airplane, kept as bird]",
                                          "matrix": cm},
    }


def roc_auc(p_airplane: np.ndarray, labels: np.ndarray) -> float:
    """Probability that a random airplane scores above a random bird (ties count half)."""
    p = np.asarray(p_airplane, dtype=np.float64)
    labels = np.asarray(labels)
    pos, neg = p[labels == AIRPLANE], p[labels == BIRD]
    if len(pos) == 0 or len(neg) == 0:
        return float("nan")
    order = np.argsort(np.concatenate([pos, neg]), kind="mergesort")
    allp = np.concatenate([pos, neg])[order]
    ranks = np.empty(len(allp))
    i = 0
    while i < len(allp):  # average ranks over ties
        j = i
        while j + 1 < len(allp) and allp[j + 1] == allp[i]:
            j += 1
        ranks[i:j + 1] = (i + j) / 2 + 1
        i = j + 1
    r = np.empty(len(allp))
    r[order] = ranks
    return float((r[:len(pos)].sum() - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg)))


def caught_up_to(p_airplane: np.ndarray, labels: np.ndarray, max_budget: float = 0.05) -> float:
    """Mean share of airplanes caught over the bird budgets of 1, 2, ... birds up to `max_budget` of them (the
    area under the ROC curve up to that false-positive rate, normalized). It compares how models rank the
    airplane-like birds with less noise than one budget: at 5% of 500 birds, 25 birds decide it instead of 5."""
    p = np.asarray(p_airplane, dtype=np.float64)
    labels = np.asarray(labels)
    planes, birds = p[labels == AIRPLANE], p[labels == BIRD]
    k_max = _point_allowed(len(birds), max_budget)
    if len(planes) == 0 or k_max < 1 or k_max >= len(birds):
        raise ValueError("need validation airplanes, and more birds than the budget lets through (at least one)")
    return float(np.mean([(planes > _highest_bird_that_stays(birds, k)).mean()
                          for k in range(1, k_max + 1)]))


def caught_bootstrap(p_airplane: np.ndarray, labels: np.ndarray, bird_budget: float = 0.01, resamples: int = 2000,
                     seed: int = 0) -> dict:
    """How much the airplanes-caught figure owes to which images the validation split happens to hold. With 500
    validation birds a 1% budget is 5 birds, so one or two unusually airplane-like birds move the threshold a lot.
    Resamples airplanes and birds with replacement, recalibrates on each resample (at most floor(budget x n) of its
    birds moved: how well the model ranks, not a certified threshold), and returns the share of its airplanes
    caught: mean and 10th/50th/90th percentiles."""
    p = np.asarray(p_airplane, dtype=np.float64)
    labels = np.asarray(labels)
    planes, birds = p[labels == AIRPLANE], p[labels == BIRD]
    if len(planes) == 0 or len(birds) == 0:
        raise ValueError("need validation airplanes and birds")
    allowed = _point_allowed(len(birds), bird_budget)
    rng = np.random.default_rng(seed)
    caught = np.empty(resamples)
    for i in range(resamples):
        stays = _highest_bird_that_stays(rng.choice(birds, len(birds)), allowed)
        caught[i] = (rng.choice(planes, len(planes)) > (-np.inf if stays is None else stays)).mean()
    q10, q50, q90 = np.percentile(caught, [10, 50, 90])
    return {"mean": float(caught.mean()), "p10": float(q10), "median": float(q50), "p90": float(q90),
            "resamples": resamples, "bird_budget": bird_budget}
