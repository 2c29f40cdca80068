"""The Qt-free "enough data to train?" check and the fixed train/validation split."""

from __future__ import annotations

from pathlib import Path

from engine.train.data_check import check_training_data, split_train_val
from engine.types import AnnotatedImage, Annotations, Box


def _ann(num_images: int, boxes_per_image: int, *, empty: int = 0) -> Annotations:
    images = []
    for i in range(num_images):
        boxes = tuple(Box(10 + j, 10, 30 + j, 40, "cat" if j % 2 else "dog") for j in range(boxes_per_image))
        images.append(AnnotatedImage(f"img{i:03d}.jpg", 100, 80, boxes))
    images += [AnnotatedImage(f"empty{i}.jpg", 100, 80, ()) for i in range(empty)]
    return Annotations(Path("/data"), ("cat", "dog"), tuple(images))


def test_automatic_split_is_fixed_for_a_seed_and_stable_when_images_are_added() -> None:
    train, val = split_train_val(_ann(20, 1), val_fraction=0.2, seed=3)
    assert len(val.images) == 4 and len(train.images) == 16
    again = split_train_val(_ann(20, 1), val_fraction=0.2, seed=3)[1]
    assert [i.path for i in again.images] == [i.path for i in val.images]
    other_seed = split_train_val(_ann(20, 1), val_fraction=0.2, seed=4)[1]
    assert {i.path for i in other_seed.images} != {i.path for i in val.images}
    # 5 more images: 25 * 0.2 = 5 validation images, and the old 4 are still among them
    bigger = split_train_val(_ann(25, 1), val_fraction=0.2, seed=3)[1]
    assert {i.path for i in val.images} <= {i.path for i in bigger.images}


def test_marked_images_override_the_automatic_split_and_empty_images_never_validate() -> None:
    ann = _ann(6, 2, empty=3)
    train, val = split_train_val(ann, val_paths=["img002.jpg"])
    assert [i.path for i in val.images] == ["img002.jpg"]
    assert len(train.images) == 8
    _, auto_val = split_train_val(ann, val_fraction=0.5, seed=0)
    assert all(img.boxes for img in auto_val.images)


def test_too_few_labels_are_refused_with_what_is_missing() -> None:
    train, val = split_train_val(_ann(2, 1))
    check = check_training_data(train, val)
    assert not check.ok
    assert "label at least 8 boxes in at least 4 images" in check.problem
    assert "now 2 boxes in 2 images" in check.problem


def test_enough_labels_pass_and_the_summary_counts_them() -> None:
    train, val = split_train_val(_ann(10, 2, empty=2), val_fraction=0.2, seed=0)
    check = check_training_data(train, val)
    assert check.ok, check.problem
    assert check.num_boxes == 20 and check.num_val_images == 2 and check.num_background_images == 2
    assert check.summary() == (
        "10 train / 2 validation images, 20 boxes in 2 classes, 2 images of background only"
    )


def test_validation_without_boxes_is_refused() -> None:
    ann = _ann(8, 2, empty=1)
    train, val = split_train_val(ann, val_paths=["empty0.jpg"])
    check = check_training_data(train, val)
    assert not check.ok and "validation" in check.problem
