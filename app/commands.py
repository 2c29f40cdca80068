"""Undo commands for the document: one ``QUndoCommand`` per user edit.

Each command keeps the boxes before and after the edit (frozen ``engine.types.Box`` values with store
ids) and calls the ``store_*`` primitives at the end of this module, which write to the project store
first and only then change the document's memory and emit its signals. A command whose first write fails marks itself obsolete, so
``QUndoStack.push`` drops it and the stack never holds an edit that was not saved. Undoing an add
deletes the box from the store; redoing re-adds it with the same id (``Project.add_box`` honours ids);
undoing a delete or a rejection puts the box back as it was.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from typing import TYPE_CHECKING, Any, ContextManager

from PySide6.QtGui import QUndoCommand

from engine.types import Box, Detection

if TYPE_CHECKING:
    from app.document import Document

log = logging.getLogger(__name__)

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
        stored = store_add(self.doc, self.boxes)
        if stored is None:
            return False
        self.boxes = stored
        self.outcome.box_ids = [b.id for b in stored]
        self.doc.select(self.outcome.box_ids)
        return True

    def _undo(self) -> bool:
        return store_remove(self.doc, self.boxes, reject=False)


class RemoveBoxesCommand(_Command):
    """Delete boxes; predictions are rejected (kept as known background) instead."""

    def __init__(self, doc: Document, boxes: Sequence[Box], text: str) -> None:
        super().__init__(doc, text)
        self.boxes = list(boxes)

    def _redo(self) -> bool:
        return store_remove(self.doc, self.boxes, reject=True)

    def _undo(self) -> bool:
        rejected = [b for b in self.boxes if b.source == "predicted"]
        deleted = [b for b in self.boxes if b.source != "predicted"]
        if rejected and not store_restore(self.doc, rejected):
            return False
        if deleted and store_add(self.doc, deleted) is None:
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
        return store_replace(self.doc, self.after)

    def _undo(self) -> bool:
        return store_replace(self.doc, self.before)


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
            return (store_remove(doc, self.old, reject=False) and store_add(doc, self.new) is not None
                    and self._status("predicted"))
        if doc.project is None:
            if not store_remove(doc, self.old, reject=False):
                return False
            stored = store_add(doc, [d.to_box() for d in self.detections])
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
        return (store_remove(doc, self.new, reject=False) and store_add(doc, self.old) is not None
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


# ---- primitives: store first, then memory, then signals ------------------------------------------
def write(doc: Document, fn: Callable[[], object]) -> bool:
    """Run one store write; on failure emit ``save_failed`` and return False."""
    if doc.project is not None and getattr(doc.project, "read_only", False):
        reason = getattr(doc.project, "read_only_reason", None) or "the project is read-only"
        doc.save_failed.emit(f"Not saved: {reason}")
        return False
    try:
        fn()
    except Exception as exc:  # noqa: BLE001 - any store failure must reach the user, not crash
        log.warning("store write failed: %s", exc)
        doc.save_failed.emit(f"Not saved: {exc}")
        return False
    doc.saved.emit("saved")
    return True


def _transaction(doc: Document) -> ContextManager[Any]:
    """One store transaction for a multi-box edit, where the store offers one."""
    tx = getattr(doc.project, "transaction", None)
    return tx() if callable(tx) else nullcontext()


def store_add(doc: Document, boxes: Sequence[Box]) -> list[Box] | None:
    """Add ``boxes`` (honouring their ids) to store and memory; the stored boxes or None."""
    if doc.record is None:
        return None
    stored: list[Box] = []

    def write_all() -> None:
        with _transaction(doc):
            for b in boxes:
                if doc.project is not None:
                    new_id = doc.project.add_box(doc.record.id, b)
                else:
                    new_id = b.id if b.id is not None else max(
                        max(doc._boxes, default=0) + 1, doc._next_memory_id)
                    doc._next_memory_id = max(doc._next_memory_id, new_id + 1)
                stored.append(b.replace(id=int(new_id)))

    if not write(doc, write_all):
        return None
    for b in stored:
        doc._boxes[b.id] = b
    doc._emit_boxes(doc.boxes_added, [b.id for b in stored])
    return stored


def store_restore(doc: Document, boxes: Sequence[Box]) -> bool:
    """Show rejected predictions again (undo of a rejection); same ids, as they were."""
    def write_all() -> None:
        with _transaction(doc):
            for b in boxes:
                if doc.project is not None:
                    doc.project.restore_box(b.id)

    if doc.record is None or not write(doc, write_all):
        return False
    for b in boxes:
        doc._boxes[b.id] = b
    doc._emit_boxes(doc.boxes_added, [b.id for b in boxes])
    return True


def store_remove(doc: Document, boxes: Sequence[Box], *, reject: bool) -> bool:
    """Delete ``boxes`` from store and memory; with ``reject`` predictions are rejected instead."""
    def write_all() -> None:
        with _transaction(doc):
            for b in boxes:
                if doc.project is None:
                    continue
                if reject and b.source == "predicted":
                    doc.project.reject_box(b.id)
                else:
                    doc.project.delete_box(b.id)

    if not write(doc, write_all):
        return False
    ids = [b.id for b in boxes]
    for i in ids:
        doc._boxes.pop(i, None)
    doc._emit_boxes(doc.boxes_removed, ids)
    doc._prune_selection()
    return True


def store_replace(doc: Document, boxes: Sequence[Box]) -> bool:
    """Write new values of existing boxes (same ids) to store and memory."""
    stored: list[Box] = []

    def write_all() -> None:
        with _transaction(doc):
            for b in boxes:
                stored.append(b if doc.project is None else doc.project.update_box(b.id, b))

    if not write(doc, write_all):
        return False
    for b in stored:
        doc._boxes[b.id] = b
    doc._emit_boxes(doc.boxes_updated, [b.id for b in stored])
    doc._prune_selection()
    return True
