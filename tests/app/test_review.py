"""Marking reviewed is "what I see is right": shown predictions become labels, hidden ones go, one undo step."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from app.document import Document
from engine.project import Project
from engine.types import Box, Detection

W, H = 100, 80
pytestmark = pytest.mark.gui


@pytest.fixture
def project(tmp_path: Path):
    for name in ("a.png", "b.png"):
        Image.new("RGB", (W, H)).save(tmp_path / name)
    p = Project.open(tmp_path)
    yield p
    p.close()


def show(doc: Document, index: int) -> None:
    rec = doc.project.images()[index]
    doc.set_image(doc.project.image(rec.id), np.zeros((H, W, 3), np.uint8), doc.project.boxes(rec))


@pytest.fixture
def doc(qtbot, project) -> Document:
    d = Document()
    d.set_project(project)
    a = project.images()[0]
    project.add_box(a, Box(60, 50, 90, 75, "dog"))
    project.set_predictions(a, [Detection(2, 2, 30, 30, "cat", 0.8), Detection(34, 10, 60, 40, "cat", 0.2)])
    show(d, 0)
    return d


def test_review_keeps_what_the_slider_shows_and_undo_restores_it(doc) -> None:
    before = doc.project.boxes(doc.record)
    doc.set_score_thresh(0.5)
    doc.mark_reviewed()
    assert doc.record.status == "reviewed" and doc.project.image(doc.record.id).status == "reviewed"
    assert sorted((b.xyxy, b.source) for b in doc.boxes()) == [
        ((2.0, 2.0, 30.0, 30.0), "accepted"), ((60.0, 50.0, 90.0, 75.0), "manual")]
    assert doc.project.boxes(doc.record) == doc.boxes()  # screen and store agree
    (trained,) = doc.project.training_data().images
    assert len(trained.boxes) == 2  # the shown prediction and the drawn box, not the hidden one
    assert doc.undo_stack.count() == 1  # one step, status included
    doc.undo_stack.undo()
    assert doc.project.boxes(doc.record) == before and sorted(doc.boxes(), key=lambda b: b.id) == before
    assert doc.record.status == "predicted" and doc.project.image(doc.record.id).status == "predicted"
    doc.undo_stack.redo()
    assert len(doc.boxes()) == 2 and doc.record.status == "reviewed"


def test_the_review_stays_undoable_on_the_next_image(doc) -> None:
    before = doc.project.boxes(doc.record)
    reviewed_id = doc.record.id
    undone: list[int] = []
    doc.review_undone.connect(undone.append)
    doc.mark_reviewed()  # Space: review, then the next image is shown
    show(doc, 1)
    assert doc.undo_stack.canUndo()
    doc.undo_stack.undo()
    assert doc.project.boxes(reviewed_id) == before
    assert doc.project.image(reviewed_id).status == "predicted"
    assert undone == [reviewed_id]  # the window shows that image again
    show(doc, 1)
    assert not doc.undo_stack.canUndo()  # an undone review is not carried further
