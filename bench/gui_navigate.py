"""Next/previous on 12-megapixel JPEGs: time from the key's action until the image is on screen.

Writes N 4000×3000 JPEGs (numpy + Pillow) to a temporary folder, opens it in the main window and
steps through it with ``Navigator.next`` / ``previous``. Each step is timed from the call until the
Document shows the new image and the canvas has repainted (``viewport().repaint()`` is synchronous).
Two cases: with prefetch (a pause between steps, like a person looking at the image, lets the loader
decode the neighbours) and cold (the loader cache is cleared before each step: a full decode).
Goal: < 100 ms with prefetch. Usage: ``QT_QPA_PLATFORM=offscreen .venv/bin/python bench/gui_navigate.py``
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def make_images(folder: Path, n: int, width: int, height: int) -> None:
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    for i in range(n):
        base = (np.sin(xx / (90 + 13 * i)) + np.cos(yy / (70 + 7 * i))) * 60 + 128
        noise = rng.normal(0, 12, (height, width, 1)).astype(np.float32)
        rgb = np.clip(np.stack([base, base * 0.8 + 20, 255 - base], axis=-1) + noise, 0, 255).astype(np.uint8)
        Image.fromarray(rgb).save(folder / f"photo_{i:02d}.jpg", quality=90)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--images", type=int, default=8)
    parser.add_argument("--size", default="4000x3000")
    parser.add_argument("--dwell-ms", type=int, default=600, help="pause between steps (prefetch case)")
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.split("x"))

    from PySide6.QtCore import QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication

    from app.main_window import MainWindow

    _app = QApplication([])  # held for the whole run
    window = MainWindow()
    window.show()

    def wait_signal(signal: object, timeout_ms: int = 20_000) -> None:
        loop = QEventLoop()
        signal.connect(loop.quit)  # type: ignore[attr-defined]
        QTimer.singleShot(timeout_ms, loop.quit)
        loop.exec()
        signal.disconnect(loop.quit)  # type: ignore[attr-defined]

    def pause(ms: int) -> None:
        loop = QEventLoop()
        QTimer.singleShot(ms, loop.quit)
        loop.exec()

    shown: list[int] = []
    window.navigator.image_shown.connect(shown.append)

    def step(move: object) -> float:
        before = len(shown)
        t0 = time.perf_counter()
        move()  # type: ignore[operator]
        if len(shown) == before:  # not cached: wait for the loader
            wait_signal(window.navigator.image_shown)
        window.canvas.viewport().repaint()
        return (time.perf_counter() - t0) * 1000.0

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        t = time.perf_counter()
        make_images(folder, args.images, width, height)
        size_mb = sum(p.stat().st_size for p in folder.glob("*.jpg")) / args.images / 1e6
        print(f"made {args.images} JPEGs of {width}×{height} ({size_mb:.1f} MB each) in {time.perf_counter() - t:.1f} s")
        window.projects.open_folder(folder)
        wait_signal(window.navigator.image_shown)

        warm, cold = [], []
        moves = [window.navigator.next] * (args.images - 1) + [window.navigator.previous] * (args.images - 1)
        for move in moves:
            pause(args.dwell_ms)
            warm.append(step(move))
        for move in moves[: args.images - 1]:
            pause(50)
            window.loader.forget()
            cold.append(step(move))
        window.shutdown()

    def line(name: str, values: list[float]) -> str:
        return (f"  {name:34s} median {statistics.median(values):6.1f} ms   p90 "
                f"{sorted(values)[int(0.9 * (len(values) - 1))]:6.1f}   max {max(values):6.1f}   (n={len(values)})")

    print(f"next/previous on {width}×{height} JPEGs, action -> image on screen:")
    print(line(f"with prefetch (dwell {args.dwell_ms} ms)", warm))
    print(line("cold (cache cleared, full decode)", cold))


if __name__ == "__main__":
    main()
