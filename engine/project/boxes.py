"""Box rows for the project store: validation, clipping, provenance, and row <-> Box conversion.

A box is refused (ProjectError) when a coordinate or score is not finite, its source is unknown, or it
is thinner than ``MIN_BOX_SIZE`` pixels after clipping to the image (when the image size is known).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from engine.errors import ProjectError
from engine.types import BOX_SOURCES, MIN_BOX_SIZE, Box

SUPPRESS_IOU = 0.7  # a new prediction this close to a kept or rejected box of its class is dropped
BOX_COLUMNS = "b.id, b.x1, b.y1, b.x2, b.y2, c.name, b.score, b.source"
_FIELDS = ("x1", "y1", "x2", "y2", "label", "score", "source")


def row_to_box(row: tuple) -> Box:
    box_id, x1, y1, x2, y2, label, score, source = row
    return Box(x1, y1, x2, y2, label, score, source, box_id)


def validate(box: Box, size: tuple[int, int] | None) -> Box:
    """The box as it will be stored (clipped to ``size`` = (width, height) when known), or ProjectError."""
    if not isinstance(box, Box):
        raise ProjectError(f"expected an engine.types.Box, got {type(box).__name__}")
    if not box.is_finite():
        raise ProjectError(f"box has a non-finite coordinate: {box.xyxy}")
    if box.score is not None and not (isinstance(box.score, (int, float)) and math.isfinite(box.score)):
        raise ProjectError(f"box score must be a finite number or None, got {box.score!r}")
    if box.source not in BOX_SOURCES:
        raise ProjectError(f"box source must be one of {', '.join(BOX_SOURCES)}, got {box.source!r}")
    if not isinstance(box.label, str) or not box.label.strip():
        raise ProjectError(f"box label must be a non-empty class name, got {box.label!r}")
    box = box.replace(x1=float(box.x1), y1=float(box.y1), x2=float(box.x2), y2=float(box.y2),
                      label=box.label.strip(), score=None if box.score is None else float(box.score))
    if size is not None:
        clipped = box.clipped(*size)
        box = clipped.replace(x1=float(clipped.x1), y1=float(clipped.y1), x2=float(clipped.x2),
                              y2=float(clipped.y2))
    if box.is_degenerate(MIN_BOX_SIZE):
        where = f" inside the {size[0]}x{size[1]} image" if size is not None else ""
        raise ProjectError(
            f"box {tuple(round(v, 2) for v in box.xyxy)} is smaller than {MIN_BOX_SIZE:g} pixel{where}"
        )
    return box


def merge_update(current: Box, change: Box | Mapping[str, Any]) -> Box:
    """``current`` updated by a whole Box or a mapping of fields, with provenance applied.

    Provenance: the source the caller asks for is kept. When the caller leaves the source as stored
    (a mapping without ``source``, or a Box carrying the stored source) and moves, resizes or relabels
    a ``predicted`` or ``accepted`` box, it becomes ``edited``: a box a person changed is never again
    an untouched prediction that ``set_predictions`` may replace.
    """
    if isinstance(change, Box):
        new = change.replace(id=current.id)
    elif isinstance(change, Mapping):
        unknown = set(change) - set(_FIELDS)
        if unknown:
            raise ProjectError(f"update_box: unknown field(s) {sorted(unknown)}; allowed: {', '.join(_FIELDS)}")
        new = current.replace(**change)
    else:
        raise ProjectError(f"update_box takes a Box or a mapping of changes, got {type(change).__name__}")
    touched = new.xyxy != current.xyxy or new.label != current.label
    if touched and new.source == current.source and current.source in ("predicted", "accepted"):
        new = new.replace(source="edited")
    return new


def iou(a: Box, b: Box) -> float:
    ix = min(a.x2, b.x2) - max(a.x1, b.x1)
    iy = min(a.y2, b.y2) - max(a.y1, b.y1)
    if ix <= 0 or iy <= 0:
        return 0.0
    inter = ix * iy
    return inter / (a.area + b.area - inter)


def same_box(a: Box, b: Box, tol: float = 1e-3) -> bool:
    """Same class and the same corners within ``tol`` pixels (import de-duplication)."""
    return a.label == b.label and all(abs(u - v) <= tol for u, v in zip(a.xyxy, b.xyxy))
