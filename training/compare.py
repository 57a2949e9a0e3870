#!/usr/bin/env python3
"""Compare trained students with their convnet teacher on the selection split, where the threshold lives.

  python3 compare.py runs/default-seed0 runs/ablation/soft-distill-e15-seed0

For each run folder (train.py's --run-dir: model.pt) and for the cached teacher of the default recipe: accuracy,
ROC AUC, airplanes caught with 1% of the birds moved (on this split, and the bootstrap mean), the mean share caught
over budgets up to 5% (less noisy), and how closely the student's logit margin follows the teacher's within each
class (Pearson r on validation images, and on training airplanes as a check for overfitting). The teacher ranks
airplane-like birds far better than any student, so this is the table for work on that gap.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

from birdwatch_training import calibrate, checkpoint, data, loop, recipes
from birdwatch_training import teacher as teachers


def margin(model, x_u8, norm) -> np.ndarray:
    """logit(airplane) - logit(bird): the score the threshold cuts, up to a monotone map."""
    logits = loop.predict(model, x_u8, norm)
    return (logits[:, 0] - logits[:, 1]).numpy()


def row(name: str, val_score: np.ndarray, y: np.ndarray, teacher_val=None, train_score=None, teacher_train=None) -> str:
    p = 1 / (1 + np.exp(-val_score.astype(np.float64)))
    t = calibrate.choose_threshold(p, y)
    cells = [name, f"{((val_score < 0) == (y == 1)).mean():.3f}", f"{calibrate.roc_auc(p, y):.4f}",
             f"{calibrate.metrics_at(p, y, t)['airplanes_caught_at_threshold']:.3f}",
             f"{calibrate.caught_bootstrap(p, y)['mean']:.3f}", f"{calibrate.caught_up_to(p, y):.3f}"]
    if teacher_val is None:
        cells += ["", "", ""]
    else:
        r = lambda a, b: f"{np.corrcoef(a, b)[0, 1]:.3f}"  # noqa: E731
        cells += [r(teacher_val[y == 0], val_score[y == 0]), r(teacher_val[y == 1], val_score[y == 1]),
                  r(teacher_train, train_score)]
    return "| " + " | ".join(cells) + " |"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("runs", nargs="+", help="train.py run folders holding model.pt")
    p.add_argument("--seed", type=int, default=0, help="the seed the runs used (the split)")
    p.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    targs = recipes.settings("default", seed=args.seed, quiet=True)  # the default recipe's teacher and data
    _, samples, trn, val, _ = data.load_splits(targs, data.load_preprocessing())  # val: the selection split
    norm = loop.Normalizer(*data.mean_std(trn.x))
    teacher, _ = teachers.get_teacher(targs, trn, val, norm, samples.digest, log=lambda m: print(m, file=sys.stderr))
    y = val.y.numpy()
    planes = trn.x[trn.y == calibrate.AIRPLANE]
    t_val, t_train = margin(teacher, val.x, norm), margin(teacher, planes, norm)
    print("| model | accuracy | ROC AUC | caught at 1% | bootstrap mean at 1% | mean caught up to 5% | "
          "r airplanes | r birds | r training airplanes |")
    print("|---|---|---|---|---|---|---|---|---|")
    print(row("teacher (convnet)", t_val, y))
    for run in args.runs:
        saved = checkpoint.load_init(Path(run) / "model.pt")  # the student as trained, with its own mean/std
        student, own = saved["model"].eval(), loop.Normalizer(saved["mean"], saved["std"])
        print(row(Path(run).name, margin(student, val.x, own), y, t_val, margin(student, planes, own), t_train),
              flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
