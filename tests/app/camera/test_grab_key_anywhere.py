"""Issue 18, defect 7: G grabs a frame whatever has focus, and Camera › Grab Frame shows it as its shortcut."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import Qt

from app.workers.model import ModelSpec

pytestmark = pytest.mark.gui


def test_g_grabs_with_the_canvas_focused(qtbot, tmp_path: Path, detector, make_clip) -> None:
    from app.main_window import MainWindow

    folder = tmp_path / "proj"
    folder.mkdir()
    Image.fromarray(np.full((48, 64, 3), 60, np.uint8)).save(folder / "img_0.png")
    window = MainWindow(detector_factory=lambda spec: detector)
    qtbot.addWidget(window)
    window.show()
    try:
        with qtbot.waitSignal(window.navigator.image_shown, timeout=10_000):
            window.projects.open_folder(folder)
        with qtbot.waitSignal(window.models.model_ready, timeout=10_000):
            window.models.load(ModelSpec("checkpoint", "fake.pt"))
        assert window.camera_actions.grab.shortcut().toString() == "G"
        window.camera_dock.open_video(make_clip("street.avi", num_frames=30, fps=30.0))
        panel = window.camera_dock.panel
        qtbot.waitUntil(lambda: panel.view.current_detections() is not None, timeout=5000)
        panel.pause()
        window.activateWindow()
        window.canvas.setFocus()
        qtbot.waitUntil(window.canvas.hasFocus, timeout=2000)
        with qtbot.waitSignal(window.navigator.image_shown, timeout=10_000):
            qtbot.keyClick(window.canvas, Qt.Key.Key_G)
        assert window.document.record.path.startswith("captures/street_f")
    finally:
        window.shutdown()
