"""COCO / VOC / YOLO round trips: every format pair, with and without copying images."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from engine.io import read_dataset, write_dataset
from engine.types import Annotations

FORMATS = ("coco", "voc", "yolo")


@pytest.mark.parametrize("first", FORMATS)
@pytest.mark.parametrize("second", FORMATS)
def test_every_conversion_round_trips(
    synthetic: Annotations, tmp_path: Path, first: str, second: str, same_dataset
) -> None:
    write_dataset(synthetic, tmp_path / first, first)
    a = read_dataset(tmp_path / first, first)
    assert a.warnings == ()
    same_dataset(a, synthetic)
    write_dataset(a, tmp_path / f"{first}-{second}", second)
    b = read_dataset(tmp_path / f"{first}-{second}", second)
    assert b.warnings == ()
    same_dataset(b, synthetic)
    for img in b.images:  # the copied images are really there and readable
        assert (b.root / img.path).is_file()


@pytest.mark.parametrize("fmt", FORMATS)
def test_without_copying_the_originals_are_referenced(
    synthetic: Annotations, tmp_path: Path, fmt: str
) -> None:
    dst = tmp_path / "out"
    write_dataset(synthetic, dst, fmt, copy_images=False)
    back = read_dataset(dst, fmt)
    originals = {(synthetic.root / img.path).resolve(): img for img in synthetic.images}
    assert len(back.images) == len(originals)
    for img in back.images:
        original = originals[(back.root / img.path).resolve()]
        assert len(img.boxes) == len(original.boxes)
    assert back.class_names == synthetic.class_names


def test_written_files_follow_each_standard(synthetic: Annotations, tmp_path: Path) -> None:
    write_dataset(synthetic, tmp_path / "coco", "coco")
    doc = json.loads((tmp_path / "coco" / "annotations.json").read_text())
    assert [c["name"] for c in doc["categories"]] == ["cat", "hot dog", "zebra"]
    first = next(a for a in doc["annotations"] if a["category_id"] == 2)
    assert first["bbox"] == pytest.approx([3.25, 4.5, 27.5, 15.625])  # [x, y, w, h]
    assert (tmp_path / "coco" / "images" / "train" / "a.png").is_file()

    write_dataset(synthetic, tmp_path / "voc", "voc")
    xml = ET.parse(tmp_path / "voc" / "Annotations" / "train" / "a.xml").getroot()
    whole = [o for o in xml.iter("object") if o.findtext("name") == "cat"][0]
    # classic VOC: 1-based inclusive pixel indices, so the whole 64x48 image is 1..64, 1..48
    assert [whole.findtext(f"bndbox/{k}") for k in ("xmin", "ymin", "xmax", "ymax")] == [
        "1", "1", "64", "48"
    ]
    assert (tmp_path / "voc" / "Annotations" / "val" / "c.xml").is_file()  # no boxes, still written
    assert (tmp_path / "voc" / "JPEGImages" / "val" / "c.png").is_file()

    write_dataset(synthetic, tmp_path / "yolo", "yolo")
    lines = (tmp_path / "yolo" / "labels" / "d.txt").read_text().split()
    assert lines == ["1", "0.500000", "0.500000", "0.937500", "0.875000"]
    assert (tmp_path / "yolo" / "labels" / "val" / "c.txt").read_text() == ""
    assert (tmp_path / "yolo" / "classes.txt").read_text() == "cat\nhot dog\nzebra\n"
    assert '1: "hot dog"' in (tmp_path / "yolo" / "data.yaml").read_text()


@pytest.mark.parametrize("fmt", FORMATS)
def test_missing_source_image_is_reported_not_fatal(
    synthetic: Annotations, tmp_path: Path, fmt: str
) -> None:
    (synthetic.root / "d.png").unlink()
    warnings = write_dataset(synthetic, tmp_path / "out", fmt)
    assert len(warnings) == 1 and "d.png" in warnings[0] and "not found" in warnings[0]
    assert len(read_dataset(tmp_path / "out", fmt).images) >= 3
