"""``retinalab eval --weights CKPT --data PATH --format F [--json OUT]``: COCO mAP of a checkpoint.

Prints AP, AP50, AP75 and per-class AP (pycocotools, ``engine.evaluate``); ``--json`` also writes
``{"AP", "AP50", "AP75", "per_class": {name: AP or null}}``. The dataset's classes are matched to the
checkpoint's by name; boxes of classes the model does not know count as misses.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from engine.cli import UsageError
from engine.fsutil import write_text_atomic


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--weights", required=True, metavar="CKPT", help="a RetinaLab checkpoint (best.pt)")
    parser.add_argument("--data", required=True, help="dataset folder or file (or a project folder)")
    parser.add_argument("--format", default="coco", choices=["coco", "voc", "yolo", "project"])
    parser.add_argument("--json", metavar="OUT", help="also write the metrics to this JSON file")
    parser.add_argument("--device", default="auto", choices=["auto", "cuda", "cpu"])
    parser.add_argument("--batch-size", type=int, default=4)


def run(args: argparse.Namespace) -> int:
    from engine.dataset import load_annotations
    from engine.errors import DatasetError
    from engine.evaluate import evaluate_detections, format_metrics

    if not Path(args.weights).is_file():
        raise UsageError(f"checkpoint not found: {args.weights}")
    ann = load_annotations(args.data, args.format)
    if not ann.images:
        raise DatasetError(f"no images in {args.data} (format {args.format})")
    detections, class_names = _predict(args, ann)
    # score against the union of classes so unknown-to-the-model classes count as misses
    names = tuple(ann.class_names) + tuple(n for n in class_names if n not in ann.class_names)
    metrics = evaluate_detections(ann.__class__(ann.root, names, ann.images, ann.warnings), detections)
    metrics["per_class"] = {n: v for n, v in metrics["per_class"].items() if n in ann.class_names}
    print(format_metrics(metrics))
    if args.json:
        try:
            write_text_atomic(args.json, json.dumps(metrics, indent=1))
        except OSError as exc:
            raise UsageError(f"cannot write {args.json}: {exc.strerror or exc}") from None
    return 0


def _predict(args: argparse.Namespace, ann):  # type: ignore[no-untyped-def]
    """Detections per image in original pixels, and the model's class names."""
    try:
        from engine.infer import Detector
    except ModuleNotFoundError:
        Detector = None  # noqa: N806 - the inference engine is not built yet: same model, same resize
    if Detector is not None:
        detector = Detector.from_checkpoint(args.weights, device=args.device)
        paths = [ann.root / img.path for img in ann.images]
        return detector.predict(paths, score_thresh=0.05, batch_size=args.batch_size), list(detector.class_names)
    from engine.checkpoint import load_checkpoint, model_from_checkpoint
    from engine.train import resolve_device
    from engine.train_loop import predict_dataset

    device = resolve_device(args.device)
    ckpt = load_checkpoint(args.weights)
    model = model_from_checkpoint(ckpt, device=device)
    model.eval()
    detections, _failed = predict_dataset(model, ann, ckpt.class_names, image_size=ckpt.image_size, device=device,
                                          batch_size=args.batch_size)
    return detections, list(ckpt.class_names)
