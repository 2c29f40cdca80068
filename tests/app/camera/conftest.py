"""Fixtures for camera tests: tiny generated clips, a fake detector, fake camera sources."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from engine.types import Detection
from engine.video import Frame, VideoError

CLIP_W, CLIP_H = 64, 48


def _write_clip(path: Path, num_frames: int, fps: float) -> Path:
    fourcc = "MJPG" if path.suffix == ".avi" else "mp4v"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps, (CLIP_W, CLIP_H))
    for i in range(num_frames):
        rgb = np.full((CLIP_H, CLIP_W, 3), 40, np.uint8)
        rgb[..., 1] = (8 * i) % 256  # green level tells frames apart
        writer.write(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    writer.release()
    return path


@pytest.fixture
def make_clip(tmp_path: Path):
    def make(name: str = "clip.avi", num_frames: int = 24, fps: float = 60.0) -> Path:
        return _write_clip(tmp_path / name, num_frames, fps)

    return make


@pytest.fixture
def project(tmp_path: Path):
    """An empty project in its own folder (frames grabbed from a camera land here)."""
    from engine.project import Project

    folder = tmp_path / "proj"
    folder.mkdir()
    p = Project.open(folder)
    yield p
    p.close()


class FakeDetector:
    """One white 'thing' box at a fixed place; records the frame indices (green level) it saw."""

    class_names = ["thing"]
    box = (10.0, 8.0, 50.0, 40.0)

    def __init__(self, delay_s: float = 0.0) -> None:
        self.delay_s = delay_s
        self.calls = 0
        self.threads: set[str] = set()

    def predict(self, images, score_thresh=0.05, batch_size=4):
        self.calls += 1
        self.threads.add(threading.current_thread().name)
        time.sleep(self.delay_s)
        return [[Detection(*self.box, "thing", 0.9)] for _ in images]


@pytest.fixture
def detector() -> FakeDetector:
    return FakeDetector()


@pytest.fixture
def fake_detector_cls() -> type[FakeDetector]:
    return FakeDetector


class FakeCamera:
    """A live source: ``frames_before_unplug`` frames at ~100 fps, then it is unplugged (VideoError)."""

    is_file = False

    def __init__(self, *, fail_open: bool = False, frames_before_unplug: int = 5) -> None:
        self.name = "fake camera"
        self.fail_open = fail_open
        self.left = frames_before_unplug
        self.index = 0
        self.closed = False

    def open(self):
        if self.fail_open:
            raise VideoError("cannot open camera 7: it is not connected or another program uses it")
        return self

    def read(self):
        time.sleep(0.01)
        if self.left <= 0:
            raise VideoError("fake camera stopped sending frames (unplugged or in use elsewhere)")
        self.left -= 1
        self.index += 1
        pixels = np.full((CLIP_H, CLIP_W, 3), 90, np.uint8)
        return Frame(self.index - 1, self.index / 100, pixels, time.perf_counter())

    def seek(self, index):
        raise VideoError("cannot seek in a live camera")

    @property
    def fps(self):
        return 100.0

    @property
    def frame_count(self):
        return None

    def close(self):
        self.closed = True


@pytest.fixture
def fake_camera_cls():
    return FakeCamera
