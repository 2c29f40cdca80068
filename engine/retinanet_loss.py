"""RetinaNet's training loss for a whole batch at once, without a host-device sync per image.

torchvision's ``RetinaNet.compute_loss`` matches anchors and computes both losses image by image with
boolean-mask indexing (``x[mask]``, ``torch.where(mask)``, ``int(mask.sum())``). On a GPU each of those
waits for the device to finish everything queued so far, about ten times per image: with batch 32 the
Python thread stalls ~300 times per step and the GPU idles between. Here the same matching rule and
the same losses are computed on padded ``(N, G, A)`` tensors with masks multiplied in, so a training
step queues its work without waiting. The results equal torchvision's (``tests/engine/test_retinanet_loss.py``
compares them), including the "low-quality" matches that give every ground-truth box its best anchors.

``RetinaLabNet`` is torchvision's ``RetinaNet`` with this ``compute_loss``; ``build_model`` returns it,
and its state dict is torchvision's.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor
from torchvision.models.detection import RetinaNet
from torchvision.models.detection._utils import Matcher
from torchvision.models.detection.retinanet import RetinaNetRegressionHead
from torchvision.ops import box_iou, complete_box_iou_loss, distance_box_iou_loss, generalized_box_iou_loss

BELOW_LOW_THRESHOLD = Matcher.BELOW_LOW_THRESHOLD
BETWEEN_THRESHOLDS = Matcher.BETWEEN_THRESHOLDS


HARD_NEGATIVE_IOU = 0.5  # a background anchor this close to a rejected prediction is a hard negative


class RetinaLabNet(RetinaNet):
    """torchvision's RetinaNet whose training loss is computed batch-wise (same values, no per-image syncs).

    Hard negatives: a target row whose label is negative, ``-1 - k``, is a prediction of class ``k`` a
    person rejected. It never matches an anchor; background anchors overlapping it by IoU >=
    ``HARD_NEGATIVE_IOU`` get ``hard_negative_weight`` times the focal loss in column ``k`` (their
    negative term: the target there is 0). With weight 1 such rows change nothing, and ``TrainStep``
    only adds them when the weight is not 1 (``with_rejected``).
    """

    hard_negative_weight: float = 1.0

    def compute_loss(
        self, targets: list[dict[str, Tensor]], head_outputs: dict[str, Tensor], anchors: list[Tensor]
    ) -> dict[str, Tensor]:
        matched = match_anchors(targets, anchors, self.proposal_matcher)
        weights = None
        if self.hard_negative_weight != 1.0:
            num_classes = head_outputs["cls_logits"].shape[-1]
            weights = hard_negative_weights(targets, anchors, matched, num_classes, self.hard_negative_weight)
        return {
            "classification": self.head.classification_head.compute_loss(targets, head_outputs, matched,
                                                                         weights=weights),
            "bbox_regression": box_regression_loss(self.head.regression_head, targets, head_outputs, anchors, matched),
        }


def with_rejected(target: dict[str, Tensor]) -> dict[str, Tensor]:
    """``{"boxes", "labels"}`` of a dataset target with its ``rejected_boxes`` appended as labels ``-1 - k``
    (the model's hard-negative rows); the target unchanged when it has none."""
    if "rejected_boxes" not in target or target["rejected_boxes"].shape[0] == 0:
        return {"boxes": target["boxes"], "labels": target["labels"]}
    return {"boxes": torch.cat([target["boxes"], target["rejected_boxes"]]),
            "labels": torch.cat([target["labels"], -1 - target["rejected_labels"]])}


def hard_negative_weights(
    targets: list[dict[str, Tensor]], anchors: list[Tensor], matched: Tensor, num_classes: int, weight: float
) -> Tensor:
    """Per-anchor, per-class loss weights ``(N, A, num_classes)``: ``weight`` where a background anchor
    (``matched == -1``) overlaps a rejected row of that class by IoU >= ``HARD_NEGATIVE_IOU``, else 1."""
    anchors_t = torch.stack(anchors)
    hit = anchors_t.new_zeros((matched.shape[0], matched.shape[1], num_classes))
    for i, t in enumerate(targets):
        if t["boxes"].shape[0] == 0:
            continue
        rejected = t["labels"] < 0
        close = (box_iou(t["boxes"], anchors_t[i]) >= HARD_NEGATIVE_IOU) & rejected[:, None]  # (G, A)
        classes = F.one_hot((-1 - t["labels"]).clamp(min=0, max=num_classes - 1), num_classes) * rejected[:, None]
        hit[i] = (close.to(hit.dtype).T @ classes.to(hit.dtype)).clamp(max=1)  # (A, K): 1 where any row hits
    hit = hit * (matched == BELOW_LOW_THRESHOLD)[..., None]
    return 1.0 + (weight - 1.0) * hit


def padded(targets: list[dict[str, Tensor]], key: str, like: Tensor) -> Tensor:
    """``targets[i][key]`` stacked into ``(N, G, ...)``, zero-padded to the largest count ``G`` (at least 1),
    on ``like``'s device."""
    counts = [t[key].shape[0] for t in targets]
    first = targets[0][key]
    out = first.new_zeros((len(targets), max(1, max(counts)), *first.shape[1:])).to(like.device)
    for i, t in enumerate(targets):
        out[i, : counts[i]] = t[key]
    return out


def match_anchors(targets: list[dict[str, Tensor]], anchors: list[Tensor], matcher: Matcher) -> Tensor:
    """Per anchor the index of its ground-truth box, ``-1`` (background) or ``-2`` (ignored): ``(N, A)``.

    The rule of ``torchvision.models.detection._utils.Matcher``: IoU ``>= high`` matches, ``< low`` is
    background, in between is ignored; with ``allow_low_quality_matches`` every anchor that ties for a
    ground-truth box's best IoU gets its own best match back. An image without boxes is all background.
    """
    anchors_t = torch.stack(anchors)
    num_images, num_anchors = anchors_t.shape[:2]
    most_boxes = max(t["boxes"].shape[0] for t in targets)
    if most_boxes == 0:
        return torch.full((num_images, num_anchors), BELOW_LOW_THRESHOLD, dtype=torch.int64, device=anchors_t.device)
    # padding rows keep IoU -1: never a best match, and told from real boxes (IoU >= 0) below
    quality = anchors_t.new_full((num_images, most_boxes, num_anchors), -1.0)
    for i, t in enumerate(targets):  # one IoU matrix per image: no sync, and no (N, G, A, 2) temporary
        if t["boxes"].shape[0]:
            iou = box_iou(t["boxes"], anchors_t[i])
            if "labels" in t:  # rejected predictions (label < 0) are no boxes to match: like padding
                iou = torch.where((t["labels"] < 0)[:, None], -1.0, iou)
            quality[i, : t["boxes"].shape[0]] = iou
    matched_vals, matches = quality.max(dim=1)
    all_matches = matches
    matches = torch.where(matched_vals < matcher.low_threshold, BELOW_LOW_THRESHOLD, matches)
    between = (matched_vals >= matcher.low_threshold) & (matched_vals < matcher.high_threshold)
    matches = torch.where(between, BETWEEN_THRESHOLDS, matches)
    if matcher.allow_low_quality_matches:
        highest = quality.max(dim=2, keepdim=True).values  # (N, G, 1): each box's best IoU, -1 for padding
        best_for_some_box = ((quality == highest) & (highest >= 0)).any(dim=1)
        matches = torch.where(best_for_some_box, all_matches, matches)
    return matches


def box_regression_loss(
    head: RetinaNetRegressionHead,
    targets: list[dict[str, Tensor]],
    head_outputs: dict[str, Tensor],
    anchors: list[Tensor],
    matched: Tensor,
) -> Tensor:
    """torchvision's box loss (``head._loss_type``: l1, smooth_l1, giou, diou, ciou) over foreground
    anchors, per image divided by its number of foreground anchors (at least 1), averaged over images."""
    regression = head_outputs["bbox_regression"]
    num_images, num_anchors = matched.shape
    anchors_t = torch.stack(anchors)
    boxes = padded(targets, "boxes", anchors_t)
    foreground = matched >= 0
    index = matched.clamp(min=0)[..., None].expand(-1, -1, 4)
    # background anchors get the anchor itself as target: finite everywhere, masked out below
    target_boxes = torch.where(foreground[..., None], boxes.gather(1, index), anchors_t).reshape(-1, 4)
    flat_anchors, flat_regression = anchors_t.reshape(-1, 4), regression.reshape(-1, 4)
    kind = head._loss_type
    if kind in ("l1", "smooth_l1"):
        target_regression = head.box_coder.encode_single(target_boxes, flat_anchors)
        if kind == "l1":
            per_anchor = F.l1_loss(flat_regression, target_regression, reduction="none").sum(-1)
        else:
            per_anchor = F.smooth_l1_loss(flat_regression, target_regression, reduction="none", beta=1.0).sum(-1)
    else:
        decoded = head.box_coder.decode_single(flat_regression, flat_anchors)
        loss_fn = {"giou": generalized_box_iou_loss, "diou": distance_box_iou_loss, "ciou": complete_box_iou_loss}[kind]
        per_anchor = loss_fn(decoded, target_boxes, reduction="none", eps=1e-7)
    per_anchor = per_anchor.reshape(num_images, num_anchors) * foreground
    per_image = per_anchor.sum(dim=1) / foreground.sum(dim=1).clamp(min=1)
    return per_image.sum() / max(1, num_images)
