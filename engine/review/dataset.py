"""Run the disagreement finder over a whole dataset or project with a detector.

A ``ReviewItem`` is one image to judge: its confirmed labels, the predictions the user rejected, and
whether it is fully reviewed (only then is an unlabelled confident prediction a "missing" label).
``items_from_annotations`` makes them from a COCO / VOC / YOLO dataset (every image fully labelled);
``items_from_project`` from a labeling project (reviewed images, and unreviewed ones that already
hold confirmed boxes, without the "missing" check). ``review_items`` predicts and finds.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.review.finder import Finding, ReviewConfig, confirmed, find_disagreements, rank_findings
from engine.types import Annotations, Box, Detection

log = logging.getLogger(__name__)

PREDICT_SCORE_THRESH = 0.05


@dataclass(frozen=True)
class ReviewItem:
    """One image to judge; ``image`` is its name in the findings (relative path)."""

    image: str
    path: Path
    labels: tuple[Box, ...]
    rejected: tuple[Box, ...] = ()
    reviewed: bool = True
    image_id: int | None = None


def items_from_annotations(ann: Annotations) -> list[ReviewItem]:
    """Every image of a dataset, fully labelled (dataset boxes are all confirmed labels)."""
    return [ReviewItem(img.path, Path(ann.root) / img.path, tuple(confirmed(img.boxes))) for img in ann.images]


def items_from_project(project: Any) -> list[ReviewItem]:
    """Reviewed images, then unreviewed images holding confirmed boxes (``missing`` not checked there)."""
    items = []
    for record in project.images():
        if record.missing:
            continue
        labels = tuple(confirmed(project.boxes(record.id)))
        reviewed = record.status == "reviewed"
        if not (reviewed or labels):
            continue
        items.append(ReviewItem(record.path, project.folder / record.path, labels,
                                tuple(project.rejected_boxes(record.id)), reviewed, record.id))
    return items


PredictPaths = Callable[[Sequence[Path]], Iterable[Any]]  # -> objects with .detections, .error


def review_items(items: Sequence[ReviewItem], predict_paths: PredictPaths, *, config: ReviewConfig | None = None,
                 on_progress: Callable[[int, int], None] | None = None,
                 should_stop: Callable[[], bool] | None = None) -> tuple[list[Finding], list[str]]:
    """Predict every item's image and find disagreements; ``(ranked findings, skipped lines)``.

    ``predict_paths(paths)`` yields one result per path in order, each with ``detections`` and
    ``error`` (``engine.infer.Detector.predict_paths`` fits). Stops early when ``should_stop()``.
    """
    findings: list[Finding] = []
    skipped: list[str] = []
    done = 0
    for item, result in zip(items, predict_paths([it.path for it in items])):
        if should_stop is not None and should_stop():
            break
        done += 1
        if getattr(result, "error", None) is not None:
            skipped.append(f"{item.image}: {result.error}")
        else:
            findings += find_items(item, list(result.detections), config)
        if on_progress is not None:
            on_progress(done, len(items))
    return rank_findings(findings), skipped


def find_items(item: ReviewItem, detections: Sequence[Detection], config: ReviewConfig | None = None) -> list[Finding]:
    """``find_disagreements`` for one item."""
    return find_disagreements(item.labels, detections, image=item.image, image_id=item.image_id,
                              rejected=item.rejected, check_missing=item.reviewed, config=config)


def detector_paths(detector: Any, *, batch_size: int = 4) -> PredictPaths:
    """``predict_paths`` of an ``engine.infer.Detector`` at the finder's score floor."""
    def predict(paths: Sequence[Path]) -> Iterator[Any]:
        return detector.predict_paths(paths, score_thresh=PREDICT_SCORE_THRESH, batch_size=batch_size)

    return predict
