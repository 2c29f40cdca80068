"""The ``retinalab`` console script: the app's ``gui`` subcommand plus the engine's (``engine.cli``).

``retinalab`` alone opens the app, and so does ``retinalab FOLDER`` for an existing folder; any other
word that is not a subcommand exits 2 with one line naming the subcommands, so a typo never opens the
window. Qt and torch are imported only inside ``run_gui`` and the subcommands' ``run``, so
``retinalab --help`` and ``retinalab SUBCOMMAND --help`` stay instant.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from engine import cli


def add_gui_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("folder", nargs="?", help="a folder of images to open as a project")
    parser.add_argument("--demo", action="store_true", help="open the demo project with the demo model")
    parser.add_argument("--weights", help="a checkpoint (.pt) or ONNX export (.onnx) to load as the detector")
    parser.add_argument("--screenshot", metavar="PNG", help="render the window, save it as PNG, exit")


def run_gui(args: argparse.Namespace) -> int:
    try:
        from app import launch
    except ImportError as exc:
        if ".so" not in str(exc):
            raise
        # PySide6 needs a few system libraries (OpenGL/EGL, fontconfig) that a minimal Linux lacks
        print(f"error: Qt cannot start, a system library is missing ({exc}); on Debian or Ubuntu: "
              "`sudo apt install libegl1 libgl1 libfontconfig1 libxkbcommon0 libdbus-1-3`", file=sys.stderr)
        return 2
    return int(launch.main(args) or 0)


GUI = cli.Subcommand("open the labeling app (default; also `retinalab FOLDER`)", add_gui_arguments, run_gui)


def main(argv: Sequence[str] | None = None) -> int:
    return cli.main(argv, extra={"gui": GUI}, folder_command="gui")


if __name__ == "__main__":
    sys.exit(main())
