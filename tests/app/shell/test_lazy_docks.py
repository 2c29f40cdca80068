"""The Train and Camera docks load on first use, and their menu entries are there from the start."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QMainWindow

pytestmark = pytest.mark.gui


def _menu(window: Any, title: str) -> Any:
    for action in window.menuBar().actions():
        if action.text().replace("&", "") == title:
            return action.menu()
    raise AssertionError(f"no {title} menu")


def test_train_entry_opens_the_panel_on_first_use_and_toggles_it(qtbot: Any, make_window: Any) -> None:
    from app.training.panel import TrainingPanel

    window = make_window()
    assert window.findChild(TrainingPanel) is None  # not built at start-up
    train = [a for a in _menu(window, "Model").actions() if a.text().replace("&", "") == "Train…"]
    assert len(train) == 1 and train[0].shortcut().toString() == "Ctrl+T"
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=5000)
    window.canvas.setFocus()
    qtbot.keyClick(window.canvas, Qt.Key.Key_T, Qt.KeyboardModifier.ControlModifier)
    panel = window.findChild(TrainingPanel)
    assert panel is not None and panel.isVisible() and window.training_panel is panel
    assert train[0].isChecked()
    train[0].trigger()  # the same entry hides it again
    assert panel.isHidden() and not train[0].isChecked()
    names = [a.objectName() for a in QMainWindow.actions(window)]
    assert names.count("train_panel_action") == 1  # adopted, not duplicated


def test_camera_menu_is_filled_just_before_it_is_first_shown(qtbot: Any, make_window: Any) -> None:
    window = make_window()
    menu = _menu(window, "Camera")
    assert menu.actions() == []
    menu.aboutToShow.emit()  # what opening the menu does
    texts = [a.text().replace("&", "") for a in menu.actions() if a.text()]
    assert texts[:2] == ["Open Camera…", "Open Video File…"] and "Grab Frame" in texts
    assert window.camera_actions.menu is menu
    assert [a.text() for a in window.menuBar().actions()].count("&Camera") == 1


def test_train_panel_opens_as_a_tab_beside_boxes_and_the_window_fits_a_900_px_screen(
        qtbot: Any, make_window: Any) -> None:
    window = make_window()
    window.resize(1440, 860)
    window.docks.train_action.trigger()
    panel = window.training_panel
    assert panel.isVisible() and window.box_list in window.tabifiedDockWidgets(panel)
    assert window.minimumSizeHint().height() <= 900  # stacked under Classes and Boxes it was 931
    # the class buttons no longer force the right column to ~430 px (80 px per push button)
    assert window.class_list.minimumSizeHint().width() < 360
