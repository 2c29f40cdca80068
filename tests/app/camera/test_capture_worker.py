"""CaptureWorker through a WorkerPool: every frame of a file arrives, paced, in order; control calls act."""

from __future__ import annotations

import time

import pytest
from PySide6.QtGui import QImage

from app.camera.capture_worker import CaptureWorker
from app.workers.base import WorkerPool
from engine.video import CaptureSource
from tests.app.qt_threads import wait_signal_from_thread

pytestmark = pytest.mark.gui


class Recorder:
    def __init__(self) -> None:
        self.frames: list[int] = []
        self.times: list[float] = []
        self.sizes: list[tuple[int, int]] = []
        self.errors: list[str] = []

    def on_frame(self, image: QImage, frame) -> None:
        self.frames.append(frame.index)
        self.times.append(time.perf_counter())
        self.sizes.append((image.width(), image.height()))


def test_file_source_delivers_all_frames_at_its_fps(qtbot, make_clip) -> None:
    clip = make_clip("clip.mp4", num_frames=24, fps=40.0)
    pool, capture = WorkerPool(), CaptureWorker(lambda: CaptureSource(clip))
    rec = Recorder()
    capture.frame_captured.connect(rec.on_frame)
    sunk: list[int] = []
    capture.set_frame_sink(lambda f: sunk.append(f.index))
    with wait_signal_from_thread(qtbot, capture.end_reached, timeout=5000):
        pool.start(capture)
    qtbot.waitUntil(lambda: len(rec.frames) == 24, timeout=2000)
    assert pool.await_worker(capture)
    assert rec.frames == list(range(24))
    assert sunk == list(range(24))
    assert set(rec.sizes) == {(64, 48)}
    # paced at the file's 40 fps, not as fast as it decodes (23 intervals of 25 ms)
    assert rec.times[-1] - rec.times[0] == pytest.approx(23 / 40.0, rel=0.25)


def test_pause_seek_and_resume(qtbot, make_clip) -> None:
    clip = make_clip("clip.avi", num_frames=30, fps=30.0)
    pool, capture = WorkerPool(), CaptureWorker(lambda: CaptureSource(clip), start_paused=True)
    rec = Recorder()
    capture.frame_captured.connect(rec.on_frame)
    with wait_signal_from_thread(qtbot, capture.opened, timeout=5000):
        pool.start(capture)
    qtbot.wait(150)
    assert rec.frames == []  # paused from the start: nothing read
    capture.seek(20)  # a paused source shows the sought frame and stays paused
    qtbot.waitUntil(lambda: rec.frames == [20], timeout=2000)
    qtbot.wait(150)
    assert rec.frames == [20]
    with wait_signal_from_thread(qtbot, capture.end_reached, timeout=5000):
        capture.resume()
    assert rec.frames == list(range(20, 30))
    assert pool.await_worker(capture)


def test_stop_ends_the_thread_promptly_mid_stream(qtbot, make_clip) -> None:
    clip = make_clip("long.avi", num_frames=60, fps=10.0)
    pool, capture = WorkerPool(), CaptureWorker(lambda: CaptureSource(clip))
    with wait_signal_from_thread(qtbot, capture.frame_captured, timeout=5000):
        thread = pool.start(capture)
    started = time.perf_counter()
    assert pool.await_worker(capture, timeout_ms=2000)
    assert time.perf_counter() - started < 1.0
    assert not thread.isRunning()
