"""Datasets and transforms: boxes follow the image, negatives stay, bad boxes and bad input are explained."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from engine.dataset import (DetectionDataset, EpochSampler, clean_annotations, collate_detections,
                            load_annotations, prepare_data)
from engine.errors import DatasetError, ImageLoadError
from engine.synth import make_demo_dataset
from engine.transforms import eval_transforms, train_transforms
from engine.types import AnnotatedImage, Annotations, Box, TrainConfig


def _array(h: int = 60, w: int = 100) -> np.ndarray:
    img = np.zeros((h, w, 3), dtype=np.uint8)
    img[10:30, 20:50] = 255  # a white block where the box is
    return img


def _ann(*boxes: Box, classes: tuple[str, ...] = ("a", "b")) -> Annotations:
    return Annotations(Path("/nowhere"), classes, (AnnotatedImage("x.jpg", 100, 60, boxes),))


def test_eval_transform_scales_boxes_with_the_image() -> None:
    ds = DetectionDataset(_ann(Box(20, 10, 50, 30, "b")), ("a", "b"), eval_transforms(200), loader=lambda p: _array())
    image, target = ds[0]
    assert image.dtype == torch.float32 and tuple(image.shape) == (3, 120, 200)
    assert 0.0 <= float(image.min()) and float(image.max()) <= 1.0
    assert target["boxes"].tolist() == [[40.0, 20.0, 100.0, 60.0]]
    assert target["labels"].tolist() == [1]
    assert target["orig_size"] == (60, 100)


def test_train_transform_gives_square_images_and_boxes_on_the_object() -> None:
    torch.manual_seed(0)
    ds = DetectionDataset(_ann(Box(20, 10, 50, 30, "a")), ("a", "b"), train_transforms(96), loader=lambda p: _array())
    flipped = 0
    for _ in range(20):
        image, target = ds[0]
        assert tuple(image.shape) == (3, 96, 96)
        assert len(target["boxes"]) == len(target["labels"])
        for x1, y1, x2, y2 in target["boxes"].tolist():
            assert 0 <= x1 < x2 <= 96 and 0 <= y1 < y2 <= 96
            cx, cy = int((x1 + x2) / 2), int((y1 + y2) / 2)
            # the box still sits on the (jittered, never dark) white block
            assert float(image[:, cy, cx].mean()) > 0.3
            flipped += cx > 48
    assert flipped > 0  # some samples are flipped or shifted to the right half


def test_negative_images_are_kept_with_empty_targets() -> None:
    ds = DetectionDataset(_ann(), ("a", "b"), train_transforms(64), loader=lambda p: _array())
    image, target = ds[0]
    assert target["boxes"].shape == (0, 4) and target["labels"].shape == (0,)


def test_unreadable_image_is_skipped_and_counted() -> None:
    def broken(path: Path) -> np.ndarray:
        raise ImageLoadError(f"cannot decode {path}")

    ds = DetectionDataset(_ann(Box(1, 1, 9, 9, "a")), ("a", "b"), eval_transforms(64), loader=broken)
    good = DetectionDataset(_ann(Box(1, 1, 9, 9, "a")), ("a", "b"), eval_transforms(64), loader=lambda p: _array())
    images, targets, failed = collate_detections([ds[0], good[0]])
    assert failed == 1 and len(images) == len(targets) == 1


def test_degenerate_and_unknown_boxes_are_dropped_and_counted() -> None:
    ann = _ann(Box(20, 10, 50, 30, "a"), Box(5, 5, 5.5, 40, "a"), Box(90, 50, 130, 80, "b"),
               Box(float("nan"), 0, 10, 10, "a"), Box(0, 0, 10, 10, "zebra"), Box(120, 5, 150, 20, "b"))
    cleaned, degenerate, unknown = clean_annotations(ann, ("a", "b"))
    assert degenerate == 3  # too thin, not finite, wholly outside the image
    assert unknown == 1
    assert [b.xyxy for b in cleaned.images[0].boxes] == [(20, 10, 50, 30), (90, 50, 100, 60)]


def test_sampler_shards_are_disjoint_deterministic_and_resumable() -> None:
    shards = [list(EpochSampler(10, seed=1, rank=r, world_size=2)) for r in range(2)]
    assert sorted(shards[0] + shards[1]) == list(range(10))
    again = EpochSampler(10, seed=1, rank=0, world_size=2)
    assert list(again) == shards[0]
    again.set_epoch(1)
    assert list(again) != shards[0]
    again.set_epoch(0, skip=2)
    assert list(again) == shards[0][2:] and len(again) == 3


def test_prepare_data_splits_cleans_and_checks(tmp_path: Path) -> None:
    make_demo_dataset(tmp_path / "d", num_images=20, seed=0, image_size=64)
    data = prepare_data(TrainConfig(data=str(tmp_path / "d"), out="unused", format="coco"))
    assert data.class_names == ("circle", "square", "triangle", "star")
    assert len(data.train.images) + len(data.val.images) == 20
    assert 3 <= len(data.val.images) <= 4
    assert not {i.path for i in data.train.images} & {i.path for i in data.val.images}
    again = prepare_data(TrainConfig(data=str(tmp_path / "d"), out="unused", format="coco"))
    assert again.val.images == data.val.images


def test_bad_datasets_give_one_line_errors(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="does not exist"):
        load_annotations(tmp_path / "missing", "coco")
    make_demo_dataset(tmp_path / "d", num_images=3, seed=0, image_size=64)
    coco_path = tmp_path / "d" / "annotations.json"
    coco = json.loads(coco_path.read_text())
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "annotations.json").write_text(json.dumps({**coco, "images": [], "annotations": []}))
    with pytest.raises(DatasetError, match="no images"):
        prepare_data(TrainConfig(data=str(tmp_path / "empty"), out="x", format="coco"))
    coco["categories"][0]["name"] = "disc"
    (tmp_path / "val").mkdir()
    (tmp_path / "val" / "images").symlink_to(tmp_path / "d" / "images")
    (tmp_path / "val" / "annotations.json").write_text(json.dumps(coco))
    with pytest.raises(DatasetError, match="classes differ") as info:
        prepare_data(TrainConfig(data=str(tmp_path / "d"), val=str(tmp_path / "val"), out="x", format="coco"))
    assert "\n" not in str(info.value)
