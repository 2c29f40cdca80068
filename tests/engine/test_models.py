"""build_model: every arch builds with our head, honours image_size, and pretrained weights land where they should."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torchvision

import engine.models as models
from engine.errors import ModelError, WeightsUnavailableError
from engine.focal_loss import FocalLossClassificationHead
from engine.models import build_model, coco_categories
from engine.resources import resource_path


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


def _targets() -> list[dict[str, torch.Tensor]]:
    return [
        {"boxes": torch.tensor([[10.0, 20.0, 60.0, 90.0]]), "labels": torch.tensor([1])},
        {"boxes": torch.zeros((0, 4)), "labels": torch.zeros((0,), dtype=torch.int64)},
    ]


def test_mobilenet_trains_and_predicts_with_our_head() -> None:
    model = build_model("retinanet_mobilenet_v3_fpn", 3, alpha=0.4, gamma=1.5, image_size=128)
    head = model.head.classification_head
    assert isinstance(head, FocalLossClassificationHead)
    assert (head.alpha, head.gamma, head.num_classes) == (0.4, 1.5, 3)
    assert model.training
    images = [torch.rand(3, 100, 128), torch.rand(3, 128, 96)]
    losses = model(images, _targets())
    assert set(losses) == {"classification", "bbox_regression"}
    assert all(torch.isfinite(v) for v in losses.values())
    sum(losses.values()).backward()
    assert head.cls_logits.weight.grad is not None
    model.eval()
    with torch.no_grad():
        out = model(images)
    assert len(out) == 2 and set(out[0]) == {"boxes", "scores", "labels"}
    if len(out[0]["labels"]):
        assert int(out[0]["labels"].max()) < 3
    assert (out[1]["boxes"][:, 2] <= 96).all() and (out[1]["boxes"][:, 3] <= 128).all()


def test_image_size_is_the_longer_side() -> None:
    model = build_model("retinanet_mobilenet_v3_fpn", 1, image_size=160)
    model.eval()
    batch, _ = model.transform([torch.rand(3, 300, 600), torch.rand(3, 400, 200)])
    assert batch.image_sizes == [(80, 160), (160, 80)]


def test_mobilenet_levels_and_anchors_match() -> None:
    model = build_model("retinanet_mobilenet_v3_fpn", 2, image_size=256)
    with torch.no_grad():
        features = model.backbone(torch.zeros(1, 3, 256, 256))
    assert [f.shape[-1] for f in features.values()] == [32, 16, 8, 4, 2]  # strides 8 .. 128
    assert len(model.anchor_generator.sizes) == len(features)
    assert model.anchor_generator.sizes[0][0] == 16


@pytest.mark.parametrize("arch", ["retinanet_resnet50_fpn", "retinanet_resnet50_fpn_v2"])
def test_resnet_archs_build_with_our_head(arch: str) -> None:
    model = build_model(arch, 5, gamma=3.0, image_size=256)
    head = model.head.classification_head
    assert isinstance(head, FocalLossClassificationHead) and head.gamma == 3.0
    assert head.cls_logits.out_channels == 9 * 5
    assert model.transform.min_size == (256,) and model.transform.max_size == 256
    reference = getattr(torchvision.models.detection, arch)(weights=None, weights_backbone=None, num_classes=5)
    assert set(model.state_dict()) == set(reference.state_dict())  # torchvision layout: its weights load


def test_unknown_arch_and_pretrained_list_the_choices() -> None:
    with pytest.raises(ModelError, match="retinanet_mobilenet_v3_fpn"):
        build_model("yolo", 3)
    with pytest.raises(ModelError, match="none, imagenet"):
        build_model("retinanet_mobilenet_v3_fpn", 3, pretrained="coco")
    with pytest.raises(ModelError, match="num_classes"):
        build_model("retinanet_mobilenet_v3_fpn", 0)


def test_missing_weights_offline_name_url_and_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    with pytest.raises(WeightsUnavailableError) as info:
        build_model("retinanet_resnet50_fpn", 3, pretrained="coco")
    message = str(info.value)
    assert "\n" not in message
    assert "https://download.pytorch.org/models/retinanet_resnet50_fpn_coco-eeacb38b.pth" in message
    assert str(tmp_path / "hub" / "checkpoints" / "retinanet_resnet50_fpn_coco-eeacb38b.pth") in message


def test_coco_weights_keep_backbone_and_box_head_and_replace_class_logits(monkeypatch: pytest.MonkeyPatch) -> None:
    torch.manual_seed(123)  # a random "COCO" state in torchvision's layout (checked above)
    state = build_model("retinanet_resnet50_fpn", 91).state_dict()
    monkeypatch.setattr(models, "load_pretrained_state_dict", lambda arch, pretrained: state)
    model = build_model("retinanet_resnet50_fpn", 4, pretrained="coco", image_size=256)
    got = model.state_dict()
    for key in ("backbone.body.layer4.2.conv3.weight", "backbone.fpn.layer_blocks.0.0.weight",
                "head.regression_head.bbox_reg.weight", "head.classification_head.conv.0.0.weight"):
        torch.testing.assert_close(got[key], state[key])
    head = model.head.classification_head
    assert isinstance(head, FocalLossClassificationHead)
    assert head.cls_logits.out_channels == 9 * 4
    torch.testing.assert_close(torch.sigmoid(head.cls_logits.bias), torch.full((36,), 0.01))
    assert isinstance(model.backbone.body.bn1, torchvision.ops.FrozenBatchNorm2d)
    assert model.backbone.body.bn1.eps == 0.0  # as torchvision loads its COCO_V1 weights
    # keeping COCO's 91 slots keeps the COCO class-logit layer too
    full = build_model("retinanet_resnet50_fpn", 91, pretrained="coco")
    torch.testing.assert_close(
        full.state_dict()["head.classification_head.cls_logits.weight"],
        state["head.classification_head.cls_logits.weight"],
    )


def test_imagenet_backbone_for_mobilenet(monkeypatch: pytest.MonkeyPatch) -> None:
    torch.manual_seed(7)
    state = torchvision.models.mobilenet_v3_large().state_dict()
    monkeypatch.setattr(models, "load_pretrained_state_dict", lambda arch, pretrained: state)
    model = build_model("retinanet_mobilenet_v3_fpn", 2, pretrained="imagenet", image_size=128)
    body = model.backbone.body.state_dict()
    torch.testing.assert_close(body["12.block.0.0.weight"], state["features.12.block.0.0.weight"])
    assert not any(p.requires_grad for p in model.backbone.body["0"].parameters())
    assert all(p.requires_grad for p in model.backbone.body["16"].parameters())


def test_coco_names_resources_match_torchvision() -> None:
    slots = coco_categories()
    assert len(slots) == 91 and slots[1] == "person"
    assert resource_path("coco_names_91.txt").read_text().splitlines() == slots
    names = resource_path("coco_names.txt").read_text().splitlines()
    assert names == [n for n in slots if n not in ("__background__", "N/A")]
    assert len(names) == 80
