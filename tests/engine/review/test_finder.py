"""The disagreement finder on hand-made images: each kind found, clean images quiet, ranking by score."""

from __future__ import annotations

import pytest

from engine.review import Finding, ReviewConfig, find_disagreements, image_uncertainty, rank_findings
from engine.types import Box, Detection


def _label(x1: float, y1: float, x2: float, y2: float, label: str = "cat", source: str = "manual",
           box_id: int | None = None) -> Box:
    return Box(x1, y1, x2, y2, label, None, source, box_id)  # type: ignore[arg-type]


def _pred(x1: float, y1: float, x2: float, y2: float, label: str = "cat", score: float = 0.9) -> Detection:
    return Detection(x1, y1, x2, y2, label, score)


def _kinds(findings: list[Finding]) -> list[str]:
    return [f.kind for f in findings]


def test_labels_the_model_agrees_with_give_no_findings() -> None:
    labels = [_label(10, 10, 50, 50), _label(60, 60, 100, 90, "dog")]
    preds = [_pred(11, 10, 50, 51, score=0.95), _pred(60, 61, 99, 90, "dog", 0.8), _pred(0, 0, 5, 5, score=0.1)]
    assert find_disagreements(labels, preds) == []


def test_missing_a_confident_prediction_without_a_label() -> None:
    labels = [_label(10, 10, 50, 50)]
    preds = [_pred(10, 10, 50, 50, score=0.95), _pred(70, 70, 110, 100, "dog", 0.9), _pred(150, 0, 160, 9, score=0.3)]
    findings = find_disagreements(labels, preds, image="a.jpg")
    assert _kinds(findings) == ["missing"]
    f = findings[0]
    assert f.prediction == preds[1] and f.label is None and f.image == "a.jpg"
    assert f.score == pytest.approx(0.9) and f.class_name == "dog" and f.fix == "add the predicted box"


def test_missing_is_not_reported_on_unreviewed_images_or_for_rejected_predictions() -> None:
    preds = [_pred(70, 70, 110, 100, "dog", 0.9)]
    assert find_disagreements([], preds, check_missing=False) == []
    rejected = [Box(71, 70, 110, 101, "dog", 0.9, "predicted")]
    assert find_disagreements([], preds, rejected=rejected) == []
    assert _kinds(find_disagreements([], preds)) == ["missing"]


def test_overlapping_predictions_of_two_classes_are_one_missing_object() -> None:
    preds = [_pred(70, 70, 110, 100, "dog", 0.9), _pred(71, 70, 110, 100, "cat", 0.7)]
    findings = find_disagreements([], preds)
    assert _kinds(findings) == ["missing"] and findings[0].prediction.label == "dog"


def test_spurious_a_label_no_prediction_supports() -> None:
    labels = [_label(10, 10, 50, 50), _label(120, 5, 150, 30, box_id=7)]
    preds = [_pred(10, 10, 50, 50, score=0.95), _pred(119, 4, 150, 31, score=0.12)]
    findings = find_disagreements(labels, preds)
    assert _kinds(findings) == ["spurious"]
    assert findings[0].label.id == 7 and findings[0].prediction is None
    assert findings[0].score == pytest.approx(1 - 0.12, abs=0.02)  # weak support lowers the score
    assert findings[0].fix == "delete the label"


def test_wrong_class_a_confident_prediction_of_another_class_on_the_label() -> None:
    labels = [_label(10, 10, 50, 50, "cat")]
    preds = [_pred(11, 10, 50, 50, "dog", 0.9), _pred(10, 10, 49, 50, "cat", 0.2)]
    findings = find_disagreements(labels, preds)
    assert _kinds(findings) == ["wrong_class"]
    f = findings[0]
    assert f.prediction.label == "dog" and f.class_name == "cat → dog"
    assert f.score == pytest.approx(0.9 * (1 - 0.2))
    # the same-class prediction scoring higher wins: no finding
    assert find_disagreements(labels, [_pred(11, 10, 50, 50, "dog", 0.6), _pred(10, 10, 50, 50, "cat", 0.9)]) == []


def test_loose_box_the_same_class_prediction_overlaps_poorly() -> None:
    labels = [_label(10, 10, 50, 50)]
    preds = [_pred(22, 22, 62, 62, score=0.9)]  # IoU ~0.33 with the label
    findings = find_disagreements(labels, preds)
    assert _kinds(findings) == ["loose_box"]
    f = findings[0]
    assert 0.3 < f.iou < 0.4 and f.prediction == preds[0] and f.fix == "snap the box to the prediction"
    # the prediction explains the label: it is not also reported as missing
    assert "missing" not in _kinds(findings)
    # a tight box is fine, a looser one scores higher than a slightly loose one
    assert find_disagreements(labels, [_pred(11, 11, 50, 50)]) == []
    slightly = find_disagreements(labels, [_pred(14, 14, 54, 54)])
    assert _kinds(slightly) == ["loose_box"] and slightly[0].score < f.score


def test_a_neighbours_prediction_is_not_a_loose_fit_for_a_label() -> None:
    labels = [_label(0, 0, 40, 40), _label(30, 0, 70, 40)]  # two touching objects
    preds = [_pred(30, 0, 70, 40, score=0.95)]  # only the second one is detected
    findings = find_disagreements(labels, preds)
    assert _kinds(findings) == ["spurious"] and findings[0].label == labels[0]


def test_findings_of_all_images_rank_by_score() -> None:
    labels = [_label(10, 10, 50, 50), _label(120, 5, 150, 30)]
    preds = [_pred(10, 10, 50, 50, score=0.95), _pred(70, 70, 110, 100, "dog", 0.6)]
    a = find_disagreements(labels, preds, image="a.jpg")
    b = find_disagreements([_label(10, 10, 50, 50)], [_pred(10, 10, 50, 50, "dog", 0.99)], image="b.jpg")
    ranked = rank_findings(a + b)
    assert [f.score for f in ranked] == sorted((f.score for f in ranked), reverse=True)
    assert [(f.image, f.kind) for f in ranked] == [("a.jpg", "spurious"), ("b.jpg", "wrong_class"),
                                                   ("a.jpg", "missing")]


def test_thresholds_are_checked() -> None:
    with pytest.raises(ValueError):
        ReviewConfig(min_iou=0.9, loose_iou=0.5)


def test_uncertainty_ranks_doubtful_and_contradicting_images_above_sure_ones() -> None:
    sure = [_pred(10, 10, 50, 50, score=0.97), _pred(60, 60, 90, 90, score=0.96)]
    doubtful = [_pred(10, 10, 50, 50, score=0.97), _pred(60, 60, 90, 90, score=0.33)]
    u_sure = image_uncertainty(sure, decision_thresh=0.3)
    u_doubt = image_uncertainty(doubtful, decision_thresh=0.3)
    assert u_doubt > 0.9 and u_sure < 0.15
    # a sure model that contradicts the user's confirmed label is worth a look
    labels = [_label(10, 10, 50, 50, "dog", source="edited")]
    assert image_uncertainty(sure[:1], decision_thresh=0.3, labels=labels) > 0.9
    # ...and so is one that predicts again what the user rejected
    rejected = [Box(10, 10, 50, 50, "cat", 0.8, "predicted")]
    assert image_uncertainty(sure[:1], decision_thresh=0.3, rejected=rejected) == pytest.approx(0.97)
    # pending predictions are not labels: no contradiction from them
    pending = [Box(10, 10, 50, 50, "dog", 0.4, "predicted")]
    assert image_uncertainty(sure[:1], decision_thresh=0.3, labels=pending) == pytest.approx(u_sure, abs=0.1)
    assert image_uncertainty([], decision_thresh=0.3) == 0.0
