"""``retinalab gui [FOLDER] [--demo] [--weights CKPT] [--screenshot PNG]``: open the labeling app.

The GUI lives in the ``app`` package (PySide6); it is imported only here, inside ``run``, so the
engine itself never imports Qt.
"""

from __future__ import annotations

import argparse
import importlib
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("folder", nargs="?", help="a folder of images to open as a project")
    parser.add_argument("--demo", action="store_true", help="open the demo project with the demo model")
    parser.add_argument("--weights", help="a checkpoint (.pt) or ONNX export (.onnx) to load as the detector")
    parser.add_argument("--screenshot", metavar="PNG", help="render the window, save it as PNG, exit")


def run(args: argparse.Namespace) -> int:
    try:
        launch = importlib.import_module("app.launch")
    except ModuleNotFoundError as exc:
        if exc.name not in ("app.launch", "app"):
            raise
        from engine.cli import build_parser

        build_parser().print_help()
        print("\nThe GUI is not built yet; the commands above work.")
        return 0
    except ImportError as exc:
        if ".so" not in str(exc):
            raise
        # PySide6 needs a few system libraries (OpenGL/EGL, fontconfig) that a minimal Linux lacks
        print(f"error: Qt cannot start, a system library is missing ({exc}); on Debian or Ubuntu: "
              "`sudo apt install libegl1 libgl1 libfontconfig1 libxkbcommon0 libdbus-1-3`", file=sys.stderr)
        return 2
    return int(launch.main(args) or 0)
