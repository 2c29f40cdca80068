"""Frozen records the project store returns besides the shared ``engine.types`` ones."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping


@dataclass(frozen=True)
class ClassInfo:
    """One class of a project: its name (the truth everywhere), display colour ``#rrggbb``, 0-based order."""

    name: str
    colour: str
    order: int


@dataclass(frozen=True)
class ModelRecord:
    """A checkpoint trained for (or used on) this project. ``created`` is Unix time in seconds."""

    id: int
    path: Path  # absolute; stored relative to the project folder when inside it
    created: float
    metrics: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ImportReport:
    """What ``Project.import_labels`` did; ``warnings`` are the reader's and the merge's, one line each."""

    images_matched: int
    images_unmatched: int
    boxes_added: int
    boxes_skipped: int  # overlapping a box of their class already in the project (IoU), or degenerate
    classes_added: tuple[str, ...]
    unmatched_paths: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class ExportReport:
    """What ``Project.export`` wrote."""

    dst: Path
    format: str
    num_images: int
    num_boxes: int  # labels written
    class_names: tuple[str, ...]
    warnings: tuple[str, ...] = ()
    num_predictions: int = 0  # predictions written with scores (only when asked)
