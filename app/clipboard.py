"""Copy / paste boxes, and paste the previous image's labels (labelme's workflow for similar frames).

Ctrl+C copies the selected boxes (geometry and class); Ctrl+V pastes them onto the image on screen as
boxes drawn by hand; Ctrl+Shift+V pastes the labels of the image before this one in the list. A paste
is one undoable step; boxes are clipped to the image, and a box identical to one already there is
not pasted twice.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, Slot
from PySide6.QtGui import QAction, QKeySequence

from engine.types import Box


class BoxClipboard(QObject):
    def __init__(self, window: Any) -> None:
        super().__init__(window)
        self._window = window
        self.boxes: list[Box] = []
        self.copy_action = self._action("&Copy Boxes", "copy_boxes", "Ctrl+C")
        self.paste_action = self._action("&Paste Boxes", "paste_boxes", "Ctrl+V")
        self.paste_previous_action = self._action("Paste the Previous Image's &Labels", "paste_previous",
                                                  "Ctrl+Shift+V")
        self.copy_action.triggered.connect(self.copy)
        self.paste_action.triggered.connect(self.paste)
        self.paste_previous_action.triggered.connect(self.paste_previous)

    def _action(self, text: str, name: str, key: str) -> QAction:
        action = QAction(text, self._window)
        action.setObjectName(name)
        action.setShortcut(QKeySequence(key))
        self._window.addAction(action)
        return action

    @Slot()
    def copy(self) -> int:
        doc = self._window.document
        self.boxes = [doc.box(i) for i in doc.selected_ids() if doc.has_box(i)]
        self._window.status.show_message(f"Copied {len(self.boxes)} box{'es' if len(self.boxes) != 1 else ''}")
        return len(self.boxes)

    @Slot()
    def paste(self) -> int:
        return self._paste(self.boxes, "Pasted")

    @Slot()
    def paste_previous(self) -> int:
        window = self._window
        project, current = window.projects.project, window.navigator.current_id
        ids = window.file_list.ordered_ids()
        if project is None or current not in ids or ids.index(current) == 0:
            window.status.show_message("No previous image to copy labels from")
            return 0
        from engine.project.labels import is_label

        previous = ids[ids.index(current) - 1]
        labels = [b for b in project.boxes(previous) if is_label(b)]
        return self._paste(labels, f"Pasted from {window.file_list.model.path(previous)}:")

    def _paste(self, boxes: list[Box], verb: str) -> int:
        doc = self._window.document
        if doc.record is None or not boxes:
            return 0
        there = {(b.label, b.xyxy) for b in doc.boxes()}
        new = [b for b in boxes if (b.label, b.xyxy) not in there]
        added: list[int] = []
        doc.undo_stack.beginMacro(f"paste {len(new)} boxes")
        try:
            for box in new:
                box_id = doc.add_box(Box(box.x1, box.y1, box.x2, box.y2, box.label))
                if box_id is not None:
                    added.append(box_id)
        finally:
            doc.undo_stack.endMacro()
        doc.select(added)
        self._window.status.show_message(f"{verb} {len(added)} box{'es' if len(added) != 1 else ''}")
        return len(added)
