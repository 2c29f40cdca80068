"""The camera dock inside RetinaLab's main window: menu, live boxes from the loaded model, a grabbed
frame opened for labeling, and the camera view's keys not clashing with the window's shortcuts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import Qt

from app.workers.model import ModelSpec

pytestmark = pytest.mark.gui


@pytest.fixture
def window(qtbot, tmp_path: Path, detector):
    from app.main_window import MainWindow

    folder = tmp_path / "proj"
    folder.mkdir()
    for i in range(2):
        Image.fromarray(np.full((48, 64, 3), 60 * i, np.uint8)).save(folder / f"img_{i}.png")
    win = MainWindow(detector_factory=lambda spec: detector)
    qtbot.addWidget(win)
    win.show()
    with qtbot.waitSignal(win.navigator.image_shown, timeout=10_000):
        win.projects.open_folder(folder)
    with qtbot.waitSignal(win.models.model_ready, timeout=10_000):
        win.models.load(ModelSpec("checkpoint", "fake.pt"))
    yield win
    win.shutdown()


def test_grab_in_the_main_window_opens_the_frame_with_its_predictions(qtbot, window, make_clip) -> None:
    titles = [a.text().replace("&", "") for a in window.menuBar().actions()]
    assert "Camera" in titles
    dock = window.camera_dock
    dock.open_video(make_clip("street.avi", num_frames=30, fps=30.0))
    panel = dock.panel
    qtbot.waitUntil(lambda: panel.view.current_detections() is not None, timeout=5000)  # the loaded model
    panel.pause()
    shown_before = window.navigator.current_id
    with qtbot.waitSignal(window.navigator.image_shown, timeout=10_000):
        window.camera_actions.grab.trigger()
    record = window.document.record
    assert record.id != shown_before and record.path.startswith("captures/street_f")
    assert [(b.label, b.source) for b in window.document.boxes()] == [("thing", "predicted")]
    assert "thing" in window.document.class_names()
    assert window.file_list.model.path(record.id) == record.path  # listed


def test_space_in_the_camera_view_plays_and_pauses_without_marking_reviewed(qtbot, window, make_clip) -> None:
    panel = window.camera_dock.panel
    panel.open_video(make_clip(num_frames=200, fps=30.0))
    qtbot.waitUntil(lambda: panel.is_playing, timeout=5000)
    window.activateWindow()
    qtbot.waitActive(window)
    panel.view.setFocus()
    status_before = window.document.record.status
    current_before = window.navigator.current_id
    qtbot.keyClick(panel.view, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: not panel.is_playing, timeout=2000)
    assert window.navigator.current_id == current_before
    assert window.document.record.status == status_before
