"""``retinalab export --int8 FOLDER``: a smaller int8 model, calibrated on the folder, that finds what the
float model finds on demo images; a missing calibration folder is one clear error."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from engine.cli import main
from engine.demo import demo_model_path
from engine.infer import Detector


def _iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = w * h
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


@pytest.mark.slow
def test_int8_export_is_smaller_and_finds_the_same_shapes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from engine.io import load_image
    from engine.onnx_runtime import OnnxRetinaNet
    from engine.synth import make_demo_dataset

    make_demo_dataset(tmp_path / "project", num_images=10, seed=41, image_size=256)
    out = tmp_path / "demo_int8.onnx"
    argv = ["export", "--weights", str(demo_model_path()), "--out", str(out), "--int8", str(tmp_path / "project"),
            "--calibration-images", "8"]
    assert main(argv) == 0
    assert "int8" in capsys.readouterr().out
    props = OnnxRetinaNet(out).session.get_modelmeta().custom_metadata_map
    assert props["quantization"].startswith("int8") and props["calibration_images"] == "8"
    assert out.stat().st_size < 0.5 * 20e6  # float32 is ~20 MB
    int8 = Detector.from_checkpoint(out)
    reference = Detector.from_checkpoint(demo_model_path(), device="cpu", backend="torch")
    images = [load_image(p) for p in sorted((tmp_path / "project").rglob("*.jpg"))]
    found = 0
    # every shape the float model is sure of (>= 0.5), the int8 model finds (>= 0.3: scores shift a little)
    for ours, ref in zip(int8.predict(images, score_thresh=0.3), reference.predict(images, score_thresh=0.5)):
        for r in ref:
            found += max((_iou(o.xyxy, r.xyxy) for o in ours if o.label == r.label), default=0.0) > 0.8
    assert found >= 0.9 * sum(len(r) for r in reference.predict(images, score_thresh=0.5)) > 0
    assert np.isfinite([d.score for dets in int8.predict(images) for d in dets]).all()


def test_int8_needs_a_folder_of_images(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["export", "--weights", str(demo_model_path()), "--out", str(tmp_path / "m.onnx"),
            "--int8", str(tmp_path / "missing")]
    assert main(argv) == 2
    assert "--int8 needs a folder" in capsys.readouterr().err
    assert not (tmp_path / "m.onnx").exists()
