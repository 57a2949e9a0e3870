#!/usr/bin/env python3
"""The ablation behind training/README.md: what each step of the default recipe adds, measured on the validation
split (same data, same seed, same split). Steps run one after the other (each one heavy on the CPU), each as
`train.py --no-export` into training/runs/ablation/<step>; finished steps are not rerun. Prints a Markdown table.

  python3 ablation.py --epochs 15            # shorter-epoch ablation (the table says how many epochs)
  python3 ablation.py --only book-chapter    # one row
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

# (name, what the step adds, train.py arguments); each row adds one thing to the row above.
STEPS = [
    ("book-chapter", "the chapter: 3072-512-Tanh-2, SGD lr 1e-2, batch 64, no augmentation, last epoch",
     ["--recipe", "book"]),
    ("plain", "+ crop/flip/colour augmentation, AdamW, one-cycle, label smoothing, best epoch",
     ["--recipe", "plain"]),
    ("wide", "+ wider BatchNorm/GELU net 3072-1536-768-2",
     ["--recipe", "plain", "--model", "wide"]),
    ("mixup", "+ mixup/cutmix on half the batches",
     ["--recipe", "plain", "--model", "wide", "--mixup", "0.5"]),
    ("distill", "+ distillation from the convnet teacher (temperature 1)",
     ["--recipe", "default", "--distill-temp", "1"]),
    ("soft-distill", "+ distillation temperature 4 (= the default recipe, shorter)",
     ["--recipe", "default"]),
]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--epochs", type=int, default=15, help="epochs for every step except book-chapter")
    p.add_argument("--book-epochs", type=int, default=100, help="epochs for the book-chapter step")
    p.add_argument("--only", action="append", help="run only these steps (repeatable)")
    p.add_argument("--seed", type=int, default=0, help="seed (split, initialisation, augmentation)")
    p.add_argument("--extra", nargs=argparse.REMAINDER, default=[], help="more train.py arguments for every step")
    args = p.parse_args(argv)
    root = HERE / "runs" / "ablation"
    rows = []
    for name, what, targs in STEPS:
        epochs = args.book_epochs if name == "book-chapter" else args.epochs
        run_dir = root / f"{name}-e{epochs}-seed{args.seed}"
        result = run_dir / "result.json"
        if (args.only is None or name in args.only) and not result.exists():
            cmd = [sys.executable, str(HERE / "train.py"), *targs, "--epochs", str(epochs), "--seed", str(args.seed),
                   "--no-export", "--quiet", "--run-dir", str(run_dir), *args.extra]
            print("$", " ".join(cmd), flush=True)
            subprocess.run(cmd, check=True)
        if result.exists():
            r = json.loads(result.read_text())
            m = r["validation_metrics"]
            rows.append(f"| {name} | {what} | {epochs} ({r['epochs_run']} run) | {m['accuracy']:.4f} | "
                        f"{m['airplanes_caught_at_threshold']:.3f} | {m['birds_moved_at_threshold']:.3f} | "
                        f"{r['threshold']} | {r['parameters']:,} | {r['epoch_seconds_median']:.1f} |")
    shipped = HERE / "runs" / f"default-seed{args.seed}" / "result.json"
    if shipped.exists():  # the default recipe's full run (what `python3 train.py` wrote to models/)
        r = json.loads(shipped.read_text())
        m = r["validation_metrics"]
        rows.append(f"| default | the default recipe in full (the shipped model) | {r['recipe']['epochs']} "
                    f"({r['epochs_run']} run) | {m['accuracy']:.4f} | {m['airplanes_caught_at_threshold']:.3f} | "
                    f"{m['birds_moved_at_threshold']:.3f} | {r['threshold']} | {r['parameters']:,} | "
                    f"{r['epoch_seconds_median']:.1f} |")
    table = ["| step | what it adds | epochs | val accuracy | airplanes caught at <=1% birds | birds moved | "
             "threshold | exported parameters | median s/epoch |", "|---|---|---|---|---|---|---|---|---|", *rows]
    print("\n".join(table))
    (root / "table.md").parent.mkdir(parents=True, exist_ok=True)
    (root / "table.md").write_text("\n".join(table) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
