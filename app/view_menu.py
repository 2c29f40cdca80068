"""View and Help menus, and the right-click menu on boxes: what LabelImg and labelme users look for first.

View: zoom in / out / fit (the canvas keys, now also in a menu), Show Boxes (H), Brightness / Contrast
(display only, the file is untouched), and a check entry per panel and toolbar so a closed panel can be
brought back. Help › Keyboard Shortcuts (F1) shows the README's key table. Right-clicking a box selects
it and offers Relabel, Accept, Delete, Bring to Front and Copy.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, QPoint, Qt, Slot
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QDockWidget,
    QFormLayout,
    QLabel,
    QMainWindow,
    QMenu,
    QSlider,
    QTableWidget,
    QTableWidgetItem,
    QToolBar,
    QVBoxLayout,
)

from app.shortcuts import SHORTCUTS


def _action(window: QMainWindow, text: str, name: str, *keys: str) -> QAction:
    action = QAction(text, window)
    action.setObjectName(name)
    if keys:
        action.setShortcuts([QKeySequence(k) for k in keys])
    window.addAction(action)
    return action


class ViewMenu(QObject):
    """Builds View and Help in ``window``'s menu bar and the canvas's box menu."""

    def __init__(self, window: Any) -> None:
        super().__init__(window)
        self._window = window
        canvas = window.canvas
        self.zoom_in = _action(window, "Zoom &In", "zoom_in", "Ctrl+=", "Ctrl++")
        self.zoom_out = _action(window, "Zoom &Out", "zoom_out", "Ctrl+-")
        self.fit = _action(window, "&Fit Image", "fit", "Ctrl+0", "F")
        self.show_boxes = _action(window, "Show &Boxes", "show_boxes", "H")
        self.show_boxes.setCheckable(True)
        self.show_boxes.setChecked(True)
        self.adjust = _action(window, "Brightness / &Contrast…", "brightness_contrast", "Ctrl+Shift+B")
        self.shortcuts = _action(window, "&Keyboard Shortcuts", "keyboard_shortcuts", "F1")
        self.zoom_in.triggered.connect(canvas.zoom_in)
        self.zoom_out.triggered.connect(canvas.zoom_out)
        self.fit.triggered.connect(canvas.fit)
        self.show_boxes.toggled.connect(canvas.canvas_scene().set_boxes_shown)
        self.adjust.triggered.connect(self.show_adjust_dialog)
        self.shortcuts.triggered.connect(self.show_shortcuts)
        bar = window.menuBar()
        help_anchor = next((a for a in bar.actions() if a.text().replace("&", "") == "Help"), None)
        self.menu = QMenu("&View", bar)
        self.menu.setObjectName("view_menu")
        bar.insertMenu(help_anchor, self.menu) if help_anchor else bar.addMenu(self.menu)
        for action in (self.zoom_in, self.zoom_out, self.fit, None, self.show_boxes, self.adjust, None):
            self.menu.addAction(action) if action else self.menu.addSeparator()
        self._panels_start = len(self.menu.actions())
        self.menu.aboutToShow.connect(self._on_menu_about_to_show)
        self._on_menu_about_to_show()
        self.help_menu = bar.addMenu("&Help")
        self.help_menu.setObjectName("help_menu")
        self.help_menu.addAction(self.shortcuts)
        canvas.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        canvas.customContextMenuRequested.connect(self._on_canvas_context_menu_requested)
        self.box_menu: QMenu | None = None
        self.adjust_dialog: QDialog | None = None
        self.shortcuts_dialog: QDialog | None = None

    # --- panels ------------------------------------------------------------------------------
    @Slot()
    def _on_menu_about_to_show(self) -> None:
        """One check entry per panel and toolbar, including those installed since (Train, Camera, Review)."""
        for action in self.menu.actions()[self._panels_start:]:
            self.menu.removeAction(action)
        docks = sorted(self._window.findChildren(QDockWidget), key=lambda d: d.windowTitle())
        for dock in docks:
            self.menu.addAction(dock.toggleViewAction())
        for toolbar in self._window.findChildren(QToolBar):
            toggle = toolbar.toggleViewAction()
            toggle.setText(f"{toolbar.windowTitle()} Toolbar")
            self.menu.addAction(toggle)

    def panel_actions(self) -> dict[str, QAction]:
        self._on_menu_about_to_show()
        return {a.text().replace("&", ""): a for a in self.menu.actions()[self._panels_start:]}

    # --- brightness / contrast ---------------------------------------------------------------
    @Slot()
    def show_adjust_dialog(self) -> QDialog:
        if self.adjust_dialog is None:
            self.adjust_dialog = _AdjustDialog(self._window.canvas.canvas_scene(), self._window)
        self.adjust_dialog.show()
        self.adjust_dialog.raise_()
        return self.adjust_dialog

    # --- help --------------------------------------------------------------------------------
    @Slot()
    def show_shortcuts(self) -> QDialog:
        if self.shortcuts_dialog is None:
            self.shortcuts_dialog = _ShortcutsDialog(self._window)
        self.shortcuts_dialog.show()
        self.shortcuts_dialog.raise_()
        return self.shortcuts_dialog

    # --- right-click on a box ----------------------------------------------------------------
    @Slot(QPoint)
    def _on_canvas_context_menu_requested(self, pos: QPoint) -> None:
        menu = self.box_menu_at(pos)
        if menu is not None:
            menu.popup(self._window.canvas.viewport().mapToGlobal(pos))

    def box_menu_at(self, pos: QPoint) -> QMenu | None:
        """Select the box under the viewport point ``pos`` (unless already selected) and build its menu."""
        canvas, doc = self._window.canvas, self._window.document
        point = canvas.mapToScene(pos)
        hits = canvas.canvas_scene().boxes_at(point.x(), point.y())
        if not hits:
            return None
        if hits[0].box_id not in doc.selected_ids():
            doc.select([hits[0].box_id])
        ids = doc.selected_ids()
        menu = QMenu(canvas)
        menu.setObjectName("box_menu")
        edit = self._window.actions.edit
        menu.addAction(edit.relabel)
        accept = menu.addAction("&Accept", lambda: doc.accept(ids))
        accept.setShortcut(QKeySequence("Return"))
        accept.setEnabled(any(doc.box(i).source == "predicted" for i in ids if doc.has_box(i)))
        delete = menu.addAction("&Delete", lambda: doc.delete_boxes(ids))
        delete.setShortcut(QKeySequence("Delete"))
        menu.addAction("Bring to &Front", lambda: canvas.canvas_scene().bring_to_front(ids))
        copy = getattr(self._window, "clipboard", None)
        if copy is not None:
            menu.addSeparator()
            menu.addAction(copy.copy_action)
        self.box_menu = menu
        return menu


class _AdjustDialog(QDialog):
    def __init__(self, scene: Any, parent: Any) -> None:
        super().__init__(parent)
        self.setObjectName("brightness_contrast_dialog")
        self.setWindowTitle("Brightness / Contrast (display only)")
        self._scene = scene
        self.brightness = QSlider(Qt.Orientation.Horizontal)
        self.brightness.setObjectName("brightness")
        self.brightness.setRange(-100, 100)
        self.contrast = QSlider(Qt.Orientation.Horizontal)
        self.contrast.setObjectName("contrast")
        self.contrast.setRange(20, 300)  # percent
        self.brightness.setValue(scene.brightness)
        self.contrast.setValue(round(scene.contrast * 100))
        form = QFormLayout()
        form.addRow("Brightness", self.brightness)
        form.addRow("Contrast", self.contrast)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Reset | QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.close)
        buttons.button(QDialogButtonBox.StandardButton.Reset).clicked.connect(self.reset)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Changes how the image is shown, not the file or what the model sees."))
        layout.addLayout(form)
        layout.addWidget(buttons)
        self.brightness.valueChanged.connect(self._on_slider_value_changed)
        self.contrast.valueChanged.connect(self._on_slider_value_changed)

    @Slot()
    def reset(self) -> None:
        self.brightness.setValue(0)
        self.contrast.setValue(100)

    @Slot()
    def _on_slider_value_changed(self) -> None:
        self._scene.set_display_adjust(self.brightness.value(), self.contrast.value() / 100.0)


class _ShortcutsDialog(QDialog):
    def __init__(self, parent: Any) -> None:
        super().__init__(parent)
        self.setObjectName("shortcuts_dialog")
        self.setWindowTitle("Keyboard shortcuts")
        self.table = QTableWidget(len(SHORTCUTS), 2)
        self.table.setObjectName("shortcuts_table")
        self.table.setHorizontalHeaderLabels(["Key", "Action"])
        self.table.verticalHeader().hide()
        for row, (keys, what) in enumerate(SHORTCUTS):
            self.table.setItem(row, 0, QTableWidgetItem(keys))
            self.table.setItem(row, 1, QTableWidgetItem(what))
        self.table.setWordWrap(True)
        self.table.resizeColumnToContents(0)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table)
        self.resize(760, 600)
        self.table.resizeRowsToContents()
