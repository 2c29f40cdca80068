"""Issue 18, defect 6: a video squeezes the image while the Camera panel is open; closing the Camera
and Train panels gives the image its space back without a restart."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.gui


def test_closing_the_camera_and_train_panels_gives_the_space_back(qtbot, detector, make_clip) -> None:
    from app.main_window import MainWindow

    window = MainWindow(detector_factory=lambda spec: detector)
    qtbot.addWidget(window)
    window.resize(1280, 800)
    window.show()
    try:
        qtbot.wait(200)
        before = window.canvas.width()
        window.camera_dock.open_video(make_clip("street.avi", num_frames=30, fps=30.0))
        window.training_panel.integration.show_panel()
        qtbot.waitUntil(lambda: window.canvas.width() < before - 50, timeout=5000)  # they take room while open
        qtbot.wait(300)
        window.camera_actions.close.trigger()
        window.training_panel.close()
        qtbot.waitUntil(lambda: abs(window.canvas.width() - before) <= 8, timeout=5000)
    finally:
        window.shutdown()


@pytest.fixture
def window_on_project(qtbot, make_window, detector, tmp_path):
    """The main window with a one-image project open, detecting with the fake detector."""
    from tests.app.shell.conftest import open_and_wait, write_images

    write_images(tmp_path / "proj", 1)
    window = make_window(detector_factory=lambda spec: detector)
    open_and_wait(qtbot, window, tmp_path / "proj")
    return window


def test_add_frames_stops_once_the_video_is_closed(qtbot, window_on_project, make_clip, tmp_path) -> None:
    """Issue 18, defect 8: "Add Frames" still added frames after the video was closed."""
    window = window_on_project
    panel = window.camera_dock.panel
    panel.open_video(make_clip("street.avi", num_frames=30, fps=30.0))
    qtbot.waitUntil(lambda: panel.controls.add_button.isEnabled(), timeout=5000)
    window.camera_actions.close.trigger()
    assert not panel.controls.add_button.isEnabled()
    panel.add_every_nth(10)
    qtbot.wait(500)
    assert not (tmp_path / "proj" / "captures").exists()


def test_live_boxes_use_the_class_list_colours(window_on_project) -> None:
    """Issue 18, defect 8: the live video overlay used other class colours than the canvas and class list."""
    from PySide6.QtGui import QColor

    window = window_on_project
    window.class_list.add_class("thing")
    window.class_list.select_name("thing")
    window.class_list.recolour_selected("#123456")
    view = window.camera_dock.panel.view
    assert view.colour_of("thing") == QColor("#123456")
    assert view.colour_of("thing") == QColor(window.document.class_colour("thing"))
