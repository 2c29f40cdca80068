"""Issue 18, defect 7: keys that worked only with the right panel focused, and a wheel that edited the Train form."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication

from engine.types import Box
from tests.app.shell.conftest import open_and_wait, write_images

pytestmark = pytest.mark.gui


def test_a_digit_relabels_the_box_selected_in_the_boxes_list(qtbot: Any, make_window: Any, tmp_path: Path) -> None:
    folder = tmp_path / "photos"
    write_images(folder, 2)
    window = make_window()
    open_and_wait(qtbot, window, folder)
    for name in ("cat", "dog"):
        window.class_list.add_class(name)
    window.document.add_box(Box(5, 5, 40, 40, "cat"))
    boxes = window.box_list.list
    window.activateWindow()
    boxes.setFocus()
    qtbot.waitUntil(boxes.hasFocus, timeout=2000)
    qtbot.mouseClick(boxes.viewport(), Qt.MouseButton.LeftButton, pos=boxes.visualItemRect(boxes.item(0)).center())
    assert window.document.selected_ids()
    qtbot.keyClick(boxes, Qt.Key.Key_2)
    assert [b.label for b in window.document.boxes()] == ["dog"]
    window.document.undo_stack.undo()
    assert [b.label for b in window.document.boxes()] == ["cat"]


def test_the_wheel_over_the_train_form_does_not_change_the_learning_rate(qtbot: Any, make_window: Any) -> None:
    window = make_window()
    lr = window.training_panel.options_form.lr
    before = lr.value()
    pos = QPointF(lr.width() / 2, lr.height() / 2)
    wheel = QWheelEvent(pos, lr.mapToGlobal(pos), QPoint(0, 0), QPoint(0, -120), Qt.MouseButton.NoButton,
                        Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(lr, wheel)
    assert lr.value() == before
    assert lr.focusPolicy() == Qt.FocusPolicy.StrongFocus  # a click or Tab gives it focus, then the wheel edits
