"""How corrections reach training: rejected predictions are not boxes, edited ones replace the prediction."""

from __future__ import annotations

from engine.types import Box, Detection


def _image(snapshot, path):
    return next(img for img in snapshot.images if img.path == path)


def test_rejected_predictions_are_background_and_edits_replace_the_prediction(tiny_project) -> None:
    records = tiny_project.images()
    rec = records[0]
    label = tiny_project.class_names()[0]
    before = len(tiny_project.boxes(rec))
    wrong, edited = tiny_project.set_predictions(
        rec, [Detection(1, 1, 20, 20, label, 0.9), Detection(30, 30, 60, 60, label, 0.8)]
    )
    tiny_project.reject_box(wrong.id)
    tiny_project.update_box(edited.id, {"x1": 32.0, "y1": 33.0})
    snapshot = tiny_project.training_data("reviewed")
    boxes = _image(snapshot, rec.path).boxes
    assert len(boxes) == before + 1  # the rejected one is gone: its pixels train as background
    assert not any(b.xyxy == (1, 1, 20, 20) for b in boxes)
    replaced = [b for b in boxes if b.source == "edited"]
    assert [b.xyxy for b in replaced] == [(32.0, 33.0, 60.0, 60.0)]  # only the edit, not the prediction
    assert tiny_project.rejected_boxes(rec)[0].xyxy == (1, 1, 20, 20)  # still known to the store


def test_confirmed_scope_adds_unreviewed_images_only_when_nothing_is_pending(project_factory) -> None:
    project = project_factory("partly", num_images=6, reviewed=2)
    records = project.images()
    label = project.class_names()[0]
    confirmed, pending = records[3], records[4]
    (pred,) = project.set_predictions(pending, [Detection(5, 5, 40, 40, label, 0.7)])
    (acc,) = project.set_predictions(confirmed, [Detection(5, 5, 40, 40, label, 0.7)])
    project.update_box(acc.id, {"source": "accepted"})
    reviewed = {img.path for img in project.training_data("reviewed").images}
    assert reviewed == {records[0].path, records[1].path}
    wider = {img.path for img in project.training_data("confirmed").images}
    assert confirmed.path in wider and pending.path not in wider and reviewed <= wider
    project.reject_box(pred.id)  # the one pending prediction rejected: only manual boxes remain there
    assert pending.path in {img.path for img in project.training_data("confirmed").images}
    assert project.boxes(pending) and all(b.source == "manual" for b in project.boxes(pending))
    assert isinstance(project.boxes(pending)[0], Box)
