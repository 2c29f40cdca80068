"""The disagreement finder: where a model's predictions contradict an image's confirmed labels.

Four kinds of likely label error, each with a score in [0, 1] (higher = more likely an error):

- ``missing``: a confident prediction that matches no label. Score ``s_p * (1 - IoU_max)`` with
  ``IoU_max`` its best overlap with any label (a prediction half-covering a label is less convincing).
- ``spurious``: a label no prediction supports. ``support = max_p s_p * min(1, IoU(p, L) / match_iou)``
  over predictions of any class; reported when ``support < confident_thresh``; score ``1 - support``.
- ``wrong_class``: a label overlapped (IoU >= ``match_iou``) by a confident prediction of another class
  that scores above every same-class prediction there. Score ``s_other * (1 - s_same)``.
- ``loose_box``: the best same-class confident prediction overlaps the label with
  ``min_iou <= IoU < loose_iou``. Score ``s_p * (loose_iou - IoU) / (loose_iou - min_iou)``.

A label gets at most one finding (wrong class, else loose box, else spurious); a prediction that
explains a label finding is not reported again as missing; overlapping confident predictions of
different classes count once (class-agnostic NMS at ``match_iou``). Predictions matching a box the
user rejected (same class, IoU >= ``match_iou``) are never "missing": the user already said no.
``check_missing=False`` is for images not yet fully reviewed, where unlabelled objects are expected.
Boxes are ``engine.types`` boxes in absolute pixels of the upright image; no torch, no Qt.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from engine.project.labels import CONFIRMED_SOURCES  # the one rule: a label is a confirmed box
from engine.types import Box, Detection

FindingKind = Literal["missing", "spurious", "wrong_class", "loose_box"]
FINDING_KINDS: tuple[str, ...] = ("missing", "spurious", "wrong_class", "loose_box")
FIXES: dict[str, str] = {
    "missing": "add the predicted box",
    "spurious": "delete the label",
    "wrong_class": "take the predicted class",
    "loose_box": "snap the box to the prediction",
}


@dataclass(frozen=True)
class ReviewConfig:
    """Thresholds of the finder (see the module docstring for how each one is used)."""

    confident_thresh: float = 0.5  # a prediction at least this sure is the model's claim
    match_iou: float = 0.5  # two boxes at least this overlapping are the same object
    loose_iou: float = 0.8  # a same-class match below this is a loose box
    min_iou: float = 0.1  # below this, two boxes are unrelated

    def __post_init__(self) -> None:
        if not 0.0 < self.min_iou < self.loose_iou <= 1.0 or not 0.0 < self.match_iou <= 1.0:
            raise ValueError(f"review thresholds out of order: {self}")
        if not 0.0 <= self.confident_thresh <= 1.0:
            raise ValueError(f"confident_thresh must be in [0, 1], got {self.confident_thresh}")


@dataclass(frozen=True)
class Finding:
    """One likely label error on one image.

    ``label`` is the confirmed box in question (None for ``missing``); ``prediction`` the model's box
    that argues against it (None for ``spurious``); ``iou`` their overlap (0 when one is absent).
    ``image`` names the image (a dataset-relative path); ``image_id`` is the project's id when known.
    """

    kind: FindingKind
    score: float
    image: str
    label: Box | None = None
    prediction: Detection | None = None
    iou: float = 0.0
    image_id: int | None = None

    @property
    def class_name(self) -> str:
        """The class the finding is about: ``square → circle`` for a wrong class."""
        if self.kind == "wrong_class" and self.label is not None and self.prediction is not None:
            return f"{self.label.label} → {self.prediction.label}"
        box = self.label if self.label is not None else self.prediction
        return box.label if box is not None else ""

    @property
    def fix(self) -> str:
        return FIXES[self.kind]

    def with_image(self, image: str, image_id: int | None = None) -> Finding:
        return Finding(self.kind, self.score, image, self.label, self.prediction, self.iou, image_id)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "score": round(float(self.score), 6), "image": self.image,
                               "class": self.class_name, "fix": self.fix, "iou": round(float(self.iou), 4)}
        if self.image_id is not None:
            out["image_id"] = self.image_id
        if self.label is not None:
            out["label"] = {"label": self.label.label, "box": [float(v) for v in self.label.xyxy],
                            "source": self.label.source}
            if self.label.id is not None:
                out["label"]["id"] = self.label.id
        if self.prediction is not None:
            out["prediction"] = self.prediction.to_json()
        return out


def box_iou(a: Box | Detection, b: Box | Detection) -> float:
    """Intersection over union of two ``[x1, y1, x2, y2]`` boxes (0 for degenerate ones)."""
    ix = min(a.x2, b.x2) - max(a.x1, b.x1)
    iy = min(a.y2, b.y2) - max(a.y1, b.y1)
    if ix <= 0 or iy <= 0:
        return 0.0
    inter = ix * iy
    union = (a.x2 - a.x1) * (a.y2 - a.y1) + (b.x2 - b.x1) * (b.y2 - b.y1) - inter
    return inter / union if union > 0 else 0.0


def confirmed(boxes: Sequence[Box]) -> list[Box]:
    """The boxes that are labels: manual, accepted or edited (never a pending prediction)."""
    return [b for b in boxes if b.source in CONFIRMED_SOURCES]


def find_disagreements(labels: Sequence[Box], predictions: Sequence[Detection], *, image: str = "",
                       image_id: int | None = None, rejected: Sequence[Box] = (), check_missing: bool = True,
                       config: ReviewConfig | None = None) -> list[Finding]:
    """Findings for one image, highest score first.

    ``labels``: the image's confirmed boxes (pass ``confirmed(boxes)`` when the list may hold pending
    predictions). ``predictions``: the model's detections, any score (those under 0.05 barely count).
    """
    cfg = config or ReviewConfig()
    preds = sorted(predictions, key=lambda p: -p.score)
    explained: set[int] = set()  # indices into preds used by a label finding or matched to a label
    findings: list[Finding] = []
    for label in labels:
        finding = _label_finding(label, labels, preds, cfg, explained)
        if finding is not None:
            findings.append(finding)
    if check_missing:
        findings += _missing(labels, preds, rejected, cfg, explained)
    findings = [f.with_image(image, image_id) for f in findings]
    findings.sort(key=lambda f: -f.score)
    return findings


def _label_finding(label: Box, labels: Sequence[Box], preds: Sequence[Detection], cfg: ReviewConfig,
                   explained: set[int]) -> Finding | None:
    ious = [box_iou(label, p) for p in preds]
    same = [i for i, p in enumerate(preds) if p.label == label.label]
    s_same_match = max((preds[i].score for i in same if ious[i] >= cfg.match_iou), default=0.0)
    for i, p in enumerate(preds):
        if ious[i] >= cfg.match_iou and (p.label == label.label or p.score >= cfg.confident_thresh):
            explained.add(i)  # the object is labelled; its prediction is not "missing"
    # wrong class: the most confident other-class prediction on the label beats the same-class ones
    others = [i for i, p in enumerate(preds)
              if p.label != label.label and ious[i] >= cfg.match_iou and p.score >= cfg.confident_thresh]
    if others:
        o = max(others, key=lambda i: preds[i].score)
        if preds[o].score > s_same_match:
            return Finding("wrong_class", preds[o].score * (1.0 - s_same_match), "", label, preds[o], ious[o])
    # loose box: the best-overlapping confident same-class prediction is only roughly on the label
    # (a prediction that sits better on a neighbouring label belongs to that label, not this one)
    sure = [i for i in same if preds[i].score >= cfg.confident_thresh and ious[i] >= cfg.min_iou
            and all(box_iou(other, preds[i]) <= ious[i] for other in labels if other is not label)]
    if sure:
        b = max(sure, key=lambda i: ious[i])
        if ious[b] < cfg.loose_iou:
            explained.add(b)
            score = preds[b].score * (cfg.loose_iou - ious[b]) / (cfg.loose_iou - cfg.min_iou)
            return Finding("loose_box", score, "", label, preds[b], ious[b])
        return None
    support = max((p.score * min(1.0, ious[i] / cfg.match_iou) for i, p in enumerate(preds)), default=0.0)
    if support < cfg.confident_thresh:
        return Finding("spurious", 1.0 - support, "", label, None, 0.0)
    return None


def _missing(labels: Sequence[Box], preds: Sequence[Detection], rejected: Sequence[Box], cfg: ReviewConfig,
             explained: set[int]) -> list[Finding]:
    out: list[Finding] = []
    kept: list[Detection] = []  # class-agnostic NMS among confident predictions
    for i, p in enumerate(preds):
        if p.score < cfg.confident_thresh:
            break  # sorted by score
        if i in explained or any(box_iou(p, k) >= cfg.match_iou for k in kept):
            kept.append(p)
            continue
        kept.append(p)
        if any(r.label == p.label and box_iou(p, r) >= cfg.match_iou for r in rejected):
            continue
        best = max((box_iou(p, lab) for lab in labels), default=0.0)
        if best >= cfg.match_iou:
            continue
        out.append(Finding("missing", p.score * (1.0 - best), "", None, p, best))
    return out


def rank_findings(findings: Sequence[Finding]) -> list[Finding]:
    """All findings, highest score first (ties: image, then kind, stable)."""
    return sorted(findings, key=lambda f: (-f.score, f.image, f.kind))
