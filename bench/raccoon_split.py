"""Write the raccoon dataset's own 160 / 40 split as two COCO files that reference the original images.

The dataset ships VOC XML for all 200 images plus ``data/train_labels.csv`` and ``data/test_labels.csv``
naming the split; this reads the VOC once and writes ``DST/train`` and ``DST/test`` (COCO, images not
copied) for ``retinalab train --data DST/train --val DST/test --format coco``.

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

DEFAULT_SRC = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "raccoon"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--src", type=Path, default=DEFAULT_SRC)
    parser.add_argument("--dst", type=Path, required=True)
    args = parser.parse_args()
    ann = read_dataset(args.src, "voc")
    for split in ("train", "test"):
        with open(args.src / "data" / f"{split}_labels.csv", newline="") as f:
            names = {row["filename"] for row in csv.DictReader(f)}
        images = tuple(img for img in ann.images if Path(img.path).name in names)
        write_dataset(dataclasses.replace(ann, images=images), args.dst / split, "coco", copy_images=False)
        print(f"{split}: {len(images)} images, {sum(len(i.boxes) for i in images)} boxes -> {args.dst / split}")


if __name__ == "__main__":
    main()
