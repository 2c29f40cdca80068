"""Issue 18, defect 4: quit and reopen the folder; the project comes back as it was left."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.app.shell.conftest import FakeDetector, fake_factory, open_and_wait, write_images

pytestmark = pytest.mark.gui


def test_reopening_restores_the_model_the_last_image_and_the_train_settings(
        qtbot: Any, make_window: Any, tmp_path: Path) -> None:
    folder = tmp_path / "photos"
    write_images(folder, 5)
    checkpoint = tmp_path / "mine.pt"
    checkpoint.write_bytes(b"stands in for a checkpoint; the fake factory does not read it")
    window = make_window(detector_factory=fake_factory(FakeDetector()))
    open_and_wait(qtbot, window, folder)
    with qtbot.waitSignal(window.models.model_ready, timeout=10_000):
        window.models.load_checkpoint(checkpoint)  # what "Use this model" does
    for _ in range(3):
        with qtbot.waitSignal(window.navigator.image_shown, timeout=5_000):
            window.actions.navigate.next_image.trigger()
    assert window.document.record.path == "img_03.jpg"
    form = window.training_panel.options_form
    form.epochs.setValue(37)
    form.lr.setValue(0.002)
    qtbot.wait(600)  # the settings are saved a moment after the last change
    window.close()

    again = make_window(detector_factory=fake_factory(FakeDetector()))
    with qtbot.waitSignal(again.models.model_ready, timeout=10_000):
        open_and_wait(qtbot, again, folder)
    assert again.document.record.path == "img_03.jpg"  # not the first image
    assert Path(again.models.requested_spec.source) == checkpoint  # not "No model"
    options = again.training_panel.options_form.options()
    assert (options.epochs, options.lr) == (37, pytest.approx(0.002))


def test_a_deleted_checkpoint_or_image_falls_back_quietly(qtbot: Any, make_window: Any, tmp_path: Path) -> None:
    folder = tmp_path / "photos"
    images = write_images(folder, 3)
    checkpoint = tmp_path / "gone.pt"
    checkpoint.write_bytes(b"x")
    window = make_window(detector_factory=fake_factory(FakeDetector()))
    open_and_wait(qtbot, window, folder)
    with qtbot.waitSignal(window.models.model_ready, timeout=10_000):
        window.models.load_checkpoint(checkpoint)
    with qtbot.waitSignal(window.navigator.image_shown, timeout=5_000):
        window.actions.navigate.next_image.trigger()
    window.close()
    checkpoint.unlink()
    images[1].unlink()
    again = make_window(detector_factory=fake_factory(FakeDetector()))
    open_and_wait(qtbot, again, folder)
    assert again.document.record.path == "img_00.jpg"
    assert again.models.requested_spec is None
