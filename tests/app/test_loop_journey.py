"""The loop a new user takes, through keys and clicks on the real window with the real ``fit``.

``--demo`` → Detect All (Ctrl+Shift+R) → on a few images accept what is shown (Shift+Enter) and mark
reviewed (Space) → Model › Train… (Ctrl+T) → Start training with the panel's defaults, only epochs and
image size made smaller so the test takes seconds → finished, with the demo model's "before" AP →
Use this model → the canvas shows the new model's boxes. Ctrl+Z after Space brings the image back.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

pytestmark = pytest.mark.gui

CTRL, SHIFT = Qt.KeyboardModifier.ControlModifier, Qt.KeyboardModifier.ShiftModifier
REVIEWED = 5


def _key(qtbot: Any, window: Any, key: Qt.Key, modifiers: Any = Qt.KeyboardModifier.NoModifier) -> None:
    if QApplication.activeWindow() is not window:  # the window's shortcuts need it active
        window.activateWindow()
        qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=5_000)
    window.canvas.setFocus()
    qtbot.keyClick(window.canvas, key, modifiers)


def _space_and_wait(qtbot: Any, window: Any) -> None:
    shown = window.document.record.id
    _key(qtbot, window, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: window.document.record is not None and window.document.record.id != shown
                    and window.document.pixels is not None, timeout=20_000)


@pytest.mark.slow
def test_demo_review_train_and_use_the_new_model(qtbot: Any, make_window: Any, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from app.launch import open_demo
    from engine.infer import Detector

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    window = make_window()
    with qtbot.waitActive(window):
        window.activateWindow()
    with qtbot.waitSignal(window.models.detections_shown, timeout=90_000):
        assert open_demo(window)
    doc = window.document
    project = window.projects.project

    with qtbot.waitSignal(window.models.batch_finished, timeout=300_000):
        _key(qtbot, window, Qt.Key.Key_R, CTRL | SHIFT)  # Detect All
    qtbot.mouseClick(window.batch_dialog.button, Qt.MouseButton.LeftButton)  # "Close"
    qtbot.waitUntil(lambda: doc.pixels is not None, timeout=20_000)

    # Space on the first image, then Ctrl+Z on the next: the first image is back as it was
    first = doc.record.id
    before = project.boxes(first)
    assert any(not doc.is_visible(b) for b in before)  # predictions the slider hides
    _space_and_wait(qtbot, window)
    assert project.image(first).status == "reviewed" and len(project.boxes(first)) < len(before)
    _key(qtbot, window, Qt.Key.Key_Z, CTRL)
    qtbot.waitUntil(lambda: doc.record is not None and doc.record.id == first and doc.pixels is not None,
                    timeout=20_000)
    assert project.boxes(first) == before and project.image(first).status == "predicted"
    assert window.file_list.model.status(first) == "predicted"

    shown: list[int] = []
    for _ in range(REVIEWED):
        shown.append(sum(1 for b in doc.boxes() if doc.is_visible(b)))
        _key(qtbot, window, Qt.Key.Key_Return, SHIFT)  # accept every prediction the slider shows
        _space_and_wait(qtbot, window)
    reviewed = project.images(status="reviewed")
    assert len(reviewed) == REVIEWED
    assert all(b.source == "accepted" for r in reviewed for b in project.boxes(r))
    assert sum(len(project.boxes(r)) for r in reviewed) == sum(shown)  # exactly what was on screen

    _key(qtbot, window, Qt.Key.Key_T, CTRL)  # Model › Train…
    panel = window.training_panel
    qtbot.waitUntil(panel.isVisible, timeout=5_000)
    panel.refresh()
    summary = panel.findChild(object, "train_summary").text()
    assert f"4 train / 1 validation images, {sum(shown)} boxes" in summary, summary
    form = panel.options_form
    assert form.options().start_from == "auto"  # "Best available": on the demo project, the demo model
    assert "Starts from: the current model (retinanet_mobilenet_v3_shapes.pt)" in form.start_choice.label.text()
    form.epochs.setValue(2)  # the only changes to the defaults: a shorter run for the test
    form.image_size.setValue(256)
    asked: list[str] = []
    panel.confirm_worse = lambda parent, text: asked.append(text) or True

    with qtbot.waitSignal(panel.training_finished, timeout=600_000) as finished:
        qtbot.mouseClick(panel.start_button, Qt.MouseButton.LeftButton)
    outcome = finished.args[0]
    assert outcome.status == "finished", outcome.message
    assert outcome.metrics_before.get("AP") is not None  # the demo model on the same validation image
    assert "before —" not in panel.result.text()
    worse = outcome.metrics_after["AP"] < outcome.metrics_before["AP"]
    assert ("worse" in panel.result.text()) == worse

    with qtbot.waitSignal(window.models.detections_shown, timeout=60_000):
        qtbot.mouseClick(panel.use_button, Qt.MouseButton.LeftButton)
    assert bool(asked) == worse  # a worse model is swapped in only after asking
    assert window.models.loaded_spec.source == outcome.best_checkpoint
    new = Detector.from_checkpoint(outcome.best_checkpoint, device="cpu")
    (expected,) = new.predict([doc.pixels], score_thresh=doc.score_thresh)
    on_canvas = sorted((item.box.label, item.box.xyxy) for item in window.canvas.scene().box_items()
                       if item.isVisible() and item.box.source == "predicted")
    wanted = sorted((d.label, d.xyxy) for d in expected)
    assert expected and len(on_canvas) == len(wanted)
    for (label, xyxy), (want_label, want_xyxy) in zip(on_canvas, wanted):
        assert label == want_label and max(abs(a - b) for a, b in zip(xyxy, want_xyxy)) < 0.01
