"""RetinaNet post-processing in numpy: torchvision's ``postprocess_detections`` without torch.

Used by the ONNX Runtime backend (``engine.onnx_runtime``), which must run where torch is not installed.
Each function mirrors its torchvision counterpart step by step and in float32, so that boxes and scores
agree with the torch path to float rounding: ``level_candidates`` (score threshold, then top-k per
level), ``decode_boxes`` (``BoxCoder.decode_single``), ``clip_boxes`` and ``batched_nms``
(``torchvision.ops.batched_nms``, including its switch between the coordinate-offset trick and
per-class NMS). Boxes are ``float32[N, 4]`` ``[x1, y1, x2, y2]`` in pixels of the resized image.
"""

from __future__ import annotations

import math

import numpy as np

BOX_CODER_WEIGHTS = (1.0, 1.0, 1.0, 1.0)  # torchvision RetinaNet's BoxCoder
BBOX_XFORM_CLIP = math.log(1000.0 / 16)
_VANILLA_NMS_ABOVE = 1000  # torchvision: per-class NMS above 4000 coordinates (1000 boxes) on the CPU


def grid_anchors(cell_anchors: np.ndarray, grid: tuple[int, int], stride: tuple[int, int]) -> np.ndarray:
    """``float32[H * W * A, 4]`` anchors of one level, location-major as the head's outputs are laid out.

    ``cell_anchors`` (``float32[A, 4]``) are centred on the origin (torchvision's rounded base anchors);
    ``stride`` is (padded image height // H, padded image width // W), as ``AnchorGenerator`` computes it.
    """
    (grid_h, grid_w), (stride_h, stride_w) = grid, stride
    shifts_x = np.arange(grid_w, dtype=np.int32) * np.int32(stride_w)
    shifts_y = np.arange(grid_h, dtype=np.int32) * np.int32(stride_h)
    shift_y, shift_x = np.meshgrid(shifts_y, shifts_x, indexing="ij")
    shift_x, shift_y = shift_x.reshape(-1), shift_y.reshape(-1)
    shifts = np.stack((shift_x, shift_y, shift_x, shift_y), axis=1).astype(np.float32)
    return (shifts[:, None, :] + cell_anchors[None, :, :].astype(np.float32)).reshape(-1, 4)


def level_candidates(
    logits: np.ndarray, num_classes: int, score_thresh: float, topk: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Scores above ``score_thresh`` and at most ``topk`` of them, best first, for one level of one image.

    ``logits``: ``float32[num_anchors * num_classes]`` (anchor-major). Returns ``(scores float32[K],
    anchor_idxs int64[K], labels int64[K])``. Only logits that can pass the threshold are put through
    the sigmoid; the threshold itself is applied to the sigmoid, as torchvision does.
    """
    if score_thresh <= 0.0:
        candidates = np.arange(logits.size)
    elif score_thresh >= 1.0:
        candidates = np.empty(0, dtype=np.int64)
    else:  # sigmoid(x) > t  <=>  x > logit(t); a margin keeps float rounding on the safe side
        candidates = np.flatnonzero(logits > math.log(score_thresh / (1.0 - score_thresh)) - 1e-3)
    scores = _sigmoid(logits[candidates])
    passed = scores > np.float32(score_thresh)
    scores, candidates = scores[passed], candidates[passed]
    if scores.size > topk:
        best = np.argpartition(-scores, topk - 1)[:topk]
        scores, candidates = scores[best], candidates[best]
    order = np.argsort(-scores, kind="stable")
    scores, candidates = scores[order], candidates[order]
    return scores, candidates // num_classes, candidates % num_classes


def decode_boxes(rel_codes: np.ndarray, anchors: np.ndarray) -> np.ndarray:
    """``BoxCoder.decode_single`` with RetinaNet's weights (1, 1, 1, 1): ``float32[N, 4]`` boxes."""
    rel_codes = rel_codes.astype(np.float32, copy=False)
    widths = anchors[:, 2] - anchors[:, 0]
    heights = anchors[:, 3] - anchors[:, 1]
    ctr_x = anchors[:, 0] + np.float32(0.5) * widths
    ctr_y = anchors[:, 1] + np.float32(0.5) * heights
    dw = np.minimum(rel_codes[:, 2], np.float32(BBOX_XFORM_CLIP))
    dh = np.minimum(rel_codes[:, 3], np.float32(BBOX_XFORM_CLIP))
    pred_ctr_x = rel_codes[:, 0] * widths + ctr_x
    pred_ctr_y = rel_codes[:, 1] * heights + ctr_y
    half_w = np.float32(0.5) * (np.exp(dw) * widths)
    half_h = np.float32(0.5) * (np.exp(dh) * heights)
    return np.stack((pred_ctr_x - half_w, pred_ctr_y - half_h, pred_ctr_x + half_w, pred_ctr_y + half_h), axis=1)


def clip_boxes(boxes: np.ndarray, height: int, width: int) -> np.ndarray:
    """``torchvision.ops.clip_boxes_to_image``: x into [0, width], y into [0, height]."""
    boxes[:, 0::2] = np.clip(boxes[:, 0::2], 0, width)
    boxes[:, 1::2] = np.clip(boxes[:, 1::2], 0, height)
    return boxes


def nms(boxes: np.ndarray, scores: np.ndarray, iou_thresh: float, max_keep: int | None = None) -> np.ndarray:
    """Greedy NMS (``torchvision.ops.nms``): indices kept, best score first; a box is dropped when its IoU
    with a kept, better box is above ``iou_thresh``. Stops after ``max_keep`` kept boxes when given."""
    order = np.argsort(-scores, kind="stable")
    x1, y1, x2, y2 = (boxes[:, k] for k in range(4))
    areas = (x2 - x1) * (y2 - y1)
    keep: list[int] = []
    while order.size and (max_keep is None or len(keep) < max_keep):
        i, rest = order[0], order[1:]
        keep.append(int(i))
        inter_w = np.maximum(np.float32(0), np.minimum(x2[i], x2[rest]) - np.maximum(x1[i], x1[rest]))
        inter_h = np.maximum(np.float32(0), np.minimum(y2[i], y2[rest]) - np.maximum(y1[i], y1[rest]))
        inter = inter_w * inter_h
        with np.errstate(invalid="ignore", divide="ignore"):
            iou = inter / (areas[i] + areas[rest] - inter)
        order = rest[~(iou > np.float32(iou_thresh))]  # NaN (two empty boxes) counts as "not above"
    return np.asarray(keep, dtype=np.int64)


def batched_nms(
    boxes: np.ndarray, scores: np.ndarray, labels: np.ndarray, iou_thresh: float, max_keep: int
) -> np.ndarray:
    """NMS within each label; indices kept, best score first, at most ``max_keep``."""
    if boxes.shape[0] == 0:
        return np.empty(0, dtype=np.int64)
    if boxes.shape[0] <= _VANILLA_NMS_ABOVE:  # shift each class far away from the others, one NMS
        offsets = labels.astype(np.float32) * (boxes.max() + np.float32(1))
        return nms(boxes + offsets[:, None], scores, iou_thresh, max_keep)
    kept = np.concatenate(
        [np.flatnonzero(labels == label)[nms(boxes[labels == label], scores[labels == label], iou_thresh)]
         for label in np.unique(labels)]
    )
    return kept[np.argsort(-scores[kept], kind="stable")][:max_keep]


def _sigmoid(x: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):  # exp overflow for very negative logits gives the right 0
        return (np.float32(1) / (np.float32(1) + np.exp(-x.astype(np.float32, copy=False)))).astype(np.float32)
