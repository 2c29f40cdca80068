"""The model worker on its thread: predictions through signals, stale results dropped, clean close."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from app.workers.base import WorkerPool
from app.workers.model import ModelSpec, ModelWorker
from tests.app.qt_threads import wait_signal_from_thread
from tests.app.shell.conftest import FakeDetector, fake_factory, open_and_wait, write_images

pytestmark = pytest.mark.gui


def test_model_worker_delivers_predictions_through_signals(qtbot: Any) -> None:
    pool = WorkerPool()
    worker = ModelWorker(fake_factory(FakeDetector()))
    pool.start_service(worker)
    try:
        with wait_signal_from_thread(qtbot, worker.model_loaded, timeout=5000) as loaded:
            _call(worker.load, ModelSpec("checkpoint", "fake.pt"))
        assert loaded.args[0].num_classes == 1
        pixels = np.zeros((40, 80, 3), np.uint8)
        with wait_signal_from_thread(qtbot, worker.detections_ready, timeout=5000) as ready:
            _call(worker.detect, 7, 3, pixels)
        image_id, generation, dets = ready.args
        assert (image_id, generation) == (7, 3)
        assert [d.label for d in dets] == ["thing"] and dets[0].xyxy == (20.0, 10.0, 60.0, 30.0)
    finally:
        assert pool.await_workers(5000)


def test_a_failing_model_load_is_reported_not_raised(qtbot: Any) -> None:
    from engine.errors import CheckpointError

    def factory(spec: Any) -> Any:
        raise CheckpointError(f"{spec.source}: not a RetinaLab checkpoint")

    pool = WorkerPool()
    worker = ModelWorker(factory)
    pool.start_service(worker)
    with wait_signal_from_thread(qtbot, worker.model_failed, timeout=5000) as failed:
        _call(worker.load, ModelSpec("checkpoint", "/x/bad.pt"))
    assert failed.args == ["/x/bad.pt: not a RetinaLab checkpoint"]
    assert pool.await_workers(5000)


def test_switching_images_mid_inference_drops_the_stale_result(qtbot: Any, make_window: Any,
                                                               image_folder: Path) -> None:
    gate = threading.Event()
    detector = FakeDetector(gate=gate)
    window = make_window(detector_factory=fake_factory(detector))
    window.models.auto_detect = False
    open_and_wait(qtbot, window, image_folder)
    with qtbot.waitSignal(window.models.model_ready, timeout=5000):
        window.models.load_checkpoint("fake.pt")
    first_id = window.document.record.id
    assert window.models.detect_current()  # blocks in predict until the gate opens
    with qtbot.waitSignal(window.navigator.image_shown, timeout=5000):
        window.navigator.next()
    assert window.document.record.id != first_id
    gate.set()
    qtbot.waitUntil(lambda: window.models.dropped == 1, timeout=10_000)
    assert window.document.boxes() == []  # the first image's boxes never reached the second
    assert window.projects.project.boxes(first_id) == []
    # the current image still gets its own detections
    with qtbot.waitSignal(window.models.detections_shown, timeout=5000):
        window.models.detect_current()
    assert [b.source for b in window.document.boxes()] == ["predicted"]
    assert window.file_list.model.status(window.document.record.id) == "predicted"


def test_auto_detect_on_new_images_once_a_model_is_loaded(qtbot: Any, make_window: Any, image_folder: Path) -> None:
    window = make_window(detector_factory=fake_factory(FakeDetector()))
    open_and_wait(qtbot, window, image_folder)
    with qtbot.waitSignal(window.models.detections_shown, timeout=5000):
        window.models.load_checkpoint("fake.pt")
    assert "Model: fake.pt" in window.status.model_label.text()
    assert len(window.document.boxes()) == 1
    with qtbot.waitSignal(window.models.detections_shown, timeout=5000):
        window.navigator.next()
    assert len(window.document.boxes()) == 1


def test_detect_all_stores_predictions_and_survives_an_unreadable_image(qtbot: Any, make_window: Any,
                                                                       tmp_path: Path) -> None:
    folder = tmp_path / "batch"
    write_images(folder, 4, broken=(2,))
    window = make_window(detector_factory=fake_factory(FakeDetector()))
    window.models.auto_detect = False
    open_and_wait(qtbot, window, folder)
    with qtbot.waitSignal(window.models.model_ready, timeout=5000):
        window.models.load_checkpoint("fake.pt")
    with qtbot.waitSignal(window.models.batch_finished, timeout=10_000) as finished:
        window.detect_all()
    assert finished.args == [4, 1, False]
    ids = window.file_list.model.ids()
    project = window.projects.project
    assert [len(project.boxes(i)) for i in ids] == [1, 1, 0, 1]
    assert [window.file_list.model.status(i) for i in ids] == ["predicted", "predicted", "unreadable", "predicted"]
    assert window.batch_dialog.label.text().startswith("Done: 4 images (1 unreadable)")
    assert len(window.document.boxes()) == 1  # the current image shows its stored predictions


def test_closing_during_inference_exits_cleanly(qtbot: Any, image_folder: Path) -> None:
    from app.main_window import MainWindow

    window = MainWindow(detector_factory=fake_factory(FakeDetector(delay_s=0.5)))
    window.show()
    window.models.auto_detect = False
    open_and_wait(qtbot, window, image_folder)
    with qtbot.waitSignal(window.models.model_ready, timeout=5000):
        window.models.load_checkpoint("fake.pt")
    window.models.detect_current()
    time.sleep(0.1)  # predict is running on the model thread now
    started = time.perf_counter()
    window.close()
    assert time.perf_counter() - started < 5
    assert window.pool.active() == []
    assert window.projects.project is None


def _call(slot: Any, *args: Any) -> None:
    """Invoke a worker slot on the worker's thread, the way the controllers do (a queued signal)."""
    from PySide6.QtCore import QObject, Signal

    class _Caller(QObject):
        fire = Signal(*[object] * len(args))

    caller = _Caller()
    caller.fire.connect(slot)
    caller.fire.emit(*args)
    _KEEP.append(caller)


_KEEP: list[Any] = []
