"""The loop's value, measured: a simulated annotator labels a dataset with the model's help, round by round.

A fixed, seeded ``--test-fraction`` of the images is held out and never labelled; the rest (the pool)
become a RetinaLab project: a temporary folder of symbolic links to the original images (nothing is
copied, nothing is written next to the dataset), opened with ``engine.project.Project``. The pool is
walked in the app's order in rounds of ``--round-size`` images: by name (``--order path``) or, with
``--order uncertainty``, as a person using "most uncertain first" would: before each round with a model,
Detect All stores predictions and each image's uncertainty on every image not yet reviewed
(``app.workers.model.store_uncertainty``, what the app's Detect All stores) and the round takes the
most uncertain unreviewed images (``Project.images(order="uncertainty")``). On each
image the current model's detections are stored the way the app stores them (``Detector.predict`` at
the app's detect threshold, ``Project.set_predictions``); the annotator sees those at or above the
app's default score slider and corrects them against the ground truth (``bench/loop_annotator.py``:
accept, adjust, relabel, reject, draw, each a store edit with its provenance), then marks the image
reviewed. After each round the model is fine-tuned on what the Train panel would train on (the
app's training-data selection and split, ``TrainOptions``' default recipe, starting from the current
model) by ``engine.train.fit`` within ``--round-budget-s`` seconds of training, and scored on the test
split. Like a person heeding the panel's before/after report, the annotator keeps the old model when
the new one is worse on the run's validation images.

Round 1 has no model that knows the dataset's classes, so its boxes are all drawn; its fine-tune starts
from ``--init``: the shipped compact demo model (``resources/models/retinanet_mobilenet_v3_shapes.pt``,
what a fresh app offers as "the current model"; its class head is rebuilt for the dataset's classes by
name, as ``retinalab train --init`` does) or ``scratch``. Epochs are the panel's default (10) or fewer
when the previous round's speed says they would not fit the budget; ``fit`` is stopped at the budget
in any case (`--seconds-per-image` fixes the speed that decides the epochs). On the CPU the budget counts the process's CPU seconds per thread (an idle core's wall
time: runs side by side on a loaded machine stay comparable); on CUDA, wall seconds.

    python bench/loop_sim.py --data ../shared/datasets/raccoon --format voc --round-size 20 \
        --round-budget-s 180 --image-size 320 --hard-negatives off --seed 0

The first line says what the run is; per round: images done, actions by kind, simulated seconds, test
AP / AP50; the last line ``effort_ratio=<x> final_AP50=<y> images=<n> rounds=<r>``, where the effort
ratio is the seconds to draw every box of the labelled images by hand over the seconds with the loop.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import os
import random
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any, Sequence

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from loop_annotator import ACTIONS, CostModel, apply_corrections, count_actions, plan_corrections  # noqa: E402

from engine.types import AnnotatedImage, Annotations  # noqa: E402

SHIPPED_MODEL = Path(__file__).resolve().parents[1] / "resources" / "models" / "retinanet_mobilenet_v3_shapes.pt"
HARD_NEGATIVE_WEIGHT_ON = 4.0


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", required=True, help="dataset folder (or COCO json)")
    p.add_argument("--format", required=True, choices=["coco", "voc", "yolo"])
    p.add_argument("--test-fraction", type=float, default=0.2)
    p.add_argument("--round-size", type=int, default=20)
    p.add_argument("--round-budget-s", type=float, default=180.0, help="training seconds per round (the fit only)")
    p.add_argument("--image-size", type=int, default=320)
    p.add_argument("--order", default="path", choices=["path", "uncertainty"],
                   help="path: the file list by name; uncertainty: before each round, Detect All on the images "
                        "not yet reviewed, then the next round's images most uncertain first (the app's order)")
    p.add_argument("--hard-negatives", default="off", choices=["on", "off"])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--init", default=str(SHIPPED_MODEL), help="checkpoint the first fine-tune starts from, or 'scratch'")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.add_argument("--seconds-per-image", type=float, default=None,
                   help="training seconds per image and epoch used to choose each round's epochs (default: "
                        "measured in the previous round); fixing it gives side-by-side runs the same epochs")
    p.add_argument("--max-rounds", type=int, default=0, help="stop after this many rounds (0: the whole pool)")
    p.add_argument("--keep", type=Path, help="keep the project and runs in this folder instead of a temporary one")
    args = p.parse_args(argv)
    if not 0 < args.test_fraction < 1 or args.round_size < 1 or args.round_budget_s <= 0:
        p.error("--test-fraction must be in (0, 1), --round-size >= 1 and --round-budget-s > 0")
    return args


def split_test(ann: Annotations, fraction: float, seed: int) -> tuple[list[AnnotatedImage], list[AnnotatedImage]]:
    """(test, pool): a seeded random ``fraction`` of the images (at least one) is the test split."""
    order = list(range(len(ann.images)))
    random.Random(seed).shuffle(order)
    n_test = max(1, round(fraction * len(order)))
    test = sorted(order[:n_test])
    pool = sorted(order[n_test:])
    return [ann.images[i] for i in test], [ann.images[i] for i in pool]


def link_pool(ann: Annotations, pool: Sequence[AnnotatedImage], folder: Path) -> None:
    """Symbolic links to the pool's images at their relative paths under ``folder`` (no copies)."""
    for img in pool:
        dst = folder / img.path
        dst.parent.mkdir(parents=True, exist_ok=True)
        os.symlink((Path(ann.root) / img.path).absolute(), dst)


class BudgetClock:
    """Seconds of training: CPU seconds per thread on the CPU (load-independent), wall on CUDA."""

    def __init__(self, cuda: bool, threads: int) -> None:
        self.cuda, self.threads = cuda, max(1, threads)

    def now(self) -> float:
        return time.perf_counter() if self.cuda else time.process_time() / self.threads


def annotate_round(project: Any, records: Sequence[Any], truth: dict[str, tuple], detector: Any,
                   *, detect_thresh: float, view_thresh: float) -> Counter[str]:
    """Predict, correct and mark reviewed every image of ``records``; returns the actions done."""
    counts: Counter[str] = Counter()
    for rec in records:
        if detector is not None:
            (dets,) = detector.predict([str(project.image_path(rec))], score_thresh=detect_thresh)
            project.set_predictions(rec, dets)
        shown = [b for b in project.boxes(rec)
                 if b.source == "predicted" and b.score is not None and b.score >= view_thresh]
        corrections = plan_corrections(shown, truth[rec.path])
        apply_corrections(project, rec, corrections)
        project.mark_reviewed(rec, score_thresh=view_thresh)  # Space: hidden predictions leave the image
        counts.update(count_actions(corrections))
        counts["boxes"] += len(truth[rec.path])
    return counts


def detect_all(project: Any, detector: Any, *, detect_thresh: float, view_thresh: float) -> int:
    """The app's Detect All on every image not yet reviewed: predictions and uncertainty stored."""
    from app.workers.model import store_uncertainty

    n = 0
    for rec in project.images():
        if rec.status == "reviewed":
            continue
        (dets,) = detector.predict([str(project.image_path(rec))], score_thresh=detect_thresh)
        project.set_predictions(rec, dets)
        store_uncertainty(project, rec.id, dets, view_thresh)
        n += 1
    return n


def next_round(project: Any, records: Sequence[Any], start: int, size: int, order: str, detector: Any, *,
               detect_thresh: float, view_thresh: float) -> list[Any]:
    """The images the person labels next: the next ``size`` by name, or the most uncertain unreviewed."""
    if order != "uncertainty" or detector is None:  # no model yet: nothing is uncertain, the list is by name
        if order != "uncertainty":
            return list(records[start:start + size])
        return [r for r in project.images(order="uncertainty") if r.status != "reviewed"][:size]
    detect_all(project, detector, detect_thresh=detect_thresh, view_thresh=view_thresh)
    return [r for r in project.images(order="uncertainty") if r.status != "reviewed"][:size]


def fine_tune(project: Any, run_dir: Path, *, init: str | None, args: argparse.Namespace, epochs: int,
              clock: BudgetClock) -> tuple[Any, Any, float]:
    """One Train-panel run on the project's reviewed images; returns (fit result, val split, seconds used),
    the result None when the panel would refuse to train (too few labels)."""
    from app.training.data_selection import write_coco_snapshot
    from app.training.options import TrainOptions
    from engine.train import fit
    from engine.train.data_check import check_training_data, split_train_val

    options = TrainOptions(epochs=epochs, image_size=args.image_size, num_threads=args.threads,
                           device=args.device, seed=args.seed,
                           start_from="current" if init else "scratch")
    ann = project.training_data(options.scope)  # what the Train panel trains on: labels of reviewed images
    train, val = split_train_val(ann, val_fraction=options.val_fraction, seed=options.seed)
    check = check_training_data(train, val)
    if not check.ok:  # the panel refuses to start; the person labels the next round first
        return None, val, 0.0
    train_json, val_json = write_coco_snapshot(train, val, run_dir)
    config = options.to_config(data=str(train_json), val=str(val_json), out=str(run_dir), init_checkpoint=init)
    if args.hard_negatives == "on":
        config = dataclasses.replace(config, hard_negative_weight=HARD_NEGATIVE_WEIGHT_ON)
    start = clock.now()
    result = fit(config, should_stop=lambda: clock.now() - start > args.round_budget_s)
    return result, val, clock.now() - start


def _knows_classes(path: str, class_names: Sequence[str]) -> bool:
    from engine.checkpoint import load_checkpoint

    return bool(set(load_checkpoint(path).class_names) & set(class_names))


def evaluate_ckpt(path: str | None, ann: Annotations, device: str) -> dict[str, float]:
    from engine.evaluate import evaluate
    from engine.infer import Detector

    if path is None:
        return {"AP": 0.0, "AP50": 0.0}
    return dict(evaluate(Detector.from_checkpoint(path, device=device), ann))


def run(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    import torch

    from app.document import DEFAULT_SCORE_THRESH
    from app.workers.model import DETECT_SCORE_THRESH
    from engine.infer import Detector
    from engine.io import read_dataset
    from engine.project import Project

    torch.set_num_threads(args.threads)
    cuda = args.device == "cuda" or (args.device == "auto" and torch.cuda.is_available())
    clock = BudgetClock(cuda, args.threads)
    ann = read_dataset(args.data, args.format)
    test_images, pool = split_test(ann, args.test_fraction, args.seed)
    test = Annotations(ann.root, ann.class_names, tuple(test_images))
    truth = {img.path: img.boxes for img in pool}
    folder = work / "project"
    folder.mkdir(parents=True)
    link_pool(ann, pool, folder)
    costs = CostModel()
    init = None if args.init == "scratch" else args.init
    print(f"loop_sim: {args.data} ({args.format}, classes {', '.join(ann.class_names)}): {len(pool)} pool / "
          f"{len(test_images)} test images (seed {args.seed}), rounds of {args.round_size}, order {args.order}, "
          f"fit budget {args.round_budget_s:g} s per round ({'wall, CUDA' if cuda else 'CPU s per thread'}), "
          f"image size {args.image_size}, {args.threads} thread(s), hard negatives {args.hard_negatives}, "
          f"first round's model {'scratch' if init is None else Path(init).name}; "
          f"proposals shown at score >= {DEFAULT_SCORE_THRESH:g}; costs: draw {costs.draw_s:g} s, "
          f"verify {costs.verify_s:g} s, adjust +{costs.adjust_extra_s:g}, relabel +{costs.relabel_extra_s:g}, "
          f"reject +{costs.reject_extra_s:g}", flush=True)
    print("round images " + " ".join(f"{a:>7s}" for a in ACTIONS)
          + "  loop_s manual_s  ratio  epochs  fit_s  kept   test_AP test_AP50", flush=True)
    with Project.open(folder) as project:
        for name in ann.class_names:  # the dataset's class order, as an import would set it
            if name not in project.class_names():
                project.add_class(name)
        records = project.images(order="path")
        total: Counter[str] = Counter()
        current = init if init and _knows_classes(init, ann.class_names) else None  # proposes boxes
        rate: float | None = None  # seconds of training per image-epoch, measured
        metrics: dict[str, float] = {"AP": 0.0, "AP50": 0.0}
        rounds = 0
        for start in range(0, len(records), args.round_size):
            if args.max_rounds and rounds >= args.max_rounds:
                break
            rounds += 1
            detector = Detector.from_checkpoint(current, device=args.device) if current else None
            batch = next_round(project, records, start, args.round_size, args.order, detector,
                               detect_thresh=DETECT_SCORE_THRESH, view_thresh=DEFAULT_SCORE_THRESH)
            counts = annotate_round(project, batch, truth, detector,
                                    detect_thresh=DETECT_SCORE_THRESH, view_thresh=DEFAULT_SCORE_THRESH)
            total.update(counts)
            done = min(start + args.round_size, len(records))
            n_train = round(done * 0.8)
            if args.seconds_per_image:
                rate = args.seconds_per_image
            # the panel's 10 epochs, or as many as 90 % of the budget holds (fit is stopped at 100 % anyway)
            epochs = 10 if rate is None else max(1, min(10, int(0.9 * args.round_budget_s / (rate * max(1, n_train)))))
            result, val, used = fine_tune(project, work / f"run{rounds}", init=current or init, args=args,
                                          epochs=epochs, clock=clock)
            if result is None:
                kept, new = "none", None
            elif result.epochs_completed and not args.seconds_per_image:
                rate = used / (result.epochs_completed * max(1, n_train))
            if result is not None:
                new, kept = result.best_path or result.last_path, "new"
            if current is not None and new is not None:
                before = evaluate_ckpt(current, val, args.device)["AP"]
                after = result.metrics["AP"] if "AP" in result.metrics else evaluate_ckpt(new, val, args.device)["AP"]
                if after < before:
                    kept, new = "old", current
            current = new or current
            if new is not None or rounds == 1:
                metrics = evaluate_ckpt(current, test, args.device)
            loop_s, manual_s = costs.seconds(total), costs.manual_seconds(total["boxes"])
            print(f"{rounds:5d} {done:6d} " + " ".join(f"{counts[a]:7d}" for a in ACTIONS)
                  + f" {costs.seconds(counts):7.0f} {costs.manual_seconds(counts['boxes']):8.0f}"
                  + f" {manual_s / max(loop_s, 1e-9):6.2f} {result.epochs_completed if result else 0:3d}/{epochs:<3d}"
                  + f" {used:6.0f}  {kept:4s} {metrics['AP']:8.3f} {metrics['AP50']:9.3f}", flush=True)
    loop_s, manual_s = costs.seconds(total), costs.manual_seconds(total["boxes"])
    ratio = manual_s / loop_s if loop_s > 0 else math.inf
    print("total " + " ".join(f"{a}={total[a]}" for a in ACTIONS)
          + f" boxes={total['boxes']} loop_s={loop_s:.0f} manual_s={manual_s:.0f}", flush=True)
    images = min(len(records), rounds * args.round_size)
    print(f"effort_ratio={ratio:.2f} final_AP50={metrics['AP50']:.3f} images={images} rounds={rounds}", flush=True)
    return {"effort_ratio": ratio, "final_AP50": metrics["AP50"], "images": images, "rounds": rounds,
            "actions": {key: total[key] for key in (*ACTIONS, "boxes")}}


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    if args.keep is not None:
        args.keep.mkdir(parents=True, exist_ok=True)
        return run(args, Path(tempfile.mkdtemp(prefix="loop_sim-", dir=args.keep)))
    work = Path(tempfile.mkdtemp(prefix="loop_sim-"))
    try:
        return run(args, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
