"""The focal loss and the RetinaNet classification head that trains with it.

``sigmoid_focal_loss`` has the semantics of ``torchvision.ops.sigmoid_focal_loss`` (Lin et al.,
"Focal Loss for Dense Object Detection", eq. 5): ``FL = -alpha_t * (1 - p_t)**gamma * log(p_t)``, with
``alpha < 0`` switching the class weighting off. It is computed in log space so that loss and gradient
stay finite for logits of any size in float32 and for every ``gamma >= 0`` (``(1 - p_t)**gamma`` written
as ``exp(gamma * log(1 - p_t))`` has a finite gradient even where ``1 - p_t`` underflows to 0).
``FocalLossClassificationHead`` is torchvision's ``RetinaNetClassificationHead`` with the user's
``alpha`` / ``gamma`` and the same normaliser: per image, the loss summed over all non-ignored anchors
and classes divided by the number of foreground anchors (at least 1), then averaged over the batch.
"""

from __future__ import annotations

import math
from typing import Callable, Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torchvision.models.detection.retinanet import RetinaNetClassificationHead

from engine.retinanet_loss import padded

Reduction = Literal["none", "mean", "sum"]
REDUCTIONS: tuple[str, ...] = ("none", "mean", "sum")
PRIOR_PROBABILITY = 0.01


def sigmoid_focal_loss(
    inputs: Tensor,
    targets: Tensor,
    alpha: float = 0.25,
    gamma: float = 2.0,
    reduction: Reduction = "none",
) -> Tensor:
    """Focal loss of logits ``inputs`` against ``targets`` in [0, 1] (same shape, any float dtype).

    Args:
        inputs: logits, any shape.
        targets: same shape as ``inputs``; 1 for the positive class, 0 for negative (soft targets
            are allowed, as in torchvision).
        alpha: weight of positives in (0, 1); negatives get ``1 - alpha``. ``alpha < 0``: no weighting.
        gamma: focusing parameter, ``>= 0``; ``gamma = 0`` gives (alpha-weighted) binary cross-entropy.
        reduction: ``"none"`` (same shape as ``inputs``), ``"mean"`` or ``"sum"`` (scalars).
    """
    if reduction not in REDUCTIONS:
        raise ValueError(f"invalid reduction {reduction!r}; expected one of {', '.join(REDUCTIONS)}")
    if gamma < 0:
        raise ValueError(f"gamma must be >= 0, got {gamma}")
    targets = targets.to(inputs.dtype)
    ce_loss = F.binary_cross_entropy_with_logits(inputs, targets, reduction="none")
    if gamma == 0:
        loss = ce_loss
    else:
        # 1 - p_t = p * (1 - t) + (1 - p) * t, in log space: finite for |logits| of any size.
        log_one_minus_p_t = torch.logaddexp(
            F.logsigmoid(inputs) + torch.log1p(-targets), F.logsigmoid(-inputs) + torch.log(targets)
        )
        loss = ce_loss * torch.exp(gamma * log_one_minus_p_t)
    if alpha >= 0:
        alpha_t = alpha * targets + (1 - alpha) * (1 - targets)
        loss = alpha_t * loss
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


class FocalLossClassificationHead(RetinaNetClassificationHead):
    """RetinaNet classification subnet trained with our focal loss and the user's ``alpha``/``gamma``.

    ``forward(features)`` maps a list of FPN maps ``(N, C, H_l, W_l)`` to logits ``(N, sum_l H_l*W_l*A,
    num_classes)``; column ``k`` is class ``k`` (no background column). The logit bias starts at
    ``-log((1 - pi) / pi)`` with ``pi = 0.01`` so every anchor first predicts "background" with
    probability 0.99 and the many easy negatives do not swamp the first steps.
    """

    def __init__(
        self,
        in_channels: int,
        num_anchors: int,
        num_classes: int,
        *,
        alpha: float = 0.25,
        gamma: float = 2.0,
        prior_probability: float = PRIOR_PROBABILITY,
        norm_layer: Callable[..., nn.Module] | None = None,
    ) -> None:
        if gamma < 0:
            raise ValueError(f"gamma must be >= 0, got {gamma}")
        if not alpha < 1:
            raise ValueError(f"alpha must be < 1 (negative disables weighting), got {alpha}")
        super().__init__(
            in_channels, num_anchors, num_classes, prior_probability=prior_probability, norm_layer=norm_layer
        )
        torch.nn.init.constant_(self.cls_logits.bias, -math.log((1 - prior_probability) / prior_probability))
        self.alpha = float(alpha)
        self.gamma = float(gamma)

    def compute_loss(
        self,
        targets: list[dict[str, Tensor]],
        head_outputs: dict[str, Tensor],
        matched_idxs: Tensor | list[Tensor],
        weights: Tensor | None = None,
    ) -> Tensor:
        """Classification loss of a batch (scalar tensor), computed for all images at once.

        Args:
            targets: per image ``{"labels": Int64Tensor[G]}`` (0-based class indices), ``"boxes"`` unused.
            head_outputs: ``{"cls_logits": Tensor[N, A_total, num_classes]}``.
            matched_idxs: ``(N, A_total)`` (or one ``A_total`` tensor per image): the matched ground-truth
                index, -1 for background, -2 for anchors between the IoU thresholds (ignored).
            weights: optional ``(N, A_total, num_classes)`` factors on the per-element loss (hard
                negatives, see ``engine.retinanet_loss.hard_negative_weights``); None: all 1.
        """
        cls_logits = head_outputs["cls_logits"]
        if len(targets) == 0:
            return cls_logits.sum() * 0.0
        matched = matched_idxs if isinstance(matched_idxs, Tensor) else torch.stack(list(matched_idxs))
        labels = padded(targets, "labels", cls_logits)
        foreground = matched >= 0
        # clamp: a background anchor gathers row 0, which may be a rejected prediction (label < 0)
        gt_class = labels.gather(1, matched.clamp(min=0)).clamp(min=0)
        gt_classes_target = F.one_hot(gt_class, cls_logits.shape[-1]) * foreground[..., None]
        loss = sigmoid_focal_loss(cls_logits, gt_classes_target, alpha=self.alpha, gamma=self.gamma)
        if weights is not None:
            loss = loss * weights
        loss = loss * (matched != self.BETWEEN_THRESHOLDS)[..., None]
        per_image = loss.sum(dim=(1, 2)) / foreground.sum(dim=1).clamp(min=1)
        return per_image.sum() / len(targets)
