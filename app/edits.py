"""The user's box edits, mixed into ``app.document.Document``: each builds one undo command.

Every method here reads the document through its public API (``box``, ``boxes``, ``image_size``,
``class_names`` ...), works out the values before and after the edit, and pushes one command from
``app.commands`` onto the document's undo stack; the command's redo then calls the document's
``apply_*`` methods, which own the writing. Nothing here touches the document's state directly, so the
state has one owner (``app/document.py``) and this file only decides what an edit means: clipping to
the image, refusing boxes under ``MIN_BOX_SIZE``, a moved prediction becoming ``edited``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from app import commands, review_step
from engine.types import MIN_BOX_SIZE, Box, BoxSource, Detection

if TYPE_CHECKING:
    from app.document import Document


def edited_source(box: Box) -> BoxSource:
    """The provenance of ``box`` after a person moved, resized or relabelled it."""
    return "manual" if box.source == "manual" else "edited"


class BoxEdits:
    """The undoable edits of ``Document`` (which this is mixed into); see the module docstring."""

    def normalized(self: Document, x1: float, y1: float, x2: float, y2: float) -> tuple[float, ...] | None:
        """Corners ordered and clipped to the image; None when the result is under ``MIN_BOX_SIZE``
        pixels a side."""
        (x1, x2), (y1, y2) = sorted((float(x1), float(x2))), sorted((float(y1), float(y2)))
        box = Box(x1, y1, x2, y2, "")
        size = self.image_size()
        if size is not None:
            box = box.clipped(*size)
        return None if box.is_degenerate(MIN_BOX_SIZE) else box.xyxy

    def add_box(self: Document, box: Box) -> int | None:
        """Add ``box`` (clipped to the image); its id, or None when refused (too small) or not saved."""
        corners = self.normalized(*box.xyxy)
        if self.record is None or corners is None:
            return None
        label = box.label or self.label_for_new_box()
        if label not in self.class_names():
            self.add_class(label)  # before the box, so that views know its colour
        new = box.replace(x1=corners[0], y1=corners[1], x2=corners[2], y2=corners[3], label=label,
                          id=None)
        cmd = commands.AddBoxesCommand(self, [new], "Add box")
        outcome = cmd.outcome  # read after push: a failed command is deleted by the stack
        self.undo_stack.push(cmd)
        if not outcome.done:
            return None
        self.set_current_label(label)
        return outcome.box_ids[0]

    def set_box_geometry(self: Document, box_id: int, x1: float, y1: float, x2: float, y2: float) -> None:
        """Move or resize one box (clipped); refused when too small; a prediction becomes edited."""
        corners = self.normalized(x1, y1, x2, y2)
        if not self.has_box(box_id) or corners is None or corners == self.box(box_id).xyxy:
            return
        old = self.box(box_id)
        new = old.replace(x1=corners[0], y1=corners[1], x2=corners[2], y2=corners[3],
                          source=edited_source(old))
        self.undo_stack.push(commands.ReplaceBoxesCommand(self, [old], [new], "Resize box"))

    def move_boxes(self: Document, ids: Sequence[int], dx: float, dy: float, *, merge: bool = False) -> None:
        """Shift boxes by (dx, dy) pixels, kept inside the image; ``merge`` joins with the previous
        move of the same boxes into one undo step (arrow-key nudges)."""
        olds = self._existing(ids)
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

    def delete_boxes(self: Document, ids: Sequence[int]) -> None:
        """Delete boxes; a prediction is rejected (kept in the store as known background)."""
        olds = self._existing(ids)
        if olds:
            self.undo_stack.push(commands.RemoveBoxesCommand(self, olds))

    def relabel(self: Document, ids: Sequence[int], label: str) -> None:
        olds = [b for b in self._existing(ids) if b.label != label]
        if not olds or not label:
            return
        self.set_current_label(label)  # adds the class when new
        news = [b.replace(label=label, source=edited_source(b)) for b in olds]
        self.undo_stack.push(commands.ReplaceBoxesCommand(self, olds, news, f"Label as {label}"))

    def accept(self: Document, ids: Sequence[int]) -> None:
        """Accept predictions: source predicted -> accepted, score kept."""
        olds = [b for b in self._existing(ids) if b.source == "predicted"]
        if olds:
            news = [b.replace(source="accepted") for b in olds]
            text = "Accept box" if len(olds) == 1 else f"Accept {len(olds)} boxes"
            self.undo_stack.push(commands.ReplaceBoxesCommand(self, olds, news, text))

    def accept_all_above(self: Document, thresh: float | None = None) -> int:
        """Accept every prediction scoring at least ``thresh`` (default ``score_thresh``); count."""
        t = self.score_thresh if thresh is None else thresh
        ids = [b.id for b in self.boxes() if b.source == "predicted" and (b.score or 0.0) >= t]
        self.accept(ids)
        return len(ids)

    def set_predictions(self: Document, detections: Sequence[Detection], *, model_id: int | None = None) -> None:
        """Replace the current image's untouched predictions with ``detections`` (one command)."""
        if self.record is not None:
            self.undo_stack.push(commands.SetPredictionsCommand(self, list(detections), model_id))

    def mark_reviewed(self: Document) -> None:
        """"What I see is right", one undoable step: the predictions shown at the score slider's
        value become accepted, the hidden ones are dropped, and the status becomes reviewed."""
        record = self.record
        if record is None:
            return
        if record.status == "reviewed" and not any(b.source == "predicted" for b in self.boxes()):
            return
        self.undo_stack.push(review_step.ReviewCommand(self, record.id, f"Mark {record.path} reviewed",
                                                       self.score_thresh))

    def _existing(self: Document, ids: Sequence[int]) -> list[Box]:
        return [self.box(i) for i in ids if self.has_box(i)]
