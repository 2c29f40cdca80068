"""The model of the current image: its boxes, the selection, the classes and the undo stack.

Napari style: the ``Document`` owns this state and announces every change through signals; views (the
canvas, the box list, the file list) subscribe and never change state themselves except through the
public edit methods. Every edit is one ``QUndoCommand`` (see ``app.commands``) that writes through to
the project store in one small synchronous transaction before the change is shown; a failed write
emits ``save_failed`` and leaves memory as it was. Besides the coarse ``boxes_changed`` the document
emits ``boxes_added`` / ``boxes_removed`` / ``boxes_updated`` with box ids so that a view of 5,000
boxes can update only the items that changed. Coordinates are absolute pixels of the upright image
(``engine.types.Box``); Qt geometry types never enter this module. No torch, no disk reads of images.
"""

from __future__ import annotations

import dataclasses
import logging
import zlib
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoStack

from app import commands, review_step
from engine.types import Box, Detection, ImageRecord

if TYPE_CHECKING:
    import numpy as np

log = logging.getLogger(__name__)

MIN_BOX_SIZE = 2.0  # pixels; smaller boxes are refused (a click is not a box)
DEFAULT_SCORE_THRESH = 0.3
DEFAULT_LABEL = "object"  # the class created when a box is drawn in a project without classes
FALLBACK_PALETTE = ("#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#46f0f0", "#f032e6")


def edited_source(box: Box) -> str:
    """The provenance of ``box`` after a person moved, resized or relabelled it."""
    return "manual" if box.source == "manual" else "edited"


class Document(QObject):
    """The current image of a project and its boxes; see the module docstring and CONTRACTS.md."""

    image_changed = Signal()
    boxes_changed = Signal()
    boxes_added = Signal(list)  # [box_id]; emitted before boxes_changed
    boxes_removed = Signal(list)  # [box_id]
    boxes_updated = Signal(list)  # [box_id] whose geometry, label, source or score changed
    selection_changed = Signal()
    classes_changed = Signal()
    current_label_changed = Signal(str)
    score_thresh_changed = Signal(float)
    status_changed = Signal(int, str)
    review_undone = Signal(int)  # image id: a review of an image no longer shown was undone; connect
    # it queued (showing an image clears the undo stack, which must not happen inside that undo)
    saved = Signal(str)
    save_failed = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.undo_stack = QUndoStack(self)
        self.undo_stack.setUndoLimit(0)  # unlimited
        self.project: Any = None
        self.record: ImageRecord | None = None
        self.pixels: np.ndarray | None = None
        self.error: str | None = None
        self.score_thresh: float = DEFAULT_SCORE_THRESH
        self._boxes: dict[int, Box] = {}
        self._selected: list[int] = []
        self._classes: dict[str, str] = {}  # name -> colour, in display order
        self._current_label: str | None = None
        self._next_memory_id = 1  # ids for boxes when no project is open

    # ---- project and image ----------------------------------------------------------------
    def set_project(self, project: Any) -> None:
        """Make ``project`` (an ``engine.project.Project`` or None) current; clears the image."""
        self.project = project
        self._current_label = None
        self._reload_classes()
        self.set_image(None, None, [])

    def set_image(self, record: ImageRecord | None, pixels: np.ndarray | None,
                  boxes: Sequence[Box], error: str | None = None) -> None:
        """Show ``record`` with its decoded ``pixels`` (H, W, 3) uint8 RGB and stored ``boxes``.

        ``error`` (with ``pixels`` None) says why the image is unreadable; the canvas shows it.
        The undo stack is per image: it is cleared here, except that a review just made on the image
        being left stays undoable (Space reviews and moves on; see ``app.review_step``).
        """
        carried = review_step.carry(self.undo_stack, record.id if record is not None else None)
        self.undo_stack.clear()
        self.record = record
        self.pixels = pixels
        self.error = error
        self._boxes = {int(b.id): b for b in boxes if b.id is not None}
        self._selected = []
        if carried is not None:
            self.undo_stack.push(carried)  # already applied in the store: pushing changes nothing
        self.image_changed.emit()
        self.boxes_changed.emit()
        self.selection_changed.emit()

    def image_size(self) -> tuple[int, int] | None:
        """(width, height) of the current image in pixels, or None when unknown."""
        if self.pixels is not None:
            return int(self.pixels.shape[1]), int(self.pixels.shape[0])
        if self.record is not None and self.record.width and self.record.height:
            return int(self.record.width), int(self.record.height)
        return None

    # ---- reading boxes ----------------------------------------------------------------------
    def boxes(self) -> list[Box]:
        return list(self._boxes.values())

    def box(self, box_id: int) -> Box:
        return self._boxes[box_id]

    def has_box(self, box_id: int) -> bool:
        return box_id in self._boxes

    def is_visible(self, box: Box) -> bool:
        """False for a prediction whose score is below ``score_thresh``."""
        return not (box.source == "predicted" and (box.score or 0.0) < self.score_thresh)

    def visible_boxes(self) -> list[Box]:
        return [b for b in self._boxes.values() if self.is_visible(b)]

    def set_score_thresh(self, t: float) -> None:
        """Hide predictions scoring below ``t`` (0..1); hidden boxes leave the selection."""
        t = float(min(max(t, 0.0), 1.0))
        if t == self.score_thresh:
            return
        self.score_thresh = t
        self.score_thresh_changed.emit(t)
        self._prune_selection()

    # ---- selection --------------------------------------------------------------------------
    def selected_ids(self) -> list[int]:
        return list(self._selected)

    def select(self, ids: Iterable[int], *, additive: bool = False) -> None:
        """Select visible boxes ``ids``; ``additive`` keeps the current selection too."""
        wanted = [i for i in ids if i in self._boxes and self.is_visible(self._boxes[i])]
        new = list(self._selected) if additive else []
        new += [i for i in wanted if i not in new]
        if new != self._selected:
            self._selected = new
            self.selection_changed.emit()

    def _prune_selection(self) -> None:
        kept = [i for i in self._selected if i in self._boxes and self.is_visible(self._boxes[i])]
        if kept != self._selected:
            self._selected = kept
            self.selection_changed.emit()

    # ---- classes ----------------------------------------------------------------------------
    def class_names(self) -> list[str]:
        return list(self._classes)

    def class_colour(self, label: str) -> str:
        """The class's colour ``#rrggbb``; a stable palette colour for a name not in the project."""
        colour = self._classes.get(label)
        if colour is None:
            colour = FALLBACK_PALETTE[zlib.crc32(label.encode()) % len(FALLBACK_PALETTE)]
        return colour

    def current_label(self) -> str | None:
        """The label new boxes get: the last one used, else the first class, else None."""
        if self._current_label in self._classes:
            return self._current_label
        return next(iter(self._classes), None)

    def set_current_label(self, label: str) -> None:
        if label not in self._classes:
            self.add_class(label)
        if label in self._classes and label != self._current_label:
            self._current_label = label
            self.current_label_changed.emit(label)

    def label_for_new_box(self) -> str:
        """``current_label()``, creating the class ``"object"`` when the project has none."""
        label = self.current_label()
        if label is None:
            self.add_class(DEFAULT_LABEL)
            label = DEFAULT_LABEL
        return label

    def add_class(self, name: str, colour: str | None = None) -> None:
        if name in self._classes:
            return
        if self.project is not None:
            if not self._write(lambda: self.project.add_class(name, colour)):
                return
        else:
            self._classes[name] = colour or FALLBACK_PALETTE[len(self._classes) % len(FALLBACK_PALETTE)]
        self._reload_classes()

    def rename_class(self, old: str, new: str) -> None:
        """Rename a class everywhere (one undoable command; boxes of the current image follow)."""
        if old in self._classes and new and new not in self._classes:
            self.undo_stack.push(commands.RenameClassCommand(self, old, new))

    def set_class_colour(self, name: str, colour: str) -> None:
        if self.project is not None:
            if not self._write(lambda: self.project.set_class_colour(name, colour)):
                return
        elif name in self._classes:
            self._classes[name] = colour
        self._reload_classes()
        self.boxes_updated.emit([i for i, b in self._boxes.items() if b.label == name])
        self.boxes_changed.emit()

    def reorder_classes(self, names: Sequence[str]) -> None:
        if self.project is not None:
            if not self._write(lambda: self.project.reorder_classes(list(names))):
                return
        else:
            self._classes = {n: self._classes[n] for n in names if n in self._classes} | self._classes
        self._reload_classes()

    def reload_from_store(self, *, boxes: bool = True) -> None:
        """Re-read the classes (and with ``boxes`` the current image's boxes, clearing the undo stack,
        whose commands refer to the boxes as they were) after a change made to the store itself: a
        class deleted or merged, Detect All adding classes."""
        self._reload_classes()
        if boxes and self.project is not None and self.record is not None:
            self.set_image(self.record, self.pixels, self.project.boxes(self.record), self.error)

    def _reload_classes(self) -> None:
        if self.project is not None:
            self._classes = {c.name: c.colour for c in self.project.classes()}
        self.classes_changed.emit()

    # ---- edits: each one undoable command ------------------------------------------------------
    def normalized(self, x1: float, y1: float, x2: float, y2: float) -> tuple[float, ...] | None:
        """Corners ordered and clipped to the image; None when the result is under 2 px a side."""
        x1, x2 = sorted((float(x1), float(x2)))
        y1, y2 = sorted((float(y1), float(y2)))
        size = self.image_size()
        if size is not None:
            w, h = size
            x1, x2 = min(max(x1, 0.0), w), min(max(x2, 0.0), w)
            y1, y2 = min(max(y1, 0.0), h), min(max(y2, 0.0), h)
        if x2 - x1 < MIN_BOX_SIZE or y2 - y1 < MIN_BOX_SIZE:
            return None
        return x1, y1, x2, y2

    def add_box(self, box: Box) -> int | None:
        """Add ``box`` (clipped to the image); its id, or None when refused (< 2 px) or not saved."""
        corners = self.normalized(*box.xyxy)
        if self.record is None or corners is None:
            return None
        label = box.label or self.label_for_new_box()
        if label not in self._classes:
            self.add_class(label)
        new = box.replace(x1=corners[0], y1=corners[1], x2=corners[2], y2=corners[3], label=label,
                          id=None)
        cmd = commands.AddBoxesCommand(self, [new], "Add box")
        outcome = cmd.outcome  # read after push: a failed command is deleted by the stack
        self.undo_stack.push(cmd)
        if not outcome.done:
            return None
        self._current_label = label
        return outcome.box_ids[0]

    def set_box_geometry(self, box_id: int, x1: float, y1: float, x2: float, y2: float) -> None:
        """Move or resize one box (clipped); refused when under 2 px; a prediction becomes edited."""
        old = self._boxes.get(box_id)
        corners = self.normalized(x1, y1, x2, y2)
        if old is None or corners is None or corners == old.xyxy:
            return
        new = old.replace(x1=corners[0], y1=corners[1], x2=corners[2], y2=corners[3],
                          source=edited_source(old))
        self.undo_stack.push(commands.ReplaceBoxesCommand(self, [old], [new], "Resize box"))

    def move_boxes(self, ids: Sequence[int], dx: float, dy: float, *, merge: bool = False) -> None:
        """Shift boxes by (dx, dy) pixels, kept inside the image; ``merge`` joins with the previous
        move of the same boxes into one undo step (arrow-key nudges)."""
        olds = [self._boxes[i] for i in ids if i in self._boxes]
        if not olds:
            return
        size = self.image_size()
        if size is not None:  # one common shift that keeps every box inside the image
            dx = min(max(dx, -min(b.x1 for b in olds)), size[0] - max(b.x2 for b in olds))
            dy = min(max(dy, -min(b.y1 for b in olds)), size[1] - max(b.y2 for b in olds))
        if dx == 0 and dy == 0:
            return
        news = [b.replace(x1=b.x1 + dx, y1=b.y1 + dy, x2=b.x2 + dx, y2=b.y2 + dy,
                          source=edited_source(b)) for b in olds]
        text = "Move box" if len(olds) == 1 else f"Move {len(olds)} boxes"
        cmd_id = commands.NUDGE_ID if merge else -1
        self.undo_stack.push(commands.ReplaceBoxesCommand(self, olds, news, text, cmd_id=cmd_id))

    def delete_boxes(self, ids: Sequence[int]) -> None:
        """Delete boxes; a prediction is rejected (kept in the store as known background)."""
        olds = [self._boxes[i] for i in ids if i in self._boxes]
        if olds:
            verb = "Reject" if all(b.source == "predicted" for b in olds) else "Delete"
            text = f"{verb} box" if len(olds) == 1 else f"{verb} {len(olds)} boxes"
            self.undo_stack.push(commands.RemoveBoxesCommand(self, olds, text))

    def relabel(self, ids: Sequence[int], label: str) -> None:
        olds = [self._boxes[i] for i in ids if i in self._boxes and self._boxes[i].label != label]
        if not olds or not label:
            return
        if label not in self._classes:
            self.add_class(label)
        news = [b.replace(label=label, source=edited_source(b)) for b in olds]
        self.undo_stack.push(commands.ReplaceBoxesCommand(self, olds, news, f"Label as {label}"))
        self._current_label = label
        self.current_label_changed.emit(label)

    def accept(self, ids: Sequence[int]) -> None:
        """Accept predictions: source predicted -> accepted, score kept."""
        olds = [self._boxes[i] for i in ids if i in self._boxes and self._boxes[i].source == "predicted"]
        if olds:
            news = [b.replace(source="accepted") for b in olds]
            text = "Accept box" if len(olds) == 1 else f"Accept {len(olds)} boxes"
            self.undo_stack.push(commands.ReplaceBoxesCommand(self, olds, news, text))

    def accept_all_above(self, thresh: float | None = None) -> int:
        """Accept every prediction scoring at least ``thresh`` (default ``score_thresh``); count."""
        t = self.score_thresh if thresh is None else thresh
        ids = [i for i, b in self._boxes.items() if b.source == "predicted" and (b.score or 0.0) >= t]
        self.accept(ids)
        return len(ids)

    def set_predictions(self, detections: Sequence[Detection], *, model_id: int | None = None) -> None:
        """Replace the current image's untouched predictions with ``detections`` (one command)."""
        if self.record is not None:
            self.undo_stack.push(commands.SetPredictionsCommand(self, list(detections), model_id))

    def mark_reviewed(self) -> None:
        """"What I see is right", one undoable step: the predictions shown at the score slider's
        value become accepted, the hidden ones are dropped, and the status becomes reviewed."""
        record = self.record
        if record is None:
            return
        if record.status == "reviewed" and not any(b.source == "predicted" for b in self._boxes.values()):
            return
        self.undo_stack.push(review_step.ReviewCommand(self, self.score_thresh))

    def set_status(self, status: str) -> None:
        """Set the current image's status ("new" | "predicted" | "reviewed"); not undoable."""
        record = self.record
        if record is None or record.status == status:
            return
        if self.project is not None:
            if not self._write(lambda: self.project.set_status(record.id, status)):
                return
        self.record = dataclasses.replace(record, status=status)
        self.status_changed.emit(record.id, status)

    # ---- used by app.commands ------------------------------------------------------------------
    def _write(self, fn: Any) -> bool:
        """Run one store write ``fn()``; on failure emit ``save_failed`` and return False."""
        return commands.write(self, fn)

    def _emit_boxes(self, signal: Any, ids: list[int]) -> None:
        if ids:
            signal.emit(ids)
            self.boxes_changed.emit()
