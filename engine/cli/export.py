"""``retinalab export --weights CKPT --format onnx [--out FILE.onnx]``: a checkpoint as an ONNX file.

The file runs with ONNX Runtime alone (``engine.onnx_runtime``: no torch needed) and is a first-class
``--weights`` for ``detect``, ``eval`` and ``gui``. It carries what the checkpoint carries besides the
weights' training state: architecture, class names, image size, focal-loss α/γ, and a RetinaLab marker
and version (``engine.onnx_export``). ``--out`` defaults to the checkpoint's name with ``.onnx``. ``--int8 FOLDER``
quantises it to int8, calibrated on images of FOLDER (``engine.onnx_int8``). The written file is
loaded back once before the command reports success.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from engine.cli import UsageError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--weights", required=True, metavar="CKPT", help="a RetinaLab checkpoint (.pt)")
    parser.add_argument("--format", default="onnx", choices=["onnx"], help="output format (onnx)")
    parser.add_argument("--out", metavar="FILE", help="output file (default: CKPT with the .onnx suffix)")
    parser.add_argument("--int8", metavar="FOLDER",
                        help="also quantise to int8, calibrated on images in FOLDER (e.g. the project): faster on "
                             "CPUs with int8 instructions; bench/int8.py prints the speed and the AP it costs")
    parser.add_argument("--calibration-images", type=int, default=32, metavar="N",
                        help="with --int8: how many images of FOLDER to calibrate on (default 32)")


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

    if args.int8 is not None and not Path(args.int8).is_dir():
        raise UsageError(f"--int8 needs a folder of calibration images, got {args.int8}")
    if args.calibration_images < 1:
        raise UsageError(f"--calibration-images must be at least 1, got {args.calibration_images}")
    images = []
    if args.int8 is not None:
        from engine.onnx_int8 import calibration_images, quantize_int8

        images = calibration_images(args.int8, args.calibration_images)  # DatasetError before writing
    float_out = out.with_name(f".{out.stem}.float.onnx") if images else out  # int8: out appears only when done
    try:
        export_checkpoint(weights, float_out)
        if images:
            print(f"calibrating int8 on {len(images)} images of {args.int8}…")
            quantize_int8(float_out, out, images)
    except OSError as exc:
        raise UsageError(f"cannot write {out}: {exc.strerror or exc}") from None
    finally:
        if images:
            float_out.unlink(missing_ok=True)
    meta = OnnxRetinaNet(out, threads=1).meta  # loads back: a file that will not run is not reported as done
    size_mb = out.stat().st_size / 1e6
    kind = "int8 " if args.int8 is not None else ""
    print(f"exported {weights} -> {kind}{out} ({size_mb:.1f} MB): {meta.arch}, {len(meta.class_names)} classes "
          f"({', '.join(meta.class_names[:6])}{', …' if len(meta.class_names) > 6 else ''}), {meta.image_size} px")
    return 0
