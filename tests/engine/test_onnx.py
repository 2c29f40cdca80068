"""ONNX export and the ONNX Runtime backend: same detections as torch, runs without torch, bad files refused.

The shipped demo model is exported with ``retinalab export`` once per module; its detections on
freshly generated demo images are compared with the torch path's (boxes within 0.01 px, scores within
1e-4, same labels in the same order), through ``retinalab detect`` and ``retinalab eval`` as a user
runs them.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from engine.cli import main
from engine.demo import demo_model_path
from engine.infer import Detector

BOX_TOL_PX = 0.01
SCORE_TOL = 1e-4


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("onnx") / "demo.onnx"
    assert main(["export", "--weights", str(demo_model_path()), "--format", "onnx", "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def demo_images(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from engine.synth import make_demo_dataset

    root = tmp_path_factory.mktemp("demo")
    make_demo_dataset(root, num_images=4, seed=21, image_size=256)
    return root


def _detect_json(argv: list[str], out: Path) -> list[dict]:
    assert main(["detect", *argv, "--threshold", "0.05", "--json", str(out)]) == 0
    return json.loads(out.read_text())


def _assert_same_detections(ours: list[dict], ref: list[dict]) -> None:
    assert [r["image"] for r in ours] == [r["image"] for r in ref]
    for a, b in zip(ours, ref):
        assert [d["label"] for d in a["detections"]] == [d["label"] for d in b["detections"]], a["image"]
        if b["detections"]:
            boxes_a = np.array([d["box"] for d in a["detections"]])
            boxes_b = np.array([d["box"] for d in b["detections"]])
            assert np.abs(boxes_a - boxes_b).max() < BOX_TOL_PX
            scores_a = np.array([d["score"] for d in a["detections"]])
            assert np.abs(scores_a - np.array([d["score"] for d in b["detections"]])).max() < SCORE_TOL


def test_export_carries_the_checkpoints_metadata(exported: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import onnx

    from engine.checkpoint import load_checkpoint

    ckpt = load_checkpoint(demo_model_path())
    props = {p.key: p.value for p in onnx.load(str(exported), load_external_data=False).metadata_props}
    assert props["retinalab_onnx"] == "1" and props["retinalab_version"]
    assert props["arch"] == ckpt.arch == "retinanet_mobilenet_v3_fpn"
    assert json.loads(props["class_names"]) == list(ckpt.class_names)
    assert int(props["image_size"]) == ckpt.image_size
    assert (float(props["alpha"]), float(props["gamma"])) == (ckpt.alpha, ckpt.gamma)


def test_onnx_weights_detect_what_the_torch_path_detects(exported: Path, demo_images: Path, tmp_path: Path) -> None:
    onnx_records = _detect_json(["--weights", str(exported), str(demo_images)], tmp_path / "onnx.json")
    torch_records = _detect_json(["--weights", str(demo_model_path()), "--backend", "torch", "--device", "cpu",
                                  str(demo_images)], tmp_path / "torch.json")
    assert sum(len(r["detections"]) for r in torch_records) >= 4  # the demo model finds the shapes
    _assert_same_detections(onnx_records, torch_records)


def test_checkpoint_on_cpu_runs_on_onnxruntime_by_default_and_says_so(
    demo_images: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    auto = Detector.from_checkpoint(demo_model_path(), device="cpu")
    forced = Detector.from_checkpoint(demo_model_path(), device="cpu", backend="torch")
    assert (auto.backend, forced.backend) == ("onnxruntime", "torch")
    image = np.asarray(__import__("PIL.Image").Image.open(sorted(demo_images.rglob("*.jpg"))[0]).convert("RGB"))
    big = np.ascontiguousarray(np.repeat(np.repeat(image, 3, axis=0), 4, axis=1))  # downscaled before the net
    for arrays in ([image], [big], [image, image[:, :180], big]):
        for a, b in zip(auto.predict(arrays, batch_size=2), forced.predict(arrays, batch_size=2)):
            assert [d.label for d in a] == [d.label for d in b]
            if b:
                assert np.abs(np.array([d.xyxy for d in a]) - np.array([d.xyxy for d in b])).max() < BOX_TOL_PX
    with caplog.at_level("DEBUG", logger="engine.cli.detect"):
        assert main(["-v", "detect", "--weights", str(demo_model_path()), "--device", "cpu", str(demo_images)]) == 0
    assert "with ONNX Runtime" in caplog.text


def test_eval_with_the_onnx_file_matches_the_checkpoint(exported: Path, demo_images: Path, tmp_path: Path) -> None:
    ann = str(demo_images / "annotations.json")
    assert main(["eval", "--weights", str(exported), "--data", ann, "--json", str(tmp_path / "o.json")]) == 0
    assert main(["eval", "--weights", str(demo_model_path()), "--backend", "torch", "--device", "cpu", "--data", ann,
                 "--json", str(tmp_path / "t.json")]) == 0
    ours, ref = (json.loads((tmp_path / n).read_text()) for n in ("o.json", "t.json"))
    assert ref["AP50"] > 0.3
    for key in ("AP", "AP50", "AP75"):
        assert ours[key] == pytest.approx(ref[key], abs=1e-6)


def test_the_onnx_file_runs_without_torch(exported: Path, demo_images: Path, tmp_path: Path) -> None:
    image = sorted(demo_images.rglob("*.jpg"))[1]
    script = textwrap.dedent(f"""
        import json, sys
        for name in ("torch", "torchvision"):
            sys.modules[name] = None  # any import of torch now fails
        import numpy as np
        from PIL import Image
        from engine.onnx_runtime import OnnxRetinaNet
        net = OnnxRetinaNet({str(exported)!r})
        image = np.asarray(Image.open({str(image)!r}).convert("RGB"))
        ((boxes, scores, labels),) = net.detect([image], 0.05)
        print(json.dumps({{"boxes": boxes.tolist(), "labels": [net.meta.class_names[i] for i in labels]}}))
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                          cwd=Path(__file__).resolve().parents[2])
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    (ref,) = Detector.from_checkpoint(demo_model_path(), device="cpu", backend="torch").predict([image])
    assert result["labels"] == [d.label for d in ref] and ref
    assert np.abs(np.clip(np.array(result["boxes"]), 0, 256) - np.array([d.xyxy for d in ref])).max() < BOX_TOL_PX


def _foreign_onnx(path: Path) -> Path:
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "other_tool",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3])])
    onnx.save(helper.make_model(graph), str(path))
    return path


def _error_line(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    capsys.readouterr()
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and err.startswith("error: "), err
    return err


def test_corrupt_foreign_and_missing_onnx_files_are_refused(
    exported: Path, demo_images: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    corrupt = tmp_path / "corrupt.onnx"
    corrupt.write_bytes(b"\x08\x07garbage, not a protobuf" * 10)
    truncated = tmp_path / "truncated.onnx"
    truncated.write_bytes(exported.read_bytes()[:50_000])
    foreign = _foreign_onnx(tmp_path / "other.onnx")
    inputs = [str(demo_images)]
    assert "not a valid ONNX model" in _error_line(["detect", "--weights", str(corrupt), *inputs], capsys)
    assert "not a valid ONNX model" in _error_line(["detect", "--weights", str(truncated), *inputs], capsys)
    err = _error_line(["detect", "--weights", str(foreign), *inputs], capsys)
    assert "not a RetinaLab export" in err and "class_names" in err and "arch" in err
    err = _error_line(["eval", "--weights", str(foreign), "--data", str(demo_images / "annotations.json")], capsys)
    assert "not a RetinaLab export" in err
    assert "not found" in _error_line(["detect", "--weights", str(tmp_path / "nope.onnx"), *inputs], capsys)
    assert "already an ONNX file" in _error_line(["export", "--weights", str(exported)], capsys)


def test_numpy_nms_keeps_what_torchvision_keeps() -> None:
    import torch
    from torchvision.ops import batched_nms as tv_batched_nms

    from engine.onnx_postprocess import batched_nms

    rng = np.random.default_rng(0)
    for num in (0, 40, 900, 2500):  # above 1000 boxes torchvision switches to per-class NMS
        xy = rng.uniform(0, 400, (num, 2)).astype(np.float32)
        boxes = np.concatenate([xy, xy + rng.uniform(5, 80, (num, 2)).astype(np.float32)], axis=1)
        scores = rng.permutation(num).astype(np.float32) / max(num, 1)  # distinct: the order is defined
        labels = rng.integers(0, 3, num)
        ref = tv_batched_nms(torch.from_numpy(boxes), torch.from_numpy(scores), torch.from_numpy(labels), 0.5)
        assert batched_nms(boxes, scores, labels, 0.5, 300).tolist() == ref[:300].tolist()
