"""``retinalab review DATA --format F --weights CKPT [--json OUT] [--top N]``: likely label errors.

Runs the checkpoint over every image of a COCO / VOC / YOLO dataset (or the reviewed and labelled
images of a project, ``--format project``) and lists where its predictions disagree with the labels:
missing, spurious, wrong class, loose box (``engine.review``), highest score first. Prints the top
``N`` findings and a count per kind; ``--json`` writes them all as a list of objects (``kind``,
``score``, ``image``, ``class``, ``fix``, ``iou``, ``label``, ``prediction``). Unreadable images are
skipped and listed on stderr. Exit status 0 on success (with or without findings), 2 on bad usage or
input, 1 otherwise.

A model trained on these very images has learned their labels, mistakes included, and rarely
contradicts them: review with a model that did not train on them (a held-out split) when you can.
When the checkpoint's training images are known (``engine.review.trained_on``), every finding says
``"trained_on": true | false`` and the summary counts them; otherwise ``"trained_on": null``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

from engine.cli import UsageError
from engine.fsutil import write_text_atomic


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("data", metavar="DATA", help="dataset folder or file, or a project folder")
    parser.add_argument("--format", default="coco", choices=["coco", "voc", "yolo", "project"])
    parser.add_argument("--weights", required=True, metavar="CKPT", help="a RetinaLab checkpoint (.pt)")
    parser.add_argument("--json", metavar="OUT", help="write every finding as JSON to OUT ('-' for stdout)")
    parser.add_argument("--top", type=int, default=20, metavar="N", help="findings to print (default 20)")
    parser.add_argument("--confident", type=float, default=0.5, metavar="S",
                        help="score at which a prediction counts as the model's claim (default 0.5)")
    parser.add_argument("--device", default="auto", choices=["auto", "cuda", "cpu"])
    parser.add_argument("--batch-size", type=int, default=4, metavar="B")


def run(args: argparse.Namespace) -> int:
    from engine.review import ReviewConfig, items_from_annotations, items_from_project, review_items
    from engine.review.dataset import detector_paths
    from engine.review.trained_on import training_images

    if not 0.0 <= args.confident <= 1.0:
        raise UsageError(f"--confident must be between 0 and 1, got {args.confident}")
    if args.top < 0 or args.batch_size < 1:
        raise UsageError("--top must be >= 0 and --batch-size >= 1")
    if not Path(args.weights).is_file():
        raise UsageError(f"checkpoint not found: {args.weights}")
    items = _items(args, items_from_annotations, items_from_project)
    if not items:
        raise UsageError(f"nothing to review in {args.data}: no labelled images")
    from engine.infer import Detector

    detector = Detector.from_checkpoint(args.weights, device=args.device)
    findings, skipped = review_items(items, detector_paths(detector, batch_size=args.batch_size),
                                     config=ReviewConfig(confident_thresh=args.confident))
    trained = training_images(args.weights)
    on_trained = {it.image: (it.path.resolve() in trained) if trained is not None else None for it in items}
    for line in skipped:
        print(f"skipped {line}", file=sys.stderr)
    if len(skipped) == len(items):
        raise UsageError(f"none of the {len(items)} images could be read")
    to_stdout = args.json == "-"
    if not to_stdout:
        for f in findings[: args.top]:
            print(f"{f.score:.3f}  {f.kind:<11}  {f.class_name:<20}  {f.image}  ({f.fix})")
        counts = Counter(f.kind for f in findings)
        summary = ", ".join(f"{counts[k]} {k}" for k in ("missing", "spurious", "wrong_class", "loose_box"))
        print(f"{len(findings)} findings on {len(items) - len(skipped)} images: {summary}")
        if trained is not None:
            n = sum(bool(on_trained[f.image]) for f in findings)
            print(f"{n} of the findings are on images this model was trained on (weaker evidence: it learned those labels)")
    if args.json is not None:
        text = json.dumps([f.to_json() | {"trained_on": on_trained[f.image]} for f in findings], indent=1)
        if to_stdout:
            print(text)
        else:
            try:
                write_text_atomic(args.json, text + "\n")
            except OSError as exc:
                raise UsageError(f"cannot write {args.json}: {exc.strerror or exc}") from None
    return 0


def _items(args: argparse.Namespace, from_annotations, from_project):  # type: ignore[no-untyped-def]
    if args.format == "project":
        from engine.project import Project

        if not Path(args.data).is_dir():
            raise UsageError(f"project folder not found: {args.data}")
        with Project.open(args.data, read_only=True) as project:
            return from_project(project)
    from engine.dataset import load_annotations

    return from_annotations(load_annotations(args.data, args.format))
