"""The batch-wise training loss gives torchvision's per-image matching, losses and gradients."""

from __future__ import annotations

import pytest
import torch
from torchvision.models.detection.retinanet import RetinaNetClassificationHead, RetinaNetRegressionHead
from torchvision.ops import box_iou

from engine.focal_loss import sigmoid_focal_loss
from engine.models import build_model
from engine.retinanet_loss import box_regression_loss, match_anchors


def _batch(seed: int = 0) -> tuple:
    """A compact model's head outputs and anchors for 4 images: crowded, single tiny box, empty, large."""
    torch.manual_seed(seed)
    model = build_model("retinanet_mobilenet_v3_fpn", 3, image_size=128)
    images = [torch.rand(3, 128, 96), torch.rand(3, 96, 128), torch.rand(3, 128, 128), torch.rand(3, 112, 128)]
    crowded = torch.tensor([[5.0, 5, 40, 50], [30, 20, 90, 100], [10, 60, 60, 120], [50, 50, 58, 61],
                            [0, 0, 96, 128], [31, 21, 89, 99]])
    targets = [
        {"boxes": crowded, "labels": torch.tensor([0, 1, 2, 0, 1, 2])},
        {"boxes": torch.tensor([[60.0, 40, 66, 47]]), "labels": torch.tensor([2])},
        {"boxes": torch.zeros((0, 4)), "labels": torch.zeros((0,), dtype=torch.int64)},
        {"boxes": torch.tensor([[2.0, 3, 126, 110]]), "labels": torch.tensor([1])},
    ]
    images_t, targets_t = model.transform(images, targets)
    features = list(model.backbone(images_t.tensors).values())
    outputs = model.head(features)
    anchors = model.anchor_generator(images_t, features)
    outputs = {k: v.detach().requires_grad_(True) for k, v in outputs.items()}
    return model, targets_t, outputs, anchors


def _reference_matches(model, targets, anchors) -> list[torch.Tensor]:
    """What torchvision's RetinaNet.compute_loss computes, image by image."""
    out = []
    for t, a in zip(targets, anchors):
        if t["boxes"].numel() == 0:
            out.append(torch.full((a.shape[0],), -1, dtype=torch.int64))
        else:
            out.append(model.proposal_matcher(box_iou(t["boxes"], a)))
    return out


def test_matching_equals_torchvisions_matcher_including_low_quality_matches() -> None:
    model, targets, _, anchors = _batch()
    reference = torch.stack(_reference_matches(model, targets, anchors))
    ours = match_anchors(targets, anchors, model.proposal_matcher)
    assert torch.equal(ours, reference)
    # all three outcomes occur, the tiny box got an anchor, the empty image is all background
    assert {-2, -1}.issubset(set(ours.unique().tolist())) and (ours[1] == 0).any()
    assert (ours[2] == -1).all()


def _grads(loss: torch.Tensor, outputs: dict[str, torch.Tensor]) -> list[torch.Tensor]:
    return list(torch.autograd.grad(loss, list(outputs.values()), allow_unused=True))


def test_classification_loss_and_gradient_equal_torchvisions() -> None:
    model, targets, outputs, anchors = _batch(1)
    matched = match_anchors(targets, anchors, model.proposal_matcher)
    head = model.head.classification_head
    ours = head.compute_loss(targets, outputs, matched)
    theirs = RetinaNetClassificationHead.compute_loss(head, targets, outputs, list(matched))  # alpha .25, gamma 2
    torch.testing.assert_close(ours, theirs, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(_grads(ours, outputs)[0], _grads(theirs, outputs)[0], rtol=1e-4, atol=1e-7)


@pytest.mark.parametrize(("alpha", "gamma"), [(0.75, 0.0), (-1.0, 0.5), (0.25, 5.0)])
def test_classification_loss_with_user_alpha_gamma_follows_the_per_image_definition(alpha: float, gamma: float) -> None:
    model, targets, outputs, anchors = _batch(2)
    head = model.head.classification_head
    head.alpha, head.gamma = alpha, gamma
    matched = match_anchors(targets, anchors, model.proposal_matcher)
    expected = []
    for t, logits, m in zip(targets, outputs["cls_logits"], matched):
        target = torch.zeros_like(logits)
        target[m >= 0, t["labels"][m[m >= 0]]] = 1.0
        valid = m != -2
        loss = sigmoid_focal_loss(logits[valid], target[valid], alpha=alpha, gamma=gamma, reduction="sum")
        expected.append(loss / max(1, int((m >= 0).sum())))
    torch.testing.assert_close(head.compute_loss(targets, outputs, matched), torch.stack(expected).mean(), rtol=1e-5,
                               atol=1e-6)


@pytest.mark.parametrize("loss_type", ["l1", "smooth_l1", "giou"])
def test_box_loss_and_gradient_equal_torchvisions(loss_type: str) -> None:
    model, targets, outputs, anchors = _batch(3)
    head = model.head.regression_head
    head._loss_type = loss_type
    matched = match_anchors(targets, anchors, model.proposal_matcher)
    ours = box_regression_loss(head, targets, outputs, anchors, matched)
    theirs = RetinaNetRegressionHead.compute_loss(head, targets, outputs, anchors, list(matched))
    torch.testing.assert_close(ours, theirs, rtol=1e-5, atol=1e-6)
    ours_grad, theirs_grad = _grads(ours, outputs)[1], _grads(theirs, outputs)[1]
    assert torch.isfinite(ours_grad).all()
    torch.testing.assert_close(ours_grad, theirs_grad, rtol=1e-4, atol=1e-7)


def test_a_batch_without_any_box_trains_everything_as_background() -> None:
    model = build_model("retinanet_mobilenet_v3_fpn", 2, image_size=64)
    empty = {"boxes": torch.zeros((0, 4)), "labels": torch.zeros((0,), dtype=torch.int64)}
    losses = model([torch.rand(3, 64, 64), torch.rand(3, 48, 64)], [empty, dict(empty)])
    assert losses["bbox_regression"].item() == 0.0
    assert losses["classification"].item() > 0.0
    sum(losses.values()).backward()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)
