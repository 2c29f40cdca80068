"""Undo commands for the document: one ``QUndoCommand`` per user edit.

A command holds only values: the boxes before and after the edit (frozen ``engine.types.Box`` values
with store ids), or a class's old and new name. Its redo and undo hand them to the document's
``apply_*`` methods, which write to the project store first and only then change the document's memory
and emit its signals. A command whose first write fails marks itself obsolete, so ``QUndoStack.push``
drops it and the stack never holds an edit that was not saved. Undoing an add deletes the box from the
store; redoing re-adds it with the same id (``Project.add_box`` honours ids); undoing a delete or a
rejection puts the box back as it was.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import TYPE_CHECKING

from PySide6.QtGui import QUndoCommand

from engine.types import Box, Detection

if TYPE_CHECKING:
    from app.document import Document

NUDGE_ID = 1001  # arrow-key moves of the same boxes merge into one undo step


@dataclasses.dataclass
class Outcome:
    """What a pushed command did; read by the document after ``push`` (the command may be gone)."""

    done: bool = False
    box_ids: list[int] = dataclasses.field(default_factory=list)


class EditCommand(QUndoCommand):
    """Base: ``redo``/``undo`` call ``_redo``/``_undo``; a failed first redo makes it obsolete."""

    def __init__(self, doc: Document, text: str) -> None:
        super().__init__(text)
        self.doc = doc
        self.outcome = Outcome()
        self._first = True

    def redo(self) -> None:
        ok = self._redo()
        if self._first:
            self.outcome.done = ok
            self._first = False
        if not ok:
            self.setObsolete(True)

    def undo(self) -> None:
        if not self._undo():
            self.setObsolete(True)

    def _redo(self) -> bool:
        raise NotImplementedError

    def _undo(self) -> bool:
        raise NotImplementedError


class AddBoxesCommand(EditCommand):
    def __init__(self, doc: Document, boxes: Sequence[Box], text: str) -> None:
        super().__init__(doc, text)
        self.boxes = list(boxes)  # ids filled in by the first redo

    def _redo(self) -> bool:
        stored = self.doc.apply_boxes([], self.boxes)
        if stored is None:
            return False
        self.boxes = stored
        self.outcome.box_ids = [b.id for b in stored]
        self.doc.select(self.outcome.box_ids)
        return True

    def _undo(self) -> bool:
        return self.doc.apply_boxes(self.boxes, []) is not None


class RemoveBoxesCommand(EditCommand):
    """Delete boxes; predictions are rejected (kept as known background) instead."""

    def __init__(self, doc: Document, boxes: Sequence[Box]) -> None:
        verb = "Reject" if all(b.source == "predicted" for b in boxes) else "Delete"
        super().__init__(doc, f"{verb} box" if len(boxes) == 1 else f"{verb} {len(boxes)} boxes")
        self.boxes = list(boxes)

    def _redo(self) -> bool:
        return self.doc.apply_boxes(self.boxes, [], reject=True) is not None

    def _undo(self) -> bool:
        if self.doc.apply_boxes([], self.boxes, reject=True) is None:
            return False
        self.doc.select([b.id for b in self.boxes])
        return True


class ReplaceBoxesCommand(EditCommand):
    """Change existing boxes (move, resize, relabel, accept): ``before`` and ``after`` share ids."""

    def __init__(self, doc: Document, before: Sequence[Box], after: Sequence[Box], text: str,
                 *, cmd_id: int = -1) -> None:
        super().__init__(doc, text)
        self.before = list(before)
        self.after = list(after)
        self._id = cmd_id

    def id(self) -> int:  # noqa: A003 - Qt's name
        return self._id

    def mergeWith(self, other: QUndoCommand) -> bool:  # noqa: N802 - Qt's name
        if not isinstance(other, ReplaceBoxesCommand) or other.id() != self._id or self._id < 0:
            return False
        if [b.id for b in other.before] != [b.id for b in self.after]:
            return False
        self.after = other.after
        return True

    def _redo(self) -> bool:
        return self.doc.apply_boxes(self.before, self.after) is not None

    def _undo(self) -> bool:
        return self.doc.apply_boxes(self.after, self.before) is not None


class RenameClassCommand(EditCommand):
    def __init__(self, doc: Document, old: str, new: str) -> None:
        super().__init__(doc, f"Rename class {old} to {new}")
        self.old, self.new = old, new

    def _redo(self) -> bool:
        return self.doc.apply_class_rename(self.old, self.new)

    def _undo(self) -> bool:
        return self.doc.apply_class_rename(self.new, self.old)


class SetPredictionsCommand(EditCommand):
    """Replace the image's untouched predictions with a model's detections; status -> predicted."""

    def __init__(self, doc: Document, detections: Sequence[Detection], model_id: int | None) -> None:
        super().__init__(doc, "Predict")
        self.detections = list(detections)
        self.model_id = model_id
        self.old = [b for b in doc.boxes() if b.source == "predicted"]
        self.new: list[Box] = []
        self.old_status = doc.record.status if doc.record is not None else "new"

    def _redo(self) -> bool:
        if not self._first:
            return self.doc.apply_boxes(self.old, self.new) is not None and self.doc.set_status("predicted")
        stored = self.doc.apply_predictions(self.detections, self.model_id)
        if stored is None:
            return False
        self.new = stored
        return True

    def _undo(self) -> bool:
        return self.doc.apply_boxes(self.new, self.old) is not None and self.doc.set_status(self.old_status)
