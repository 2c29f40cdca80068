"""Build the RetinaNet variants RetinaLab trains and runs, always with our focal-loss classification head.

``build_model`` returns a torchvision ``RetinaNet`` (``RetinaLabNet``: the same model and state dict,
with the training loss computed batch-wise, see ``engine.retinanet_loss``): in train mode ``model(images, targets)`` gives the
``classification`` / ``bbox_regression`` losses, in eval mode a list of ``{"boxes", "scores", "labels"}``
per image (boxes in input-image pixels, labels 0-based logit columns). Its transform resizes each image
so that the LONGER side equals ``image_size`` (``min_size = max_size = image_size``) and normalises with
ImageNet statistics. Architectures:

- ``retinanet_resnet50_fpn`` / ``_v2``: torchvision's models (ResNet-50 FPN, P3-P7; v2 adds GroupNorm
  heads and GIoU box loss). ``pretrained="coco"`` loads the COCO detector; when ``num_classes`` is not
  COCO's 91 slots the backbone, FPN, box head and the classification conv tower are kept and only the
  final class-logit layer is new. ``"imagenet"`` loads the ResNet-50 backbone alone.
- ``retinanet_mobilenet_v3_fpn``: the compact CPU model (5.1 M parameters). MobileNetV3-Large features
  at strides 8, 16 and 32 (blocks 6, 12, 16: 40, 112, 960 channels) feed a 128-channel FPN with P6/P7
  (strides 8-128) and GroupNorm heads; 128 rather than 256 channels cut CPU latency at 512x384 from
  0.42 s to 0.18 s (2 threads), the heads being most of the cost. Anchors are 16-406 px (base 2x the
  stride instead of torchvision's 4x; 3 scales, 3 ratios): for random boxes of 12 px to 0.8x the image,
  an anchor with IoU >= 0.5 exists for 98 % (320 px input) / 98 % (512 px) of them, against 79 % / 82 %
  with the 32-812 px anchors, which also spend P7 on boxes larger than the image.
  ``pretrained="imagenet"`` loads torchvision's ImageNet backbone weights, with frozen batch norm and
  the blocks up to stride 8 frozen, as torchvision's detection recipes do.
"""

from __future__ import annotations

import logging
from typing import Any

from torch import nn
from torchvision.models import mobilenet_v3_large
from torchvision.models.detection import RetinaNet
from torchvision.models.detection.anchor_utils import AnchorGenerator
from torchvision.models.detection.backbone_utils import BackboneWithFPN, resnet_fpn_backbone
from torchvision.models.detection.retinanet import RetinaNetHead
from torchvision.ops.feature_pyramid_network import LastLevelP6P7
from torchvision.ops.misc import FrozenBatchNorm2d

from engine.errors import ModelError
from engine.focal_loss import FocalLossClassificationHead
from engine.retinanet_loss import RetinaLabNet
from engine.weights import ARCH_PRETRAINED, check_pretrained, load_pretrained_state_dict, torchvision_weights

log = logging.getLogger(__name__)

ARCHS: tuple[str, ...] = tuple(ARCH_PRETRAINED)
COCO_NUM_SLOTS = 91  # torchvision's COCO models: category id = logit column, with unused slots
MOBILENET_FPN_CHANNELS = 128
MOBILENET_RETURN_LAYERS = {"6": "0", "12": "1", "16": "2"}  # last block at stride 8, 16, 32
MOBILENET_ANCHOR_BASES = (16, 32, 64, 128, 256)
RESNET_ANCHOR_BASES = (32, 64, 128, 256, 512)
ASPECT_RATIOS = (0.5, 1.0, 2.0)
MIN_IMAGE_SIZE = 32
MAX_IMAGE_SIZE = 4096
"""The largest ``image_size`` (longer side the model resizes to): one 4096 px image already needs
about 3 GB for a ResNet-50 forward pass; a checkpoint claiming more is refused, not allocated."""
MAX_CLASSES = 10_000
"""The most classes a model may have (largest class index 9,999); a class list beyond this is bad input."""


def anchor_generator(bases: tuple[int, ...]) -> AnchorGenerator:
    """Three scales (x1, x2^(1/3), x2^(2/3)) and three ratios per level, one level per base size."""
    sizes = tuple((b, int(b * 2 ** (1.0 / 3)), int(b * 2 ** (2.0 / 3))) for b in bases)
    return AnchorGenerator(sizes, (ASPECT_RATIOS,) * len(sizes))


def build_model(
    arch: str,
    num_classes: int,
    *,
    pretrained: str = "none",
    alpha: float = 0.25,
    gamma: float = 2.0,
    image_size: int = 512,
) -> RetinaNet:
    """A RetinaNet with ``num_classes`` logit columns (no background column), in train mode, on CPU.

    Raises ``ModelError`` for an unknown ``arch``, an unsupported ``pretrained`` for it, a bad class
    count or image size, and ``WeightsUnavailableError`` when pretrained weights are not cached and
    cannot be downloaded.
    """
    check_pretrained(arch, pretrained)
    if not isinstance(num_classes, int) or not 1 <= num_classes <= MAX_CLASSES:
        raise ModelError(f"num_classes must be an integer from 1 to {MAX_CLASSES:,}, got {num_classes!r}")
    if not isinstance(image_size, int) or not MIN_IMAGE_SIZE <= image_size <= MAX_IMAGE_SIZE:
        raise ModelError(
            f"image_size must be an integer from {MIN_IMAGE_SIZE} to {MAX_IMAGE_SIZE}, got {image_size!r}")
    if not (gamma >= 0 and alpha < 1):
        raise ModelError(f"focal loss needs gamma >= 0 and alpha < 1, got alpha={alpha}, gamma={gamma}")
    state = load_pretrained_state_dict(arch, pretrained) if pretrained != "none" else None
    if arch == "retinanet_mobilenet_v3_fpn":
        model = _mobilenet_v3_fpn(num_classes, state, alpha, gamma, image_size)
    else:
        model = _resnet50_fpn(arch, num_classes, pretrained, state, alpha, gamma, image_size)
    model.train()
    return model


def coco_categories(arch: str = "retinanet_resnet50_fpn") -> list[str]:
    """torchvision's 91-slot COCO list (index = logit column; ``__background__`` and ``N/A`` unused)."""
    return list(torchvision_weights(arch, "coco").meta["categories"])


def _focal_head(
    in_channels: int, num_anchors: int, num_classes: int, alpha: float, gamma: float, norm_layer: Any
) -> FocalLossClassificationHead:
    return FocalLossClassificationHead(
        in_channels, num_anchors, num_classes, alpha=alpha, gamma=gamma, norm_layer=norm_layer
    )


def _head(
    in_channels: int, num_anchors: int, num_classes: int, alpha: float, gamma: float, norm_layer: Any
) -> RetinaNetHead:
    """torchvision's head (regression subnet, state-dict layout) with our classification subnet."""
    head = RetinaNetHead(in_channels, num_anchors, num_classes, norm_layer=norm_layer)
    head.classification_head = _focal_head(in_channels, num_anchors, num_classes, alpha, gamma, norm_layer)
    return head


def _resnet50_fpn(
    arch: str,
    num_classes: int,
    pretrained: str,
    state: dict[str, Any] | None,
    alpha: float,
    gamma: float,
    image_size: int,
) -> RetinaNet:
    v2 = arch == "retinanet_resnet50_fpn_v2"
    # torchvision's recipe: frozen BN and 3 trainable stages on pretrained v1; v2 keeps plain BN.
    norm_layer = FrozenBatchNorm2d if (state is not None and not v2) else nn.BatchNorm2d
    backbone = resnet_fpn_backbone(
        backbone_name="resnet50",
        weights=None,
        norm_layer=norm_layer,
        trainable_layers=3 if state is not None else 5,
        returned_layers=[2, 3, 4],
        extra_blocks=LastLevelP6P7(2048, 256) if v2 else LastLevelP6P7(256, 256),
    )
    anchors = anchor_generator(RESNET_ANCHOR_BASES)
    num_anchors = anchors.num_anchors_per_location()[0]
    head_norm = (lambda c: nn.GroupNorm(32, c)) if v2 else None
    head_classes = COCO_NUM_SLOTS if pretrained == "coco" else num_classes
    model = RetinaLabNet(
        backbone,
        head_classes,
        min_size=image_size,
        max_size=image_size,
        anchor_generator=anchors,
        head=_head(backbone.out_channels, num_anchors, head_classes, alpha, gamma, head_norm),
    )
    if v2:
        model.head.regression_head._loss_type = "giou"
    if pretrained == "coco" and state is not None:
        _load(model, state, f"{arch} COCO weights")
        if not v2:
            for module in model.modules():  # torchvision's COCO_V1 weights were trained with eps 0
                if isinstance(module, FrozenBatchNorm2d):
                    module.eps = 0.0
        if num_classes != COCO_NUM_SLOTS:
            _replace_class_logits(model, num_classes, alpha, gamma, head_norm)
    elif pretrained == "imagenet" and state is not None:
        _load(model.backbone.body, {k: v for k, v in state.items() if not k.startswith("fc.")}, "ImageNet weights")
    return model


def _mobilenet_v3_fpn(
    num_classes: int, state: dict[str, Any] | None, alpha: float, gamma: float, image_size: int
) -> RetinaNet:
    pretrained = state is not None
    features = mobilenet_v3_large(norm_layer=FrozenBatchNorm2d if pretrained else nn.BatchNorm2d).features
    if pretrained:
        prefix = "features."
        _load(features, {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}, "ImageNet weights")
        for block in features[:7]:  # up to stride 8: generic edges and textures
            block.requires_grad_(False)
    channels = MOBILENET_FPN_CHANNELS
    backbone = BackboneWithFPN(
        features,
        return_layers=MOBILENET_RETURN_LAYERS,
        in_channels_list=[features[int(i)].out_channels for i in MOBILENET_RETURN_LAYERS],
        out_channels=channels,
        extra_blocks=LastLevelP6P7(channels, channels),
    )
    anchors = anchor_generator(MOBILENET_ANCHOR_BASES)
    num_anchors = anchors.num_anchors_per_location()[0]
    head_norm = lambda c: nn.GroupNorm(16, c)  # noqa: E731
    return RetinaLabNet(
        backbone,
        num_classes,
        min_size=image_size,
        max_size=image_size,
        anchor_generator=anchors,
        head=_head(channels, num_anchors, num_classes, alpha, gamma, head_norm),
    )


def _replace_class_logits(model: RetinaNet, num_classes: int, alpha: float, gamma: float, head_norm: Any) -> None:
    """New ``num_classes`` logit layer (prior 0.01); the pretrained conv tower before it is kept."""
    old = model.head.classification_head
    new = _focal_head(old.cls_logits.in_channels, old.num_anchors, num_classes, alpha, gamma, head_norm)
    new.conv.load_state_dict(old.conv.state_dict())
    model.head.classification_head = new


def _load(module: nn.Module, state: dict[str, Any], what: str) -> None:
    try:
        module.load_state_dict(state)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()
        raise ModelError(f"{what} do not fit the model: {first[1].strip() if len(first) > 1 else first[0]}") from None
