"""Reviewing predictions on the canvas: accept, reject, score threshold, relabel by number keys, and
the placeholder for an unreadable image."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel

from canvas_helpers import click, drag, open_image
from engine.types import Box

pytestmark = pytest.mark.gui

K = Qt.Key


def stored(doc):
    return {b.id: b for b in doc.project.boxes(doc.record)}


@pytest.fixture
def predictions(doc):
    open_image(doc, [Box(10, 10, 30, 30, "cat", 0.9, "predicted"),
                     Box(50, 10, 70, 30, "dog", 0.6, "predicted"),
                     Box(10, 50, 30, 70, "cat", 0.1, "predicted")])
    return [b.id for b in doc.boxes()]


def test_enter_accepts_selected_prediction(qtbot, canvas, doc, predictions):
    hi, mid, _ = predictions
    click(canvas, 20, 20)
    qtbot.keyClick(canvas, K.Key_Return)
    boxes = stored(doc)
    assert boxes[hi].source == "accepted" and boxes[hi].score == pytest.approx(0.9)
    assert boxes[mid].source == "predicted"
    doc.undo_stack.undo()
    assert stored(doc)[hi].source == "predicted"


def test_shift_enter_accepts_all_above_threshold(qtbot, canvas, doc, predictions):
    hi, mid, low = predictions
    doc.set_score_thresh(0.5)
    qtbot.keyClick(canvas, K.Key_Return, Qt.KeyboardModifier.ShiftModifier)
    boxes = stored(doc)
    assert [boxes[i].source for i in (hi, mid, low)] == ["accepted", "accepted", "predicted"]
    assert doc.undo_stack.count() == 1


def test_delete_rejects_prediction_and_undo_restores(qtbot, canvas, doc, predictions):
    hi = predictions[0]
    click(canvas, 20, 20)
    qtbot.keyClick(canvas, K.Key_Backspace)
    assert hi not in stored(doc)
    assert [b.id for b in doc.project.rejected_boxes(doc.record)] == [hi]
    assert hi not in canvas.visible_box_ids()
    doc.undo_stack.undo()
    assert stored(doc)[hi].source == "predicted"
    assert doc.project.rejected_boxes(doc.record) == []
    assert hi in canvas.visible_box_ids()


def test_score_threshold_hides_low_predictions_without_store_change(canvas, doc, predictions):
    hi, mid, low = predictions
    doc.set_score_thresh(0.05)
    assert sorted(canvas.visible_box_ids()) == sorted(predictions)
    doc.set_score_thresh(0.5)
    assert sorted(canvas.visible_box_ids()) == sorted([hi, mid])
    doc.set_score_thresh(0.95)
    assert canvas.visible_box_ids() == []
    assert len(stored(doc)) == 3
    click(canvas, 20, 20)  # a hidden box cannot be selected
    assert doc.selected_ids() == []


def test_threshold_does_not_hide_accepted_boxes(qtbot, canvas, doc, predictions):
    hi = predictions[0]
    click(canvas, 20, 20)
    qtbot.keyClick(canvas, K.Key_Enter)
    doc.set_score_thresh(0.95)
    assert canvas.visible_box_ids() == [hi]


def test_number_keys_relabel_selection(qtbot, canvas, doc, predictions):
    hi = predictions[0]
    click(canvas, 20, 20)
    qtbot.keyClick(canvas, K.Key_2)
    b = stored(doc)[hi]
    assert b.label == "dog" and b.source == "edited"
    qtbot.keyClick(canvas, K.Key_9)  # no ninth class: nothing happens
    assert stored(doc)[hi].label == "dog"
    doc.undo_stack.undo()
    assert stored(doc)[hi].label == "cat"


def test_number_key_without_selection_sets_label_for_new_boxes(qtbot, canvas, doc):
    qtbot.keyClick(canvas, K.Key_2)
    assert doc.current_label() == "dog"


def test_unreadable_image_shows_placeholder(qtbot, canvas, doc):
    assert canvas.placeholder_text() is None
    doc.set_image(doc.record, None, [], error="a.png: not an image (truncated)")
    assert "truncated" in canvas.placeholder_text()
    assert canvas.findChild(QLabel, "canvasPlaceholder").isVisible()
    qtbot.keyClick(canvas, K.Key_W)  # drawing on the placeholder does nothing (and does not crash)
    drag(canvas, (10, 10), (40, 40))
    assert doc.boxes() == [] and stored(doc) == {}
