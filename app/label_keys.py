"""Digits 1-9 label with the n-th class wherever the focus is (canvas, Boxes list, file list).

With boxes selected a digit relabels them (one undoable command); with none it picks the label for
the next box. They are window actions, so they work when the selection was made in the Boxes list
and the canvas does not have focus; a text field still receives the digits typed into it.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, Slot
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QWidget


class LabelKeys(QObject):
    def __init__(self, window: QWidget, document: Any) -> None:
        super().__init__(window)
        self._document = document
        self.actions: list[QAction] = []
        for n in range(1, 10):
            action = QAction(f"Label as Class {n}", window)
            action.setObjectName(f"label_class_{n}")
            action.setShortcut(QKeySequence(str(n)))
            action.setData(n)
            action.triggered.connect(self._on_action_triggered)
            window.addAction(action)
            self.actions.append(action)

    def label_with(self, n: int) -> bool:
        """Relabel the selection (or choose the next box's label) as class ``n`` (1-based)."""
        names = self._document.class_names()
        if not 1 <= n <= len(names):
            return False
        selected = self._document.selected_ids()
        if selected:
            self._document.relabel(selected, names[n - 1])
        else:
            self._document.set_current_label(names[n - 1])
        return True

    @Slot()
    def _on_action_triggered(self) -> None:
        action = self.sender()
        if isinstance(action, QAction):
            self.label_with(int(action.data()))
