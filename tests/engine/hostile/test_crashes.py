"""Issue 13, items 1-8: inputs that used to crash with a traceback or run away with memory or time."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch

from engine.checkpoint import load_checkpoint, save_checkpoint
from engine.errors import CheckpointError, DatasetError, ImageLoadError
from engine.infer import Detector
from engine.io import load_image, read_coco, read_voc, read_yolo
from engine.models import build_model

REPO = Path(__file__).resolve().parents[3]
ARCH = "retinanet_mobilenet_v3_fpn"
TINY_TRAIN = ["--epochs", "1", "--batch-size", "2", "--image-size", "64", "--threads", "1", "--warmup-steps", "1"]


# 1 -------------------------------------------------------------------------------------------
def test_symlink_loop_in_a_folder_is_skipped_by_name(cli, make, weights: Path, tmp_path: Path) -> None:
    folder = tmp_path / "photos"
    make.image(folder / "good.jpg", 48, 64)
    (folder / "a.jpg").symlink_to("b.jpg")
    (folder / "b.jpg").symlink_to("a.jpg")
    result = cli("detect", "--weights", weights, folder)
    assert result.code == 0
    assert "good.jpg (64x48)" in result.out
    skipped = [line for line in result.err.splitlines() if line.startswith("skipped")]
    assert len(skipped) == 2 and all("symbolic links" in line for line in skipped)


# 2 -------------------------------------------------------------------------------------------
def test_thin_images_are_skipped_by_detect(cli, make, weights: Path, tmp_path: Path) -> None:
    folder = tmp_path / "photos"
    make.image(folder / "good.png", 48, 64)
    make.image(folder / "line.png", 1, 700)
    make.image(folder / "strip.png", 3000, 4)
    result = cli("detect", "--weights", weights, folder)
    assert result.code == 0 and "good.png (64x48)" in result.out
    assert "skipped" in result.err and "line.png" in result.err and "strip.png" in result.err
    assert "700x1 px is too thin" in result.err
    assert "1 images processed, 2 skipped" in result.err


@pytest.mark.slow
def test_thin_images_are_skipped_by_train(cli, make, tiny_coco: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(tiny_coco, data)
    doc = json.loads((data / "annotations.json").read_text())
    folder = Path(doc["images"][0]["file_name"]).parent
    for i, (h, w) in enumerate([(1, 700), (4, 3000)]):
        make.image(data / folder / f"thin{i}.png", h, w)
        doc["images"].append({"id": 1000 + i, "file_name": str(folder / f"thin{i}.png"), "width": w, "height": h})
        doc["annotations"].append({"id": 1000 + i, "image_id": 1000 + i, "category_id": doc["categories"][0]["id"],
                                   "bbox": [0, 0, 50, 1], "iscrowd": 0})
    (data / "annotations.json").write_text(json.dumps(doc))
    out = tmp_path / "run"
    # --val = the same data: the thin images go through training and validation both
    result = cli("train", "--data", data, "--val", data, "--out", out, *TINY_TRAIN)
    assert result.code == 0, result.err
    assert (out / "best.pt").is_file()
    assert "skipped 2 images" in result.out or "skipped 4 images" in result.out


# 3 -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("field,value", [
    ("width", "Infinity"), ("width", "NaN"), ("id", [1]), ("id", {"a": 1}), ("image_id", [1]),
    ("category_id", {"x": 1}), ("width", "9" * 5000), ("bbox", ["1e999", 0, 5, 5]),
])
def test_coco_numbers_and_ids_that_are_not(make, tmp_path: Path, field: str, value: object) -> None:
    make.image(tmp_path / "a.png", 20, 30)
    image = {"id": 1, "file_name": "a.png", "width": 30, "height": 20}
    ann = {"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 1, 10, 10], "iscrowd": 0}
    target = ann if field in ("image_id", "category_id", "bbox") else image
    path = make.coco(tmp_path, images=[image], annotations=[ann], categories=[{"id": 1, "name": "cat"}])
    text = path.read_text()
    import json as _json

    literal = value if isinstance(value, str) and (value in ("Infinity", "NaN") or value.isdigit()) \
        else _json.dumps(value)
    key = f'"{field}": '
    old = _json.dumps(target[field])
    start = text.index(key + old, text.index('"images"' if target is image else '"annotations"'))
    path.write_text(text[:start] + key + literal + text[start + len(key + old):])
    try:
        ann_read = read_coco(tmp_path)
    except DatasetError as exc:
        assert "\n" not in str(exc) and "annotations.json" in str(exc)
        return
    for img in ann_read.images:
        assert img.width >= 0 and img.height >= 0
        assert all(b.is_finite() and b.width >= 1 for b in img.boxes)
    assert ann_read.warnings or ann_read.images[0].width == 30


@pytest.mark.parametrize("width", ["nan", "1e999", "-5", "12abc", "99999999999999999999"])
def test_voc_sizes_that_are_not_numbers(make, tmp_path: Path, width: str) -> None:
    make.image(tmp_path / "a.jpg", 20, 30)
    (tmp_path / "a.xml").write_text(
        f"<annotation><filename>a.jpg</filename><size><width>{width}</width><height>20</height></size>"
        "<object><name>cat</name><bndbox><xmin>2</xmin><ymin>2</ymin><xmax>1e999</xmax><ymax>9</ymax>"
        "</bndbox></object><object><name>dog</name><bndbox><xmin>2</xmin><ymin>2</ymin><xmax>9</xmax>"
        "<ymax>9</ymax></bndbox></object></annotation>")
    ann = read_voc(tmp_path)
    (img,) = ann.images
    assert (img.width, img.height) == (30, 20)  # read from the image when the XML's is unusable
    assert [b.label for b in img.boxes] == ["dog"]
    assert any("non-finite" in w for w in ann.warnings)


@pytest.mark.parametrize("cls", ["nan", "1e999", "-inf", "inf", "1.5", "-1"])
def test_yolo_class_indices_that_are_not(make, tmp_path: Path, cls: str) -> None:
    make.image(tmp_path / "images" / "a.jpg", 20, 30)
    (tmp_path / "labels").mkdir()
    (tmp_path / "labels" / "a.txt").write_text(f"{cls} 0.5 0.5 0.2 0.2\n0 0.5 0.5 0.4 0.4\n")
    ann = read_yolo(tmp_path)
    assert ann.class_names == ("0",)
    assert len(ann.images[0].boxes) == 1
    assert any("bad class index" in w and "line 1" in w for w in ann.warnings)


def test_convert_of_a_broken_coco_file_says_one_line(cli, make, tmp_path: Path) -> None:
    make.image(tmp_path / "src" / "a.png", 20, 30)
    (tmp_path / "src" / "annotations.json").write_text(
        '{"images": [{"id": [1], "file_name": "a.png", "width": Infinity, "height": 20},'
        ' {"id": 2, "file_name": "a.png", "width": Infinity, "height": 20}],'
        ' "annotations": [{"id": 1, "image_id": 2, "category_id": {"a": 1}, "bbox": [0, 0, 5, 5]}],'
        ' "categories": [{"id": 1, "name": "cat"}]}')
    result = cli("convert", "--from", "coco", "--to", "yolo", tmp_path / "src", tmp_path / "dst")
    assert result.code == 0
    assert "converted 1 images, 0 boxes" in result.out
    assert "malformed image entry" in result.err and "unknown category" in result.err
    (tmp_path / "big.json").write_text('{"images": [], "x": ' + "7" * 5000 + "}")
    result = cli("convert", "--from", "coco", "--to", "voc", tmp_path / "big.json", tmp_path / "dst2")
    assert result.code == 2 and result.err.startswith("error: malformed COCO JSON") and result.err.count("\n") == 1


# 4 -------------------------------------------------------------------------------------------
_HUGE_INDEX_SCRIPT = textwrap.dedent("""
    import resource, sys
    resource.setrlimit(resource.RLIMIT_AS, (1_500_000_000, 1_500_000_000))  # old code: 10+ GB
    from pathlib import Path
    from engine.errors import DatasetError
    from engine.io import read_yolo
    for case in sys.argv[1:]:
        try:
            ann = read_yolo(Path(case))
            print(case, "classes", len(ann.class_names), "|".join(w for w in ann.warnings if "limit" in w))
        except DatasetError as exc:
            print(case, "error", exc)
""")


def test_huge_yolo_class_indices_do_not_take_the_memory(make, tmp_path: Path) -> None:
    cases = {}
    for name, label, extra in [
        ("label", "50000000 0.5 0.5 0.2 0.2\n0 0.5 0.5 0.4 0.4\n", {}),
        ("names", "0 0.5 0.5 0.2 0.2\n", {"data.yaml": "names: {0: cat, 50000000: x}\n"}),
        ("nc", "0 0.5 0.5 0.2 0.2\n", {"data.yaml": "nc: 50000000\n"}),
        ("digits", "0 0.5 0.5 0.2 0.2\n", {"data.yaml": "names:\n  " + "9" * 5000 + ": x\n"}),
    ]:
        root = tmp_path / name
        make.image(root / "images" / "a.jpg", 20, 30)
        (root / "labels").mkdir()
        (root / "labels" / "a.txt").write_text(label)
        for file, text in extra.items():
            (root / file).write_text(text)
        cases[name] = root
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run([sys.executable, "-c", _HUGE_INDEX_SCRIPT, *map(str, cases.values())],
                          capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = {Path(line.split()[0]).name: line for line in proc.stdout.splitlines()}
    assert "classes 1 " in lines["label"] and "class index 50000000 is over the limit of 9,999" in lines["label"]
    assert "error" in lines["names"] and "class index 50000000 is over the limit of 9,999" in lines["names"]
    assert "error" in lines["nc"] and "nc 50000000 is over the limit of 10,000" in lines["nc"]
    assert "error" in lines["digits"] and "over the limit" in lines["digits"]


# 5 -------------------------------------------------------------------------------------------
_FULL_DISK_SCRIPT = textwrap.dedent("""
    import resource, signal, sys
    from engine.cli import main
    from engine.project import Project
    project = Project.open(sys.argv[1]); project.close()
    # every write past 0 bytes now fails, as on a full disk (EFBIG instead of ENOSPC)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    hard = resource.getrlimit(resource.RLIMIT_FSIZE)[1]
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, hard))
    try:
        Project.open(sys.argv[1])
    except Exception as exc:
        print("open:", type(exc).__name__, exc)
    # room for metrics.json, not for a 10 MB checkpoint
    resource.setrlimit(resource.RLIMIT_FSIZE, (200_000, hard))
    sys.exit(main(["train", "--data", sys.argv[2], "--out", sys.argv[3], *sys.argv[4:]]))
""")


@pytest.mark.slow
def test_full_disk_during_training_and_opening_a_project(make, tiny_coco: Path, tmp_path: Path) -> None:
    project = tmp_path / "project"
    make.image(project / "a.jpg", 20, 30)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run(
        [sys.executable, "-c", _FULL_DISK_SCRIPT, str(project), str(tiny_coco), str(tmp_path / "run"), *TINY_TRAIN],
        capture_output=True, text=True, timeout=300, env=env)
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    assert "open: ProjectError" in proc.stdout and "the disk may be full" in proc.stdout
    assert proc.returncode == 2
    error = proc.stderr.strip().splitlines()[-1]
    assert error.startswith("error: cannot write checkpoint") and "last.pt" in error and "free" in error, error
    assert list((tmp_path / "run").iterdir()) == []  # no half-written temporary left behind


def test_project_on_a_full_disk_is_not_called_corrupt(cli, make, tmp_path: Path) -> None:
    import sqlite3

    from engine.errors import ProjectError
    from engine.project import schema

    class FullDisk:
        def execute(self, sql: str):  # noqa: ANN201
            raise sqlite3.OperationalError("disk I/O error")

    with pytest.raises(ProjectError) as info:
        schema.check_identity(FullDisk(), tmp_path / "project.db")  # type: ignore[arg-type]
    assert "corrupt" not in str(info.value) and "disk may be full" in str(info.value)


# 6 -------------------------------------------------------------------------------------------
def test_init_checkpoint_with_wrong_shapes_is_one_line(cli, tiny_coco: Path, weights: Path, tmp_path: Path) -> None:
    ckpt = load_checkpoint(weights)
    state = dict(ckpt.state_dict)
    name = next(k for k in state if k.endswith("weight") and state[k].ndim == 4 and "backbone" in k)
    state[name] = torch.zeros(state[name].shape[0] + 1, *state[name].shape[1:])
    bad = tmp_path / "bad.pt"
    model = build_model(ARCH, len(ckpt.class_names), image_size=64)
    save_checkpoint(bad, model=model, arch=ARCH, class_names=ckpt.class_names, image_size=64, alpha=0.25,
                    gamma=2.0, state_dict=state)
    result = cli("train", "--data", tiny_coco, "--init", bad, "--out", tmp_path / "run", *TINY_TRAIN)
    assert result.code == 2
    assert result.err.startswith("error:") and "wrong shape" in result.err and result.err.count("\n") == 1


@pytest.mark.parametrize("flag,value,says", [
    ("--lr", "nan", "learning rate"), ("--lr", "-1", "learning rate"), ("--lr", "0", "learning rate"),
    ("--weight-decay", "nan", "weight decay"), ("--weight-decay", "-0.1", "weight decay"),
    ("--workers", "-1", "workers"), ("--alpha", "nan", "alpha"), ("--gamma", "inf", "gamma"),
])
def test_impossible_training_numbers_are_one_line(cli, tiny_coco: Path, tmp_path: Path, flag: str, value: str,
                                                  says: str) -> None:
    result = cli("train", "--data", tiny_coco, "--out", tmp_path / "run", *TINY_TRAIN, flag, value)
    assert result.code == 2
    assert result.err.startswith("error:") and says in result.err and result.err.count("\n") == 1


# 7 -------------------------------------------------------------------------------------------
def test_checkpoint_claiming_a_huge_image_size_is_refused(cli, make, tmp_path: Path) -> None:
    model = build_model(ARCH, 2, image_size=64)
    path = tmp_path / "huge.pt"
    save_checkpoint(path, model=model, arch=ARCH, class_names=["a", "b"], image_size=100_000, alpha=0.25,
                    gamma=2.0)
    with pytest.raises(CheckpointError, match="image_size must be an integer from 32 to 4096"):
        Detector.from_checkpoint(path, device="cpu")
    make.image(tmp_path / "a.png", 20, 30)
    result = cli("detect", "--weights", path, tmp_path / "a.png")
    assert result.code == 2 and "4096" in result.err and result.err.count("\n") == 1


# 8 -------------------------------------------------------------------------------------------
def test_fifo_and_device_named_like_images_are_skipped(cli, make, watchdog, weights: Path, tmp_path: Path) -> None:
    folder = tmp_path / "photos"
    make.image(folder / "good.jpg", 48, 64)
    os.mkfifo(folder / "x.jpg")  # reading it would block for ever
    (folder / "zero.png").symlink_to("/dev/zero")  # reading it would never end
    with pytest.raises(ImageLoadError, match="named pipe"):
        load_image(folder / "x.jpg")
    with pytest.raises(ImageLoadError, match="device"):
        load_image(folder / "zero.png")
    result = cli("detect", "--weights", weights, folder)
    assert result.code == 0 and "good.jpg" in result.out
    assert "x.jpg: cannot load image" in result.err and "zero.png: cannot load image" in result.err
    # the readers list such files too: they skip them the same way
    (folder / "labels").mkdir()
    ann = read_yolo(folder)
    assert [img.path for img in ann.images] == ["good.jpg"]
    assert sum("named pipe" in w or "device" in w for w in ann.warnings) == 2


def test_huge_images_are_shrunk_in_8_bit_before_the_model(monkeypatch: pytest.MonkeyPatch, weights: Path) -> None:
    detector = Detector.from_checkpoint(weights, device="cpu", backend="torch")  # image size 64
    big = np.random.default_rng(0).integers(0, 256, (3000, 2000, 3), dtype=np.uint8)
    seen: list[tuple[int, ...]] = []
    original = torch.from_numpy

    def spy(array):  # noqa: ANN001, ANN202
        seen.append(tuple(array.shape))
        return original(array)

    monkeypatch.setattr(torch, "from_numpy", spy)
    (dets,) = detector.predict([big], score_thresh=0.0)
    # the float tensor is made from at most 2 x 64 px, not from 3000 x 2000 (24 MB as float, 290 MB at 14000 px)
    assert seen and max(max(shape[:2]) for shape in seen) <= 128
    assert all(0 <= d.x1 < d.x2 <= 2000 and 0 <= d.y1 < d.y2 <= 3000 for d in dets)


@pytest.mark.parametrize("mode", ["RGB", "RGB16"])
def test_large_pngs_decode_to_the_same_pixels_by_the_leaner_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                                mode: str) -> None:
    from PIL import Image

    from engine.io import image as image_mod

    rng = np.random.default_rng(0)
    path = tmp_path / "a.png"
    if mode == "RGB":
        Image.fromarray(rng.integers(0, 256, (37, 53, 3), dtype=np.uint8)).save(path)
    else:  # 48-bit colour: Pillow reads it as RGB (high bytes), so must OpenCV
        import cv2

        cv2.imwrite(str(path), rng.integers(0, 65536, (37, 53, 3), dtype=np.uint16))
    pillow = load_image(path)
    calls = []
    real = image_mod._decode_png_cv2
    monkeypatch.setattr(image_mod, "LARGE_PNG_PIXELS", 1)
    monkeypatch.setattr(image_mod, "_decode_png_cv2", lambda *a: calls.append(1) or real(*a))
    np.testing.assert_array_equal(load_image(path), pillow)
    assert calls


def test_huge_images_are_shrunk_in_8_bit_on_onnx_runtime_too(weights: Path) -> None:
    import tracemalloc

    detector = Detector.from_checkpoint(weights, device="cpu", backend="onnxruntime")  # image size 64
    big = np.random.default_rng(0).integers(0, 256, (3000, 2000, 3), dtype=np.uint8)  # 18 MB; 72 MB as float
    detector.predict([big[:64, :64]], score_thresh=0.0)  # warm up the session outside the measurement
    tracemalloc.start()
    try:
        (dets,) = detector.predict([big], score_thresh=0.0)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8e6, f"{peak / 1e6:.0f} MB allocated for a 64 px model"
    assert dets and all(0 <= d.x1 < d.x2 <= 2000 and 0 <= d.y1 < d.y2 <= 3000 for d in dets)
    reference = Detector.from_checkpoint(weights, device="cpu", backend="torch").predict([big], score_thresh=0.0)[0]
    assert len(dets) == len(reference)
