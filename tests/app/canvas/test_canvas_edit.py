"""Drawing, moving, resizing and deleting boxes with the mouse and keys; every edit reaches the store
and undoes/redoes as one step."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from canvas_helpers import click, drag, open_image
from engine.types import Box

pytestmark = pytest.mark.gui

K = Qt.Key
SHIFT = Qt.KeyboardModifier.ShiftModifier


def stored(doc):
    return doc.project.boxes(doc.record)


def test_draw_box_with_mouse_then_undo_redo_keeps_id(qtbot, canvas, doc):
    qtbot.keyClick(canvas, K.Key_W)
    assert canvas.mode() == "create"
    drag(canvas, (10, 12), (40, 50))
    boxes = stored(doc)
    assert len(boxes) == 1
    b = boxes[0]
    assert (b.x1, b.y1, b.x2, b.y2) == pytest.approx((10, 12, 40, 50), abs=0.6)
    assert b.label == "cat" and b.source == "manual"
    assert canvas.mode() == "select" and doc.selected_ids() == [b.id]
    assert canvas.visible_box_ids() == [b.id]

    doc.undo_stack.undo()
    assert stored(doc) == [] and canvas.visible_box_ids() == []
    doc.undo_stack.redo()
    assert [x.id for x in stored(doc)] == [b.id]
    assert canvas.visible_box_ids() == [b.id]


def test_drawn_box_is_clipped_to_image_and_tiny_drag_refused(qtbot, canvas, doc):
    qtbot.keyClick(canvas, K.Key_W)
    drag(canvas, (50, 50), (50.4, 50.4))  # under MIN_BOX_SIZE (1 px): no box, no command
    assert stored(doc) == [] and doc.undo_stack.count() == 0
    drag(canvas, (80, 60), (130, 120))  # beyond the 100x80 image
    (b,) = stored(doc)
    assert (b.x2, b.y2) == (100, 80)


def test_escape_cancels_create(qtbot, canvas, doc):
    qtbot.keyClick(canvas, K.Key_W)
    qtbot.keyClick(canvas, K.Key_Escape)
    assert canvas.mode() == "select"
    drag(canvas, (10, 10), (40, 40))  # now a rubber band, not a box
    assert stored(doc) == []


def test_move_by_drag_is_one_undo_step(canvas, doc):
    open_image(doc, [Box(10, 10, 30, 30, "dog")])
    (b,) = stored(doc)
    drag(canvas, (20, 20), (45, 35), steps=20)
    (moved,) = stored(doc)
    assert moved.xyxy == pytest.approx((35, 25, 55, 45), abs=0.6)
    assert doc.undo_stack.count() == 1
    doc.undo_stack.undo()
    assert stored(doc)[0].xyxy == (10, 10, 30, 30)
    assert canvas.canvas_scene().box_item(b.id).geometry() == (10, 10, 30, 30)


def test_drag_keeps_box_inside_image(canvas, doc):
    open_image(doc, [Box(10, 10, 30, 30, "dog")])
    drag(canvas, (20, 20), (-50, 20))
    assert stored(doc)[0].xyxy == pytest.approx((0, 10, 20, 30))


def test_arrow_keys_nudge_and_merge(qtbot, canvas, doc):
    open_image(doc, [Box(10, 10, 30, 30, "dog")])
    click(canvas, 20, 20)
    qtbot.keyClick(canvas, K.Key_Right)
    qtbot.keyClick(canvas, K.Key_Right)
    qtbot.keyClick(canvas, K.Key_Down, SHIFT)
    assert stored(doc)[0].xyxy == (12, 20, 32, 40)
    assert doc.undo_stack.count() == 1  # nudges merge into one step
    doc.undo_stack.undo()
    assert stored(doc)[0].xyxy == (10, 10, 30, 30)


def test_resize_by_bottom_right_handle(canvas, doc):
    open_image(doc, [Box(10, 10, 30, 30, "dog")])
    click(canvas, 20, 20)
    drag(canvas, (30, 30), (60, 50))
    assert stored(doc)[0].xyxy == pytest.approx((10, 10, 60, 50), abs=0.6)
    assert doc.undo_stack.count() == 1
    doc.undo_stack.undo()
    assert stored(doc)[0].xyxy == (10, 10, 30, 30)


def test_resize_below_two_pixels_is_refused(canvas, doc):
    open_image(doc, [Box(10, 10, 30, 30, "dog")])
    click(canvas, 20, 20)
    drag(canvas, (30, 30), (10.5, 10.5))
    assert stored(doc)[0].xyxy == (10, 10, 30, 30)
    assert doc.undo_stack.count() == 0
    (item,) = canvas.canvas_scene().box_items()
    assert item.geometry() == (10, 10, 30, 30)


def test_moving_a_prediction_makes_it_edited_and_keeps_score(canvas, doc):
    open_image(doc, [Box(10, 10, 30, 30, "cat", 0.9, "predicted")])
    drag(canvas, (20, 20), (25, 20))
    (b,) = stored(doc)
    assert b.source == "edited" and b.score == pytest.approx(0.9)
    doc.undo_stack.undo()
    assert stored(doc)[0].source == "predicted"


def test_delete_manual_box_and_undo(qtbot, canvas, doc):
    open_image(doc, [Box(10, 10, 30, 30, "dog")])
    (b,) = stored(doc)
    click(canvas, 20, 20)
    qtbot.keyClick(canvas, K.Key_Delete)
    assert stored(doc) == [] and canvas.visible_box_ids() == []
    doc.undo_stack.undo()
    assert stored(doc) == [b]


def test_ctrl_click_adds_to_selection(canvas, doc):
    open_image(doc, [Box(10, 10, 30, 30, "dog"), Box(50, 10, 70, 30, "cat")])
    a, b = stored(doc)
    click(canvas, 20, 20)
    click(canvas, 60, 20, Qt.KeyboardModifier.ControlModifier)
    assert sorted(doc.selected_ids()) == [a.id, b.id]
    click(canvas, 90, 70)  # empty space clears
    assert doc.selected_ids() == []
    drag(canvas, (5, 5), (75, 35))  # rubber band around both
    assert sorted(doc.selected_ids()) == [a.id, b.id]
