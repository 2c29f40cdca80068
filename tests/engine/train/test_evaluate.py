"""COCO mAP on hand-made cases whose AP we can compute on paper."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.evaluate import evaluate_detections, format_metrics
from engine.types import AnnotatedImage, Annotations, Box, Detection


def _ann(*images: tuple[Box, ...], classes: tuple[str, ...] = ("cat", "dog")) -> Annotations:
    return Annotations(
        root=Path("."),
        class_names=classes,
        images=tuple(AnnotatedImage(f"{i}.jpg", 100, 100, boxes) for i, boxes in enumerate(images)),
    )


def _det(box: Box, score: float, label: str | None = None, dy: float = 0.0) -> Detection:
    return Detection(box.x1, box.y1, box.x2, box.y2 + dy, label or box.label, score)


CAT = Box(10, 10, 50, 50, "cat")
DOG = Box(60, 20, 90, 80, "dog")
CAT2 = Box(5, 60, 40, 95, "cat")


def test_perfect_predictions_score_one() -> None:
    ann = _ann((CAT, DOG), (CAT2,))
    m = evaluate_detections(ann, [[_det(CAT, 0.9), _det(DOG, 0.8)], [_det(CAT2, 0.7)]])
    assert m["AP"] == pytest.approx(1.0)
    assert m["AP50"] == pytest.approx(1.0)
    assert m["AP75"] == pytest.approx(1.0)
    assert m["per_class"] == {"cat": pytest.approx(1.0), "dog": pytest.approx(1.0)}


def test_no_detections_score_zero() -> None:
    m = evaluate_detections(_ann((CAT,)), [[]])
    assert m["AP"] == 0.0 and m["per_class"]["cat"] == 0.0
    assert m["per_class"]["dog"] is None  # no ground truth: no AP


def test_confident_false_positive_above_true_positive_halves_ap() -> None:
    # Ranked: FP (0.9) then TP (0.8): precision 0 at recall 0, then 0.5 at recall 1. The
    # interpolated precision is 0.5 at every recall threshold, so AP = 0.5 at every IoU.
    fp = Detection(60, 60, 90, 90, "cat", 0.9)
    m = evaluate_detections(_ann((CAT,)), [[fp, _det(CAT, 0.8)]])
    assert m["AP"] == pytest.approx(0.5)
    assert m["AP50"] == pytest.approx(0.5)
    assert m["per_class"]["cat"] == pytest.approx(0.5)


def test_false_positive_between_two_true_positives() -> None:
    # TP 0.9, FP 0.8, TP 0.7 over 2 cats: (P, R) = (1, .5), (.5, .5), (2/3, 1). Interpolated
    # precision is 1 for the 51 recall points 0..0.50 and 2/3 for the 50 points 0.51..1.
    fp = Detection(60, 0, 99, 30, "cat", 0.8)
    m = evaluate_detections(_ann((CAT,), (CAT2,)), [[_det(CAT, 0.9), fp], [_det(CAT2, 0.7)]])
    expected = (51 * 1.0 + 50 * (2 / 3)) / 101
    assert m["AP50"] == pytest.approx(expected)
    assert m["AP"] == pytest.approx(expected)


def test_loose_box_counts_only_at_low_iou_thresholds() -> None:
    # GT 40x40; prediction 40x(40*0.62) inside it: IoU 0.62 matches at 0.50, 0.55, 0.60 only.
    loose = Detection(10, 10, 50, 10 + 40 * 0.62, "cat", 0.9)
    m = evaluate_detections(_ann((CAT,)), [[loose]])
    assert m["AP50"] == pytest.approx(1.0)
    assert m["AP75"] == pytest.approx(0.0)
    assert m["AP"] == pytest.approx(0.3)


def test_wrong_class_is_a_miss_and_a_false_positive() -> None:
    m = evaluate_detections(_ann((CAT, DOG)), [[_det(CAT, 0.9, label="dog"), _det(DOG, 0.8)]])
    # dog: FP (0.9) then TP (0.8) -> 0.5; cat: never detected -> 0; mean 0.25
    assert m["per_class"] == {"cat": pytest.approx(0.0), "dog": pytest.approx(0.5)}
    assert m["AP"] == pytest.approx(0.25)


def test_unknown_labels_and_empty_images_are_ignored() -> None:
    m = evaluate_detections(_ann((CAT,), ()), [[_det(CAT, 0.9), Detection(0, 0, 5, 5, "zebra", 1.0)], []])
    assert m["AP"] == pytest.approx(1.0)
    assert "AP 1.0000" in format_metrics(m)


def test_length_mismatch_is_a_clear_error() -> None:
    from engine.errors import DatasetError

    with pytest.raises(DatasetError, match="dataset has 2"):
        evaluate_detections(_ann((CAT,), ()), [[]])
