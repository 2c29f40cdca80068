"""The app with ONNX models: a .onnx loads and detects through ONNX Runtime (the status bar says so),
Model › Export… writes one from the loaded checkpoint, a foreign .onnx is refused with a message."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from engine.demo import demo_model_path
from tests.app.shell.conftest import open_and_wait

pytestmark = pytest.mark.gui
LOAD_TIMEOUT_MS = 120_000  # torch import + an in-memory export on a loaded 2-core machine


@pytest.fixture(scope="module")
def demo_images(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from engine.synth import make_demo_dataset

    root = tmp_path_factory.mktemp("demo")
    make_demo_dataset(root, num_images=2, seed=31, image_size=256)
    folder = root / "only_images"
    folder.mkdir()
    for image in sorted(root.rglob("*.jpg")):
        (folder / image.name).write_bytes(image.read_bytes())
    return folder


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from engine.onnx_export import export_checkpoint

    return export_checkpoint(demo_model_path(), tmp_path_factory.mktemp("onnx") / "demo.onnx")


def test_a_onnx_file_loads_and_detects_with_onnx_runtime(qtbot: Any, make_window: Any, demo_images: Path,
                                                         exported: Path) -> None:
    from engine.infer import Detector

    window = make_window()
    open_and_wait(qtbot, window, demo_images)
    with qtbot.waitSignal(window.models.detections_shown, timeout=LOAD_TIMEOUT_MS):
        window.models.load_checkpoint(exported)
    assert "demo.onnx" in window.status.model_label.text()
    assert "ONNX Runtime" in window.status.model_label.text()
    shown = sorted((b.label, round(b.x1, 2), round(b.y1, 2)) for b in window.document.boxes())
    ref = Detector.from_checkpoint(demo_model_path(), device="cpu", backend="torch").predict(
        [window.document.pixels], score_thresh=0.05)[0]
    assert shown and shown == sorted((d.label, round(d.x1, 2), round(d.y1, 2)) for d in ref)


def test_model_export_writes_a_onnx_file_that_runs(qtbot: Any, make_window: Any, tmp_path: Path) -> None:
    from engine.onnx_runtime import OnnxRetinaNet

    window = make_window()
    assert window.findChild(type(window.actions.model.export_onnx), "export_onnx") is not None
    assert window.actions.model.export_onnx in window.menuBar().actions()[3].menu().actions()  # Model menu
    window.models.export_onnx(tmp_path / "nothing.onnx")
    assert "needs a loaded checkpoint" in window.status.last_message
    with qtbot.waitSignal(window.models.model_ready, timeout=LOAD_TIMEOUT_MS):
        window.models.load_compact()
    assert "ONNX Runtime" in window.status.model_label.text()  # a .pt on the CPU runs on ONNX Runtime too
    out = tmp_path / "out" / "compact.onnx"
    with qtbot.waitSignal(window.models.onnx_exported, timeout=LOAD_TIMEOUT_MS):
        window.models.export_onnx(out)
    assert OnnxRetinaNet(out).meta.class_names == ("circle", "square", "triangle", "star")
    assert "Exported the model to" in window.status.last_message


def test_a_foreign_onnx_file_is_refused_with_a_message(qtbot: Any, make_window: Any, tmp_path: Path) -> None:
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "other",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])])
    path = tmp_path / "yolo.onnx"
    onnx.save(helper.make_model(graph), str(path))
    window = make_window()
    with qtbot.waitSignal(window.models.model_failed, timeout=LOAD_TIMEOUT_MS) as failed:
        window.models.load_checkpoint(path)
    assert "not a RetinaLab export" in failed.args[0]
    assert "Model not loaded" in window.status.last_message and window.models.info is None
