"""``python -m app [FOLDER] [--demo] [--weights CKPT] [--screenshot PNG]``: same as ``retinalab gui``."""

from __future__ import annotations

import argparse
import logging
import sys


def _main() -> int:
    from engine.cli.gui import add_arguments

    parser = argparse.ArgumentParser(prog="python -m app", description="RetinaLab labeling app")
    add_arguments(parser)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    from app.launch import main

    return main(args)


if __name__ == "__main__":
    sys.exit(_main())
