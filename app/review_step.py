"""Marking an image reviewed as one undo step: what is on screen becomes the image's labels.

``ReviewCommand`` asks the document to call ``Project.mark_reviewed`` with the score slider's value:
the predictions shown (score at or above the slider) become ``accepted``, the hidden ones are deleted,
the status becomes ``reviewed``, all in one store transaction. Undo calls ``Project.undo_review`` with
what the step returned, so the predictions come back with their ids and scores and the status is what
it was. Space marks reviewed and moves to the next image, which clears the per-image undo stack; so
that Ctrl+Z still takes the review back, ``carry`` hands the latest review to the next image's stack
(already done, so pushing it changes nothing), and undoing it there restores that image in the store
and asks to show it again (``Document.review_undone``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtGui import QUndoCommand, QUndoStack

from app.commands import EditCommand

if TYPE_CHECKING:
    from app.document import Document
    from engine.project import ReviewChange


class ReviewCommand(EditCommand):
    """Accept the shown predictions, drop the hidden ones and set status ``reviewed`` (one step)."""

    def __init__(self, doc: Document, image_id: int, text: str, score_thresh: float, *,
                 done: ReviewChange | None = None) -> None:
        super().__init__(doc, text)
        self.image_id = image_id
        self.score_thresh = float(score_thresh)
        self.change = done  # the store's ReviewChange; set by the first redo
        self._skip_redo = done is not None  # carried to another image's stack: already applied

    def _redo(self) -> bool:
        if self._skip_redo:
            self._skip_redo = False
            return True
        self.change = self.doc.apply_review(self.image_id, self.score_thresh)
        return self.change is not None

    def _undo(self) -> bool:
        return self.change is not None and self.doc.apply_review_undo(self.change)


def carry(stack: QUndoStack, next_image_id: int | None) -> ReviewCommand | None:
    """The latest step of ``stack`` if it reviewed an image other than ``next_image_id`` (and was
    not undone), as a fresh command for the next image's stack; else None."""
    index = stack.index()
    if index <= 0 or not stack.canUndo():
        return None
    top: QUndoCommand | None = stack.command(index - 1)
    if not isinstance(top, ReviewCommand) or top.change is None or top.image_id == next_image_id:
        return None
    return ReviewCommand(top.doc, top.image_id, top.text(), top.score_thresh, done=top.change)
