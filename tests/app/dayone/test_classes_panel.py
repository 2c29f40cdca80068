"""Issue 18, defect 5: classes can be deleted and merged from the Classes panel; Detect All's classes show."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QInputDialog, QMessageBox, QToolButton

from engine.types import Box
from tests.app.shell.conftest import FakeDetector, fake_factory, open_and_wait, write_images

pytestmark = pytest.mark.gui


def _click(window: Any, qtbot: Any, name: str) -> None:
    button = window.class_list.findChild(QToolButton, name)
    assert button is not None, f"the Classes panel has no {name} button"
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def test_the_auto_object_class_can_be_deleted_once_unused(qtbot: Any, make_window: Any, tmp_path: Path) -> None:
    folder = tmp_path / "photos"
    write_images(folder, 2)
    window = make_window()
    open_and_wait(qtbot, window, folder)
    doc = window.document
    box_id = doc.add_box(Box(5, 5, 40, 40, doc.label_for_new_box()))  # the first box: "object"
    window.class_list.add_class("raccoon")
    doc.select([box_id] if box_id is not None else [b.id for b in doc.boxes()])
    doc.relabel(doc.selected_ids(), "raccoon")
    window.class_list.select_name("object")
    _click(window, qtbot, "class_delete")
    assert window.class_list.names() == ["raccoon"]
    assert window.projects.project.class_names() == ["raccoon"]  # and so not exported either
    report = window.projects.project.export(tmp_path / "out", "yolo")
    assert report.class_names == ("raccoon",)


def test_delete_asks_about_boxes_and_merge_moves_them(qtbot: Any, make_window: Any, tmp_path: Path,
                                                     monkeypatch: Any) -> None:
    folder = tmp_path / "photos"
    write_images(folder, 2)
    window = make_window()
    open_and_wait(qtbot, window, folder)
    doc = window.document
    for name in ("cat", "kitty"):
        window.class_list.add_class(name)
    doc.add_box(Box(1, 1, 20, 20, "cat"))
    doc.add_box(Box(30, 30, 60, 60, "kitty"))
    window.class_list.select_name("kitty")
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.No)
    _click(window, qtbot, "class_delete")  # in use, and the user says No: nothing changes
    assert window.class_list.names() == ["cat", "kitty"] and len(doc.boxes()) == 2
    monkeypatch.setattr(QInputDialog, "getItem", lambda *a, **k: ("cat", True))
    _click(window, qtbot, "class_merge")
    assert window.class_list.names() == ["cat"]
    assert sorted(b.label for b in doc.boxes()) == ["cat", "cat"]
    assert [b.label for b in window.projects.project.boxes(doc.record)] == ["cat", "cat"]


def test_classes_added_by_detect_all_appear_without_a_restart(qtbot: Any, make_window: Any, tmp_path: Path) -> None:
    folder = tmp_path / "batch"
    write_images(folder, 3)
    window = make_window(detector_factory=fake_factory(FakeDetector()))
    window.models.auto_detect = False
    open_and_wait(qtbot, window, folder)
    with qtbot.waitSignal(window.models.model_ready, timeout=5000):
        window.models.load_checkpoint("fake.pt")
    assert "thing" not in window.class_list.names()
    with qtbot.waitSignal(window.models.batch_finished, timeout=10_000):
        window.detect_all()
    qtbot.waitUntil(lambda: "thing" in window.class_list.names(), timeout=3000)
