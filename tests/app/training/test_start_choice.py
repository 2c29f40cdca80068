"""Issue 17 in the window: the Train panel starts from the best start available and says which and why."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QPushButton

from tests.app.training.conftest import make_project

pytestmark = pytest.mark.gui
ANIMALS = {"circle": "raccoon", "square": "fox", "triangle": "owl", "star": "deer"}


def _animal_project(folder: Path) -> Path:
    """A labelled project whose classes the demo model does not know (not the demo project)."""
    project = make_project(folder, num_images=6, image_size=64)
    for shape, animal in ANIMALS.items():
        project.rename_class(shape, animal)
    project.close()
    return folder


def _open_train_panel(qtbot: Any, window: Any, folder: Path) -> Any:
    with qtbot.waitSignal(window.navigator.image_shown, timeout=20_000):
        window.projects.open_folder(folder)
    window.actions.model.train.trigger()  # Model › Train…
    panel = window.training_panel
    qtbot.waitUntil(panel.isVisible, timeout=5_000)
    return panel


def test_the_model_on_screen_is_the_start_unless_it_is_the_demo_model_on_another_project(
        qtbot: Any, tmp_path: Path, shipped_procedural: Path) -> None:
    from app.training.panel import TrainingPanel
    from engine.demo import demo_model_path
    from engine.project import Project

    demo = str(demo_model_path())
    shapes = make_project(tmp_path / "shapes", num_images=2, image_size=64)  # the demo project's classes
    animals = Project.open(_animal_project(tmp_path / "animals"))
    panel = TrainingPanel()
    qtbot.addWidget(panel)
    label = panel.findChild(QLabel, "start_choice_label")
    keeps = "It is the model you are using, so fine-tuning keeps what it has learned"
    try:
        panel.set_project(shapes)
        panel.set_current_model(demo, "demo model (synthetic shapes)")
        assert label.text() == f"Starts from: the current model (retinanet_mobilenet_v3_shapes.pt) — {keeps}"
        panel.set_project(animals)
        assert label.text().startswith("Starts from: procedural pretrained model — No model of this project yet")
        own = tmp_path / "best.pt"
        panel.set_current_model(str(own))  # a checkpoint the user loaded, or the project's own
        assert label.text() == f"Starts from: the current model (best.pt) — {keeps}"
        panel.set_current_model(None, "COCO RetinaNet", coco_arch="retinanet_resnet50_fpn")
        assert label.text() == f"Starts from: the current model (COCO retinanet_resnet50_fpn) — {keeps}"
        form = panel.options_form
        form.start_from.setCurrentIndex(form.start_from.findData("scratch"))
        assert label.text() == "Starts from: random weights (scratch) — chosen above"
    finally:
        shapes.close()
        animals.close()


@pytest.mark.slow
def test_a_new_project_trains_from_the_procedural_model_and_the_panel_says_why(
        qtbot: Any, make_window: Any, tmp_path: Path, shipped_procedural: Path) -> None:
    from engine.checkpoint import load_checkpoint

    window = make_window()
    with qtbot.waitSignal(window.models.model_ready, timeout=90_000):
        assert window.models.load_compact()  # the demo model still on screen, as `make run` leaves it
    panel = _open_train_panel(qtbot, window, _animal_project(tmp_path / "animals"))
    text = panel.findChild(QLabel, "start_choice_label").text()
    assert text.startswith("Starts from: procedural pretrained model — No model of this project yet"), text
    assert "no ImageNet or COCO weights in the cache (offline)" in text
    assert not panel.findChild(QPushButton, "download_imagenet_button").isVisible()  # offline: nothing to offer
    form = panel.options_form
    assert form.start_from.currentText() == "Best available"
    form.epochs.setValue(1)  # a short run; every other setting is the panel's default
    form.image_size.setValue(64)
    form.batch_size.setValue(2)

    with qtbot.waitSignal(panel.training_finished, timeout=300_000) as finished:
        qtbot.mouseClick(panel.start_button, Qt.MouseButton.LeftButton)
    outcome = finished.args[0]
    assert outcome.status == "finished", outcome.message
    config = load_checkpoint(outcome.best_checkpoint).train_config
    assert config["init_checkpoint"] == str(shipped_procedural) and config["pretrained"] == "none"
    assert not outcome.metrics_before  # no "before": the procedural model knows none of these classes


@pytest.mark.slow
def test_online_the_panel_offers_the_imagenet_backbone_and_starts_from_it_once_downloaded(
        qtbot: Any, make_window: Any, tmp_path: Path, shipped_procedural: Path, monkeypatch: Any) -> None:
    import engine.weights

    backbone = tmp_path / "server" / "backbone.pth"
    backbone.parent.mkdir()
    backbone.write_bytes(b"stand-in weights")  # a name without a hash: only its arrival is looked at
    monkeypatch.setattr(engine.weights, "weights_url", lambda arch, pretrained: backbone.as_uri())
    monkeypatch.setenv("RETINALAB_OFFLINE", "0")
    window = make_window()
    panel = _open_train_panel(qtbot, window, _animal_project(tmp_path / "animals"))
    label = panel.findChild(QLabel, "start_choice_label")
    assert label.text().startswith("Starts from: procedural pretrained model")
    assert "(offline)" not in label.text()
    button = panel.findChild(QPushButton, "download_imagenet_button")
    assert button.isVisible()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "ImageNet backbone" in label.text(), timeout=60_000)
    assert label.text() == ("Starts from: ImageNet backbone — No model of this project yet; the ImageNet weights "
                            "for retinanet_mobilenet_v3_fpn are already downloaded")
    assert not button.isVisible()
