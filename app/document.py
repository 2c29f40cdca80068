"""The model of the current image: its boxes, the selection, the classes and the undo stack.

Napari style: the ``Document`` owns this state and announces every change through signals; views (the
canvas, the box list, the file list) subscribe and never change state themselves except through the
public edit methods. Every edit is one ``QUndoCommand`` (see ``app.commands``) holding the values
before and after; its redo and undo call the ``apply_*`` methods here, which write to the project store
in one small synchronous transaction before the change is shown; a failed write emits ``save_failed``
and leaves memory as it was. Besides the coarse ``boxes_changed`` the document emits ``boxes_added`` /
``boxes_removed`` / ``boxes_updated`` with box ids so that a view of 5,000 boxes can update only the
items that changed. Coordinates are absolute pixels of the upright image (``engine.types.Box``); Qt
geometry types never enter this module. No torch, no disk reads of images.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QImage, QUndoStack

from app import commands, review_step
from app.edits import BoxEdits
from engine.types import Box, Detection, ImageRecord, palette_colour

if TYPE_CHECKING:
    import numpy as np

    from engine.project import Project, ReviewChange

log = logging.getLogger(__name__)

DEFAULT_SCORE_THRESH = 0.3
DEFAULT_LABEL = "object"  # the class created when a box is drawn in a project without classes


class Document(QObject, BoxEdits):
    """The current image of a project and its boxes; see the module docstring and CONTRACTS.md.

    The undoable edits (``add_box``, ``move_boxes``, ``relabel``, ``mark_reviewed`` ...) come from
    ``app.edits.BoxEdits``, which reads this class's public API and pushes commands."""

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
        self.project: Project | None = None
        self.record: ImageRecord | None = None
        self.pixels: np.ndarray | None = None
        self.display_image: QImage | None = None  # ``pixels`` converted for the screen off the GUI thread
        self.error: str | None = None
        self.score_thresh: float = DEFAULT_SCORE_THRESH
        self._boxes: dict[int, Box] = {}
        self._selected: list[int] = []
        self._classes: dict[str, str] = {}  # name -> colour, in display order
        self._current_label: str | None = None

    # ---- project and image ----------------------------------------------------------------
    def set_project(self, project: Project | None) -> None:
        """Make ``project`` (an ``engine.project.Project`` or None) current; clears the image."""
        self.project = project
        self._current_label = None
        self._reload_classes()
        self.set_image(None, None, [])

    def set_image(self, record: ImageRecord | None, pixels: np.ndarray | None, boxes: Sequence[Box],
                  error: str | None = None, *, display: QImage | None = None) -> None:
        """Show ``record`` with its decoded ``pixels`` (H, W, 3) uint8 RGB and stored ``boxes``.

        ``error`` (with ``pixels`` None) says why the image is unreadable; the canvas shows it.
        ``display`` is ``pixels`` already converted for the screen by the image loader; without it the
        canvas converts them itself.
        The undo stack is per image: it is cleared here, except that a review just made on the image
        being left stays undoable (Space reviews and moves on; see ``app.review_step``).
        """
        carried = review_step.carry(self.undo_stack, record.id if record is not None else None)
        self.undo_stack.clear()
        self.record = record
        self.pixels = pixels
        self.display_image = display
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
        return self._classes.get(label) or palette_colour(label)

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
        if name not in self._classes and self._write(lambda project: project.add_class(name, colour)):
            self._reload_classes()

    def rename_class(self, old: str, new: str) -> None:
        """Rename a class everywhere (one undoable command; boxes of the current image follow)."""
        if old in self._classes and new and new not in self._classes:
            self.undo_stack.push(commands.RenameClassCommand(self, old, new))

    def set_class_colour(self, name: str, colour: str) -> None:
        if not self._write(lambda project: project.set_class_colour(name, colour)):
            return
        self._reload_classes()
        self.boxes_updated.emit([i for i, b in self._boxes.items() if b.label == name])
        self.boxes_changed.emit()

    def reorder_classes(self, names: Sequence[str]) -> None:
        if self._write(lambda project: project.reorder_classes(list(names))):
            self._reload_classes()

    def reload_from_store(self, *, boxes: bool = True) -> None:
        """Re-read the classes (and with ``boxes`` the current image's boxes, clearing the undo stack,
        whose commands refer to the boxes as they were) after a change made to the store itself: a
        class deleted or merged, Detect All adding classes."""
        self._reload_classes()
        if boxes and self.project is not None and self.record is not None:
            self.set_image(self.record, self.pixels, self.project.boxes(self.record), self.error,
                           display=self.display_image)

    def _reload_classes(self) -> None:
        if self.project is not None:
            self._classes = {c.name: c.colour for c in self.project.classes()}
        self.classes_changed.emit()

    def set_status(self, status: str) -> bool:
        """Set the current image's status ("new" | "predicted" | "reviewed"); not undoable. False
        when it could not be saved."""
        record = self.record
        if record is None or record.status == status:
            return True
        if not self._write(lambda project: project.set_status(record.id, status)):
            return False
        self._note_status(record.id, status)
        return True

    # ---- applying edits: called by the undo commands (app.commands, app.review_step) -------------
    def apply_boxes(self, before: Sequence[Box], after: Sequence[Box], *,
                    reject: bool = False) -> list[Box] | None:
        """Turn the current image's boxes ``before`` into ``after``: in the store (one transaction),
        then in memory, then the signals. A box only in ``before`` is deleted, one only in ``after`` is
        added (keeping its id when it has one: that is how undo brings a box back), one in both is
        updated. With ``reject`` a prediction leaving is rejected (kept in the store as known
        background) and a prediction coming back is restored from rejection. Returns ``after`` as
        stored (new ids filled in), or None when nothing was saved."""
        record = self.record
        before_ids = {b.id for b in before}
        after_ids = {b.id for b in after if b.id is not None}
        gone = [b for b in before if b.id not in after_ids]
        stored: list[Box] = []

        def write(project: Project) -> None:
            with project.transaction():
                for b in gone:
                    if reject and b.source == "predicted":
                        project.reject_box(b.id)
                    else:
                        project.delete_box(b.id)
                for b in after:
                    if b.id in before_ids:
                        stored.append(project.update_box(b.id, b))
                    elif reject and b.source == "predicted":
                        project.restore_box(b.id)
                        stored.append(b)
                    else:
                        stored.append(b.replace(id=int(project.add_box(record.id, b))))

        if record is None or not self._write(write):
            return None
        self._show(removed=[b.id for b in gone], added=[b for b in stored if b.id not in before_ids],
                   updated=[b for b in stored if b.id in before_ids])
        return stored

    def apply_predictions(self, detections: Sequence[Detection], model_id: int | None) -> list[Box] | None:
        """Replace the current image's untouched predictions with ``detections`` in the store (which
        sets the status); the stored boxes, or None when nothing was saved."""
        record = self.record
        result: list[Box] = []
        if record is None or not self._write(
                lambda project: result.extend(project.set_predictions(record, detections, model_id=model_id))):
            return None
        self._show(removed=[b.id for b in self._boxes.values() if b.source == "predicted"], added=result)
        if self.project is not None:
            self._note_status(record.id, self.project.image(record.id).status)
        return result

    def apply_class_rename(self, old: str, new: str) -> bool:
        """Rename class ``old`` to ``new`` in the store; the current image's boxes follow."""
        if not self._write(lambda project: project.rename_class(old, new)):
            return False
        if self._current_label == old:
            self._current_label = new
        self._reload_classes()
        self._show(updated=[b.replace(label=new) for b in self._boxes.values() if b.label == old])
        return True

    def apply_review(self, image_id: int, score_thresh: float) -> ReviewChange | None:
        """``Project.mark_reviewed`` on image ``image_id`` (the current one or, for a redo carried to
        another image's stack, an earlier one); the store's change, or None when nothing was saved."""
        result: list[ReviewChange] = []
        if not self._write(lambda project: result.append(
                project.mark_reviewed(image_id, score_thresh=score_thresh))):
            return None
        change = result[0]
        if self._is_current(image_id):
            self._show(removed=[r.box.id for r in change.removed],
                       updated=[self._boxes[i].replace(source="accepted")
                                for i in change.accepted_ids if i in self._boxes])
        self._note_status(image_id, "reviewed")
        return change

    def apply_review_undo(self, change: ReviewChange) -> bool:
        """``Project.undo_review``; when the image is no longer shown, ``review_undone`` asks for it."""
        if not self._write(lambda project: project.undo_review(change)):
            return False
        shown = self._is_current(change.image_id)
        if shown and self.project is not None:
            restored = {b.id: b for b in self.project.boxes(change.image_id)}
            self._show(added=[restored[r.box.id] for r in change.removed if r.box.id in restored],
                       updated=[restored[i] for i in change.accepted_ids if i in self._boxes and i in restored])
        self._note_status(change.image_id, change.old_status)
        if not shown:
            self.review_undone.emit(change.image_id)
        return True

    # ---- store, memory, signals ---------------------------------------------------------------------
    def _write(self, fn: Callable[[Project], object]) -> bool:
        """Run one store write ``fn(project)``; on failure emit ``save_failed`` and return False."""
        project = self.project
        if project is None or project.read_only:
            reason = "no project is open" if project is None else project.read_only_reason
            self.save_failed.emit(f"Not saved: {reason or 'the project is read-only'}")
            return False
        try:
            fn(project)
        except Exception as exc:  # noqa: BLE001 - any store failure must reach the user, not crash
            log.warning("store write failed: %s", exc)
            self.save_failed.emit(f"Not saved: {exc}")
            return False
        self.saved.emit("saved")
        return True

    def _show(self, *, removed: Sequence[int] = (), added: Sequence[Box] = (),
              updated: Sequence[Box] = ()) -> None:
        """Put what the store now holds into memory, then announce it by ids."""
        removed = [i for i in removed if self._boxes.pop(i, None) is not None]
        self._boxes.update({b.id: b for b in (*added, *updated)})
        for signal, ids in ((self.boxes_removed, removed), (self.boxes_added, [b.id for b in added]),
                            (self.boxes_updated, [b.id for b in updated])):
            if ids:
                signal.emit(ids)
                self.boxes_changed.emit()
        self._prune_selection()

    def _is_current(self, image_id: int) -> bool:
        return self.record is not None and self.record.id == image_id

    def _note_status(self, image_id: int, status: str) -> None:
        """The store now says image ``image_id`` has ``status``: update the current record, announce."""
        if self._is_current(image_id):
            if self.record.status == status:
                return
            self.record = dataclasses.replace(self.record, status=status)
        self.status_changed.emit(image_id, status)
