"""The figures a model ships with, honestly split: everything chosen (epoch, threshold, run) is chosen on the
selection split; every figure shown to the club is measured on the report split, which nothing was chosen on,
with a bootstrap interval.

  operating_curve: for bird budgets 0.5% ... 10%, the threshold chosen on the selection split (the lowest whose
                   confidence bound on the share of birds moved is within the budget: calibrate.choose, with its
                   n, k, bound) and what it gives on the report split (airplanes caught, birds moved);
  report_metrics:  accuracy (with interval), ROC AUC, airplanes caught at <= 1% birds (threshold recalibrated on
                   each resample of the report split: how well the model ranks, free of the selection split's luck).
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from birdwatch_training import calibrate, camera, loop
from birdwatch_training import views as views_mod

BUDGETS = (0.005, 0.01, 0.02, 0.05, 0.1)
RESAMPLES = 2000
AIRPLANE, BIRD = calibrate.AIRPLANE, calibrate.BIRD


@torch.no_grad()
def p_airplane(model, x_u8: torch.Tensor, norm, views, batch: int = 1000) -> np.ndarray:
    """P(airplane) of each uint8 image, averaged over the views, as the daemon computes it."""
    was = model.training
    model.eval()
    device = next(model.parameters()).device
    out = [views_mod.probabilities(model, norm(x_u8[i:i + batch].float() / 255.0).to(device), views)[:, 0].cpu()
           for i in range(0, len(x_u8), batch)]
    model.train(was)
    return torch.cat(out).numpy().astype(np.float32)


def _interval(values: np.ndarray) -> list:
    lo, hi = np.percentile(values, [5, 95])
    return [round(float(lo), 4), round(float(hi), 4)]


def _resample_indices(labels: np.ndarray, rng, resamples: int):
    """Stratified bootstrap: airplanes and birds resampled apart, so every resample keeps the split's class counts."""
    air, bird = np.flatnonzero(labels == AIRPLANE), np.flatnonzero(labels == BIRD)
    for _ in range(resamples):
        yield rng.choice(air, len(air)), rng.choice(bird, len(bird))


def model_curve(model, norm, selection, report_split, views, resamples: int = RESAMPLES,
                confidence: float = calibrate.CONFIDENCE):
    """A model's P(airplane) on the selection and report splits (uint8 Samples) and its operating curve:
    (p_selection, p_report, curve). The one path from a trained model to its curve."""
    p_sel = p_airplane(model, selection.x, norm, views)
    p_rep = p_airplane(model, report_split.x, norm, views)
    return p_sel, p_rep, operating_curve(p_sel, selection.y.numpy(), p_rep, report_split.y.numpy(),
                                         resamples=resamples, confidence=confidence)


def operating_curve(p_sel, y_sel, p_rep, y_rep, budgets=BUDGETS, resamples: int = RESAMPLES, seed: int = 0,
                    confidence: float = calibrate.CONFIDENCE) -> dict:
    """Each budget's threshold, chosen on the selection split with the bound (its n, k, bound, whether it is
    certified and, if not, how many more birds it needs), and measured on the report split with intervals."""
    p_rep, y_rep = np.asarray(p_rep, dtype=np.float32), np.asarray(y_rep)
    points = []
    for budget in budgets:
        chosen = calibrate.choose(p_sel, y_sel, budget, confidence)
        threshold = chosen["threshold"]
        moved = p_rep >= np.float32(float(threshold))
        rng = np.random.default_rng(seed)
        caught_bs, moved_bs = [], []
        for air, bird in _resample_indices(y_rep, rng, resamples):
            caught_bs.append(moved[air].mean())
            moved_bs.append(moved[bird].mean())
        points.append({
            "bird_budget": budget, "threshold": float(threshold), "threshold_text": threshold,
            "airplanes_caught": round(float(moved[y_rep == AIRPLANE].mean()), 4),
            "birds_moved": round(float(moved[y_rep == BIRD].mean()), 4),
            "airplanes_caught_interval": _interval(np.array(caught_bs)),
            "birds_moved_interval": _interval(np.array(moved_bs)),
            "selection_birds": chosen["birds"], "selection_birds_moved": chosen["birds_moved"],
            "bound": round(chosen["bound"], 6), "certified": chosen["certified"],
            "more_birds_needed": chosen["more_birds_needed"],
        })
    return {"threshold_split": "selection", "figures_split": "report", "confidence": confidence,
            "rule": f"the lowest threshold whose one-sided {confidence:.0%} Clopper-Pearson upper bound on the share "
                    "of the selection split's birds moved is within the budget",
            "interval": "90% bootstrap (5th-95th "
            f"percentile of {resamples} stratified resamples of the report split, threshold fixed)",
            "points": points}


def point_at(curve: dict, budget: float) -> dict:
    """The curve's point for the largest budget <= `budget` (never more birds than asked for)."""
    fitting = [p for p in curve["points"] if p["bird_budget"] <= budget + 1e-12]
    if not fitting:
        raise ValueError(f"bird budget {budget} is below the curve's smallest ({curve['points'][0]['bird_budget']})")
    return fitting[-1]


def split_metrics(p_air, labels, split: str, resamples: int = RESAMPLES, seed: int = 0) -> dict:
    """Accuracy (argmax of the averaged probabilities), its interval, ROC AUC and the airplanes caught at <= 1%
    birds with the threshold recalibrated on each resample."""
    p_air, labels = np.asarray(p_air, dtype=np.float32), np.asarray(labels)
    correct = (p_air >= 0.5) == (labels == AIRPLANE)
    rng = np.random.default_rng(seed)
    acc_bs = [np.concatenate([correct[a], correct[b]]).mean() for a, b in _resample_indices(labels, rng, resamples)]
    return {
        "split": split, "images": int(len(labels)),
        "counts": {"airplane": int((labels == AIRPLANE).sum()), "bird": int((labels == BIRD).sum())},
        "accuracy": round(float(correct.mean()), 4), "accuracy_interval": _interval(np.array(acc_bs)),
        "roc_auc": round(calibrate.roc_auc(p_air, labels), 4),
        "airplanes_caught_at_1pct_bootstrap": calibrate.caught_bootstrap(p_air, labels, 0.01, resamples, seed),
        "mean_caught_up_to_5pct": _caught_up_to(p_air, labels),
    }


def _caught_up_to(p_air, labels):
    try:
        return round(calibrate.caught_up_to(p_air, labels, 0.05), 4)
    except ValueError:  # too few birds for a 5% budget to hold one (tiny test data)
        return None


def plot_curve(curve: dict, path, title: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    pts = curve["points"]
    x = [100 * p["bird_budget"] for p in pts]
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    caught = [100 * p["airplanes_caught"] for p in pts]
    lo = [100 * p["airplanes_caught_interval"][0] for p in pts]
    hi = [100 * p["airplanes_caught_interval"][1] for p in pts]
    ax.fill_between(x, lo, hi, alpha=0.2, label="airplanes caught, 90% bootstrap interval")
    ax.plot(x, caught, "o-", label="airplanes caught (moved out of the blog)")
    ax.plot(x, [100 * p["birds_moved"] for p in pts], "s--", label="birds moved")
    ax.plot(x, x, ":", color="grey", label="the budget")
    for p, c in zip(pts, caught):
        ax.annotate(f"{c:.0f}%", (100 * p["bird_budget"], c), textcoords="offset points", xytext=(4, -12), fontsize=8)
    ax.set_xscale("log")
    ax.set_xticks(x)
    ax.set_xticklabels([f"{v:g}%" for v in x])
    bound = f" with a {curve['confidence']:.0%} bound" if "confidence" in curve else ""
    ax.set_xlabel(f"bird budget (threshold chosen on the selection split{bound})")
    ax.set_ylabel("% of the report split")
    ax.set_ylim(0, 100)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper left")
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def threshold_figures(plain, split, norm, bird_budget: float, bootstrap: bool = True,
                      confidence: float = calibrate.CONFIDENCE):
    """A model's figures on a held-out split at the threshold chosen there for `bird_budget`: (threshold, metrics).
    One definition for train.py's card and finetune.py's candidate report."""
    ev = loop.evaluate(plain, split, norm)
    p_air = F.softmax(ev["logits"], dim=1)[:, 0].numpy()
    labels = split.y.numpy()
    threshold = calibrate.choose_threshold(p_air, labels, bird_budget, confidence=confidence)
    at = calibrate.metrics_at(p_air, labels, threshold)
    metrics = {"accuracy": ev["acc"], "loss": ev["loss"], "roc_auc": calibrate.roc_auc(p_air, labels),
               "airplanes_caught_at_threshold": at["airplanes_caught_at_threshold"],
               "birds_moved_at_threshold": at["birds_moved_at_threshold"], "bird_budget": bird_budget,
               "accuracy_at_threshold": at["accuracy_at_threshold"],
               "confusion_matrix_at_threshold": at["confusion_matrix_at_threshold"]}
    if bootstrap:
        metrics["airplanes_caught_bootstrap"] = calibrate.caught_bootstrap(p_air, labels, bird_budget)
    metrics.update({"validation_images": len(split), "validation_counts": split.counts()})
    return threshold, metrics


def plot_history(history: list, path, title: str):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    ep = [h["epoch"] for h in history]
    fig, ax = plt.subplots(1, 2, figsize=(10, 4))
    ax[0].plot(ep, [h["train_loss"] for h in history], label="training (augmented batches, vs. their targets; "
                                                             "distillation: x T\u00b2)")
    ax[0].plot(ep, [h["val_loss"] for h in history], label="selection split (chose the epoch)")
    ax[0].set_title("loss (cross entropy)")
    ax[0].set_yscale("log")
    ax[1].plot(ep, [h["train_acc"] for h in history], label="training (augmented batches)")
    ax[1].plot(ep, [h["val_acc"] for h in history], label="selection split (one view)")
    ax[1].set_title("accuracy")
    for a in ax:
        a.set_xlabel("epoch")
        a.grid(alpha=0.3)
        a.legend()
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def run_figures(plain, norm, selection, report_split, view_names, bird_budget: float, confidence: float, seed: int):
    """A trained model's figures: (curve, its own threshold at `bird_budget`, the selection split's metrics, the
    report split's, with its camera-like copy). Thresholds on the selection split, everything shown on the report."""
    p_sel, p_rep, curve = model_curve(plain, norm, selection, report_split, view_names, confidence=confidence)
    own = point_at(curve, bird_budget)
    threshold = own["threshold_text"]
    y_sel, y_rep = selection.y.numpy(), report_split.y.numpy()
    metrics = {**split_metrics(p_sel, y_sel, "selection"),
               **{k: v for k, v in calibrate.metrics_at(p_sel, y_sel, threshold).items() if k != "threshold"},
               "bird_budget": bird_budget, "views": view_names,
               "confidence": confidence, "bound": own["bound"], "certified": own["certified"]}
    p_cam = p_airplane(plain, camera.degrade(report_split.x, seed=seed), norm, view_names)
    at_cam = calibrate.metrics_at(p_cam, y_rep, threshold)
    report_metrics = {**split_metrics(p_rep, y_rep, "report"), "views": view_names,
                      "camera_like": {**split_metrics(p_cam, y_rep, "report, camera-like copy "
                                                      "(training/camera.py, seed of the run)"),
                                      "caught_and_moved_at_threshold": {
                                          k: at_cam[k] for k in ("airplanes_caught_at_threshold",
                                                                 "birds_moved_at_threshold")}},
                      "at_threshold": calibrate.metrics_at(p_rep, y_rep, threshold)}
    return curve, threshold, metrics, report_metrics


def summary_lines(metrics: dict, report_metrics: dict, curve: dict) -> list:
    """What train.py prints at the end: the selection split's figures, the report split's, the curve."""
    return [
        f"selection split: accuracy {metrics['accuracy']:.4f}, ROC AUC {metrics['roc_auc']:.4f} (it chose the "
        f"epoch and the thresholds)",
        f"REPORT split ({report_metrics['images']} images, nothing chosen on them; views "
        f"{'+'.join(report_metrics['views'])}): accuracy {report_metrics['accuracy']:.4f} (90% "
        f"{report_metrics['accuracy_interval']}), ROC AUC {report_metrics['roc_auc']:.4f}, airplanes caught at <=1% "
        f"birds (bootstrap mean) {report_metrics['airplanes_caught_at_1pct_bootstrap']['mean']:.3f}",
        "curve (threshold from the selection split -> report split): " + "; ".join(
            f"{p['bird_budget']:.1%}: t={p['threshold_text']} (bound {p['bound']:.4f}"
            f"{'' if p['certified'] else ', not certified'}) caught {p['airplanes_caught']:.3f} moved "
            f"{p['birds_moved']:.3f}" for p in curve["points"]),
    ]
