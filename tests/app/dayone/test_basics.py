"""Issue 18, missing basics: View and Help menus, right-click on a box, copy/paste, brightness/contrast,
recent folders and dropping a folder, driven through the window's keys, menus and mouse."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QAction, QContextMenuEvent, QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QMenu

from app.shortcuts import SHORTCUTS
from engine.types import Box
from tests.app.shell.conftest import open_and_wait, write_images

pytestmark = pytest.mark.gui
README = Path(__file__).resolve().parents[3] / "README.md"


def _window(qtbot: Any, make_window: Any, tmp_path: Path, n: int = 3) -> Any:
    folder = tmp_path / "photos"
    write_images(folder, n, size=(160, 120))
    window = make_window()
    window.resize(1000, 700)
    open_and_wait(qtbot, window, folder)
    window.activateWindow()
    window.canvas.setFocus()
    qtbot.waitUntil(window.canvas.hasFocus, timeout=3000)
    return window


def _viewport_point(window: Any, x: float, y: float) -> QPoint:
    return window.canvas.mapFromScene(QPointF(x, y))


def test_view_menu_zooms_hides_boxes_and_brings_a_closed_panel_back(qtbot: Any, make_window: Any,
                                                                      tmp_path: Path) -> None:
    window = _window(qtbot, make_window, tmp_path)
    titles = [a.text().replace("&", "") for a in window.menuBar().actions()]
    assert "View" in titles and "Help" in titles
    window.document.add_box(Box(10, 10, 60, 60, "cat"))
    zoom = window.canvas.zoom()
    window.view.zoom_in.trigger()
    assert window.canvas.zoom() > zoom
    assert window.view.fit.shortcuts()[0].toString() == "Ctrl+0"  # shown in the menu
    qtbot.keyClick(window.canvas, Qt.Key.Key_H)
    assert window.canvas.visible_box_ids() == []
    qtbot.keyClick(window.canvas, Qt.Key.Key_H)
    assert len(window.canvas.visible_box_ids()) == 1
    window.class_list.close()  # the dock's own close button
    assert not window.class_list.isVisible()
    window.view.panel_actions()["Classes"].trigger()
    assert window.class_list.isVisible()


def test_shortcuts_are_in_help_and_in_the_readme_and_none_is_taken_twice(qtbot: Any, make_window: Any,
                                                                          tmp_path: Path) -> None:
    window = _window(qtbot, make_window, tmp_path)
    qtbot.keyClick(window.canvas, Qt.Key.Key_F1)
    dialog = window.view.shortcuts_dialog
    assert dialog is not None and dialog.isVisible() and dialog.table.rowCount() == len(SHORTCUTS)
    table = README.read_text(encoding="utf-8").split("| Key | Action |", 1)[1].split("\n\n", 1)[0]
    readme_keys = [m.group(1).strip() for m in re.finditer(r"^\| (.+?) \| .+ \|$", table, re.M)]
    assert readme_keys[1:] == [k for k, _ in SHORTCUTS]  # [0] is the "---" row
    seen: dict[str, str] = {}
    for action in window.findChildren(QAction):
        if action.parent() is not window:
            continue
        for key in action.shortcuts():
            text = key.toString()
            assert text not in seen, f"{text} is both {seen[text]!r} and {action.text()!r}"
            seen[text] = action.text()


def test_right_click_on_a_box_offers_its_menu(qtbot: Any, make_window: Any, tmp_path: Path) -> None:
    window = _window(qtbot, make_window, tmp_path)
    doc = window.document
    doc.add_box(Box(10, 10, 60, 60, "cat"))
    doc.select([])
    pos = _viewport_point(window, 35, 35)
    qtbot.mouseClick(window.canvas.viewport(), Qt.MouseButton.RightButton, pos=pos)
    # QTest sends no context-menu event after a right click; the platform would
    QApplication.sendEvent(window.canvas.viewport(), QContextMenuEvent(QContextMenuEvent.Reason.Mouse, pos,
                                                                     window.canvas.viewport().mapToGlobal(pos)))
    menu = window.view.box_menu
    qtbot.waitUntil(lambda: menu is not None and menu.isVisible(), timeout=3000)
    entries = [a.text().replace("&", "") for a in menu.actions() if not a.isSeparator()]
    assert entries[:4] == ["Relabel Selection…", "Accept", "Delete", "Bring to Front"]
    assert len(doc.selected_ids()) == 1  # the box under the pointer
    next(a for a in menu.actions() if a.text() == "&Delete").trigger()
    menu.close()
    assert doc.boxes() == []
    window.document.undo_stack.undo()
    assert len(doc.boxes()) == 1


def test_copy_paste_and_the_previous_images_labels(qtbot: Any, make_window: Any, tmp_path: Path) -> None:
    window = _window(qtbot, make_window, tmp_path)
    doc = window.document
    box_id = doc.add_box(Box(10, 10, 60, 60, "cat"))
    doc.select([box_id])
    qtbot.keyClick(window.canvas, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    with qtbot.waitSignal(window.navigator.image_shown, timeout=5000):
        qtbot.keyClick(window.canvas, Qt.Key.Key_D)
    assert doc.boxes() == []
    qtbot.keyClick(window.canvas, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
    assert [(b.label, b.xyxy, b.source) for b in doc.boxes()] == [("cat", (10, 10, 60, 60), "manual")]
    doc.add_box(Box(70, 20, 100, 50, "dog"))
    with qtbot.waitSignal(window.navigator.image_shown, timeout=5000):
        qtbot.keyClick(window.canvas, Qt.Key.Key_D)
    qtbot.keyClick(window.canvas, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert sorted(b.label for b in doc.boxes()) == ["cat", "dog"]
    assert sorted(b.label for b in window.projects.project.boxes(doc.record)) == ["cat", "dog"]  # saved
    doc.undo_stack.undo()  # the whole paste is one step
    assert doc.boxes() == []


def test_brightness_and_contrast_change_the_display_only(qtbot: Any, make_window: Any, tmp_path: Path) -> None:
    window = _window(qtbot, make_window, tmp_path)
    path = window.projects.project.folder / window.document.record.path
    before_file, before_pixels = path.read_bytes(), window.document.pixels.copy()
    scene = window.canvas.canvas_scene()
    shown = scene._pixmap.toImage().pixelColor(5, 5).lightness()  # noqa: SLF001 - what is painted
    qtbot.keyClick(window.canvas, Qt.Key.Key_B, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    dialog = window.view.adjust_dialog
    assert dialog is not None and dialog.isVisible()
    dialog.brightness.setValue(80)
    assert scene._pixmap.toImage().pixelColor(5, 5).lightness() > shown  # noqa: SLF001
    assert np.array_equal(window.document.pixels, before_pixels) and path.read_bytes() == before_file
    dialog.reset()
    assert scene._pixmap.toImage().pixelColor(5, 5).lightness() == shown  # noqa: SLF001


def test_recent_folders_and_dropping_a_folder(qtbot: Any, make_window: Any, tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    write_images(first, 2)
    write_images(second, 2)
    window = make_window()
    open_and_wait(qtbot, window, first)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(second))])
    drop = QDropEvent(QPointF(200, 200), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                      Qt.KeyboardModifier.NoModifier)
    # the offscreen platform has no drag and drop: hand the events to the window's handlers as Qt would
    enter = QDragEnterEvent(QPoint(200, 200), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    window.dragEnterEvent(enter)
    assert enter.isAccepted()
    with qtbot.waitSignal(window.navigator.image_shown, timeout=10_000):
        window.dropEvent(drop)
    assert window.projects.project.folder.name == "second"
    window.recent.menu.aboutToShow.emit()
    entries = [a for a in window.recent.menu.actions() if a.data()]
    assert [Path(a.data()).name for a in entries] == ["second", "first"]
    with qtbot.waitSignal(window.navigator.image_shown, timeout=10_000):
        entries[1].trigger()
    assert window.projects.project.folder.name == "first"
    assert isinstance(window.recent.menu, QMenu)
