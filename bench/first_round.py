"""The first fine-tuning round a new user meets on the demo, with the Train panel's defaults.

Replays the journey of ``retinalab gui --demo`` without the window: a fresh demo project, the demo
model's Detect All (stored at score >= 0.05, as the app does), the first ``--reviewed`` images accepted
at the score slider's default and marked reviewed (``Project.mark_reviewed``, what Space does), then
one training run built exactly like the panel's Start (``Project.training_data``, its automatic
validation split, ``TrainOptions().to_config`` starting from the current model) with the options given
here. ``--labels truth`` replaces the accepted predictions by the ground truth, as a user who corrects
every mistake would. Prints, per setting: training time, the panel's "before → after" validation AP,
(wall and CPU seconds: on a shared machine the CPU seconds are what a free core would take) and
AP / AP50 of the old and new model on the demo images nobody reviewed (ground truth from
``annotations.json``), so one noisy validation image does not decide.

    python bench/first_round.py --image-size 512 320 --epochs 10 --threads 1
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reviewed", type=int, default=6, help="images accepted and marked reviewed")
    parser.add_argument("--image-size", type=int, nargs="+", default=[512])
    parser.add_argument("--epochs", type=int, nargs="+", default=[10])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--labels", choices=("accepted", "truth"), default="accepted")
    parser.add_argument("--score-thresh", type=float, default=0.3, help="the score slider's value")
    args = parser.parse_args()

    import torch

    from app.training.data_selection import write_coco_snapshot
    from app.training.options import TrainOptions
    from app.workers.model import DETECT_SCORE_THRESH
    from engine.demo import demo_model_path, ensure_demo_project
    from engine.evaluate import evaluate
    from engine.infer import Detector
    from engine.io import read_dataset
    from engine.project import Project
    from engine.train import fit
    from engine.train.data_check import split_train_val
    from engine.types import AnnotatedImage, Annotations

    torch.set_num_threads(args.threads)
    work = Path(tempfile.mkdtemp(prefix="retinalab-first-round-"))
    folder = ensure_demo_project(work / "demo")
    truth = read_dataset(folder / "annotations.json", "coco")
    truth_by_path = {img.path: img for img in truth.images}
    model = str(demo_model_path())
    detector = Detector.from_checkpoint(model, device="cpu")
    print(f"first round on the demo: {args.reviewed} images reviewed ({args.labels}), slider "
          f"{args.score_thresh}, {args.threads} thread(s), torch {torch.__version__}")
    with Project.open(folder) as project:
        records = project.images()
        t0 = time.perf_counter()
        for rec in records:
            (dets,) = detector.predict([str(project.image_path(rec))], score_thresh=DETECT_SCORE_THRESH)
            project.set_predictions(rec, dets)
        print(f"Detect All: {len(records)} images in {time.perf_counter() - t0:.1f} s")
        for rec in records[:args.reviewed]:
            if args.labels == "truth":
                for box in project.boxes(rec):
                    project.reject_box(box.id)
                for box in truth_by_path[rec.path].boxes:
                    project.add_box(rec, box.replace(source="manual", score=None))
            project.mark_reviewed(rec, score_thresh=args.score_thresh)
        data = project.training_data()
        unseen = Annotations(folder, truth.class_names, tuple(
            AnnotatedImage(r.path, truth_by_path[r.path].width, truth_by_path[r.path].height,
                           truth_by_path[r.path].boxes) for r in records[args.reviewed:]))
    options = TrainOptions()
    train, val = split_train_val(data, val_fraction=options.val_fraction, seed=options.seed)
    num_boxes = sum(len(i.boxes) for i in data.images)
    print(f"data: {len(train.images)} train / {len(val.images)} validation images, {num_boxes} labels; "
          f"{len(unseen.images)} unreviewed images scored against the ground truth")
    old_val, old_unseen = evaluate(detector, val), evaluate(detector, unseen)
    print(f"{'size':>5} {'epochs':>6} {'wall_s':>7} {'cpu_s':>7} {'val AP before→after':>22} {'val AP50':>14} "
          f"{'unseen AP before→after':>24} {'unseen AP50 before→after':>26}")
    for size in args.image_size:
        for epochs in args.epochs:
            out = work / f"run_{size}_{epochs}"
            options = TrainOptions(image_size=size, epochs=epochs, num_threads=args.threads, device="cpu")
            config = options.to_config(data=str(out / "data" / "train.json"), val=str(out / "data" / "val.json"),
                                       out=str(out), init_checkpoint=model)
            write_coco_snapshot(train, val, out)
            t0, c0 = time.perf_counter(), time.process_time()
            result = fit(dataclasses.replace(config), on_event=lambda e: None, should_stop=lambda: False)
            seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
            new = Detector.from_checkpoint(result.best_path, device="cpu")
            new_val, new_unseen = evaluate(new, val), evaluate(new, unseen)
            print(f"{size:>5} {epochs:>6} {seconds:>7.1f} {cpu:>7.1f} {old_val['AP']:>10.3f} → {new_val['AP']:<9.3f} "
                  f"{old_val['AP50']:>6.3f} → {new_val['AP50']:<5.3f} "
                  f"{old_unseen['AP']:>11.3f} → {new_unseen['AP']:<10.3f} "
                  f"{old_unseen['AP50']:>12.3f} → {new_unseen['AP50']:<10.3f}", flush=True)


if __name__ == "__main__":
    main()
