"""``retinalab convert`` end to end, and the real raccoon set (Pascal VOC) importing completely."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from engine.cli import main
from engine.io import load_image, read_dataset, read_image_size, read_voc, write_dataset
from engine.types import Annotations

RACCOON = Path(__file__).resolve().parents[4] / "shared" / "datasets" / "raccoon"
GRAYSCALE_RACCOONS = ("raccoon-150.jpg", "raccoon-152.jpg", "raccoon-161.jpg")


def test_convert_command(synthetic: Annotations, tmp_path: Path, capsys, same_dataset) -> None:
    write_dataset(synthetic, tmp_path / "voc", "voc")
    assert main(["convert", "--from", "voc", "--to", "yolo", str(tmp_path / "voc"), str(tmp_path / "y")]) == 0
    out, err = capsys.readouterr()
    assert out.strip() == (
        f"converted 4 images, 4 boxes, 3 classes from voc to yolo in {tmp_path / 'y'} (0 warnings)"
    )
    same_dataset(read_dataset(tmp_path / "y", "yolo"), synthetic)


def test_convert_lists_warnings_on_stderr(tmp_path: Path, capsys, image_file) -> None:
    image_file(tmp_path / "src" / "images" / "a.png", 20, 20)
    (tmp_path / "src" / "labels").mkdir()
    (tmp_path / "src" / "labels" / "a.txt").write_text("0 0.5 0.5 0.5 0.5\n0 0.5 0.5 0 0\n")
    (tmp_path / "src" / "classes.txt").write_text("thing\n")
    assert main(["convert", "--from", "auto", "--to", "coco", str(tmp_path / "src"), str(tmp_path / "c")]) == 0
    out, err = capsys.readouterr()
    assert "1 boxes" in out and "(1 warnings)" in out
    assert err.count("warning:") == 1 and "degenerate" in err and "a.txt" in err


@pytest.mark.parametrize(
    "argv,needle",
    [
        (["--from", "vocc", "--to", "coco"], "unknown dataset format 'vocc'"),
        (["--from", "voc", "--to", "auto"], "unknown dataset format 'auto'"),
        (["--from", "voc", "--to", "coco", "MISSING"], "not found"),
        (["--from", "coco", "--to", "voc", "BADJSON"], "malformed COCO JSON"),
    ],
)
def test_convert_bad_input_exits_2_with_one_line(tmp_path: Path, capsys, argv, needle) -> None:
    (tmp_path / "bad.json").write_text("{")
    argv = [a.replace("MISSING", str(tmp_path / "nope")).replace("BADJSON", str(tmp_path / "bad.json")) for a in argv]
    if len(argv) == 4:
        argv.append(str(tmp_path))
    assert main(["convert", *argv, str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert needle in err and "\n" not in err


@pytest.mark.skipif(not RACCOON.is_dir(), reason="shared raccoon dataset not present")
def test_raccoon_voc_imports_completely() -> None:
    ann = read_voc(RACCOON)
    assert ann.root == RACCOON / "images"
    assert len(ann.images) == 200 and ann.num_boxes == 217
    assert ann.class_names == ("raccoon",) and ann.warnings == ()
    assert all(img.boxes for img in ann.images)  # every raccoon image has at least one raccoon
    first = next(img for img in ann.images if img.path == "raccoon-1.jpg")
    assert (first.width, first.height) == (650, 417)
    assert first.boxes[0].xyxy == (80.0, 87.0, 522.0, 408.0)  # xmin 81 ymin 88 xmax 522 ymax 408
    for img in ann.images:
        assert read_image_size(ann.root / img.path) == (img.width, img.height), img.path
    for name in GRAYSCALE_RACCOONS:
        rgb = load_image(RACCOON / "images" / name)
        size = read_image_size(RACCOON / "images" / name)
        assert rgb.shape == (size[1], size[0], 3) and rgb.dtype == np.uint8


@pytest.mark.skipif(not RACCOON.is_dir(), reason="shared raccoon dataset not present")
def test_raccoon_converts_to_every_format_without_copying(tmp_path: Path, same_dataset) -> None:
    ann = read_voc(RACCOON)
    for fmt in ("coco", "voc", "yolo"):
        write_dataset(ann, tmp_path / fmt, fmt, copy_images=False)
        back = read_dataset(tmp_path / fmt, fmt)
        assert len(back.images) == 200 and back.num_boxes == 217 and back.warnings == ()
        # paths differ (absolute or links); compare by file name
        renamed = Annotations(
            ann.root, back.class_names,
            tuple(img.__class__(Path(img.path).name, img.width, img.height, img.boxes) for img in back.images),
        )
        same_dataset(renamed, ann)
