"""How long from process start until the main window is painted (goal: well under 1 s).

Runs the app's start-up path in fresh subprocesses (``python bench/gui_startup.py --child``): imports,
QApplication, MainWindow, show, and waits for the window's first Paint event. Prints the median and
each stage, plus whether torch was imported (it must not be) and which other heavy modules the
first paint waited for (the camera, the Train panel, OpenCV and numpy load on first use). Usage:
``QT_QPA_PLATFORM=offscreen .venv/bin/python bench/gui_startup.py [--runs 5]``
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def child(t_spawn: float) -> None:
    t_start = time.time()
    sys.path.insert(0, str(REPO))
    from PySide6.QtCore import QEvent, QObject, QTimer
    from PySide6.QtWidgets import QApplication

    t_qt = time.time()
    from app.main_window import MainWindow

    t_import = time.time()
    app = QApplication([])
    window = MainWindow()
    t_built = time.time()
    painted: dict[str, float] = {}

    class PaintSpy(QObject):
        def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802
            if event.type() == QEvent.Type.Paint and "t" not in painted:
                painted["t"] = time.time()
                QTimer.singleShot(0, app.quit)
            return False

    spy = PaintSpy()
    window.installEventFilter(spy)
    window.show()
    QTimer.singleShot(5000, app.quit)
    app.exec()
    heavy = [m for m in ("torch", "torchvision", "engine.infer") if m in sys.modules]
    lazy = [m for m in ("cv2", "numpy", "engine.video", "app.camera", "app.training.panel") if m in sys.modules]
    window.shutdown()
    print(json.dumps({
        "interpreter_s": t_start - t_spawn, "import_qt_s": t_qt - t_start, "import_app_s": t_import - t_qt,
        "build_window_s": t_built - t_import, "show_to_paint_s": painted.get("t", float("nan")) - t_built,
        "total_s": painted.get("t", float("nan")) - t_spawn, "heavy_modules": heavy,
        "lazy_modules_loaded": lazy,
    }))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--child", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        child(args.child)
        return
    env = {**os.environ, "QT_QPA_PLATFORM": os.environ.get("QT_QPA_PLATFORM", "offscreen")}
    results = []
    for _ in range(args.runs):
        out = subprocess.run([sys.executable, __file__, "--child", repr(time.time())], capture_output=True,
                             text=True, env=env, cwd=REPO, timeout=60)
        results.append(json.loads(out.stdout.strip().splitlines()[-1]))
    print(f"GUI start-up, process start -> first paint of the main window ({args.runs} runs, "
          f"platform {env['QT_QPA_PLATFORM']}):")
    for key in ("interpreter_s", "import_qt_s", "import_app_s", "build_window_s", "show_to_paint_s", "total_s"):
        values = [r[key] for r in results]
        print(f"  {key:16s} median {statistics.median(values) * 1000:7.0f} ms   "
              f"min {min(values) * 1000:6.0f}  max {max(values) * 1000:6.0f}")
    print(f"  torch imported at start-up: {any(r['heavy_modules'] for r in results)}")
    loaded = sorted({m for r in results for m in r.get("lazy_modules_loaded", [])})
    print(f"  loaded before first paint (should load on first use): {', '.join(loaded) or 'none'}")


if __name__ == "__main__":
    main()
