"""The class list dock: the project's classes with their colours; add, rename, recolour, reorder,
delete (an unused class, or one with its boxes) and merge (its boxes go to another class, then it goes).

A view of the Document: it rebuilds on ``classes_changed`` and changes classes only through the
Document's methods (which write through to the store). Double-click or selecting a class makes it
the label for new boxes.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Slot
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import (
    QColorDialog,
    QDockWidget,
    QHBoxLayout,
    QInputDialog,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)


class ClassListDock(QDockWidget):
    def __init__(self, document: Any, parent: QWidget | None = None) -> None:
        super().__init__("Classes", parent)
        self.setObjectName("class_list_dock")
        self._document = document
        self.list = QListWidget()
        self.list.setObjectName("class_list")
        buttons = {}
        row = QHBoxLayout()
        for name, tip in (("add", "Add a class"), ("rename", "Rename the selected class"),
                          ("colour", "Change the selected class's colour"),
                          ("delete", "Delete the selected class"),
                          ("merge", "Move the selected class's boxes to another class, then delete it"),
                          ("up", "Move up"), ("down", "Move down")):
            # tool buttons: a push button is at least 80 px wide, which made this dock (and so the
            # whole right column) ~430 px wide and squeezed the canvas
            button = QToolButton()
            button.setText({"up": "↑", "down": "↓", "colour": "Colour", "delete": "Del"}.get(
                name, name.capitalize()))
            button.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
            button.setObjectName(f"class_{name}")
            button.setToolTip(tip)
            row.addWidget(button)
            buttons[name] = button
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.list, 1)
        layout.addLayout(row)
        self.setWidget(body)
        buttons["add"].clicked.connect(self._on_add_clicked)
        buttons["rename"].clicked.connect(self._on_rename_clicked)
        buttons["colour"].clicked.connect(self._on_colour_clicked)
        buttons["delete"].clicked.connect(self._on_delete_clicked)
        buttons["merge"].clicked.connect(self._on_merge_clicked)
        buttons["up"].clicked.connect(self._on_up_clicked)
        buttons["down"].clicked.connect(self._on_down_clicked)
        self.list.currentTextChanged.connect(self._on_list_current_text_changed)
        document.classes_changed.connect(self.refresh)
        self.refresh()

    # --- public API (also what the buttons do) ----------------------------------------------
    def names(self) -> list[str]:
        return [self.list.item(i).text() for i in range(self.list.count())]

    def selected_name(self) -> str | None:
        item = self.list.currentItem()
        return item.text() if item is not None else None

    def select_name(self, name: str) -> None:
        for i in range(self.list.count()):
            if self.list.item(i).text() == name:
                self.list.setCurrentRow(i)

    def add_class(self, name: str, colour: str | None = None) -> None:
        name = name.strip()
        if name:
            self._document.add_class(name, colour)
            self.select_name(name)

    def rename_selected(self, new: str) -> None:
        old = self.selected_name()
        if old and new.strip() and new.strip() != old:
            self._document.rename_class(old, new.strip())
            self.select_name(new.strip())

    def recolour_selected(self, colour: str) -> None:
        name = self.selected_name()
        if name and QColor(colour).isValid():
            self._document.set_class_colour(name, QColor(colour).name())

    def move_selected(self, delta: int) -> None:
        name = self.selected_name()
        names = self.names()
        if name is None:
            return
        i = names.index(name)
        j = i + delta
        if 0 <= j < len(names):
            names[i], names[j] = names[j], names[i]
            self._document.reorder_classes(names)
            self.select_name(name)

    def delete_selected(self, *, delete_boxes: bool = False) -> str:
        """Delete the selected class; refused (the reason returned) while boxes use it unless
        ``delete_boxes``. Returns "" on success."""
        return self._change_store(lambda project, name: project.delete_class(name, delete_boxes=delete_boxes))

    def merge_selected_into(self, target: str) -> str:
        """Relabel every box of the selected class as ``target`` and delete the class; "" on success."""
        return self._change_store(lambda project, name: project.delete_class(name, reassign_to=target))

    def _change_store(self, change: Any) -> str:
        name, project = self.selected_name(), self._document.project
        if name is None:
            return "select a class first"
        if project is None or getattr(project, "read_only", False):
            return "open a writable project first"
        try:
            change(project, name)
        except Exception as exc:  # ProjectError: in use, unknown target; sqlite errors
            return str(exc)
        self._document.reload_from_store()
        return ""

    def box_count(self, name: str) -> int:
        project = self._document.project
        return 0 if project is None else project.class_counts().get(name, 0)

    @Slot()
    def refresh(self) -> None:
        current = self.selected_name()
        self.list.blockSignals(True)
        self.list.clear()
        for name in self._document.class_names():
            pixmap = QPixmap(14, 14)
            pixmap.fill(QColor(self._document.class_colour(name)))
            self.list.addItem(QListWidgetItem(QIcon(pixmap), name))
        self.list.blockSignals(False)
        if current:
            self.select_name(current)

    # --- button slots (dialogs) -------------------------------------------------------------
    @Slot()
    def _on_add_clicked(self) -> None:
        name, ok = QInputDialog.getText(self, "Add class", "Class name:")
        if ok:
            self.add_class(name)

    @Slot()
    def _on_rename_clicked(self) -> None:
        old = self.selected_name()
        if old is None:
            return
        new, ok = QInputDialog.getText(self, "Rename class", f"New name for “{old}”:", text=old)
        if ok:
            self.rename_selected(new)

    @Slot()
    def _on_colour_clicked(self) -> None:
        name = self.selected_name()
        if name is None:
            return
        colour = QColorDialog.getColor(QColor(self._document.class_colour(name)), self, f"Colour of {name}")
        if colour.isValid():
            self.recolour_selected(colour.name())

    @Slot()
    def _on_delete_clicked(self) -> None:
        name = self.selected_name()
        if name is None:
            return
        used = self.box_count(name)
        if used:
            answer = QMessageBox.question(
                self, "Delete class",
                f"“{name}” is used by {used} box{'es' if used != 1 else ''}. Delete the class and its boxes?\n"
                "(To keep the boxes under another class, use Merge.)")
            if answer != QMessageBox.StandardButton.Yes:
                return
        error = self.delete_selected(delete_boxes=bool(used))
        if error:
            QMessageBox.warning(self, "Delete class", error)

    @Slot()
    def _on_merge_clicked(self) -> None:
        name = self.selected_name()
        others = [n for n in self.names() if n != name]
        if name is None or not others:
            return
        target, ok = QInputDialog.getItem(self, "Merge class", f"Move the boxes of “{name}” to:", others, 0, False)
        if ok and target:
            error = self.merge_selected_into(target)
            if error:
                QMessageBox.warning(self, "Merge class", error)

    @Slot()
    def _on_up_clicked(self) -> None:
        self.move_selected(-1)

    @Slot()
    def _on_down_clicked(self) -> None:
        self.move_selected(+1)

    @Slot(str)
    def _on_list_current_text_changed(self, name: str) -> None:
        if name:
            self._document.set_current_label(name)
