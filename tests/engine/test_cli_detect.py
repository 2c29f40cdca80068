"""``retinalab detect``: JSON and summaries for files and folders, unreadable images skipped, errors exit 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from engine.checkpoint import save_checkpoint
from engine.cli import main
from engine.models import build_model

CLASSES = ("cat", "dog")


@pytest.fixture(scope="module")
def weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch.manual_seed(0)
    model = build_model("retinanet_mobilenet_v3_fpn", len(CLASSES), image_size=96)
    with torch.no_grad():  # random but confident enough to produce boxes
        model.head.classification_head.cls_logits.bias.fill_(-1.0)
    path = tmp_path_factory.mktemp("w") / "model.pt"
    return save_checkpoint(path, model=model, arch="retinanet_mobilenet_v3_fpn", class_names=CLASSES,
                           image_size=96, alpha=0.25, gamma=2.0)


@pytest.fixture()
def images(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    root = tmp_path / "imgs"
    (root / "sub").mkdir(parents=True)
    for name, (h, w) in {"a.jpg": (60, 80), "sub/b.png": (100, 50)}.items():
        Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(root / name)
    (root / "broken.jpg").write_bytes(b"\xff\xd8\xff garbage")
    (root / "notes.txt").write_text("not an image")
    return root


def test_json_for_folder_and_file_with_unreadable_skipped(
    weights: Path, images: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    extra = tmp_path / "single.jpg"
    Image.fromarray(np.full((40, 70, 3), 128, np.uint8)).save(extra)
    out = tmp_path / "out" / "dets.json"
    code = main(["detect", "--weights", str(weights), str(images), str(extra), "--json", str(out),
                 "--threshold", "0.2", "--device", "cpu", "--batch-size", "2"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    records = json.loads(out.read_text())
    assert [Path(r["image"]).name for r in records] == ["a.jpg", "b.png", "single.jpg"]
    assert [(r["width"], r["height"]) for r in records] == [(80, 60), (50, 100), (70, 40)]
    assert any(r["detections"] for r in records)
    for r in records:
        for d in r["detections"]:
            assert set(d) == {"label", "score", "box"} and d["label"] in CLASSES and d["score"] >= 0.2
            x1, y1, x2, y2 = d["box"]
            assert 0 <= x1 < x2 <= r["width"] and 0 <= y1 < y2 <= r["height"]
    assert "broken.jpg" in captured.err and "skipped" in captured.err
    assert "3 images processed, 1 skipped" in captured.err
    assert "Traceback" not in captured.err


def test_summary_without_json(weights: Path, images: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["detect", "--weights", str(weights), str(images / "a.jpg"), "--threshold", "0.2"])
    captured = capsys.readouterr()
    assert code == 0
    lines = captured.out.strip().splitlines()
    assert len(lines) == 1 and "a.jpg (80x60):" in lines[0] and "detections" in lines[0]


def _error_line(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    code = main(argv)
    captured = capsys.readouterr()
    assert code == 2
    err = captured.err.strip().splitlines()
    assert err and "Traceback" not in captured.err
    return err[-1]


def test_errors_exit_2_with_one_line(
    weights: Path, images: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    img = str(images / "a.jpg")
    assert "checkpoint not found" in _error_line(["detect", "--weights", str(tmp_path / "nope.pt"), img], capsys)
    bad = tmp_path / "bad.pt"
    bad.write_text("not a checkpoint")
    assert "bad.pt" in _error_line(["detect", "--weights", str(bad), img], capsys)
    assert "retinanet_mobilenet_v3_fpn" in _error_line(
        ["detect", "--arch", "yolo", "--pretrained", "coco", img], capsys
    )
    line = _error_line(["detect", "--arch", "retinanet_mobilenet_v3_fpn", "--pretrained", "coco", img], capsys)
    assert "none, imagenet" in line
    empty = tmp_path / "empty"
    empty.mkdir()
    assert "no images" in _error_line(["detect", "--weights", str(weights), str(empty)], capsys)
    assert "none of the" in _error_line(["detect", "--weights", str(weights), str(images / "broken.jpg")], capsys)
    assert "--threshold" in _error_line(["detect", "--weights", str(weights), img, "--threshold", "3"], capsys)
    assert "--weights" in _error_line(["detect", img], capsys)


def test_offline_coco_weights_name_the_download(
    images: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    line = _error_line(["detect", "--pretrained", "coco", str(images / "a.jpg")], capsys)
    assert "retinanet_resnet50_fpn_coco-eeacb38b.pth" in line and "https://" in line


@pytest.mark.slow
def test_command_line_process_exit_codes(weights: Path, images: Path) -> None:
    ok = subprocess.run([sys.executable, "-m", "engine.cli", "detect", "--weights", str(weights), str(images),
                         "--json", "-"], capture_output=True, text=True, timeout=300)
    assert ok.returncode == 0, ok.stderr
    assert len(json.loads(ok.stdout)) == 2
    bad = subprocess.run([sys.executable, "-m", "engine.cli", "detect", "--weights", "missing.pt", str(images)],
                         capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1
