"""Image and box augmentation for training and validation (torchvision ``transforms.v2``).

Inputs are a ``tv_tensors.Image`` (uint8 [3, H, W], RGB) and ``tv_tensors.BoundingBoxes`` (XYXY,
absolute pixels, ``canvas_size=(H, W)``) plus ``labels`` (int64 [N]); outputs are the image as
float32 in [0, 1] and the boxes moved with it. Training: photometric jitter, horizontal flip, then
scale jitter (fit the image into ``image_size * s`` with ``s`` in ``scale_range``) and a random
``image_size`` square crop or pad, so every training image is ``image_size`` x ``image_size``, objects
appear at varied scales and batches need no padding. Boxes cut below one pixel are dropped with
their labels. Validation: the longer side resized to ``image_size``, aspect kept, nothing random.
"""

from __future__ import annotations

from typing import Callable

import torch
from torchvision import tv_tensors
from torchvision.transforms import v2

from engine.types import MIN_BOX_SIZE

# Padding colour for the crop: the ImageNet mean, which the model's normalisation maps to zero,
# the same value its own batch padding uses.
_PAD_FILL = (124, 116, 104)

Transform = Callable[..., object]


def train_transforms(
    image_size: int, *, scale_range: tuple[float, float] = (0.6, 1.4), hflip: bool = True, photometric: bool = True
) -> v2.Compose:
    """Random augmentation for training; output images are ``image_size`` x ``image_size``."""
    steps: list[v2.Transform] = []
    if photometric:
        steps.append(v2.RandomPhotometricDistort(p=0.5))
    if hflip:
        steps.append(v2.RandomHorizontalFlip(p=0.5))
    steps += [
        v2.ScaleJitter((image_size, image_size), scale_range=scale_range, antialias=True),
        v2.RandomCrop(image_size, pad_if_needed=True, fill={tv_tensors.Image: _PAD_FILL, "others": 0}),
        v2.SanitizeBoundingBoxes(min_size=MIN_BOX_SIZE),
        v2.ToDtype(torch.float32, scale=True),
    ]
    return v2.Compose(steps)


def eval_transforms(image_size: int) -> v2.Compose:
    """Deterministic resize so the longer side is ``image_size`` pixels; aspect ratio kept."""
    return v2.Compose([
        v2.Resize(size=None, max_size=image_size, antialias=True),
        v2.ToDtype(torch.float32, scale=True),
    ])
