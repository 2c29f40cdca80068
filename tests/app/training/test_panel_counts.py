"""The Train panel counts exactly what trains: labels of the selected images, never hidden predictions."""

from __future__ import annotations

import numpy as np
import pytest

from app.document import Document
from app.training.panel import TrainingPanel
from engine.types import Detection

pytestmark = pytest.mark.gui


def test_a_reviewed_image_counts_only_the_prediction_that_was_shown(qtbot, project_factory) -> None:
    project = project_factory("counts", num_images=6, reviewed=5)
    labels_before = sum(len(img.boxes) for img in project.training_data().images)
    rec = project.images()[5]  # not reviewed yet
    label = project.class_names()[0]
    project.set_predictions(rec, [Detection(2, 2, 30, 30, label, 0.8), Detection(40, 40, 70, 70, label, 0.1)])
    doc = Document()
    doc.set_project(project)
    doc.set_image(project.image(rec.id), np.zeros((96, 96, 3), np.uint8), project.boxes(rec))
    panel = TrainingPanel(doc)
    qtbot.addWidget(panel)
    doc.set_score_thresh(0.3)
    doc.mark_reviewed()  # Space: the 0.8 prediction is shown, the 0.1 one is hidden
    panel.refresh()
    manual = sum(1 for b in project.boxes(rec) if b.source == "manual")
    text = panel.findChild(object, "train_summary").text()
    assert f"{labels_before + manual + 1} boxes" in text, text
    (trained,) = [img for img in project.training_data().images if img.path == rec.path]
    assert sorted(b.source for b in trained.boxes) == ["accepted"] + ["manual"] * manual


def test_reviewed_images_with_pending_predictions_are_left_out_and_said_so(qtbot, project_factory) -> None:
    project = project_factory("legacy", num_images=6)  # all reviewed
    rec = project.images()[0]
    project.set_predictions(rec, [Detection(2, 2, 30, 30, project.class_names()[0], 0.8)])  # pending
    panel = TrainingPanel()
    qtbot.addWidget(panel)
    panel.set_project(project)
    text = panel.findChild(object, "train_summary").text()
    assert "4 train / 1 validation images" in text, text  # 5 of 6: the image with a pending prediction waits
    assert "1 reviewed image(s) still hold pending predictions" in text
