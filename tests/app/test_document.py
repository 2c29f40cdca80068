"""The Document against a real project store in a tmp folder: edits are written through, undo/redo
restore the store (same ids), signals carry the changed ids, and failures never lose state."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from app.document import Document
from engine.project import Project
from engine.types import MIN_BOX_SIZE, Box, Detection

W, H = 100, 80
pytestmark = pytest.mark.gui


@pytest.fixture
def project(tmp_path: Path):
    Image.new("RGB", (W, H)).save(tmp_path / "a.png")
    p = Project.open(tmp_path)
    yield p
    p.close()


def show(doc: Document, boxes=()) -> None:
    p = doc.project
    rec = p.images()[0]
    for b in boxes:
        p.add_box(rec, b)
    doc.set_image(p.image(rec.id), np.zeros((H, W, 3), np.uint8), p.boxes(rec))


@pytest.fixture
def doc(qtbot, project) -> Document:
    d = Document()
    d.set_project(project)
    show(d)
    return d


def stored(doc: Document) -> list[Box]:
    return doc.project.boxes(doc.record)


def test_add_undo_redo_same_id_in_store(doc):
    added = []
    doc.boxes_added.connect(added.append)
    box_id = doc.add_box(Box(5, 5, 50, 40, "cat"))
    assert [b.id for b in stored(doc)] == [box_id] and added == [[box_id]]
    assert doc.class_names() == ["cat"]  # a new label adds the class
    doc.undo_stack.undo()
    assert stored(doc) == [] and doc.boxes() == []
    doc.undo_stack.redo()
    assert [b.id for b in stored(doc)] == [box_id]
    assert doc.box(box_id).xyxy == (5, 5, 50, 40)


def test_add_clips_and_refuses_tiny_boxes(doc):
    assert doc.add_box(Box(10, 10, 10 + MIN_BOX_SIZE / 2, 40, "cat")) is None
    assert doc.undo_stack.count() == 0
    box_id = doc.add_box(Box(-20, 70, 30, 200, "cat"))
    assert doc.box(box_id).xyxy == (0, 70, 30, 80) == stored(doc)[0].xyxy


def test_new_box_gets_object_class_when_project_has_none(doc):
    assert doc.current_label() is None
    box_id = doc.add_box(Box(1, 1, 20, 20, ""))
    assert doc.box(box_id).label == "object" and doc.class_names() == ["object"]


def test_current_label_follows_last_used(doc):
    doc.add_class("cat")
    doc.add_class("dog")
    assert doc.label_for_new_box() == "cat"
    box_id = doc.add_box(Box(1, 1, 20, 20, "dog"))
    assert doc.label_for_new_box() == "dog"
    doc.relabel([box_id], "cat")
    assert doc.label_for_new_box() == "cat"


def test_geometry_and_move_write_through_and_undo(doc):
    box_id = doc.add_box(Box(10, 10, 20, 20, "cat"))
    updated = []
    doc.boxes_updated.connect(updated.append)
    doc.set_box_geometry(box_id, 10, 10, 40, 30)
    doc.move_boxes([box_id], 100, 0)  # kept inside the image
    assert stored(doc)[0].xyxy == (70, 10, 100, 30)
    assert updated == [[box_id], [box_id]]
    doc.set_box_geometry(box_id, 10, 10, 10 + MIN_BOX_SIZE / 2, 11)  # refused
    assert doc.undo_stack.count() == 3
    doc.undo_stack.undo()
    doc.undo_stack.undo()
    assert stored(doc)[0].xyxy == (10, 10, 20, 20)


def test_delete_manual_and_reject_prediction(doc):
    show(doc, [Box(1, 1, 20, 20, "cat"), Box(30, 30, 60, 60, "cat", 0.8, "predicted")])
    manual, pred = (b.id for b in doc.boxes())
    doc.select([manual, pred])
    doc.delete_boxes([manual, pred])
    assert stored(doc) == [] and doc.selected_ids() == []
    assert [b.id for b in doc.project.rejected_boxes(doc.record)] == [pred]
    doc.undo_stack.undo()
    assert sorted(b.id for b in stored(doc)) == sorted([manual, pred])
    assert doc.project.rejected_boxes(doc.record) == []


def test_accept_keeps_score_and_accept_all_above(doc):
    show(doc, [Box(1, 1, 20, 20, "cat", 0.9, "predicted"), Box(30, 30, 60, 60, "cat", 0.2, "predicted")])
    assert doc.accept_all_above(0.5) == 1
    by_score = {round(b.score, 3): b.source for b in stored(doc)}
    assert by_score == {0.9: "accepted", 0.2: "predicted"}


def test_set_predictions_is_one_command_and_undoable(doc):
    show(doc, [Box(1, 1, 20, 20, "cat")])
    statuses = []
    doc.status_changed.connect(lambda i, s: statuses.append(s))
    doc.set_predictions([Detection(30, 30, 60, 60, "dog", 0.7), Detection(5, 40, 25, 70, "dog", 0.4)])
    assert sorted(b.source for b in stored(doc)) == ["manual", "predicted", "predicted"]
    assert doc.record.status == "predicted" == doc.project.image(doc.record.id).status
    doc.undo_stack.undo()
    assert [b.source for b in stored(doc)] == ["manual"]
    assert doc.project.image(doc.record.id).status == "new" and statuses == ["predicted", "new"]
    doc.undo_stack.redo()
    assert len(stored(doc)) == 3 and len(doc.boxes()) == 3


def test_rename_class_updates_boxes_and_undoes(doc):
    box_id = doc.add_box(Box(1, 1, 20, 20, "cat"))
    doc.rename_class("cat", "kitten")
    assert doc.box(box_id).label == "kitten" == stored(doc)[0].label
    doc.undo_stack.undo()
    assert doc.class_names() == ["cat"] and stored(doc)[0].label == "cat"


def test_write_failure_reports_and_keeps_memory(doc, project, tmp_path):
    box_id = doc.add_box(Box(1, 1, 20, 20, "cat"))
    read_only = Project.open(tmp_path, read_only=True)
    try:
        failed = []
        doc.save_failed.connect(failed.append)
        doc.project = read_only
        doc.move_boxes([box_id], 5, 5)
        assert failed and "read-only" in failed[0].lower()
        assert doc.box(box_id).xyxy == (1, 1, 20, 20) and doc.undo_stack.count() == 1
    finally:
        read_only.close()


def test_score_threshold_and_selection(doc):
    show(doc, [Box(1, 1, 20, 20, "cat", 0.9, "predicted"), Box(30, 30, 60, 60, "cat", 0.2, "predicted")])
    hi, low = (b.id for b in doc.boxes())
    doc.set_score_thresh(0.1)
    doc.select([hi, low])
    doc.set_score_thresh(0.5)
    assert [b.id for b in doc.visible_boxes()] == [hi] and doc.selected_ids() == [hi]


def test_store_error_on_add_emits_save_failed(doc, monkeypatch):
    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(doc.project, "add_box", broken)
    failed = []
    doc.save_failed.connect(failed.append)
    assert doc.add_box(Box(1, 1, 20, 20, "cat")) is None
    assert failed == ["Not saved: disk full"] and doc.boxes() == [] and doc.undo_stack.count() == 0
