"""What the optimizer updates and how fast: parameter groups, the learning-rate schedule, frozen layers.

The schedule is per optimizer step: a linear warmup from 0.1 % of the base learning rate to the base
rate over ``warmup`` steps, then either a half cosine down to 1 % of the base rate at the last step,
or the paper's steps (x0.1 at 2/3 and again at 8/9 of the run). Weight decay is not applied to
biases and normalisation parameters. BatchNorm layers can be frozen (eval mode, no gradient): with a
pretrained backbone and a few images per batch their batch statistics are noise, so the pretrained
running statistics are the better estimate.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from engine.types import TrainConfig

_BN_TYPES = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, nn.SyncBatchNorm)
SMALL_BATCH = 8  # per device: below this, pretrained BatchNorm statistics are kept frozen


def warmup_steps(config: TrainConfig, total_steps: int) -> int:
    """The configured warmup, capped at a fifth of the run so short runs still train at full rate."""
    return max(0, min(config.warmup_steps, total_steps // 5))


def lr_factor(step: int, *, total_steps: int, warmup: int, schedule: str) -> float:
    """Multiplier of the base learning rate for optimizer step ``step`` (0-based)."""
    if warmup > 0 and step < warmup:
        return 0.001 + (1 - 0.001) * step / warmup
    if schedule == "step":
        if step >= total_steps * 8 // 9:
            return 0.01
        if step >= total_steps * 2 // 3:
            return 0.1
        return 1.0
    span = max(1, total_steps - warmup)
    t = min(1.0, (step - warmup) / span)
    return 0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * t))


def build_optimizer(model: nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    """SGD with momentum or AdamW over the trainable parameters; no decay on biases and norms."""
    decay, no_decay = [], []
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        (no_decay if param.ndim <= 1 or name.endswith(".bias") else decay).append(param)
    groups = [
        {"params": decay, "weight_decay": config.weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]
    if config.optimizer == "adamw":
        return torch.optim.AdamW(groups, lr=config.lr)
    if config.optimizer != "sgd":
        from engine.errors import RetinaLabError

        raise RetinaLabError(f"unknown optimizer {config.optimizer!r} (use sgd or adamw)")
    return torch.optim.SGD(groups, lr=config.lr, momentum=config.momentum)


def build_scheduler(
    optimizer: torch.optim.Optimizer, config: TrainConfig, total_steps: int
) -> torch.optim.lr_scheduler.LambdaLR:
    """A per-step ``LambdaLR`` following ``lr_factor``; its state_dict holds only the step count."""
    warmup = warmup_steps(config, total_steps)
    return torch.optim.lr_scheduler.LambdaLR(
        optimizer,
        lambda step: lr_factor(step, total_steps=total_steps, warmup=warmup, schedule=config.schedule),
    )


def freeze_backbone(model: nn.Module) -> int:
    """Stop gradients into the backbone body (the FPN and heads still train); returns #tensors frozen."""
    body = getattr(getattr(model, "backbone", None), "body", None)
    if body is None:
        return 0
    count = 0
    for param in body.parameters():
        if param.requires_grad:
            param.requires_grad_(False)
            count += 1
    return count


def frozen_batchnorms(model: nn.Module) -> list[nn.Module]:
    """Freeze every BatchNorm layer's affine parameters; return them so they can be kept in eval mode."""
    layers = [m for m in model.modules() if isinstance(m, _BN_TYPES)]
    for layer in layers:
        for param in layer.parameters():
            param.requires_grad_(False)
    return layers


def set_train_mode(model: nn.Module, frozen: list[nn.Module]) -> None:
    """``model.train()`` except the frozen BatchNorm layers, which keep their running statistics."""
    model.train()
    for layer in frozen:
        layer.eval()
