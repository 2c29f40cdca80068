"""Where to look next: the model-vs-labels disagreement finder and the per-image uncertainty.

``find_disagreements`` (``finder``) compares an image's confirmed labels with a model's predictions
and returns scored findings of four kinds (missing, spurious, wrong class, loose box);
``image_uncertainty`` (``uncertainty``) is the number the review order sorts by; ``review_items``
(``dataset``) runs both over a whole dataset or project. Qt-free; torch only inside the detector.
"""

from __future__ import annotations

from engine.review.dataset import ReviewItem, items_from_annotations, items_from_project, review_items
from engine.review.finder import (
    CONFIRMED_SOURCES,
    FINDING_KINDS,
    FIXES,
    Finding,
    ReviewConfig,
    box_iou,
    confirmed,
    find_disagreements,
    rank_findings,
)
from engine.review.uncertainty import box_uncertainty, image_uncertainty

__all__ = [
    "CONFIRMED_SOURCES", "FINDING_KINDS", "FIXES", "Finding", "ReviewConfig", "ReviewItem", "box_iou",
    "box_uncertainty", "confirmed", "find_disagreements", "image_uncertainty", "items_from_annotations",
    "items_from_project", "rank_findings", "review_items",
]
