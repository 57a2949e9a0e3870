#!/usr/bin/env python3
"""The ablation behind training/README.md (round 2): what each use of the data adds, on the three-way split (seed 0).
Every row is a `train.py --no-export` run into training/runs/r2/<row> (finished rows are not rerun), then scored
here from its model.pt with one view and with the mirror view added. Run it with no `"views"` in
config/preprocessing.json (each row is then trained and its epoch chosen on one view, as the shipped run was). The
selection-split columns are what choices are made on; the report-split columns are only measured. The rows are
data: recipes/ablation-r2.json.

  python3 ablation.py                 # run what is missing (hours on 2 CPU cores), print the Markdown tables
  python3 ablation.py --only conv-e8  # one row
  python3 ablation.py --table-only    # score and print the rows that exist
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import torch

from birdwatch_training import camera, checkpoint, data, loop, recipes, report

HERE = Path(__file__).resolve().parent
ROOT = HERE / "runs" / "r2"
ROWS = recipes.ablation_rows()  # (row, what it measures, train.py arguments): recipes/ablation-r2.json
VIEW_SETS = (["identity"], ["identity", "mirror"])


def score(run: Path, selection, report_split, view_names, camera_like) -> dict:
    saved = checkpoint.load_init(run if run.suffix == ".onnx" else run / "model.pt")
    model, norm = saved["model"].eval(), loop.Normalizer(saved["mean"], saved["std"])
    p_sel, p_rep, curve = report.model_curve(model, norm, selection, report_split, view_names, resamples=500)
    return {"selection": report.split_metrics(p_sel, selection.y.numpy(), "selection", resamples=500),
            "report": report.split_metrics(p_rep, report_split.y.numpy(), "report", resamples=500),
            "curve": curve,
            "camera_like": report.split_metrics(report.p_airplane(model, camera_like, norm, view_names),
                                                report_split.y.numpy(), "report, camera-like copy", resamples=500)}


def student_row(name: str, what: str, s: dict, r: dict) -> str:
    sel, rep, one = s["selection"], s["report"], report.point_at(s["curve"], 0.01)
    two = report.point_at(s["curve"], 0.02)
    return (f"| {name} | {what} | {sel['accuracy']:.3f} | {sel['airplanes_caught_at_1pct_bootstrap']['mean']:.3f} | "
            f"{rep['accuracy']:.3f} {rep['accuracy_interval']} | {rep['roc_auc']:.4f} | "
            f"{rep['airplanes_caught_at_1pct_bootstrap']['mean']:.3f} | {one['airplanes_caught']:.3f} / "
            f"{one['birds_moved']:.3f} | {two['airplanes_caught']:.3f} / {two['birds_moved']:.3f} | "
            f"{s['camera_like']['accuracy']:.3f} | "
            f"{s['camera_like']['airplanes_caught_at_1pct_bootstrap']['mean']:.3f} | "
            f"{r['epochs_run']} | {r['epoch_seconds_median']:.0f} |")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--only", action="append", help="run only these rows (repeatable)")
    p.add_argument("--table-only", action="store_true", help="run nothing, score the rows that exist")
    p.add_argument("--extra-run", action="append", default=[], metavar="DIR",
                   help="another train.py run folder to score as a row (e.g. the shipped model's)")
    p.add_argument("--model", action="append", default=[], metavar="ONNX",
                   help="an exported model to score as a row, e.g. the one installed before (its own splits may "
                        "differ: say so when reading its row)")
    p.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    for name, _, targs in ROWS:
        run_dir = ROOT / name
        if args.table_only or (args.only and name not in args.only) or (run_dir / "result.json").exists():
            continue
        cmd = [sys.executable, str(HERE / "train.py"), *targs, "--no-export", "--quiet", "--run-dir", str(run_dir),
               "--threads", str(args.threads)]
        print("$", " ".join(cmd), flush=True)
        subprocess.run(cmd, check=True)

    targs = recipes.settings("default", quiet=True)
    _, _, _, selection, report_split = data.load_splits(targs, data.load_preprocessing())
    camera_like = camera.degrade(report_split.x, seed=0)
    teachers, students = [], []
    runs = [(name, what, ROOT / name) for name, what, _ in ROWS] + [(Path(d).name, "", Path(d)) for d in args.extra_run]
    for model in args.model:
        for view_names in VIEW_SETS:
            sc = score(Path(model), selection, report_split, view_names, camera_like)
            students.append(student_row(Path(model).name + ("" if view_names == ["identity"] else " + mirror view"),
                                        "exported model", sc, {"epochs_run": 0, "epoch_seconds_median": 0}))
    for name, what, run_dir in runs:
        if not (run_dir / "result.json").exists():
            continue
        r = json.loads((run_dir / "result.json").read_text())
        tf = r.get("teacher_figures")
        if tf and r["recipe"]["teacher"] not in [t[0] for t in teachers]:
            teachers.append((r["recipe"]["teacher"], tf, r["recipe"]))
        for view_names in VIEW_SETS:
            label = name + ("" if view_names == ["identity"] else " + mirror view")
            students.append(student_row(label, what if view_names == ["identity"] else "the same, two views",
                                        score(run_dir, selection, report_split, view_names, camera_like), r))
    lines = ["| teacher (never exported) | selection accuracy | report accuracy | report ROC AUC | report caught at "
             "<=1% birds (bootstrap mean) |", "|---|---|---|---|---|"]
    for kind, tf, recipe in teachers:
        lines.append(f"| {kind}, width {recipe['teacher_width']}, {recipe['teacher_epochs']} epochs | "
                     f"{tf['selection']['accuracy']:.3f} | {tf['report']['accuracy']:.3f} "
                     f"{tf['report']['accuracy_interval']} | {tf['report']['roc_auc']:.4f} | "
                     f"{tf['report']['airplanes_caught_at_1pct_bootstrap']['mean']:.3f} |")
    lines += ["", "| row | what | selection acc | selection caught at 1% (bootstrap mean) | report acc [90%] | "
              "report ROC AUC | report caught at 1% (bootstrap mean) | report caught / birds moved, 1% threshold "
              "from selection | same at 2% | camera-like report copy: acc | its caught at 1% (bootstrap mean) | "
              "epochs | s/epoch |", "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
              *students]
    table = "\n".join(lines)
    print(table)
    ROOT.mkdir(parents=True, exist_ok=True)
    (ROOT / "table.md").write_text(table + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
