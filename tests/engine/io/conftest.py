"""A tiny synthetic dataset (4 images, 2 splits, one image without boxes) shared by the format tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from engine.types import AnnotatedImage, Annotations, Box

CLASS_NAMES = ("cat", "hot dog", "zebra")  # "zebra" has no boxes: it must survive anyway


def make_image(path: Path, width: int, height: int, seed: int = 0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8)).save(path)
    return path


@pytest.fixture()
def image_file():
    """``make_image`` as a fixture (test folders here are not packages, so no cross-imports)."""
    return make_image


@pytest.fixture()
def synthetic(tmp_path: Path) -> Annotations:
    root = tmp_path / "src"
    images = (
        AnnotatedImage("train/a.png", 64, 48, (
            Box(3.25, 4.5, 30.75, 20.125, "hot dog"),
            Box(0.0, 0.0, 64.0, 48.0, "cat"),  # the whole image, borders included
        )),
        AnnotatedImage("train/b.jpg", 80, 60, (Box(10.0, 11.0, 12.5, 59.5, "cat"),)),
        AnnotatedImage("val/c.png", 40, 30, ()),  # an image with no boxes
        AnnotatedImage("d.png", 32, 32, (Box(1.0, 2.0, 31.0, 30.0, "hot dog"),)),
    )
    for i, img in enumerate(images):
        make_image(root / img.path, img.width, img.height, seed=i)
    return Annotations(root, CLASS_NAMES, images)


@pytest.fixture()
def same_dataset():
    """The dataset comparison below, as a fixture (test folders here are not packages)."""
    return assert_same_dataset


def assert_same_dataset(got: Annotations, want: Annotations, *, tol: float = 0.5) -> None:
    """Same class order, same images (by path, size) and the same boxes to ``tol`` pixels."""
    assert got.class_names == want.class_names
    got_by_path = {img.path: img for img in got.images}
    assert sorted(got_by_path) == sorted(img.path for img in want.images)
    for img in want.images:
        other = got_by_path[img.path]
        assert (other.width, other.height) == (img.width, img.height), img.path
        assert len(other.boxes) == len(img.boxes), img.path
        for a, b in zip(sorted(other.boxes, key=lambda b: b.xyxy), sorted(img.boxes, key=lambda b: b.xyxy)):
            assert a.label == b.label
            assert max(abs(x - y) for x, y in zip(a.xyxy, b.xyxy)) <= tol, (img.path, a, b)
