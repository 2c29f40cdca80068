"""Write the raccoon dataset's own 160 / 40 split as two COCO files that reference the original images.

The dataset ships VOC XML for all 200 images plus ``data/train_labels.csv`` and ``data/test_labels.csv``
naming the split; this reads the VOC once and writes ``DST/train`` and ``DST/test`` (COCO, images not
copied) for ``retinalab train --data DST/train --val DST/test --format coco``. A copy without
``data/test_labels.csv`` gets the same split from ``TEST_IMAGES`` (the 40 names of that file upstream,
datitran/raccoon_dataset); every other image is a training image.

    .venv/bin/python bench/raccoon_split.py [--src ../shared/datasets/raccoon] --dst /tmp/raccoon
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.io import read_dataset, write_dataset  # noqa: E402
from engine.types import Annotations  # noqa: E402

DEFAULT_SRC = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "raccoon"
TEST_IMAGES = frozenset(f"raccoon-{n}.jpg" for n in (
    5, 8, 14, 27, 28, 29, 40, 41, 57, 59, 62, 68, 72, 95, 99, 105, 106, 110, 125, 126,
    127, 128, 129, 134, 140, 143, 144, 145, 146, 156, 158, 164, 168, 176, 181, 185, 186, 189, 192, 197))


def test_names(src: Path) -> frozenset[str]:
    """File names of the 40 test images: ``data/test_labels.csv`` when the copy has it, else ``TEST_IMAGES``."""
    csv_path = src / "data" / "test_labels.csv"
    if not csv_path.is_file():
        return TEST_IMAGES
    with open(csv_path, newline="") as f:
        return frozenset(row["filename"] for row in csv.DictReader(f))


def split(src: Path) -> dict[str, Annotations]:
    """``{"train": 160 images, "test": 40 images}`` of the raccoon VOC labels at ``src``."""
    ann = read_dataset(src, "voc")
    test = test_names(src)
    return {name: dataclasses.replace(ann, images=tuple(img for img in ann.images
                                                        if (Path(img.path).name in test) == (name == "test")))
            for name in ("train", "test")}


def write_split(src: Path, dst: Path) -> dict[str, Path]:
    """Write ``dst/train`` and ``dst/test`` (COCO, images referenced, not copied); returns their folders."""
    out = {}
    for name, ann in split(src).items():
        write_dataset(ann, dst / name, "coco", copy_images=False)
        print(f"{name}: {len(ann.images)} images, {sum(len(i.boxes) for i in ann.images)} boxes -> {dst / name}")
        out[name] = dst / name
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--src", type=Path, default=DEFAULT_SRC)
    parser.add_argument("--dst", type=Path, required=True)
    args = parser.parse_args()
    write_split(args.src, args.dst)


if __name__ == "__main__":
    main()
