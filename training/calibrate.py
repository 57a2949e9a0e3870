"""The operating threshold: the daemon moves a shot when P(airplane) >= threshold.

Chosen on the validation split as the lowest threshold (so the most airplanes caught) at which at most
`bird_budget` of the validation birds would be moved. Written as a decimal string that, compared in float32 or
float64, gives exactly the counts reported.
"""
from __future__ import annotations

import math

import numpy as np

AIRPLANE, BIRD = 0, 1


def _decimal_above(s: float, digits: int = 8) -> str:
    """Shortest decimal string (<= `digits` decimals) strictly above s, both in float64 and in float32."""
    for d in range(2, digits + 1):
        t = math.floor(s * 10 ** d + 1) / 10 ** d
        txt = f"{t:.{d}f}"
        if float(txt) > s and np.float32(float(txt)) > np.float32(s):
            return txt
    return repr(float(np.nextafter(np.float32(s), np.float32(2))))


def choose_threshold(p_airplane: np.ndarray, labels: np.ndarray, bird_budget: float = 0.01) -> str:
    """Lowest threshold t (decimal string) with #(birds with p >= t) <= floor(bird_budget * #birds)."""
    p_airplane = np.asarray(p_airplane, dtype=np.float32)
    labels = np.asarray(labels)
    birds = np.sort(p_airplane[labels == BIRD])[::-1]
    if len(birds) == 0:
        raise ValueError("no validation birds to calibrate the threshold on")
    allowed = int(math.floor(bird_budget * len(birds) + 1e-9))
    if allowed >= len(birds):
        return "0"
    # birds[allowed] is the highest-scoring bird that must stay: the threshold goes just above it, but never
    # below the next-higher bird score when ties would push more birds over the budget.
    txt = _decimal_above(float(birds[allowed]))
    if float(txt) <= 0.0:
        txt = "0"
    return txt


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
