"""Issue 18, defect 8: status texts that count right, say "1 image", name the project, and do not linger."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from engine.types import Box
from tests.app.shell.conftest import FakeDetector, fake_factory, open_and_wait, write_images

pytestmark = pytest.mark.gui


def test_detections_message_counts_detections_not_labels(qtbot: Any, make_window: Any, tmp_path: Path) -> None:
    folder = tmp_path / "photos"
    write_images(folder, 1)
    window = make_window(detector_factory=fake_factory(FakeDetector()))
    window.models.auto_detect = False
    said: list[str] = []
    window.projects.message.connect(said.append)
    open_and_wait(qtbot, window, folder)
    assert "Opened photos: 1 image" in said  # not "1 images"
    assert "photos" in window.windowTitle()  # the title names the project
    window.document.add_box(Box(1, 1, 20, 20, "cat"))
    window.document.add_box(Box(30, 30, 60, 60, "cat"))  # two labels drawn by hand
    with qtbot.waitSignal(window.models.model_ready, timeout=5000):
        window.models.load_checkpoint("fake.pt")
    assert "(1 class," in window.status.last_message  # "Model ready: … (1 class, cpu, …)"
    with qtbot.waitSignal(window.models.detections_shown, timeout=5000):
        window.actions.model.detect.trigger()
    assert window.status.last_message == "1 detection (1 shown at score ≥ 0.30)".replace(
        "0.30", f"{window.document.score_thresh:.2f}")
    window.document.set_score_thresh(0.95)  # what the score slider does
    assert window.status.last_message == "1 detection (0 shown at score ≥ 0.95)"  # follows the slider


def test_a_folder_without_images_is_refused_and_left_untouched(qtbot: Any, make_window: Any, tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    write_images(photos, 2)
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("no pictures here")
    window = make_window()
    open_and_wait(qtbot, window, photos)
    with qtbot.waitSignal(window.projects.open_failed, timeout=5000):
        window.projects.open_folder(empty)
    assert not (empty / ".retinalab").exists()
    assert "no images" in window.status.last_message
    assert window.projects.project.folder.name == "photos"  # the open project stays open


def test_an_error_message_clears_itself(qtbot: Any, make_window: Any) -> None:
    window = make_window()
    window.status.error_timeout_ms = 50
    window.status.on_model_failed("no such file: x.pt")
    assert window.status.currentMessage().startswith("Model not loaded")
    qtbot.waitUntil(lambda: window.status.currentMessage() == "", timeout=2000)
    window.status.show_message("Opened photos: 3 images")  # an ordinary message stays
    qtbot.wait(150)
    assert window.status.currentMessage() == "Opened photos: 3 images"
