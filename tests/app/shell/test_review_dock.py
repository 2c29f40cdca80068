"""The Review dock in the real window: findings of each kind listed and filterable, a click opens the
image and selects the box, X applies the suggested fix, Ctrl+Z undoes it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import Qt

from engine.project import Project
from engine.types import Box, Detection
from tests.app.shell.conftest import fake_factory, open_and_wait

pytestmark = pytest.mark.gui

H = 40
# image width -> what the fake model predicts there (x1, y1, x2, y2, label, score)
PREDICTIONS = {
    60: [(5, 5, 55, 35, "thing", 0.95)],  # img_00: agrees with its label
    70: [(5, 5, 65, 35, "other", 0.9)],  # img_01: the label says "thing": wrong class
    80: [(10, 5, 70, 35, "thing", 0.9)],  # img_02: the label covers half of it: loose box
    90: [(20, 10, 60, 30, "thing", 0.85)],  # img_03: no label: missing
    100: [],  # img_04: the label has no support: spurious
}
LABELS = {0: (5, 5, 55, 35), 1: (5, 5, 65, 35), 2: (10, 5, 40, 35), 4: (60, 10, 90, 30)}


class TableDetector:
    class_names = ["thing", "other"]
    arch = "fake"
    device = "cpu"

    def predict(self, images: list[Any], score_thresh: float = 0.05, batch_size: int = 4) -> list[list[Detection]]:
        from engine.io import load_image

        out = []
        for image in images:
            pixels = image if isinstance(image, np.ndarray) else load_image(image)
            out.append([Detection(*p) for p in PREDICTIONS[pixels.shape[1]]])
        return out


@pytest.fixture
def labelled(tmp_path: Path) -> Path:
    folder = tmp_path / "labelled"
    folder.mkdir()
    for i, width in enumerate(PREDICTIONS):
        Image.fromarray(np.full((H, width, 3), 30 * i, np.uint8)).save(folder / f"img_{i:02d}.png")
    with Project.open(folder) as project:
        for record in project.images():
            i = int(record.path[4:6])
            if i in LABELS:
                project.add_box(record, Box(*LABELS[i], "thing", None, "manual"))
            project.set_status(record, "reviewed")
    return folder


def _window(qtbot: Any, make_window: Any, folder: Path) -> Any:
    window = make_window(detector_factory=fake_factory(TableDetector()))
    window.models.auto_detect = False
    open_and_wait(qtbot, window, folder)
    with qtbot.waitSignal(window.models.model_ready, timeout=5000):
        window.models.load_checkpoint("fake.pt")
    from PySide6.QtGui import QAction

    window.findChild(QAction, "review_dock_action").trigger()  # Model › Review Labels
    qtbot.waitUntil(lambda: not window.review.dock.visibleRegion().isEmpty(), timeout=5000)  # in front
    with qtbot.waitSignal(window.review.review_finished, timeout=10_000):
        window.review.dock.run_button.click()
    return window


def _finding(window: Any, kind: str) -> Any:
    return next(f for f in window.review.dock.model.findings() if f.kind == kind)


def _click_row(qtbot: Any, window: Any, finding: Any) -> None:
    dock = window.review.dock
    row = dock.visible_findings().index(finding)
    rect = dock.table.visualRect(dock.proxy.index(row, 1))
    with qtbot.waitSignal(window.navigator.image_shown, timeout=5000):
        qtbot.mouseClick(dock.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())


def test_findings_of_each_kind_are_listed_and_filterable(qtbot: Any, make_window: Any, labelled: Path) -> None:
    window = _window(qtbot, make_window, labelled)
    dock = window.review.dock
    found = {(f.kind, f.image) for f in dock.model.findings()}
    assert found == {("wrong_class", "img_01.png"), ("loose_box", "img_02.png"), ("missing", "img_03.png"),
                     ("spurious", "img_04.png")}
    assert dock.table.model().rowCount() == 4
    assert dock.proxy.index(0, 0).data() in {"missing", "spurious", "wrong class", "loose box"}
    dock.set_kind("spurious")
    assert [(f.kind, f.image) for f in dock.visible_findings()] == [("spurious", "img_04.png")]
    dock.set_kind("all")
    assert len(dock.visible_findings()) == 4
    assert "4 findings on 5 images" in dock.status_label.text()
    # the run was a detection pass: uncertainties stored, the contradicted images above the agreeing one
    project = window.projects.project
    order = [r.path for r in project.images(order="uncertainty")]
    assert order[-1] == "img_00.png" and window.file_list.model.uncertainty(project.images()[0].id) is not None


def test_click_selects_the_box_and_x_relabels_undoably(qtbot: Any, make_window: Any, labelled: Path) -> None:
    window = _window(qtbot, make_window, labelled)
    finding = _finding(window, "wrong_class")
    _click_row(qtbot, window, finding)
    assert window.document.record.path == "img_01.png"
    assert window.document.selected_ids() == [finding.label.id]
    window.activateWindow()
    window.canvas.setFocus()
    qtbot.waitUntil(window.canvas.hasFocus, timeout=5000)
    qtbot.keyClick(window.canvas, Qt.Key.Key_X)
    project = window.projects.project
    assert project.box(finding.label.id).label == "other"
    assert finding not in window.review.dock.model.findings()
    qtbot.keyClick(window.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert project.box(finding.label.id).label == "thing"


@pytest.mark.parametrize("kind", ["missing", "spurious", "loose_box"])
def test_each_fix_applies_to_the_store_and_undoes(qtbot: Any, make_window: Any, labelled: Path, kind: str) -> None:
    window = _window(qtbot, make_window, labelled)
    finding = _finding(window, kind)
    project = window.projects.project
    before = [(b.xyxy, b.label, b.source) for b in project.boxes(finding.image_id)]
    with qtbot.waitSignal(window.review.fix_applied, timeout=5000):
        window.review.fix(finding)  # opens the image first: it is not the one shown
    after = project.boxes(finding.image_id)
    if kind == "missing":
        assert [(b.xyxy, b.label, b.source) for b in after] == [((20, 10, 60, 30), "thing", "accepted")]
    elif kind == "spurious":
        assert after == []
    else:
        assert [b.xyxy for b in after] == [(10, 5, 70, 35)] and after[0].source == "manual"
    window.document.undo_stack.undo()
    assert [(b.xyxy, b.label, b.source) for b in project.boxes(finding.image_id)] == before


def test_findings_on_images_the_model_trained_on_are_marked_and_listed_last(qtbot: Any, make_window: Any,
                                                                           labelled: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    (run / "data").mkdir(parents=True)
    trained = ["img_01.png", "img_03.png"]
    (run / "data" / "train.json").write_text(json.dumps({"images": [
        {"id": k, "file_name": str(labelled / name), "width": 1, "height": 1} for k, name in enumerate(trained)]}))
    (run / "best.pt").write_bytes(b"")  # the fake factory never reads it
    window = make_window(detector_factory=fake_factory(TableDetector()))
    window.models.auto_detect = False
    open_and_wait(qtbot, window, labelled)
    with qtbot.waitSignal(window.models.model_ready, timeout=5000):
        window.models.load_checkpoint(str(run / "best.pt"))
    with qtbot.waitSignal(window.review.review_finished, timeout=10_000):
        window.review.run()
    dock = window.review.dock
    listed = [f.image for f in dock.visible_findings()]
    assert sorted(listed[2:]) == trained and sorted(listed[:2]) == ["img_02.png", "img_04.png"]
    assert [dock.proxy.index(r, 4).data() for r in range(4)] == ["", "", "yes", "yes"]
    assert "model trained on 2 of these images" in dock.status_label.text()
    assert "trained on" in dock.note.text()
