"""Marking an image reviewed as one undo step: what is on screen becomes the image's labels.

``ReviewCommand`` calls ``Project.mark_reviewed`` with the score slider's value: the predictions shown
(score at or above the slider) become ``accepted``, the hidden ones are deleted, the status becomes
``reviewed``, all in one store transaction. Undo calls ``Project.undo_review`` with what the step
returned, so the predictions come back with their ids and scores and the status is what it was.
Space marks reviewed and moves to the next image, which clears the per-image undo stack; so that
Ctrl+Z still takes the review back, ``carry`` hands the latest review to the next image's stack
(already done, so pushing it changes nothing), and undoing it there restores that image in the store
and asks to show it again (``Document.review_undone``).
"""

from __future__ import annotations

import dataclasses
import logging
from typing import TYPE_CHECKING, Any

from PySide6.QtGui import QUndoCommand, QUndoStack

from app.commands import _Command
from engine.types import Box

if TYPE_CHECKING:
    from app.document import Document

log = logging.getLogger(__name__)


class ReviewCommand(_Command):
    """Accept the shown predictions, drop the hidden ones and set status ``reviewed`` (one step)."""

    def __init__(self, doc: Document, score_thresh: float, *, done: Any = None) -> None:
        record = doc.record
        super().__init__(doc, f"Mark {record.path if record is not None else 'image'} reviewed")
        self.image_id = record.id if record is not None else -1
        self.score_thresh = float(score_thresh)
        self.old_status = record.status if record is not None else "new"
        self.change: Any = done  # the store's ReviewChange; set by the first redo
        self._memory_before: list[Box] = []  # boxes before the step, without a project
        self._skip_redo = done is not None  # carried to another image's stack: already applied

    # -- the step ---------------------------------------------------------------------------------
    def _redo(self) -> bool:
        doc = self.doc
        if self._skip_redo:
            self._skip_redo = False
            return True
        if doc.project is None:
            return self._redo_in_memory()
        result: list[Any] = []
        if not doc._write(lambda: result.append(
                doc.project.mark_reviewed(self.image_id, score_thresh=self.score_thresh))):
            return False
        self.change = result[0]
        if self._is_current():
            accepted = [i for i in self.change.accepted_ids if i in doc._boxes]
            for i in accepted:
                doc._boxes[i] = doc._boxes[i].replace(source="accepted")
            removed = [r.box.id for r in self.change.removed if r.box.id in doc._boxes]
            for i in removed:
                doc._boxes.pop(i)
            doc._emit_boxes(doc.boxes_removed, removed)
            doc._emit_boxes(doc.boxes_updated, accepted)
            doc._prune_selection()
        self._note_status("reviewed")
        return True

    def _undo(self) -> bool:
        doc = self.doc
        if doc.project is None:
            return self._undo_in_memory()
        change = self.change
        if change is None or not doc._write(lambda: doc.project.undo_review(change)):
            return False
        if self._is_current():
            for i in change.accepted_ids:
                if i in doc._boxes:
                    doc._boxes[i] = doc._boxes[i].replace(source="predicted")
            restored = {b.id: b for b in doc.project.boxes(self.image_id)}
            back = [r.box.id for r in change.removed if r.box.id in restored]
            for i in back:
                doc._boxes[i] = restored[i]
            doc._emit_boxes(doc.boxes_updated, [i for i in change.accepted_ids if i in doc._boxes])
            doc._emit_boxes(doc.boxes_added, back)
            self._note_status(self.old_status)
        else:
            self._note_status(self.old_status)
            doc.review_undone.emit(self.image_id)  # show the restored image
        return True

    # -- without a project (memory only) -------------------------------------------------------------
    def _redo_in_memory(self) -> bool:
        doc = self.doc
        if not self._is_current():
            return False
        self._memory_before = doc.boxes()
        shown = [b for b in self._memory_before if b.source == "predicted" and doc.is_visible(b)]
        hidden = [b.id for b in self._memory_before if b.source == "predicted" and not doc.is_visible(b)]
        for b in shown:
            doc._boxes[b.id] = b.replace(source="accepted")
        for i in hidden:
            doc._boxes.pop(i)
        doc._emit_boxes(doc.boxes_removed, hidden)
        doc._emit_boxes(doc.boxes_updated, [b.id for b in shown])
        doc._prune_selection()
        self._note_status("reviewed")
        return True

    def _undo_in_memory(self) -> bool:
        doc = self.doc
        if not self._is_current():
            return False
        gone = [i for i in doc._boxes if i not in {b.id for b in self._memory_before}]
        for i in gone:
            doc._boxes.pop(i)
        doc._boxes.update({b.id: b for b in self._memory_before})
        doc._emit_boxes(doc.boxes_removed, gone)
        doc._emit_boxes(doc.boxes_updated, [b.id for b in self._memory_before])
        self._note_status(self.old_status)
        return True

    # -- helpers ------------------------------------------------------------------------------------
    def _is_current(self) -> bool:
        return self.doc.record is not None and self.doc.record.id == self.image_id

    def _note_status(self, status: str) -> None:
        doc = self.doc
        if self._is_current():
            if doc.record.status == status:
                return
            doc.record = dataclasses.replace(doc.record, status=status)
        doc.status_changed.emit(self.image_id, status)


def carry(stack: QUndoStack, next_image_id: int | None) -> ReviewCommand | None:
    """The latest step of ``stack`` if it reviewed an image other than ``next_image_id`` (and was
    not undone), as a fresh command for the next image's stack; else None."""
    index = stack.index()
    if index <= 0 or not stack.canUndo():
        return None
    top: QUndoCommand | None = stack.command(index - 1)
    if not isinstance(top, ReviewCommand) or top.change is None or top.image_id == next_image_id:
        return None
    copy = ReviewCommand.__new__(ReviewCommand)
    _Command.__init__(copy, top.doc, top.text())
    copy.image_id, copy.score_thresh, copy.old_status = top.image_id, top.score_thresh, top.old_status
    copy.change, copy._memory_before, copy._skip_redo = top.change, [], True
    return copy
