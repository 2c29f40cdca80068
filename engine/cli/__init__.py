"""The engine's commands (detect, train, eval, review, export, convert, demo-data) and their dispatcher.

Each subcommand module in this package defines ``add_arguments(parser)`` and ``run(args) -> int`` and
keeps heavy imports (torch) inside ``run`` so ``--help`` stays instant. The ``retinalab`` console
script is ``app.cli.main``: it adds ``gui`` and passes everything else here (``python -m engine.cli``
runs the engine's commands alone, e.g. under ``torchrun``). A ``RetinaLabError`` or ``UsageError``
becomes exit status 2 with one line on stderr and no traceback; anything else is a bug and exits 1.
"""

from __future__ import annotations

import argparse
import difflib
import importlib
import logging
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from engine import __version__
from engine.errors import RetinaLabError

# name -> (module in this package, one-line help)
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "detect": ("engine.cli.detect", "run a detector on images, folders or a video"),
    "train": ("engine.cli.train", "train or fine-tune a RetinaNet"),
    "eval": ("engine.cli.eval", "COCO mAP of a checkpoint on a dataset"),
    "review": ("engine.cli.review", "list likely label errors: where a model disagrees with the labels"),
    "export": ("engine.cli.export", "export a checkpoint to ONNX (runs with ONNX Runtime alone)"),
    "convert": ("engine.cli.convert", "convert a dataset between coco, voc and yolo"),
    "demo-data": ("engine.cli.demo_data", "write a synthetic detection dataset (COCO)"),
}
_GLOBAL_FLAGS = ("-v", "--verbose")  # options that may come before the subcommand and take no value


@dataclass(frozen=True)
class Subcommand:
    """A subcommand added from outside the engine (the app's ``gui``)."""

    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


class UsageError(Exception):
    """Bad command-line usage; the message is printed as one line and the exit status is 2."""


class _ArgumentParser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse prints usage + exits 2; keep it to one line
        raise UsageError(f"{self.prog}: {message}")


def subcommands(extra: Mapping[str, Subcommand] | None = None) -> dict[str, Subcommand]:
    """``extra`` first, then the engine's commands, by name."""
    found = dict(extra or {})
    for name, (module_name, help_text) in SUBCOMMANDS.items():
        module = importlib.import_module(module_name)
        found[name] = Subcommand(help_text, module.add_arguments, module.run)
    return found


def build_parser(extra: Mapping[str, Subcommand] | None = None) -> argparse.ArgumentParser:
    return _parser(subcommands(extra))


def _parser(commands: Mapping[str, Subcommand]) -> argparse.ArgumentParser:
    parser = _ArgumentParser(prog="retinalab", description="RetinaNet detection and labeling.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    parser.add_argument("--version", action="version", version=f"retinalab {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_ArgumentParser)
    for name, command in commands.items():
        p = sub.add_parser(name, help=command.help, description=command.help)
        command.add_arguments(p)
        p.set_defaults(_run=command.run)
    return parser


def main(argv: Sequence[str] | None = None, *, extra: Mapping[str, Subcommand] | None = None,
         folder_command: str | None = None) -> int:
    """Run ``retinalab ARGV``. With ``folder_command`` (the app's ``gui``), no subcommand at all or an
    existing folder in its place runs that command; any other unknown word exits 2 with one line."""
    argv = list(sys.argv[1:] if argv is None else argv)
    commands = subcommands(extra)
    parser = _parser(commands)
    try:
        argv = _with_subcommand(argv, list(commands), folder_command)
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


def _with_subcommand(argv: list[str], names: list[str], folder_command: str | None) -> list[str]:
    """``argv`` with ``folder_command`` put in front of an existing folder or of nothing; a word that is
    neither a subcommand nor (with ``folder_command``) a folder is a ``UsageError`` naming the commands."""
    at = next((i for i, word in enumerate(argv) if word not in _GLOBAL_FLAGS), len(argv))
    word = argv[at] if at < len(argv) else None
    if word is None:
        return [*argv, folder_command] if folder_command else argv
    if word in names or word.startswith("-"):
        return argv
    if folder_command and Path(word).is_dir():
        return [*argv[:at], folder_command, *argv[at:]]
    close = difflib.get_close_matches(word, names, n=1)
    hint = f" (did you mean {close[0]}?)" if close else ""
    what = "a command or a folder" if folder_command else "a command"
    raise UsageError(f"retinalab: {word!r} is not {what}{hint}; the commands are {', '.join(names)}")


if __name__ == "__main__":
    sys.exit(main())
