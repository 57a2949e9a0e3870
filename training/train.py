#!/usr/bin/env python3
"""Train the birdwatch bird-vs-airplane classifier (a fully connected net) and export it to ONNX with its threshold.

  python3 train.py                      # the default recipe -> models/birds-vs-airplanes.onnx (+ .json card, .png)
  python3 train.py --recipe book        # the chapter, exactly: 3072-512-Tanh-2, SGD lr 1e-2, batch 64, 100 epochs
  python3 train.py --help               # every flag

Read top to bottom: the data, split three ways; the teacher; the student; the figures (thresholds chosen on the
selection split, everything shown measured on the report split); the model, its card and plots. The library is
birdwatch_training/, the recipes are recipes/*.json. See README.md in this folder for the figures.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

from birdwatch_training import card, checkpoint, data, export, loop, models, recipes, report, views
from birdwatch_training import teacher as teachers
from birdwatch_training.cli import HelpFormatter, UsageError, run_cli, yes_no

DEFAULT_OUT = data.REPO_ROOT / "models" / "birds-vs-airplanes.onnx"
RUNS = Path(__file__).resolve().parent / "runs"


def parse_args(argv=None) -> argparse.Namespace:
    base, teacher = recipes.base(), recipes.teacher()  # read now: cache_dir follows $BIRDWATCH_CACHE
    p = argparse.ArgumentParser(
        prog="train.py", formatter_class=HelpFormatter,
        description="Train the bird-vs-airplane fully connected classifier and export it to ONNX. Flags left unset "
                    "take their value from --recipe.")
    g = p.add_argument_group("data")
    g.add_argument("--data",
                   help="training data: an image-folder tree ROOT/airplane/*, ROOT/bird/* (any size; brought to "
                        "32x32 as config/preprocessing.json says), or 'cifar10:DIR' for torchvision CIFAR10 "
                        "(download=True into DIR, reduced to airplane 0 / bird 1). Unset: "
                        "../shared/data/cifar10-airplane-bird/train beside the repository where it exists, else "
                        "CIFAR-10 downloaded once into --cache-dir and decoded into the same form")
    g.add_argument("--cache-dir", default=base["cache_dir"],
                   help=f"where CIFAR-10 is downloaded and decoded when --data is unset and there is no "
                        f"../shared/data, and where decoded image tensors are kept (env {data.CACHE_ENV})")
    g.add_argument("--extra-data", action="append", default=[], metavar="DIR",
                   help="another ROOT/airplane, ROOT/bird tree (e.g. what `birdwatch export-corrections DIR` "
                        "writes) added to the data before the split; repeatable")
    g.add_argument("--other-data", default=base["other_data"],
                   help="CIFAR-10's eight other classes, ROOT/automobile/*, ROOT/cat/*, ... (for --teacher conv10, "
                        "--other-share, --aux10). auto: cifar10-other-classes/train beside the data's "
                        "cifar10-airplane-bird/train where it exists; none: never")
    g.add_argument("--val-fraction", type=float, default=base["val_fraction"],
                   help="share of each class held out as the REPORT split (figures only, nothing chosen on it)")
    g.add_argument("--selection-fraction", type=float, default=base["selection_fraction"],
                   help="share of each class held out as the SELECTION split (epoch, threshold, run, flags)")
    g.add_argument("--seed", type=int, default=base["seed"], help="seed for the split, initialisation and augmentation")
    g = p.add_argument_group("recipe and model")
    g.add_argument("--recipe", choices=sorted(recipes.NAMES), default="default",
                   help="book = the chapter exactly; plain = augmentation + AdamW + one-cycle; default = what ships")
    g.add_argument("--model", choices=sorted(models.MLP_PRESETS),
                   help="book = 3072-512-Tanh-2 (1,574,402 params), deep = 3072-1024-512-128-2 Tanh (3,737,474), "
                        "wide = the default recipe's student")
    g.add_argument("--hidden", help="override the hidden widths, comma separated, e.g. 2048,1024 (unset: the --model "
                                    "preset)")
    g.add_argument("--act", choices=sorted(models.ACTIVATIONS),
                   help="override the activation (unset: the --model preset)")
    g.add_argument("--norm", choices=["none", "bn"],
                   help="BatchNorm after each hidden Linear, folded at export (unset: the --model preset)")
    g.add_argument("--dropout", type=float,
                   help="dropout after each hidden activation (unset: the --model preset, none)")
    g.add_argument("--flip-ensemble", type=yes_no, metavar="yes|no",
                   help="export the ensemble of the net and its mirror image (logits averaged), folded exactly into "
                        "one MLP with twice the hidden units")
    g.add_argument("--init", help="start from these weights: an exported .onnx of the same architecture or a "
                                  "training/runs/*/model.pt; the model's stored mean/std are kept")
    g = p.add_argument_group("optimisation")
    g.add_argument("--epochs", type=int, help="epochs (upper bound when --patience stops early)")
    g.add_argument("--batch-size", type=int, help="minibatch size")
    g.add_argument("--optimizer", choices=["sgd", "adamw"], help="optimizer")
    g.add_argument("--lr", type=float, help="learning rate (peak rate for one-cycle)")
    g.add_argument("--momentum", type=float, help="SGD momentum (nesterov when > 0)")
    g.add_argument("--weight-decay", type=float, help="weight decay")
    g.add_argument("--schedule", choices=["constant", "onecycle", "cosine"], help="learning-rate schedule")
    g.add_argument("--label-smoothing", type=float, help="label smoothing of the hard-label loss")
    g.add_argument("--ema", type=float, help="decay of an exponential moving average of the weights (0 = off); "
                                             "the average is what is evaluated and exported")
    g.add_argument("--patience", type=int, help="stop after this many epochs without a better validation "
                                                "accuracy (0 = never stop early)")
    g.add_argument("--select", choices=["best", "last"], help="export the best-validation epoch or the last")
    g = p.add_argument_group("augmentation")
    g.add_argument("--augment", type=yes_no, metavar="yes|no", help="random crop (pad 4, reflect) + horizontal flip")
    g.add_argument("--jitter", type=float, help="colour jitter strength (brightness/contrast/saturation), 0 = off")
    g.add_argument("--mixup", type=float, help="probability that a batch is mixed (mixup or cutmix, half each)")
    g.add_argument("--camera-augment", type=float, default=base["camera_augment"], metavar="P",
                   help="camera-like degradations (rescale/aspect, blur, exposure, noise, JPEG), each with "
                        "probability P per image (training/camera.py); 0 = off")
    g = p.add_argument_group("distillation")
    g.add_argument("--teacher", choices=["none", "conv", "conv10"],
                   help="distil from a convnet teacher trained here on the training split (never exported): conv "
                        "on airplanes and birds, conv10 on all ten CIFAR-10 classes (read out as airplane vs bird)")
    g.add_argument("--other-share", type=float, default=base["other_share"],
                   help="share of each student epoch drawn from the other-class images (labelled by the teacher's "
                        "airplane-vs-bird logits); the airplanes and birds are all kept, so the epoch grows")
    g.add_argument("--aux10", type=float, default=base["aux10"],
                   help="weight of a ten-class auxiliary loss for the student (true CIFAR-10 labels; a ten-way "
                        "output layer of which only airplane and bird are exported); needs --other-share > 0")
    g.add_argument("--teacher-width", type=int, default=teacher["teacher_width"], help="teacher channels (first block)")
    g.add_argument("--teacher-epochs", type=int, default=teacher["teacher_epochs"], help="teacher epochs")
    g.add_argument("--teacher-lr", type=float, default=teacher["teacher_lr"], help="teacher peak SGD learning rate")
    g.add_argument("--teacher-batch-size", type=int, default=teacher["teacher_batch_size"], help="teacher batch size")
    g.add_argument("--distill-temp", type=float, default=teacher["distill_temp"],
                   help="distillation temperature: above 1 the student matches the teacher's logits, not just its "
                        "verdicts")
    g.add_argument("--teacher-cache", type=yes_no, default=base["teacher_cache"], metavar="yes|no",
                   help="reuse a teacher trained earlier with the same data, split and teacher flags "
                        "(training/runs/cache)")
    g = p.add_argument_group("threshold and output")
    g.add_argument("--bird-budget", type=float, default=base["bird_budget"],
                   help="the bird budget of the model's own threshold: largest share of the selection split's birds "
                        "with P(airplane) >= threshold (the curve has 0.5%%, 1%%, 2%%, 5%%, 10%%)")
    g.add_argument("--confidence", type=float, default=base["confidence"],
                   help="confidence of the one-sided Clopper-Pearson bound every threshold is chosen with: the "
                        "lowest threshold whose bound on the share of the selection split's birds moved is within "
                        "the budget")
    g.add_argument("--out", default=str(DEFAULT_OUT),
                   help="ONNX file to write; the card (.json) and the plot (.png) go beside it; the folder must exist")
    g.add_argument("--no-export", action="store_true", help="train and report only")
    g.add_argument("--from-run", metavar="DIR",
                   help="train nothing: export a finished run's model (DIR/model.pt, e.g. the row the selection "
                        "split picked), its figures and card made again with the current config/preprocessing.json")
    g.add_argument("--run-dir",
                   help="where the checkpoint, history and log go (unset: training/runs/<recipe>-seed<seed>)")
    g.add_argument("--threads", type=int, default=base["threads"], help="torch CPU threads")
    g.add_argument("--device", choices=["auto", "cpu", "cuda"], default=base["device"],
                   help="where to train: auto = cuda when torch sees a CUDA GPU, else cpu")
    g.add_argument("--quiet", action="store_true", help="no progress bar")
    book = recipes.recipe("book")
    for action in p._actions:  # flags the recipe fills: say what each recipe gives them
        if action.dest in book:
            action.default = argparse.SUPPRESS
            action.help += " (by recipe: " + ", ".join(f"{r} {_show(recipes.recipe(r)[action.dest])}"
                                                       for r in recipes.NAMES) + ")"
    args = p.parse_args(argv)
    for k, v in recipes.recipe(args.recipe).items():
        if getattr(args, k, None) is None:
            setattr(args, k, v)
    return args


def _show(v) -> str:
    return ("yes" if v else "no") if isinstance(v, bool) else str(v)


def main(argv=None) -> int:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    out = Path(args.out).resolve()
    if not args.no_export and not out.parent.is_dir():
        raise UsageError(f"output folder {out.parent} does not exist")
    run_dir = Path(args.run_dir) if args.run_dir else RUNS / f"{args.recipe}-seed{args.seed}"
    run_dir.mkdir(parents=True, exist_ok=True)
    log_lines = []

    def log(msg):
        print(msg, flush=True)
        log_lines.append(msg)

    recipes.check(args)
    t_start = time.time()
    device = loop.resolve_device(args.device, log)

    # ---- the data: decoded once, split three ways (training / selection chooses / report only measures)
    spec = data.load_preprocessing()
    view_names = views.views_of(spec)
    finished = checkpoint.load_finished_run(args.from_run, args) if args.from_run else None  # its recipe's splits
    sources, samples, train, selection, report_split = data.load_splits(args, spec)
    others = data.load_others(args, spec)
    for src in sources + ([others] if others is not None else []):
        log(f"data: {src.source}: {len(src)} images {src.counts()}, sha256 {src.digest[:16]}...")
    log(f"decoded in {time.time() - t_start:.1f}s; training {len(train)} {train.counts()}, selection "
        f"{len(selection)} {selection.counts()}, report {len(report_split)} {report_split.counts()}")

    # ---- the model: a finished run's, or the teacher (if any) and then the student trained here
    if finished:
        done = finished
        log(f"model: {done['plain'].describe()} from {args.from_run} (trained there; figures and card made again "
            f"here with views {'+'.join(view_names)})")
    else:
        done = train_student(args, train, selection, report_split, others, samples, view_names, device, log)
    plain, mean, std, history = done["plain"], done["mean"], done["std"], done["history"]
    norm = loop.Normalizer(mean, std)
    epoch_seconds = float(np.median([h["seconds"] for h in history]))

    # ---- the figures: thresholds on the selection split, everything shown on the report split
    curve, threshold, metrics, report_metrics = report.run_figures(
        plain, norm, selection, report_split, view_names, args.bird_budget, args.confidence, args.seed)
    torch.save({"config": plain.config, "state_dict": plain.state_dict(), "mean": mean, "std": std},
               run_dir / "model.pt")
    (run_dir / "history.json").write_text(json.dumps(history, indent=1))
    summary = report.summary_lines(metrics, report_metrics, curve)
    summary.append(f"median epoch {epoch_seconds:.2f}s, {len(history)} epochs on {done['device']}, total "
                   f"{time.time() - t_start:.0f}s")
    recipe = recipes.record(args)
    recipe.update(trained_architecture=done["trained"], device=done["device"], threads=args.threads)
    teacher_figures, teacher_history = done["teacher_figures"], done["teacher_history"]

    # ---- the model file, its card and plots
    if not args.no_export:
        created = dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")
        meta = card.metadata(plain=plain, mean=mean, std=std, threshold=threshold, confidence=args.confidence,
                             selection_metrics=metrics, report_metrics=report_metrics, curve=curve, recipe=recipe,
                             digest=samples.digest, created=created, spec=spec)
        export.export_onnx(plain, out, meta)
        onnx_check = export.checked(plain, out, norm(report_split.x[:256].float() / 255.0))
        ops = sorted(export.op_types(out))
        card.write(out, card.card(
            out=out, meta=meta, bird_budget=args.bird_budget, samples=samples, train=train, selection=selection,
            report_split=report_split, others=others, onnx_ops=ops,
            teacher={"kind": args.teacher, "figures": teacher_figures, "history": teacher_history},
            trained_parameters=done["n_params"], epoch_seconds=epoch_seconds, device=done["device"],
            history=history, onnx_check=onnx_check,
            torch_version=torch.__version__, training_seconds=round(done.get("seconds") or (time.time() - t_start))))
        report.plot_history(history, out.with_suffix(".png"),
                            f"{plain.describe()}, recipe {args.recipe}: selection acc {metrics['accuracy']:.4f}")
        report.plot_curve(curve, card.curve_plot(out), f"{plain.describe()}: report split "
                          f"({report_metrics['images']} images), accuracy {report_metrics['accuracy']:.3f}")
        summary.append(f"wrote {out} (+ .json card, .png plots); ONNX ops {ops}; "
                       + (f"torch-vs-ONNX max abs diff {onnx_check['max_abs_diff']:.2e} ({onnx_check['runtime']})"
                          if onnx_check["runtime"] else "no ONNX runtime here: torch-vs-ONNX check skipped"))
    (run_dir / "result.json").write_text(json.dumps({
        "recipe": recipe, "model": plain.describe(), "parameters": models.count_params(plain),
        "trained_parameters": done["n_params"], "validation_metrics": metrics, "report_metrics": report_metrics,
        "operating_curve": curve, "threshold": threshold, "epochs_run": len(history),
        "epoch_seconds_median": epoch_seconds, "teacher_figures": teacher_figures, "teacher_history": teacher_history,
        "total_seconds": time.time() - t_start}, indent=1) + "\n")
    log("---- summary ----")
    for s in summary:
        log(s)
    (run_dir / "log.txt").write_text("\n".join(log_lines) + "\n")
    return 0


def train_student(args, train, selection, report_split, others, samples, view_names, device, log) -> dict:
    """Teacher (if any), then the student; returns what the figures and the card need."""
    init = checkpoint.load_init(args.init) if args.init else None
    if init:
        mean, std = init["mean"], init["std"]
        log(f"mean {[round(m, 4) for m in mean]}  std {[round(s, 4) for s in std]} (kept from {args.init})")
    else:
        mean, std = data.mean_std(train.x)
        log(f"mean {[round(m, 4) for m in mean]}  std {[round(s, 4) for s in std]} (training split)")
    norm = loop.Normalizer(mean, std)

    teacher, teacher_history, teacher_figures = None, [], None
    if args.teacher in ("conv", "conv10"):
        teacher, teacher_history = teachers.get_teacher(args, train, selection, norm, samples.digest, log, others,
                                                        device)
        for p in teacher.parameters():
            p.requires_grad_(False)
        teacher_figures = {name: report.split_metrics(report.p_airplane(teacher, s.x, norm, view_names), s.y.numpy(),
                                                      name, resamples=500)
                           for name, s in (("selection", selection), ("report", report_split))}
        log(f"teacher ({args.teacher}), airplane vs bird: selection acc {teacher_figures['selection']['accuracy']:.4f}"
            f", report acc {teacher_figures['report']['accuracy']:.4f}, report caught at 1% (bootstrap mean) "
            f"{teacher_figures['report']['airplanes_caught_at_1pct_bootstrap']['mean']:.3f}")

    torch.manual_seed(args.seed)
    if init:
        model = init["model"].train()
        args.model, args.hidden = "from-init", ",".join(str(h) for h in model.config["hidden"])
        args.act, args.norm, args.dropout = model.config["act"], "none", 0.0
    else:
        model = models.build_model(args, classes=len(data.CIFAR10_CLASSES) if args.aux10 > 0 else 2)
    n_params = models.count_params(model)
    log(f"model: {model.describe()}: {n_params:,} parameters" + (f" (weights from {args.init})" if init else "")
        + (" (ten outputs while training; airplane and bird exported)" if args.aux10 > 0 else ""))
    trained = dict(model.config)  # the architecture as trained (BatchNorm, dropout), for the recipe record
    if args.model in models.CHAPTER_PARAMS and not (args.hidden or args.act or args.norm == "bn"):
        assert n_params == models.CHAPTER_PARAMS[args.model], "parameter count differs from the chapter's"

    logit_cache = teachers.LogitCache.of(teacher, args, train, others) if teacher is not None else None
    model, history = loop.fit(model, train, selection, norm, args, teacher=teacher, label="mlp", log=log,
                              quiet=args.quiet, others=others, device=device, logit_cache=logit_cache)
    plain = model.fold() if isinstance(model, models.MLP) else model
    if args.aux10 > 0:
        plain = models.keep_outputs(plain, data.TEN_CLASS_INDEX)
    if args.flip_ensemble and not plain.config.get("flip_ensemble"):
        plain = models.flip_ensemble(plain)
        log(f"flip ensemble folded into one MLP: {plain.describe()}, {models.count_params(plain):,} parameters")
    return {"plain": plain, "mean": mean, "std": std, "history": history, "n_params": n_params, "trained": trained,
            "teacher_history": teacher_history, "teacher_figures": teacher_figures, "device": device,
            "seconds": None}


def cli(argv=None) -> int:
    return run_cli(main, "train.py", argv)


if __name__ == "__main__":
    sys.exit(cli())
