"""Start-up: torch stays out of the GUI process until a model is asked for, the camera and Train
panel (OpenCV, engine.video, charts) until first used; --screenshot writes a PNG."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from tests.app.shell.conftest import write_images

pytestmark = pytest.mark.gui
REPO = Path(__file__).resolve().parents[3]

_PROBE = """
import json, sys
from PySide6.QtWidgets import QApplication
app = QApplication([])
from app.main_window import MainWindow
w = MainWindow(); w.show()
app.processEvents()
LAZY = ("cv2", "numpy", "engine.video", "app.camera", "app.training.panel", "torch")
at_start = [m for m in LAZY if m in sys.modules]
from PySide6.QtCore import QEventLoop, QTimer
done = []
loop = QEventLoop()
w.navigator.image_shown.connect(done.append)
w.navigator.image_shown.connect(loop.quit)
QTimer.singleShot(20000, loop.quit)
w.projects.open_folder(sys.argv[1])
loop.exec()
heavy = [m for m in ("torch", "torchvision", "engine.infer", "engine.models") if m in sys.modules]
print(json.dumps({"shown": bool(done), "heavy": heavy, "status": w.status.last_message, "at_start": at_start}))
w.close()
"""


def _env() -> dict[str, str]:
    return {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(REPO)}


def test_window_with_an_open_folder_has_not_imported_torch(tmp_path: Path) -> None:
    write_images(tmp_path / "imgs", 2)
    out = subprocess.run([sys.executable, "-c", _PROBE, str(tmp_path / "imgs")], capture_output=True,
                         text=True, timeout=60, env=_env(), cwd=REPO)
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert report["shown"] and report["status"].startswith("img_00.jpg")
    assert report["heavy"] == []
    assert report["at_start"] == []  # the window painted without them (they load on first use)


def test_screenshot_writes_a_png_of_the_window_showing_the_image(tmp_path: Path) -> None:
    folder = tmp_path / "imgs"
    folder.mkdir()
    # one big flat red image: easy to find in the screenshot
    Image.fromarray(np.full((300, 400, 3), (220, 20, 20), np.uint8)).save(folder / "red.png")
    png = tmp_path / "shot.png"
    out = subprocess.run([sys.executable, "-m", "app", str(folder), "--screenshot", str(png)],
                         capture_output=True, text=True, timeout=60, env=_env(), cwd=REPO)
    assert out.returncode == 0, out.stderr
    shot = np.asarray(Image.open(png).convert("RGB"))
    assert shot.shape[0] >= 400 and shot.shape[1] >= 600
    red = (shot[..., 0] > 200) & (shot[..., 1] < 60) & (shot[..., 2] < 60)
    assert red.mean() > 0.1  # the image is on the canvas, not a blank window


def test_screenshot_of_an_empty_window_and_a_missing_folder(tmp_path: Path) -> None:
    png = tmp_path / "empty.png"
    ok = subprocess.run([sys.executable, "-m", "app", "--screenshot", str(png)],
                        capture_output=True, text=True, timeout=60, env=_env(), cwd=REPO)
    assert ok.returncode == 0, ok.stderr
    assert Image.open(png).size[0] >= 600
    bad = subprocess.run([sys.executable, "-m", "app", str(tmp_path / "missing"), "--screenshot",
                          str(tmp_path / "bad.png")], capture_output=True, text=True, timeout=60,
                         env=_env(), cwd=REPO)
    assert bad.returncode == 2
    assert (tmp_path / "bad.png").is_file()


def test_screenshot_that_never_gets_its_image_says_what_is_missing(make_window: Any, qtbot: Any, tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    from app.launch import ScreenshotJob

    window = make_window()
    png = tmp_path / "late.png"
    job = ScreenshotJob(window, png, wants_image=True, wants_model=True, timeout_s=0.5)  # nothing is opened
    qtbot.waitUntil(png.is_file, timeout=10_000)
    assert job.exit_code == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: screenshot: the first image with the model's boxes did not appear within 0.5 s")
