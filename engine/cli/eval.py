"""``retinalab eval --weights CKPT --data PATH --format F [--json OUT]``: COCO mAP of a checkpoint.

Prints AP, AP50, AP75 and per-class AP (pycocotools, ``engine.evaluate``); ``--json`` also writes
``{"AP", "AP50", "AP75", "per_class": {name: AP or null}}``. The dataset's classes are matched to the
checkpoint's by name; boxes of classes the model does not know count as misses (with a warning, as
for a dataset without ground truth). Unreadable images are named on stderr and left out of the score.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import sys
from pathlib import Path

from engine.cli import UsageError
from engine.fsutil import write_text_atomic
from engine.types import Annotations


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--weights", required=True, metavar="CKPT",
                        help="a RetinaLab checkpoint (best.pt) or ONNX export (.onnx)")
    parser.add_argument("--data", required=True, help="dataset folder or file (or a project folder)")
    parser.add_argument("--format", default="coco", choices=["coco", "voc", "yolo", "project"])
    parser.add_argument("--json", metavar="OUT", help="also write the metrics to this JSON file")
    parser.add_argument("--device", default="auto", choices=["auto", "cuda", "cpu"])
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--backend", default="auto", choices=["auto", "torch", "onnxruntime"],
                        help="what runs the network: auto (default: ONNX Runtime on the CPU), torch, onnxruntime")


def run(args: argparse.Namespace) -> int:
    from engine.dataset import load_annotations
    from engine.errors import DatasetError
    from engine.evaluate import evaluate_detections, format_metrics

    if not Path(args.weights).is_file():
        raise UsageError(f"checkpoint not found: {args.weights}")
    if args.batch_size < 1:
        raise UsageError(f"--batch-size must be at least 1, got {args.batch_size}")
    ann = load_annotations(args.data, args.format)
    if not ann.images:
        raise DatasetError(f"no images in {args.data} (format {args.format})")
    ann, detections, class_names = _predict(args, ann)
    if not ann.images:
        raise DatasetError(f"none of the images in {args.data} could be read")
    for line in _class_warnings(ann, class_names):
        print(f"warning: {line}", file=sys.stderr)
    # score against the union of classes so unknown-to-the-model classes count as misses
    names = tuple(ann.class_names) + tuple(n for n in class_names if n not in ann.class_names)
    metrics = evaluate_detections(dataclasses.replace(ann, class_names=names), detections)
    metrics["per_class"] = {n: v for n, v in metrics["per_class"].items() if n in ann.class_names}
    print(format_metrics(metrics))
    if args.json:
        try:
            write_text_atomic(args.json, json.dumps(metrics, indent=1))
        except OSError as exc:
            raise UsageError(f"cannot write {args.json}: {exc.strerror or exc}") from None
    return 0


def _predict(args: argparse.Namespace, ann: Annotations) -> tuple[Annotations, list, list[str]]:
    """The readable images of ``ann`` (unreadable ones named on stderr and left out of the score, as
    ``detect`` and ``train`` skip them), their detections in original pixels, and the model's classes."""
    from engine.infer import Detector

    detector = Detector.from_checkpoint(args.weights, device=args.device, backend=args.backend)
    logging.getLogger(__name__).debug("running %s on %s with %s", detector.arch, detector.device, detector.backend_name)
    paths = [ann.root / img.path for img in ann.images]
    kept, detections = [], []
    for img, result in zip(ann.images, detector.predict_paths(paths, score_thresh=0.05, batch_size=args.batch_size)):
        if result.error is not None:
            print(f"skipped {result.path}: {result.error}", file=sys.stderr)
            continue
        kept.append(img)
        detections.append(list(result.detections))
    if len(kept) < len(ann.images):
        print(f"warning: {len(ann.images) - len(kept)} of {len(ann.images)} images could not be read and are "
              "not scored", file=sys.stderr)
    return dataclasses.replace(ann, images=tuple(kept)), detections, list(detector.class_names)


def _class_warnings(ann: Annotations, model_classes: list[str]) -> list[str]:
    """Why an AP would be 0.0 for a reason other than the model: no ground truth, or classes that differ."""
    warnings = []
    with_boxes = {b.label for img in ann.images for b in img.boxes}
    if not with_boxes:
        warnings.append("the dataset has no ground-truth boxes: AP is 0 by definition and says nothing "
                        "about the model")
        return warnings
    unknown = sorted(with_boxes - set(model_classes))
    if unknown and len(unknown) == len(with_boxes):
        warnings.append(f"none of the dataset's classes ({_few(unknown)}) is one of the model's "
                        f"({_few(model_classes)}): every box counts as a miss and AP is 0")
    elif unknown:
        warnings.append(f"{len(unknown)} of the dataset's classes are unknown to the model ({_few(unknown)}); "
                        "their boxes count as misses")
    return warnings


def _few(names: list[str], limit: int = 5) -> str:
    shown = ", ".join(repr(n) for n in names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")
