"""Which images a checkpoint trained on: the app's run folder split, or the COCO file train_config names."""

from __future__ import annotations

import json
from pathlib import Path

from engine.review.trained_on import training_images


def test_the_run_folder_split_names_the_training_images(tmp_path: Path) -> None:
    (tmp_path / "run" / "data").mkdir(parents=True)
    (tmp_path / "run" / "data" / "train.json").write_text(json.dumps(
        {"images": [{"id": 1, "file_name": str(tmp_path / "a.jpg")}, {"id": 2, "file_name": "b.jpg"}]}))
    assert training_images(tmp_path / "run" / "best.pt") == {(tmp_path / "a.jpg").resolve(),
                                                             (tmp_path / "run" / "data" / "images" / "b.jpg").resolve()}


def test_train_config_data_of_a_cli_checkpoint(tmp_path: Path) -> None:
    import torch

    from engine.checkpoint import save_checkpoint
    from engine.models import build_model

    coco = tmp_path / "ds" / "annotations.json"
    (tmp_path / "ds" / "images").mkdir(parents=True)
    (tmp_path / "ds" / "images" / "x.jpg").write_bytes(b"")
    coco.write_text(json.dumps({"images": [{"id": 1, "file_name": "x.jpg"}]}))
    torch.manual_seed(0)
    model = build_model("retinanet_mobilenet_v3_fpn", 1, image_size=64)
    ckpt = save_checkpoint(tmp_path / "m" / "best.pt", model=model, arch="retinanet_mobilenet_v3_fpn",
                           class_names=("a",), image_size=64, alpha=0.25, gamma=2.0,
                           train_config={"data": str(coco)})
    assert training_images(ckpt) == {(tmp_path / "ds" / "images" / "x.jpg").resolve()}
    assert training_images(tmp_path / "nowhere.pt") is None
    voc = tmp_path / "voc"  # a folder dataset, as `retinalab train --data DIR --format voc` records it
    voc.mkdir()
    (voc / "y.jpg").write_bytes(b"")
    (voc / "y.xml").write_text("<annotation><filename>y.jpg</filename><size><width>8</width><height>8</height>"
                               "<depth>3</depth></size></annotation>")
    ckpt_voc = save_checkpoint(tmp_path / "v" / "best.pt", model=model, arch="retinanet_mobilenet_v3_fpn",
                               class_names=("a",), image_size=64, alpha=0.25, gamma=2.0,
                               train_config={"data": str(voc), "format": "voc"})
    assert training_images(ckpt_voc) == {(voc / "y.jpg").resolve()}
    (tmp_path / "m" / "data").mkdir()
    (tmp_path / "m" / "data" / "train.json").write_text("not json")
    assert training_images(ckpt) is None  # unreadable split: unknown, not an error
