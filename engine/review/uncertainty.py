"""Per-image uncertainty: how much an image needs a person's eyes after a detection pass.

The formula (every value in [0, 1], higher = review sooner)::

    u_box(s)      = 1 - |s - t| / max(t, 1 - t)        # 1 at the decision threshold t, 0 at the far end
    U_threshold   = max over predictions with s >= MIN_SCORE of u_box(s)
    U_disagree    = max( scores of find_disagreements(confirmed labels, predictions),
                         s of every prediction with s >= t that repeats a box the user rejected )
    uncertainty   = max(U_threshold, U_disagree)

``t`` is the score the user decides at (the app's score slider). An image whose boxes all sit far
from ``t`` (sure objects, sure background) scores low; one with a box near ``t`` scores near 1, and so
does one where the model contradicts the user's earlier corrections: a confirmed label it does not
support, relabels or would move, or a rejected prediction it makes again. An image without
predictions scores 0 (nothing was found to doubt). The maximum rather than a sum keeps an image with
many confident boxes from outranking one with a single doubtful box.
"""

from __future__ import annotations

from collections.abc import Sequence

from engine.review.finder import ReviewConfig, box_iou, confirmed, find_disagreements
from engine.types import Box, Detection

MIN_SCORE = 0.05  # predictions below this are noise, not doubt (the app stores none lower)


def box_uncertainty(score: float, decision_thresh: float) -> float:
    """``1 - |s - t| / max(t, 1 - t)``, clipped to [0, 1]."""
    t = min(max(float(decision_thresh), 1e-6), 1.0 - 1e-6)
    return min(1.0, max(0.0, 1.0 - abs(float(score) - t) / max(t, 1.0 - t)))


def image_uncertainty(predictions: Sequence[Detection | Box], *, decision_thresh: float = 0.5,
                      labels: Sequence[Box] = (), rejected: Sequence[Box] = (), reviewed: bool = False,
                      config: ReviewConfig | None = None) -> float:
    """The image's uncertainty in [0, 1] (formula in the module docstring).

    ``predictions``: the detections of this pass (``Box`` with a score is accepted too).
    ``labels``: the image's boxes; only confirmed ones (manual, accepted, edited) count.
    ``rejected``: predictions the user rejected on this image. ``reviewed``: the user has checked
    every box, so a confident unlabelled prediction is a disagreement (a "missing" label).
    """
    dets = [_as_detection(p) for p in predictions]
    dets = [d for d in dets if d.score >= MIN_SCORE]
    u = max((box_uncertainty(d.score, decision_thresh) for d in dets), default=0.0)
    labels = confirmed(labels)
    if labels or reviewed:
        cfg = config or ReviewConfig(confident_thresh=max(decision_thresh, ReviewConfig.confident_thresh))
        for finding in find_disagreements(labels, dets, check_missing=reviewed, config=cfg):
            u = max(u, finding.score)
    for d in dets:
        if d.score >= decision_thresh and any(
                r.label == d.label and box_iou(r, d) >= ReviewConfig.match_iou for r in rejected):
            u = max(u, d.score)
    return float(u)


def _as_detection(p: Detection | Box) -> Detection:
    if isinstance(p, Detection):
        return p
    return Detection(p.x1, p.y1, p.x2, p.y2, p.label, float(p.score if p.score is not None else 1.0))
