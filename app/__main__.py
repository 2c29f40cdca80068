"""``python -m app [FOLDER] [--demo] [--weights CKPT] [--screenshot PNG]``: same as ``retinalab gui``."""

from __future__ import annotations

import argparse
import logging
import sys


def _main() -> int:
    from app.cli import add_gui_arguments, run_gui

    parser = argparse.ArgumentParser(prog="python -m app", description="RetinaLab labeling app")
    add_gui_arguments(parser)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    return run_gui(args)


if __name__ == "__main__":
    sys.exit(_main())
