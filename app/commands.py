"""Undo commands for the document: one ``QUndoCommand`` per user edit.

Each command keeps the boxes before and after the edit (frozen ``engine.types.Box`` values with store
ids) and calls the document's ``_store_*`` primitives, which write to the project store first and only
then change memory and emit signals. A command whose first write fails marks itself obsolete, so
``QUndoStack.push`` drops it and the stack never holds an edit that was not saved. Undoing an add
deletes the box from the store; redoing re-adds it with the same id (``Project.add_box`` honours ids);
undoing a delete or a rejection puts the box back as it was.
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


class _Command(QUndoCommand):
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


class AddBoxesCommand(_Command):
    def __init__(self, doc: Document, boxes: Sequence[Box], text: str) -> None:
        super().__init__(doc, text)
        self.boxes = list(boxes)  # ids filled in by the first redo

    def _redo(self) -> bool:
        stored = self.doc._store_add(self.boxes)
        if stored is None:
            return False
        self.boxes = stored
        self.outcome.box_ids = [b.id for b in stored]
        self.doc.select(self.outcome.box_ids)
        return True

    def _undo(self) -> bool:
        return self.doc._store_remove(self.boxes, reject=False)


class RemoveBoxesCommand(_Command):
    """Delete boxes; predictions are rejected (kept as known background) instead."""

    def __init__(self, doc: Document, boxes: Sequence[Box], text: str) -> None:
        super().__init__(doc, text)
        self.boxes = list(boxes)

    def _redo(self) -> bool:
        return self.doc._store_remove(self.boxes, reject=True)

    def _undo(self) -> bool:
        rejected = [b for b in self.boxes if b.source == "predicted"]
        deleted = [b for b in self.boxes if b.source != "predicted"]
        if rejected and not self.doc._store_restore(rejected):
            return False
        if deleted and self.doc._store_add(deleted) is None:
            return False
        self.doc.select([b.id for b in self.boxes])
        return True


class ReplaceBoxesCommand(_Command):
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
        return self.doc._store_replace(self.after)

    def _undo(self) -> bool:
        return self.doc._store_replace(self.before)


class RenameClassCommand(_Command):
    def __init__(self, doc: Document, old: str, new: str) -> None:
        super().__init__(doc, f"Rename class {old} to {new}")
        self.old, self.new = old, new

    def _rename(self, old: str, new: str) -> bool:
        doc = self.doc
        if doc.project is not None:
            if not doc._write(lambda: doc.project.rename_class(old, new)):
                return False
        else:
            doc._classes = {(new if n == old else n): c for n, c in doc._classes.items()}
        if doc._current_label == old:
            doc._current_label = new
        changed = [i for i, b in doc._boxes.items() if b.label == old]
        for i in changed:
            doc._boxes[i] = doc._boxes[i].replace(label=new)
        doc._reload_classes()
        doc._emit_boxes(doc.boxes_updated, changed)
        return True

    def _redo(self) -> bool:
        return self._rename(self.old, self.new)

    def _undo(self) -> bool:
        return self._rename(self.new, self.old)


class SetPredictionsCommand(_Command):
    """Replace the image's untouched predictions with a model's detections; status -> predicted."""

    def __init__(self, doc: Document, detections: Sequence[Detection], model_id: int | None) -> None:
        super().__init__(doc, "Predict")
        self.detections = list(detections)
        self.model_id = model_id
        self.old = [b for b in doc.boxes() if b.source == "predicted"]
        self.new: list[Box] = []
        self.old_status = doc.record.status if doc.record is not None else "new"

    def _redo(self) -> bool:
        doc = self.doc
        if not self._first:
            return (doc._store_remove(self.old, reject=False) and doc._store_add(self.new) is not None
                    and self._status("predicted"))
        if doc.project is None:
            if not doc._store_remove(self.old, reject=False):
                return False
            stored = doc._store_add([d.to_box() for d in self.detections])
            if stored is None:
                return False
            self.new = stored
            return self._status("predicted")
        record = doc.record
        result: list[Box] = []
        if not doc._write(lambda: result.extend(
                doc.project.set_predictions(record, self.detections, model_id=self.model_id))):
            return False
        self.new = result
        for b in self.old:
            doc._boxes.pop(b.id, None)
        doc._emit_boxes(doc.boxes_removed, [b.id for b in self.old])
        doc._boxes.update({b.id: b for b in result})
        doc._emit_boxes(doc.boxes_added, [b.id for b in result])
        doc._prune_selection()
        self._note_status(doc.project.image(record.id).status)
        return True

    def _undo(self) -> bool:
        doc = self.doc
        return (doc._store_remove(self.new, reject=False) and doc._store_add(self.old) is not None
                and self._status(self.old_status))

    def _status(self, status: str) -> bool:
        doc = self.doc
        if doc.record is None or doc.record.status == status:
            return True
        if doc.project is not None and not doc._write(
                lambda: doc.project.set_status(doc.record.id, status)):
            return False
        self._note_status(status)
        return True

    def _note_status(self, status: str) -> None:
        doc = self.doc
        if doc.record is not None and doc.record.status != status:
            doc.record = dataclasses.replace(doc.record, status=status)
            doc.status_changed.emit(doc.record.id, status)
