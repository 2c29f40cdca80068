"""Which boxes are labels, which images train, and the review step that turns predictions into labels.

One rule, used by the Train panel, ``retinalab train --format project``, export and the benchmarks:
a label is a confirmed box, ``source`` in ``CONFIRMED_SOURCES`` (manual, accepted or edited) and not
rejected. A pending prediction (``predicted``) is never a label. ``Project.snapshot()`` returns labels
only; ``Project.training_data(scope)`` picks the images a run may learn from: reviewed images (every
object on them is labelled, so what is not a label is background) and, with the ``confirmed`` scope,
also unreviewed images carrying labels. An image that still holds a pending prediction is left out
either way, because its pixels under that prediction are neither a label nor vouched background (a
reviewed image gets one when an older RetinaLab marked it reviewed without accepting, or when it is
detected again after review; pressing Space on it again settles it).

``Project.mark_reviewed(image, score_thresh=t)`` is what "what I see is right" means: in one
transaction the predictions at or above ``t`` (the ones on screen) become ``accepted``, the ones below
are deleted (they were never shown, so they are neither labels nor the user's explicit rejections; a
rejected box is kept as known background, these are not), and the status becomes ``reviewed``. It
returns a ``ReviewChange`` that ``undo_review`` reverses exactly (same box ids, scores, models, status).

Validation marks (images the user holds out for validation) are the ``images.validation`` column;
a project made before the column existed kept them in ``.retinalab/validation.json``, which is read
once on open and renamed to ``validation.json.imported``.
"""

from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from engine.errors import ProjectError
from engine.project import classes as class_ops
from engine.types import CONFIRMED_SOURCES, AnnotatedImage, Annotations, Box

log = logging.getLogger(__name__)

TrainingScope = Literal["reviewed", "confirmed"]
TRAINING_SCOPES: tuple[str, ...] = ("reviewed", "confirmed")
LEGACY_VALIDATION_FILE = Path(".retinalab") / "validation.json"

CONFIRMED_SOURCES_SQL = "(" + ", ".join(f"'{s}'" for s in sorted(CONFIRMED_SOURCES)) + ")"


def is_label(box: Box) -> bool:
    """True for a confirmed box (manual, accepted or edited); a pending prediction is not a label."""
    return box.is_label


@dataclass(frozen=True)
class RemovedPrediction:
    """A hidden prediction that ``mark_reviewed`` deleted, with what is needed to put it back."""

    box: Box  # id, geometry, label, score, source "predicted"
    model_id: int | None
    created_at: float


@dataclass(frozen=True)
class ReviewChange:
    """What ``Project.mark_reviewed`` changed on one image; ``Project.undo_review`` reverses it."""

    image_id: int
    old_status: str
    accepted_ids: tuple[int, ...]  # predictions at or above the threshold, now "accepted"
    removed: tuple[RemovedPrediction, ...]  # predictions below the threshold, deleted


class LabelsMixin:
    """``Project.training_data``, ``mark_reviewed`` / ``undo_review`` and validation marks."""

    _db: Any
    folder: Path

    # ----------------------------------------------------------------- training data
    def training_data(self, scope: TrainingScope = "reviewed") -> Annotations:
        """The images a training run may learn from, with their labels (root = the project folder).

        ``reviewed``: reviewed images; ``confirmed``: also unreviewed images that carry labels. Images
        holding a pending prediction are left out (with a warning saying how many and why). One
        consistent read of the store.
        """
        if scope not in TRAINING_SCOPES:
            raise ProjectError(f"unknown training data scope {scope!r} (reviewed or confirmed)")
        ann, reviewed, pending = self._labelled_snapshot(reviewed_only=scope == "reviewed")  # type: ignore[attr-defined]
        kept: list[AnnotatedImage] = []
        held_reviewed = held_other = 0
        for img in ann.images:
            if img.path in pending:
                if img.path in reviewed:
                    held_reviewed += 1
                elif img.boxes:
                    held_other += 1
                continue
            if img.path in reviewed or img.boxes:
                kept.append(img)
        warnings = list(ann.warnings)
        if held_reviewed:
            warnings.append(f"{held_reviewed} reviewed image(s) still hold pending predictions and are left "
                            "out; review them again (Space) to train on them")
        if held_other:
            warnings.append(f"{held_other} unreviewed image(s) with labels also hold pending predictions "
                            "and are left out")
        return Annotations(ann.root, ann.class_names, tuple(kept), tuple(warnings))

    # ----------------------------------------------------------------- review
    def mark_reviewed(self, image: Any, *, score_thresh: float) -> ReviewChange:
        """Accept the predictions scoring at least ``score_thresh``, delete the others, status reviewed.

        One transaction; returns the ``ReviewChange`` for ``undo_review``. A prediction without a score
        counts as 0.
        """
        self._require_writable()  # type: ignore[attr-defined]
        image_id = self._image_id(image)  # type: ignore[attr-defined]
        thresh = float(score_thresh)
        now = time.time()
        with self._db.write() as conn:
            row = conn.execute("SELECT status FROM images WHERE id = ?", (image_id,)).fetchone()
            if row is None:
                raise ProjectError(f"{self.folder}: no image with id {image_id}")
            pending = conn.execute(
                "SELECT b.id, b.x1, b.y1, b.x2, b.y2, c.name, b.score, b.model_id, b.created_at "
                "FROM boxes b JOIN classes c ON c.id = b.class_id "
                "WHERE b.image_id = ? AND b.source = 'predicted' AND b.rejected = 0 ORDER BY b.id",
                (image_id,)).fetchall()
            accepted = tuple(int(r[0]) for r in pending if (r[6] or 0.0) >= thresh)
            removed = tuple(
                RemovedPrediction(Box(r[1], r[2], r[3], r[4], r[5], r[6], "predicted", int(r[0])),
                                  None if r[7] is None else int(r[7]), float(r[8]))
                for r in pending if (r[6] or 0.0) < thresh)
            conn.executemany("UPDATE boxes SET source = 'accepted', updated_at = ? WHERE id = ?",
                             [(now, i) for i in accepted])
            conn.executemany("DELETE FROM boxes WHERE id = ?", [(r.box.id,) for r in removed])
            conn.execute("UPDATE images SET status = 'reviewed', updated_at = ? WHERE id = ?", (now, image_id))
        return ReviewChange(image_id, str(row[0]), accepted, removed)

    def undo_review(self, change: ReviewChange) -> None:
        """Put the image back exactly as ``mark_reviewed`` found it (one transaction)."""
        self._require_writable()  # type: ignore[attr-defined]
        now = time.time()
        with self._db.write() as conn:
            if conn.execute("SELECT 1 FROM images WHERE id = ?", (change.image_id,)).fetchone() is None:
                raise ProjectError(f"{self.folder}: no image with id {change.image_id}")
            conn.executemany(
                "UPDATE boxes SET source = 'predicted', updated_at = ? WHERE id = ? AND source = 'accepted'",
                [(now, i) for i in change.accepted_ids])
            for r in change.removed:
                b = r.box
                cid, _ = class_ops.ensure_class(conn, b.label)
                taken = conn.execute("SELECT 1 FROM boxes WHERE id = ?", (b.id,)).fetchone() is not None
                conn.execute(
                    "INSERT INTO boxes (id, image_id, class_id, x1, y1, x2, y2, source, score, model_id, "
                    "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'predicted', ?, ?, ?, ?)",
                    (None if taken else b.id, change.image_id, cid, b.x1, b.y1, b.x2, b.y2, b.score,
                     r.model_id, r.created_at, now))
            conn.execute("UPDATE images SET status = ?, updated_at = ? WHERE id = ?",
                         (change.old_status, now, change.image_id))

    # ----------------------------------------------------------------- validation marks
    def validation_marks(self) -> set[str]:
        """Paths (relative, forward slashes) of the images marked for validation."""
        rows = self._db.connect().execute("SELECT path FROM images WHERE validation = 1").fetchall()
        marks = {str(r[0]) for r in rows}
        if getattr(self, "read_only", False):  # a sidecar not yet imported still counts
            marks |= _read_sidecar(self.folder / LEGACY_VALIDATION_FILE)
        return marks

    def set_validation(self, image: Any, marked: bool) -> None:
        """Mark (or unmark) one image as a validation image."""
        self._update_image(image, "validation = ?", (int(bool(marked)),))  # type: ignore[attr-defined]

    def import_validation_sidecar(self) -> int:
        """Move ``.retinalab/validation.json`` marks into the store once; returns how many matched."""
        path = self.folder / LEGACY_VALIDATION_FILE
        if getattr(self, "read_only", False) or not path.is_file():
            return 0
        paths = _read_sidecar(path)
        with self._db.write() as conn:
            count = sum(conn.execute("UPDATE images SET validation = 1 WHERE path = ?", (p,)).rowcount
                        for p in sorted(paths))
        try:
            os.replace(path, path.with_name(path.name + ".imported"))
        except OSError as exc:  # the marks are in the store; a second import only sets them again
            log.warning("%s: could not rename after import (%s)", path, exc)
        log.info("%s: %d validation mark(s) moved into the project store", self.folder, count)
        return count


def _read_sidecar(path: Path) -> set[str]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return set()
    items = data.get("images", []) if isinstance(data, dict) else []
    return {str(p) for p in items if isinstance(p, str)}
