"""Fixtures for the shell tests: tiny image folders, a fake detector, a main window."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest
from PIL import Image

from engine.types import Detection


def write_images(folder: Path, n: int, *, size: tuple[int, int] = (96, 64), broken: tuple[int, ...] = ()) -> list[Path]:
    """``n`` JPEGs named img_00.jpg...; indices in ``broken`` get bytes that are not an image."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    paths = []
    for i in range(n):
        path = folder / f"img_{i:02d}.jpg"
        if i in broken:
            path.write_bytes(b"this is not a jpeg")
        else:
            pixels = rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)
            Image.fromarray(pixels).save(path, quality=80)
        paths.append(path)
    return paths


class FakeDetector:
    """Stands in for engine.infer.Detector: one box per image, labelled by the image's mean colour."""

    class_names = ["thing"]
    arch = "fake"
    device = "cpu"

    def __init__(self, delay_s: float = 0.0, gate: threading.Event | None = None) -> None:
        self.delay_s = delay_s
        self.gate = gate
        self.calls = 0

    def predict(self, images: list[Any], score_thresh: float = 0.05, batch_size: int = 4) -> list[list[Detection]]:
        self.calls += 1
        if self.gate is not None:
            self.gate.wait(30.0)
        if self.delay_s:
            time.sleep(self.delay_s)
        out = []
        for image in images:
            if not isinstance(image, np.ndarray):
                from engine.io import load_image

                image = load_image(image)
            h, w = image.shape[:2]
            out.append([Detection(w * 0.25, h * 0.25, w * 0.75, h * 0.75, "thing", 0.9)])
        return out


def fake_factory(detector: FakeDetector) -> Callable[[Any], FakeDetector]:
    def factory(spec: Any) -> FakeDetector:
        return detector

    return factory


@pytest.fixture
def image_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "images"
    write_images(folder, 5)
    return folder




def open_and_wait(qtbot: Any, window: Any, folder: Path, timeout: int = 10_000) -> None:
    with qtbot.waitSignal(window.navigator.image_shown, timeout=timeout):
        window.projects.open_folder(folder)
