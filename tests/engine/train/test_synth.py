"""The synthetic demo dataset: deterministic, valid COCO, varied content, some negatives."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from engine.synth import CLASS_NAMES, make_demo_dataset


def _digest(folder: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(folder.rglob("*")):
        if p.is_file():
            h.update(p.name.encode() + p.read_bytes())
    return h.hexdigest()


def _assert_boxes_inside_their_images(coco: dict, root: Path) -> dict:
    """Every box at least 1 px, inside its image, whose file exists; returns images by id."""
    by_image = {i["id"]: i for i in coco["images"]}
    for a in coco["annotations"]:
        img = by_image[a["image_id"]]
        x, y, w, h = a["bbox"]
        assert w >= 1 and h >= 1 and x >= 0 and y >= 0
        assert x + w <= img["width"] and y + h <= img["height"]
        assert (root / img["file_name"]).is_file()
    return by_image


def test_same_seed_same_bytes_other_seed_other_images(tmp_path: Path) -> None:
    make_demo_dataset(tmp_path / "a", num_images=4, seed=3, image_size=96)
    make_demo_dataset(tmp_path / "b", num_images=4, seed=3, image_size=96)
    make_demo_dataset(tmp_path / "c", num_images=4, seed=4, image_size=96)
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")
    assert _digest(tmp_path / "a") != _digest(tmp_path / "c")


def test_worker_processes_write_the_same_dataset(tmp_path: Path) -> None:
    make_demo_dataset(tmp_path / "serial", num_images=6, seed=5, image_size=96)
    make_demo_dataset(tmp_path / "parallel", num_images=6, seed=5, image_size=96, workers=2)
    assert _digest(tmp_path / "serial") == _digest(tmp_path / "parallel")


def test_coco_file_is_consistent_and_varied(tmp_path: Path) -> None:
    path = make_demo_dataset(tmp_path, num_images=40, seed=0, image_size=128)
    coco = json.loads(path.read_text())
    assert [c["name"] for c in coco["categories"]] == list(CLASS_NAMES)
    assert len(coco["images"]) == 40
    sizes = {(i["width"], i["height"]) for i in coco["images"]}
    assert len(sizes) > 1 and all(max(s) == 128 for s in sizes)
    by_image = _assert_boxes_inside_their_images(coco, tmp_path)
    used = {a["category_id"] for a in coco["annotations"]}
    assert used == {1, 2, 3, 4}
    with_boxes = {a["image_id"] for a in coco["annotations"]}
    assert 0 < len(by_image) - len(with_boxes) < 15  # a few negatives, not many
    widths = [a["bbox"][2] for a in coco["annotations"]]
    assert max(widths) > 2 * min(widths)  # varied sizes


def test_bad_count_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        make_demo_dataset(tmp_path, num_images=0, seed=0)


def test_demo_data_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from engine.cli import main

    assert main(["demo-data", str(tmp_path / "d"), "--images", "3", "--seed", "1", "--image-size", "64"]) == 0
    assert len(list((tmp_path / "d" / "images").glob("*.jpg"))) == 3
    assert main(["demo-data", str(tmp_path / "e"), "--images", "0"]) == 2
    assert "at least 1" in capsys.readouterr().err


def test_pretrain_style_is_deterministic_varied_and_valid(tmp_path: Path) -> None:
    from engine.cli import main
    from engine.synth_pretrain import PRETRAIN_CLASS_NAMES

    assert main(["demo-data", str(tmp_path / "a"), "--style", "pretrain", "--images", "30", "--seed", "2",
                 "--image-size", "96", "--workers", "2"]) == 0
    make_demo_dataset(tmp_path / "b", num_images=30, seed=2, image_size=96, style="pretrain")
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")
    coco = json.loads((tmp_path / "a" / "annotations.json").read_text())
    assert [c["name"] for c in coco["categories"]] == list(PRETRAIN_CLASS_NAMES)
    _assert_boxes_inside_their_images(coco, tmp_path / "a")
    assert len({a["category_id"] for a in coco["annotations"]}) >= 6  # most families appear in 30 images
    widths = sorted(a["bbox"][2] for a in coco["annotations"])
    assert widths[-1] > 5 * widths[0]  # small and large objects


def test_unknown_style_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown style"):
        make_demo_dataset(tmp_path, num_images=1, style="photos")
