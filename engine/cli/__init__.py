"""The ``retinalab`` command: a dispatcher over one module per subcommand.

Each subcommand module in this package defines ``add_arguments(parser)`` and ``run(args) -> int`` and
keeps heavy imports (torch, Qt) inside ``run`` so ``retinalab --help`` stays instant. A
``RetinaLabError`` or ``UsageError`` becomes exit status 2 with one line on stderr and no traceback;
anything else is a bug and exits 1.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from typing import Sequence

from engine import __version__
from engine.errors import RetinaLabError

# name -> (module, one-line help). The GUI is the default when no subcommand is given.
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "gui": ("engine.cli.gui", "open the labeling app (default)"),
    "detect": ("engine.cli.detect", "run a detector on images, folders or a video"),
    "train": ("engine.cli.train", "train or fine-tune a RetinaNet"),
    "eval": ("engine.cli.eval", "COCO mAP of a checkpoint on a dataset"),
    "review": ("engine.cli.review", "list likely label errors: where a model disagrees with the labels"),
    "export": ("engine.cli.export", "export a checkpoint to ONNX (runs with ONNX Runtime alone)"),
    "convert": ("engine.cli.convert", "convert a dataset between coco, voc and yolo"),
    "demo-data": ("engine.cli.demo_data", "write a synthetic detection dataset (COCO)"),
}


class UsageError(Exception):
    """Bad command-line usage; the message is printed as one line and the exit status is 2."""


class _ArgumentParser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse prints usage + exits 2; keep it to one line
        raise UsageError(f"{self.prog}: {message}")


def build_parser() -> argparse.ArgumentParser:
    parser = _ArgumentParser(prog="retinalab", description="RetinaNet detection and labeling.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    parser.add_argument("--version", action="version", version=f"retinalab {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_ArgumentParser)
    for name, (module_name, help_text) in SUBCOMMANDS.items():
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            continue  # subcommand not built yet
        p = sub.add_parser(name, help=help_text, description=help_text)
        module.add_arguments(p)
        p.set_defaults(_run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    # `retinalab` and `retinalab FOLDER` open the GUI, like `retinalab gui [FOLDER]`.
    if not argv or (argv[0] not in SUBCOMMANDS and not argv[0].startswith("-")):
        argv = ["gui", *argv]
    try:
        args = parser.parse_args(argv)
        logging.basicConfig(
            level=logging.DEBUG if args.verbose else logging.INFO,
            format="%(levelname)s %(name)s: %(message)s",
        )
        if getattr(args, "_run", None) is None:
            parser.print_help()
            return 2
        return int(args._run(args) or 0)
    except (UsageError, RetinaLabError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
