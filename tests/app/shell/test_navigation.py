"""Opening a folder, keyboard navigation, unreadable images, status in the file list."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QPoint, Qt

from tests.app.shell.conftest import open_and_wait, write_images

pytestmark = pytest.mark.gui


def _path(window: Any) -> str:
    return window.document.record.path


def _key(qtbot: Any, window: Any, key: Qt.Key, modifier: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier) -> None:
    before = window.navigator.generation
    qtbot.keyClick(window.canvas, key, modifier)
    if window.navigator.generation != before:
        qtbot.waitUntil(lambda: window.document.record is not None
                        and window.document.record.id == window.navigator.current_id, timeout=5000)


def test_open_folder_lists_images_with_status_and_shows_first(qtbot: Any, make_window: Any, image_folder: Path) -> None:
    window = make_window()
    open_and_wait(qtbot, window, image_folder)
    model = window.file_list.model
    assert [model.path(i) for i in model.ids()] == [f"img_{i:02d}.jpg" for i in range(5)]
    assert {model.status(i) for i in model.ids()} == {"new"}
    assert _path(window) == "img_00.jpg"
    assert window.document.pixels.shape == (64, 96, 3)
    qtbot.waitUntil(lambda: window.file_list.counts_label.text().startswith("5 images · 5 new"))
    window.file_list.set_filter("03")
    assert [model.path(i) for i in window.file_list.visible_ids()] == ["img_03.jpg"]


def test_keyboard_navigation_d_a_shift_d_space(qtbot: Any, make_window: Any, image_folder: Path) -> None:
    window = make_window()
    open_and_wait(qtbot, window, image_folder)
    window.activateWindow()
    window.canvas.setFocus()
    _key(qtbot, window, Qt.Key.Key_D)
    assert _path(window) == "img_01.jpg"
    _key(qtbot, window, Qt.Key.Key_D)
    assert _path(window) == "img_02.jpg"
    _key(qtbot, window, Qt.Key.Key_A)
    assert _path(window) == "img_01.jpg"
    # Space: reviewed, saved in the store, shown in the list, and on to the next image
    _key(qtbot, window, Qt.Key.Key_Space)
    assert _path(window) == "img_02.jpg"
    ids = window.file_list.model.ids()
    assert window.file_list.model.status(ids[1]) == "reviewed"
    assert window.projects.project.image(ids[1]).status == "reviewed"
    _key(qtbot, window, Qt.Key.Key_Space)  # img_02 reviewed -> img_03
    _key(qtbot, window, Qt.Key.Key_A)
    _key(qtbot, window, Qt.Key.Key_A)
    _key(qtbot, window, Qt.Key.Key_A)
    assert _path(window) == "img_00.jpg"
    _key(qtbot, window, Qt.Key.Key_A)  # first image: stays
    assert _path(window) == "img_00.jpg"
    _key(qtbot, window, Qt.Key.Key_D, Qt.KeyboardModifier.ShiftModifier)  # skips reviewed 01 and 02
    assert _path(window) == "img_03.jpg"


def test_file_list_and_d_a_follow_natural_order(qtbot: Any, make_window: Any, tmp_path: Path) -> None:
    folder = tmp_path / "raccoons"
    for path in write_images(folder, 5):  # img_00..img_04 renamed to raccoon-1, -2, -10, -11, -100
        path.rename(folder / f"raccoon-{[1, 2, 10, 11, 100][int(path.stem[-2:])]}.jpg")
    window = make_window()
    open_and_wait(qtbot, window, folder)
    shown = [window.file_list.model.path(i) for i in window.file_list.visible_ids()]
    assert shown == ["raccoon-1.jpg", "raccoon-2.jpg", "raccoon-10.jpg", "raccoon-11.jpg", "raccoon-100.jpg"]
    assert _path(window) == "raccoon-1.jpg"
    window.activateWindow()
    window.canvas.setFocus()
    visited = [_path(window)]
    for _ in range(4):
        _key(qtbot, window, Qt.Key.Key_D)
        visited.append(_path(window))
    assert visited == shown
    _key(qtbot, window, Qt.Key.Key_A)
    assert _path(window) == "raccoon-11.jpg"


def test_space_marks_reviewed_from_the_file_list_and_space_drag_on_the_canvas_only_pans(
        qtbot: Any, make_window: Any, image_folder: Path) -> None:
    window = make_window()
    open_and_wait(qtbot, window, image_folder)
    window.activateWindow()
    qtbot.waitActive(window)
    ids = window.file_list.model.ids()
    window.file_list.view.setFocus()
    before = window.navigator.generation
    qtbot.keyClick(window.file_list.view, Qt.Key.Key_Space)  # the window's shortcut: list has focus
    qtbot.waitUntil(lambda: window.navigator.generation != before
                    and window.document.record.id == window.navigator.current_id, timeout=5000)
    assert window.file_list.model.status(ids[0]) == "reviewed" and _path(window) == "img_01.jpg"

    canvas = window.canvas
    canvas.setFocus()
    for _ in range(4):
        canvas.zoom_in()
    scroll = (canvas.horizontalScrollBar().value(), canvas.verticalScrollBar().value())
    viewport, centre = canvas.viewport(), canvas.viewport().rect().center()
    qtbot.keyPress(canvas, Qt.Key.Key_Space)
    qtbot.mousePress(viewport, Qt.MouseButton.LeftButton, pos=centre)
    for step in range(1, 6):
        qtbot.mouseMove(viewport, centre + QPoint(-8 * step, -6 * step))
    qtbot.mouseRelease(viewport, Qt.MouseButton.LeftButton, pos=centre + QPoint(-40, -30))
    qtbot.keyRelease(canvas, Qt.Key.Key_Space)
    qtbot.wait(50)
    assert (canvas.horizontalScrollBar().value(), canvas.verticalScrollBar().value()) != scroll
    assert _path(window) == "img_01.jpg" and window.file_list.model.status(ids[1]) == "new"
    assert window.document.boxes() == []


def test_undo_redo_shortcuts_drive_the_document_stack(qtbot: Any, make_window: Any, image_folder: Path) -> None:
    from engine.types import Box

    window = make_window()
    open_and_wait(qtbot, window, image_folder)
    window.document.add_box(Box(10, 10, 40, 40, "cat"))
    assert len(window.document.boxes()) == 1
    window.activateWindow()
    qtbot.keyClick(window.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert window.document.boxes() == []
    qtbot.keyClick(window.canvas, Qt.Key.Key_Y, Qt.KeyboardModifier.ControlModifier)
    assert len(window.document.boxes()) == 1
    qtbot.keyClick(window.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(window.canvas, Qt.Key.Key_Z,
                   Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert len(window.document.boxes()) == 1
    assert window.status.saved_label.text().endswith("saved")


def test_unreadable_image_shows_placeholder_and_the_others_still_work(qtbot: Any, make_window: Any, tmp_path: Path) -> None:
    folder = tmp_path / "mixed"
    write_images(folder, 3, broken=(1,))
    window = make_window()
    open_and_wait(qtbot, window, folder)
    with qtbot.waitSignal(window.navigator.image_shown, timeout=5000):
        window.navigator.next()
    assert _path(window) == "img_01.jpg"
    assert window.document.pixels is None
    assert window.document.error
    ids = window.file_list.model.ids()
    assert window.file_list.model.status(ids[1]) == "unreadable"
    with qtbot.waitSignal(window.navigator.image_shown, timeout=5000):
        window.navigator.next()
    assert _path(window) == "img_02.jpg"
    assert window.document.pixels is not None
    assert window.isVisible()


def test_open_missing_folder_reports_and_keeps_the_current_project(qtbot: Any, make_window: Any,
                                                                  image_folder: Path, tmp_path: Path) -> None:
    window = make_window()
    open_and_wait(qtbot, window, image_folder)
    with qtbot.waitSignal(window.projects.open_failed, timeout=5000) as blocker:
        window.projects.open_folder(tmp_path / "nope")
    assert "not a folder" in blocker.args[0]
    assert "Could not open" in window.status.last_message
    assert window.projects.project is not None and _path(window) == "img_00.jpg"


def test_score_slider_sets_document_threshold(qtbot: Any, make_window: Any) -> None:
    window = make_window()
    window.score_slider.set_value(0.62)
    assert window.document.score_thresh == pytest.approx(0.62)
    window.document.set_score_thresh(0.1)
    assert window.score_slider.slider.value() == 10
