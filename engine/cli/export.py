"""``retinalab export --weights CKPT --format onnx [--out FILE.onnx]``: a checkpoint as an ONNX file.

The file runs with ONNX Runtime alone (``engine.onnx_runtime``: no torch needed) and is a first-class
``--weights`` for ``detect``, ``eval`` and ``gui``. It carries what the checkpoint carries besides the
weights' training state: architecture, class names, image size, focal-loss α/γ, and a RetinaLab marker
and version (``engine.onnx_export``). ``--out`` defaults to the checkpoint's name with ``.onnx``. The
written file is loaded back once before the command reports success.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from engine.cli import UsageError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--weights", required=True, metavar="CKPT", help="a RetinaLab checkpoint (.pt)")
    parser.add_argument("--format", default="onnx", choices=["onnx"], help="output format (onnx)")
    parser.add_argument("--out", metavar="FILE", help="output file (default: CKPT with the .onnx suffix)")


def run(args: argparse.Namespace) -> int:
    from engine.onnx_runtime import is_onnx_path

    weights = Path(args.weights)
    if is_onnx_path(weights):
        raise UsageError(f"{weights} is already an ONNX file; export takes a checkpoint (.pt)")
    if not weights.is_file():
        raise UsageError(f"checkpoint not found: {weights}")
    out = Path(args.out) if args.out else weights.with_suffix(".onnx")
    if not is_onnx_path(out):
        raise UsageError(f"--out must end in .onnx, got {out}")
    if out.resolve() == weights.resolve():
        raise UsageError("--out must differ from --weights")
    from engine.onnx_export import export_checkpoint
    from engine.onnx_runtime import OnnxRetinaNet

    try:
        export_checkpoint(weights, out)
    except OSError as exc:
        raise UsageError(f"cannot write {out}: {exc.strerror or exc}") from None
    meta = OnnxRetinaNet(out, threads=1).meta  # loads back: a file that will not run is not reported as done
    size_mb = out.stat().st_size / 1e6
    print(f"exported {weights} -> {out} ({size_mb:.1f} MB): {meta.arch}, {len(meta.class_names)} classes "
          f"({', '.join(meta.class_names[:6])}{', …' if len(meta.class_names) > 6 else ''}), {meta.image_size} px")
    return 0
