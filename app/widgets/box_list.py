"""The box list dock: the current image's visible boxes (label, score, source); click selects.

A view of the Document: rebuilt on ``boxes_changed`` / ``score_thresh_changed``, selection mirrored
both ways. Rows carry the box id; selecting rows calls ``Document.select``.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Slot
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import QAbstractItemView, QDockWidget, QListWidget, QListWidgetItem, QWidget

IdRole = Qt.ItemDataRole.UserRole + 1


def box_row_text(box: Any) -> str:
    score = f" {box.score:.2f}" if box.score is not None else ""
    return f"{box.label}{score}  [{box.source}]  {box.width:.0f}×{box.height:.0f}"


class BoxListDock(QDockWidget):
    def __init__(self, document: Any, parent: QWidget | None = None) -> None:
        super().__init__("Boxes", parent)
        self.setObjectName("box_list_dock")
        self._document = document
        self._syncing = False
        self.list = QListWidget()
        self.list.setObjectName("box_list")
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setWidget(self.list)
        self.list.itemSelectionChanged.connect(self._on_list_selection_changed)
        document.boxes_changed.connect(self.refresh)
        document.score_thresh_changed.connect(self.refresh)
        document.classes_changed.connect(self.refresh)
        document.selection_changed.connect(self._on_document_selection_changed)
        self.refresh()

    def box_ids(self) -> list[int]:
        return [self.list.item(i).data(IdRole) for i in range(self.list.count())]

    def select_rows(self, rows: list[int]) -> None:
        self.list.clearSelection()
        for row in rows:
            self.list.item(row).setSelected(True)

    @Slot()
    def refresh(self) -> None:
        self._syncing = True
        self.list.clear()
        boxes = sorted(self._document.visible_boxes(), key=lambda b: (-(b.score or 2.0), b.id or 0))
        selected = set(self._document.selected_ids())
        for box in boxes:
            pixmap = QPixmap(12, 12)
            pixmap.fill(QColor(self._document.class_colour(box.label)))
            item = QListWidgetItem(QIcon(pixmap), box_row_text(box))
            item.setData(IdRole, box.id)
            self.list.addItem(item)
            item.setSelected(box.id in selected)
        self.setWindowTitle(f"Boxes ({len(boxes)})")
        self._syncing = False

    @Slot()
    def _on_list_selection_changed(self) -> None:
        if not self._syncing:
            self._document.select([item.data(IdRole) for item in self.list.selectedItems()])

    @Slot()
    def _on_document_selection_changed(self) -> None:
        selected = set(self._document.selected_ids())
        self._syncing = True
        for i in range(self.list.count()):
            item = self.list.item(i)
            item.setSelected(item.data(IdRole) in selected)
        self._syncing = False
