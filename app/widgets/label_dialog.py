"""A searchable label picker: type to filter the project's classes, Enter picks (or creates) one."""

from __future__ import annotations

from typing import Sequence

from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLineEdit, QListWidget, QVBoxLayout, QWidget


class LabelDialog(QDialog):
    """``chosen_label()`` is the highlighted class, or the typed text when it matches none."""

    def __init__(self, class_names: Sequence[str], current: str | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Choose a label")
        self.setObjectName("label_dialog")
        self.search = QLineEdit(placeholderText="Search or type a new class…")
        self.search.setObjectName("label_search")
        self.list = QListWidget()
        self.list.setObjectName("label_list")
        self.list.addItems(list(class_names))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        layout = QVBoxLayout(self)
        layout.addWidget(self.search)
        layout.addWidget(self.list)
        layout.addWidget(buttons)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        self.search.textChanged.connect(self._on_search_text_changed)
        self.list.itemDoubleClicked.connect(self.accept)
        matches = self.list.findItems(current or "", Qt.MatchFlag.MatchExactly) if current else []
        self.list.setCurrentItem(matches[0] if matches else self.list.item(0))

    def set_search(self, text: str) -> None:
        self.search.setText(text)

    def visible_labels(self) -> list[str]:
        return [self.list.item(i).text() for i in range(self.list.count()) if not self.list.item(i).isHidden()]

    def chosen_label(self) -> str | None:
        item = self.list.currentItem()
        if item is not None and not item.isHidden():
            return item.text()
        text = self.search.text().strip()
        return text or None

    @Slot(str)
    def _on_search_text_changed(self, text: str) -> None:
        needle = text.strip().lower()
        first = None
        for i in range(self.list.count()):
            item = self.list.item(i)
            hidden = bool(needle) and needle not in item.text().lower()
            item.setHidden(hidden)
            if not hidden and first is None:
                first = item
        self.list.setCurrentItem(first)

    @staticmethod
    def ask(class_names: Sequence[str], current: str | None = None, parent: QWidget | None = None) -> str | None:
        dialog = LabelDialog(class_names, current, parent)
        return dialog.chosen_label() if dialog.exec() == QDialog.DialogCode.Accepted else None
