"""Review order: every detection pass stores the image's uncertainty, the file list can show the most
uncertain images first, Space / D / Shift+D follow that order, and the order survives a restart."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import Qt

from engine.types import Detection
from tests.app.shell.conftest import fake_factory, open_and_wait

pytestmark = pytest.mark.gui

# image width -> the one score the fake model gives it (the decision threshold is the slider's 0.3)
SCORES = {60: 0.95, 70: 0.31, 80: 0.6, 90: 0.99, 100: 0.2}  # img_00 .. img_04
MOST_UNCERTAIN_FIRST = ["img_01.png", "img_04.png", "img_02.png", "img_00.png", "img_03.png"]


class WidthDetector:
    """One box per image whose score depends on the image's width (paths and pixels alike)."""

    class_names = ["thing"]
    arch = "fake"
    device = "cpu"

    def predict(self, images: list[Any], score_thresh: float = 0.05, batch_size: int = 4) -> list[list[Detection]]:
        out = []
        for image in images:
            if not isinstance(image, np.ndarray):
                from engine.io import load_image

                image = load_image(image)
            h, w = image.shape[:2]
            out.append([Detection(5, 5, w - 5, h - 5, "thing", SCORES[w])])
        return out


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "imgs"
    root.mkdir()
    for i, width in enumerate(SCORES):
        Image.fromarray(np.full((40, width, 3), 40 * i, np.uint8)).save(root / f"img_{i:02d}.png")
    return root


def _names(window: Any, ids: list[int]) -> list[str]:
    return [window.file_list.model.path(i) for i in ids]


def _shown(window: Any) -> str:
    return window.document.record.path


def _key(qtbot: Any, window: Any, key: Qt.Key, modifier: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier) -> None:
    before = window.navigator.generation
    qtbot.keyClick(window.canvas, key, modifier)
    assert window.navigator.generation != before
    qtbot.waitUntil(lambda: window.document.record is not None
                    and window.document.record.id == window.navigator.current_id, timeout=5000)


def _loaded_window(qtbot: Any, make_window: Any, folder: Path) -> Any:
    window = make_window(detector_factory=fake_factory(WidthDetector()))
    window.models.auto_detect = False
    open_and_wait(qtbot, window, folder)
    with qtbot.waitSignal(window.models.model_ready, timeout=5000):
        window.models.load_checkpoint("fake.pt")
    return window


def test_detect_current_stores_the_uncertainty(qtbot: Any, make_window: Any, folder: Path) -> None:
    window = _loaded_window(qtbot, make_window, folder)
    record = window.document.record
    assert record.path == "img_00.png" and window.projects.project.image(record.id).uncertainty is None
    with qtbot.waitSignal(window.models.detections_shown, timeout=5000):
        window.models.detect_current()
    stored = window.projects.project.image(record.id).uncertainty
    assert stored == pytest.approx(1 - (0.95 - 0.3) / 0.7)  # far above the threshold: sure
    assert window.file_list.model.uncertainty(record.id) == pytest.approx(stored)


def test_most_uncertain_first_order_navigation_and_restart(qtbot: Any, make_window: Any, folder: Path) -> None:
    window = _loaded_window(qtbot, make_window, folder)
    with qtbot.waitSignal(window.models.batch_finished, timeout=10_000):
        window.detect_all()
    window.batch_dialog.close()  # the progress dialog holds the focus until closed
    project = window.projects.project
    by_uncertainty = [r.path for r in project.images(order="uncertainty")]
    assert by_uncertainty == MOST_UNCERTAIN_FIRST
    file_list = window.file_list
    assert _names(window, file_list.visible_ids()) == sorted(MOST_UNCERTAIN_FIRST)  # by name until asked

    file_list.sort_combo.setCurrentIndex(file_list.sort_combo.findData("uncertainty"))
    assert _names(window, file_list.visible_ids()) == MOST_UNCERTAIN_FIRST
    window.navigator.show_first()
    qtbot.waitUntil(lambda: window.document.record is not None and _shown(window) == "img_01.png", timeout=5000)
    window.activateWindow()
    window.canvas.setFocus()
    qtbot.waitUntil(window.canvas.hasFocus, timeout=5000)
    _key(qtbot, window, Qt.Key.Key_Space)  # img_01 reviewed, on to the next most uncertain
    assert _shown(window) == "img_04.png"
    assert project.image(file_list.ordered_ids()[0]).status == "reviewed"
    _key(qtbot, window, Qt.Key.Key_D)
    assert _shown(window) == "img_02.png"
    _key(qtbot, window, Qt.Key.Key_D, Qt.KeyboardModifier.ShiftModifier)  # next unreviewed in this order
    assert _shown(window) == "img_00.png"
    _key(qtbot, window, Qt.Key.Key_D, Qt.KeyboardModifier.ShiftModifier)
    assert _shown(window) == "img_03.png"
    _key(qtbot, window, Qt.Key.Key_D, Qt.KeyboardModifier.ShiftModifier)  # wraps, skipping reviewed img_01
    assert _shown(window) == "img_04.png"

    window.shutdown()
    again = make_window()
    open_and_wait(qtbot, again, folder)
    assert again.file_list.sort_order() == "uncertainty"
    assert again.file_list.sort_combo.currentData() == "uncertainty"
    assert _names(again, again.file_list.visible_ids()) == MOST_UNCERTAIN_FIRST
    assert _shown(again) == "img_04.png"  # reopens on the image left on screen (issue 18), not the first


def test_a_new_uncertainty_moves_the_image_in_the_sorted_list(qtbot: Any, make_window: Any, folder: Path) -> None:
    window = _loaded_window(qtbot, make_window, folder)
    file_list = window.file_list
    file_list.set_sort_order("uncertainty")
    ids = file_list.model.ids()
    assert _names(window, file_list.visible_ids()) == sorted(MOST_UNCERTAIN_FIRST)  # none detected yet
    file_list.set_uncertainty(ids[3], 0.9)
    file_list.set_uncertainty(ids[1], 0.5)
    assert _names(window, file_list.visible_ids())[:2] == ["img_03.png", "img_01.png"]
    assert _names(window, file_list.ordered_ids()) == _names(window, file_list.visible_ids())
