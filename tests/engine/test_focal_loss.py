"""The focal loss matches torchvision and the paper, stays finite, and the head normalises as RetinaNet does."""

from __future__ import annotations

import math

import pytest
import torch
import torchvision
from torchvision.models.detection.retinanet import RetinaNetClassificationHead

from engine.focal_loss import FocalLossClassificationHead, sigmoid_focal_loss


@pytest.mark.parametrize("alpha", [0.25, 0.5, -1.0])
@pytest.mark.parametrize("gamma", [0.0, 0.5, 2.0, 5.0])
@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_matches_torchvision_on_random_inputs(alpha: float, gamma: float, reduction: str) -> None:
    gen = torch.Generator().manual_seed(0)
    inputs = torch.randn(64, 7, generator=gen) * 4
    targets = (torch.rand(64, 7, generator=gen) > 0.8).float()
    ours = sigmoid_focal_loss(inputs, targets, alpha, gamma, reduction)
    ref = torchvision.ops.sigmoid_focal_loss(inputs, targets, alpha, gamma, reduction)
    torch.testing.assert_close(ours, ref, rtol=1e-5, atol=1e-6)


def test_matches_torchvision_with_soft_targets() -> None:
    gen = torch.Generator().manual_seed(1)
    inputs = torch.randn(200, generator=gen) * 3
    targets = torch.rand(200, generator=gen)
    torch.testing.assert_close(
        sigmoid_focal_loss(inputs, targets), torchvision.ops.sigmoid_focal_loss(inputs, targets), rtol=1e-5, atol=1e-6
    )


@pytest.mark.parametrize(
    ("logit", "target", "alpha", "gamma"),
    [(0.0, 1.0, 0.25, 2.0), (2.0, 1.0, 0.25, 2.0), (2.0, 0.0, 0.25, 2.0), (-1.5, 0.0, 0.75, 0.5), (3.0, 0.0, -1.0, 1.0)],
)
def test_paper_formula_by_hand(logit: float, target: float, alpha: float, gamma: float) -> None:
    p = 1 / (1 + math.exp(-logit))
    p_t = p if target == 1 else 1 - p
    alpha_t = 1.0 if alpha < 0 else (alpha if target == 1 else 1 - alpha)
    expected = -alpha_t * (1 - p_t) ** gamma * math.log(p_t)
    got = sigmoid_focal_loss(torch.tensor([logit]), torch.tensor([target]), alpha, gamma)
    assert got.item() == pytest.approx(expected, rel=1e-5)


def test_easy_examples_are_down_weighted() -> None:
    """A confidently right negative costs far less than under cross-entropy; a wrong one barely less."""
    x = torch.tensor([-4.0, 4.0])
    t = torch.zeros(2)
    ce = torch.nn.functional.binary_cross_entropy_with_logits(x, t, reduction="none")
    fl = sigmoid_focal_loss(x, t, alpha=-1, gamma=2.0)
    assert fl[0] / ce[0] < 1e-3
    assert fl[1] / ce[1] > 0.96


@pytest.mark.parametrize("gamma", [0.0, 0.5, 2.0, 5.0])
def test_finite_loss_and_gradient_at_extreme_logits(gamma: float) -> None:
    inputs = torch.tensor([100.0, -100.0, 100.0, -100.0, 30.0, -30.0], requires_grad=True)
    targets = torch.tensor([1.0, 0.0, 0.0, 1.0, 1.0, 0.0])
    loss = sigmoid_focal_loss(inputs, targets, alpha=0.25, gamma=gamma)
    loss.sum().backward()
    assert torch.isfinite(loss).all()
    assert torch.isfinite(inputs.grad).all()
    # confidently wrong logits: loss ~ alpha_t * |x|, gradient ~ +-alpha_t
    assert loss[2].item() == pytest.approx(75.0, rel=1e-4)
    assert loss[3].item() == pytest.approx(25.0, rel=1e-4)
    assert inputs.grad[2].item() == pytest.approx(0.75, rel=1e-3)
    assert inputs.grad[3].item() == pytest.approx(-0.25, rel=1e-3)


def test_gamma_zero_is_alpha_weighted_bce() -> None:
    gen = torch.Generator().manual_seed(2)
    inputs = torch.randn(100, generator=gen) * 5
    targets = (torch.rand(100, generator=gen) > 0.5).float()
    weights = 0.3 * targets + 0.7 * (1 - targets)
    expected = torch.nn.functional.binary_cross_entropy_with_logits(inputs, targets, weight=weights, reduction="sum")
    torch.testing.assert_close(sigmoid_focal_loss(inputs, targets, 0.3, 0.0, "sum"), expected)


def test_invalid_reduction_is_rejected() -> None:
    with pytest.raises(ValueError, match="reduction"):
        sigmoid_focal_loss(torch.zeros(2), torch.zeros(2), reduction="avg")  # type: ignore[arg-type]


def test_head_bias_prior_predicts_one_percent() -> None:
    head = FocalLossClassificationHead(16, 9, 3)
    assert isinstance(head, RetinaNetClassificationHead)
    probs = torch.sigmoid(head.cls_logits.bias)
    torch.testing.assert_close(probs, torch.full_like(probs, 0.01))
    with torch.no_grad():
        logits = head([torch.randn(2, 16, 8, 8), torch.randn(2, 16, 4, 4)])
    assert logits.shape == (2, (64 + 16) * 9, 3)
    assert (torch.sigmoid(logits) - 0.01).abs().max() < 0.01  # small random weights: near the prior


def _head_inputs() -> tuple[list[dict[str, torch.Tensor]], dict[str, torch.Tensor], list[torch.Tensor]]:
    gen = torch.Generator().manual_seed(3)
    logits = torch.randn(2, 10, 3, generator=gen)
    targets = [{"labels": torch.tensor([2, 0])}, {"labels": torch.tensor([1])}]
    matched = [
        torch.tensor([0, 1, -1, -2, -1, 0, -1, -1, -2, 1]),  # 4 foreground, 2 ignored
        torch.tensor([-1] * 10),  # no foreground: normaliser 1
    ]
    return targets, {"cls_logits": logits}, matched


def test_head_loss_normalised_by_foreground_count() -> None:
    head = FocalLossClassificationHead(8, 1, 3, alpha=0.4, gamma=1.5)
    targets, outputs, matched = _head_inputs()
    logits = outputs["cls_logits"]
    expected_images = []
    for i in range(2):
        target = torch.zeros(10, 3)
        for a, m in enumerate(matched[i].tolist()):
            if m >= 0:
                target[a, targets[i]["labels"][m]] = 1.0
        keep = matched[i] != -2
        loss = sigmoid_focal_loss(logits[i][keep], target[keep], 0.4, 1.5, "sum")
        expected_images.append(loss / max(1, int((matched[i] >= 0).sum())))
    expected = (expected_images[0] + expected_images[1]) / 2
    got = head.compute_loss(targets, outputs, matched)
    torch.testing.assert_close(got, expected)
    # ignoring anchors matters: counting the -2 anchors as background changes the loss
    all_bg = [torch.where(m == -2, torch.tensor(-1), m) for m in matched]
    assert not torch.isclose(head.compute_loss(targets, outputs, all_bg), got)


def test_head_loss_equals_torchvision_head_at_default_alpha_gamma() -> None:
    ours = FocalLossClassificationHead(8, 1, 3)
    theirs = RetinaNetClassificationHead(8, 1, 3)
    targets, outputs, matched = _head_inputs()
    torch.testing.assert_close(
        ours.compute_loss(targets, outputs, matched), theirs.compute_loss(targets, outputs, matched)
    )
