"""The default start of ``retinalab train``: the best weights available, said in one line (issue 17)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from engine.checkpoint import load_checkpoint
from engine.cli import build_parser, main
from engine.cli.train import build_config
from engine.demo import demo_model_path
from engine.start import choose_start, head_start_model
from engine.weights import cached_weights_path

TINY = ["--epochs", "1", "--batch-size", "2", "--image-size", "64", "--threads", "1", "--warmup-steps", "1"]


def _config(*flags: str):
    args = build_parser().parse_args(["train", "--data", "d", "--out", "o", *flags])
    return build_config(args)


def test_offline_with_nothing_cached_trains_from_the_procedural_model(
        shipped_procedural: Path, tiny_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "run"
    assert main(["train", "--data", str(tiny_data), "--format", "coco", "--out", str(out), *TINY]) == 0
    first_line = capsys.readouterr().out.splitlines()[0]
    assert first_line.startswith("start: procedural pretrained model — ")
    assert "and no ImageNet or COCO weights in the cache (offline)" in first_line
    config = load_checkpoint(out / "last.pt").train_config
    assert config["init_checkpoint"] == str(shipped_procedural) and config["pretrained"] == "none"
    assert (config["optimizer"], config["lr"]) == ("adamw", 0.001)  # measured best from this start (README)


def test_cached_imagenet_weights_come_first_and_none_means_scratch(shipped_procedural: Path) -> None:
    imagenet = cached_weights_path("retinanet_mobilenet_v3_fpn", "imagenet")
    imagenet.parent.mkdir(parents=True)
    imagenet.write_bytes(b"stand-in")  # only its presence is looked at
    config = _config()
    assert (config.pretrained, config.init_checkpoint, config.optimizer) == ("imagenet", None, "sgd")
    assert "ImageNet backbone" in choose_start("retinanet_mobilenet_v3_fpn").label
    scratch = _config("--pretrained", "none")
    assert (scratch.pretrained, scratch.init_checkpoint, scratch.optimizer) == ("none", None, "adamw")


def test_coco_before_imagenet_and_no_procedural_model_for_resnet(shipped_procedural: Path) -> None:
    arch = "retinanet_resnet50_fpn"
    scratch = choose_start(arch)
    assert scratch.kind == "scratch" and "is for retinanet_mobilenet_v3_fpn only" in scratch.reason
    for pretrained in ("imagenet", "coco"):
        path = cached_weights_path(arch, pretrained)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"stand-in")
    assert (choose_start(arch).kind, choose_start(arch).pretrained) == ("coco", "coco")


def test_a_missing_procedural_model_means_scratch_and_says_so(shipped_procedural: Path) -> None:
    shipped_procedural.unlink()
    choice = choose_start("retinanet_mobilenet_v3_fpn")
    assert choice.kind == "scratch" and "not installed" in choice.reason


def test_the_current_model_comes_first_but_the_demo_model_only_on_shapes(shipped_procedural: Path,
                                                                        tmp_path: Path) -> None:
    own = tmp_path / "best.pt"
    assert choose_start("retinanet_mobilenet_v3_fpn", current_checkpoint=str(own)).init_checkpoint == str(own)
    coco = choose_start("retinanet_mobilenet_v3_fpn", current_coco_arch="retinanet_resnet50_fpn")
    assert (coco.kind, coco.arch, coco.pretrained) == ("current", "retinanet_resnet50_fpn", "coco")
    demo = str(demo_model_path())
    assert head_start_model(demo, ["circle", "star"]) == demo  # the demo project
    assert head_start_model(demo, ["raccoon"]) is None  # another project: the procedural model is better
    assert head_start_model(str(own), ["raccoon"]) == str(own)


def test_a_new_class_gets_the_focal_loss_prior_when_starting_from_the_procedural_model(
        shipped_procedural: Path) -> None:
    import torch

    from engine.models import build_model
    from engine.train.checkpoints import CLS_BIAS, init_from_checkpoint

    ckpt = load_checkpoint(shipped_procedural)
    known = ckpt.class_names[0]
    model = build_model(ckpt.arch, 2, image_size=64)
    assert init_from_checkpoint(model, ckpt, (known, "raccoon")) == 1
    bias = model.state_dict()[CLS_BIAS]
    num_anchors = model.head.classification_head.num_anchors
    prior = 0.01
    raccoon = torch.stack([bias[a * 2 + 1] for a in range(num_anchors)])
    torch.testing.assert_close(raccoon, torch.full_like(raccoon, -math.log((1 - prior) / prior)))
    k_old = len(ckpt.class_names)
    carried = torch.stack([bias[a * 2] for a in range(num_anchors)])
    expected = torch.stack([ckpt.state_dict[CLS_BIAS][a * k_old].float() for a in range(num_anchors)])
    torch.testing.assert_close(carried, expected)
