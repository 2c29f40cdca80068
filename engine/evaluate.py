"""COCO-style detection metrics (AP, AP50, AP75, per-class AP) computed with pycocotools.

``evaluate_detections`` scores plain ``Detection`` lists against ground-truth ``Annotations`` (the
boxes of both in original image pixels, matched by class name); ``evaluate`` runs a
``Detector`` over the dataset's images first. AP is COCO's: 101-point interpolated precision,
averaged over IoU thresholds 0.50:0.05:0.95, all areas, up to 100 detections per image. A class with
no ground-truth box has no AP (``None`` in ``per_class``) and does not enter the mean; a dataset with
no ground truth at all scores 0.0 rather than failing. pycocotools' console output is swallowed.
"""

from __future__ import annotations

import contextlib
import io
import logging
import math
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from engine.errors import DatasetError
from engine.types import Annotations, Detection

if TYPE_CHECKING:
    from engine.infer import Detector

logger = logging.getLogger(__name__)

Metrics = dict[str, Any]  # {"AP": float, "AP50": float, "AP75": float, "per_class": {name: float | None}}


def evaluate(detector: Detector, ann: Annotations, *, score_thresh: float = 0.05, batch_size: int = 4) -> Metrics:
    """Run ``detector`` on every image of ``ann`` (paths relative to ``ann.root``) and score it."""
    paths = [ann.root / img.path for img in ann.images]
    detections = detector.predict(paths, score_thresh=score_thresh, batch_size=batch_size)
    return evaluate_detections(ann, detections)


def evaluate_detections(ann: Annotations, detections: Sequence[Sequence[Detection]]) -> Metrics:
    """COCO AP of ``detections[i]`` (for ``ann.images[i]``) against the ground-truth boxes of ``ann``.

    Detections whose label is not one of ``ann.class_names`` count as nothing (they match no class).
    Returns ``{"AP", "AP50", "AP75"}`` as floats in [0, 1] and ``"per_class"``: class name -> AP
    (IoU 0.50:0.95) or None for a class without ground truth.
    """
    if len(detections) != len(ann.images):
        raise DatasetError(f"got detections for {len(detections)} images, the dataset has {len(ann.images)}")
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    cat_ids = {name: k + 1 for k, name in enumerate(ann.class_names)}
    gt_images, gt_anns, dt_anns = [], [], []
    for image_id, (img, dets) in enumerate(zip(ann.images, detections), start=1):
        gt_images.append({"id": image_id, "width": img.width, "height": img.height, "file_name": img.path})
        for box in img.boxes:
            if box.label not in cat_ids or box.is_degenerate(min_size=0.0):
                continue
            w, h = box.x2 - box.x1, box.y2 - box.y1
            gt_anns.append({
                "id": len(gt_anns) + 1, "image_id": image_id, "category_id": cat_ids[box.label],
                "bbox": [box.x1, box.y1, w, h], "area": w * h, "iscrowd": 0,
            })
        for det in dets:
            if det.label not in cat_ids:
                continue
            dt_anns.append([image_id, det.x1, det.y1, det.x2 - det.x1, det.y2 - det.y1, det.score, cat_ids[det.label]])
    per_class: dict[str, float | None] = {name: None for name in ann.class_names}
    gt_classes = {a["category_id"] for a in gt_anns}
    for name, cid in cat_ids.items():
        if cid in gt_classes:
            per_class[name] = 0.0
    if not gt_anns or not dt_anns:
        return {"AP": 0.0, "AP50": 0.0, "AP75": 0.0, "per_class": per_class}

    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = COCO()
        coco_gt.dataset = {
            "images": gt_images,
            "annotations": gt_anns,
            "categories": [{"id": cid, "name": name} for name, cid in cat_ids.items()],
        }
        coco_gt.createIndex()
        coco_dt = coco_gt.loadRes(np.asarray(dt_anns, dtype=np.float64))
        coco_eval = COCOeval(coco_gt, coco_dt, iouType="bbox")
        coco_eval.evaluate()
        coco_eval.accumulate()
        coco_eval.summarize()
    stats = coco_eval.stats
    # precision: [T IoUs, R recall points, K classes, A areas, M max-dets]; area "all", 100 dets
    precision = coco_eval.eval["precision"][:, :, :, 0, -1]
    for k, cid in enumerate(coco_eval.params.catIds):
        values = precision[:, :, k]
        values = values[values > -1]
        name = ann.class_names[cid - 1]
        if cid in gt_classes:
            per_class[name] = float(values.mean()) if values.size else 0.0
    return {"AP": _clean(stats[0]), "AP50": _clean(stats[1]), "AP75": _clean(stats[2]), "per_class": per_class}


def _clean(value: float) -> float:
    """pycocotools reports -1 when nothing could be scored; that is an AP of 0 for our purposes."""
    value = float(value)
    return 0.0 if value < 0 or math.isnan(value) else value


def format_metrics(metrics: Metrics) -> str:
    """A few human-readable lines: AP, AP50, AP75, then one line per class."""
    lines = [f"AP {metrics['AP']:.4f}  AP50 {metrics['AP50']:.4f}  AP75 {metrics['AP75']:.4f}"]
    for name, value in metrics.get("per_class", {}).items():
        lines.append(f"  {name:<24} {'n/a (no ground truth)' if value is None else f'{value:.4f}'}")
    return "\n".join(lines)
