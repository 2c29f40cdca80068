"""TrainStep on a toy model: the gradient clip matches clip_grad_norm_, and the NaN/inf guard skips."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from engine.train.step import NonFiniteLossError, TrainStep

_T = {"boxes": torch.zeros((0, 4)), "labels": torch.zeros((0,), dtype=torch.int64)}  # unused by Toy


class Toy(nn.Module):
    """A 'detector' whose losses are ``scale * sum(w * x)`` split over the two loss components."""

    def __init__(self) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.tensor([1.0, -2.0, 0.5]))
        self.b = nn.Parameter(torch.tensor([0.25]))
        self.scale = 1.0

    def forward(self, images: list[torch.Tensor], targets: list[dict]) -> dict[str, torch.Tensor]:
        x = images[0]
        return {"classification": self.scale * (self.w * x).sum(), "bbox_regression": self.scale * 3 * self.b.sum()}


def _step(model: nn.Module, grad_clip: float, lr: float = 0.1) -> TrainStep:
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 1.0)
    return TrainStep(model, opt, sched, device=torch.device("cpu"), amp=False, grad_clip=grad_clip, max_bad_steps=2)


def _reference_update(scale: float, grad_clip: float, lr: float = 0.1) -> list[torch.Tensor]:
    """Weights after one plain SGD step with torch's own clip_grad_norm_."""
    ref = Toy()
    ref.scale = scale
    losses = ref([torch.tensor([1.0, 2.0, 3.0])], [_T])
    sum(losses.values()).backward()
    torch.nn.utils.clip_grad_norm_(ref.parameters(), grad_clip)
    with torch.no_grad():
        for p in ref.parameters():
            p -= lr * p.grad
    return [p.detach().clone() for p in ref.parameters()]


@pytest.mark.parametrize("scale", [0.1, 100.0])  # gradient norm under / over the limit of 1
def test_clip_gives_the_same_weights_as_clip_grad_norm(scale: float) -> None:
    model = Toy()
    model.scale = scale
    step = _step(model, grad_clip=1.0)
    out = step([torch.tensor([1.0, 2.0, 3.0])], [_T])
    assert not out["skipped"]
    assert out["total"] == pytest.approx(scale * (1 - 4 + 1.5 + 0.75))
    for got, want in zip(model.parameters(), _reference_update(scale, 1.0)):
        torch.testing.assert_close(got.detach(), want)
    if scale > 1:  # over the limit the step moved the weights by exactly lr * max_norm
        moved = torch.cat([(p.detach() - q).flatten() for p, q in zip(model.parameters(), [
            torch.tensor([1.0, -2.0, 0.5]), torch.tensor([0.25])])])
        assert moved.norm().item() == pytest.approx(0.1, rel=1e-4)


def test_non_finite_loss_skips_the_step_then_fails() -> None:
    model = Toy()
    step = _step(model, grad_clip=1.0)
    before = [p.detach().clone() for p in model.parameters()]
    out = step([torch.tensor([math.nan, 1.0, 1.0])], [_T])
    assert out["skipped"] and math.isnan(out["classification"])
    for got, want in zip(model.parameters(), before):
        torch.testing.assert_close(got.detach(), want)
    assert all(p.grad is None for p in model.parameters())  # dropped, not carried into the next step
    with pytest.raises(NonFiniteLossError):
        step([torch.tensor([math.inf, 1.0, 1.0])], [_T])
