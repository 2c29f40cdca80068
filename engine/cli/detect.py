"""``retinalab detect``: run a detector on images and folders; print a summary or write JSON.

``retinalab detect --weights CKPT | --arch A --pretrained coco  INPUT... [--json OUT] [--threshold T]
[--device D] [--batch-size B]``. INPUTs are image files and folders (searched recursively). The JSON
file is a list of ``{"image", "width", "height", "detections": [{"label", "score", "box": [x1, y1, x2,
y2]}]}`` in original image pixels. Unreadable images are skipped and listed on stderr; the rest are
processed and the exit status is 0 if at least one was. A bad model choice, a missing or broken
checkpoint, or no usable input exits 2 with one line. Inputs are expanded by ``expand_inputs`` and turned
into records by ``detect_records``: the one place a new kind of input (a video, per frame) plugs in.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.cli import UsageError
from engine.fsutil import write_text_atomic

if TYPE_CHECKING:
    from engine.infer import Detector

DEFAULT_COCO_ARCH = "retinanet_resnet50_fpn"
log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("inputs", nargs="+", metavar="INPUT", help="image files, folders of images, video files")
    parser.add_argument("--weights", metavar="CKPT", help="a RetinaLab checkpoint (.pt) or ONNX export (.onnx)")
    parser.add_argument("--arch", help=f"with --pretrained coco: torchvision's COCO model (default {DEFAULT_COCO_ARCH})")
    parser.add_argument("--pretrained", choices=("coco",), help="use torchvision's COCO weights instead of --weights")
    parser.add_argument("--json", metavar="OUT", help="write all detections as JSON to OUT ('-' for stdout)")
    parser.add_argument("--threshold", type=float, default=0.5, metavar="T", help="minimum score (default 0.5)")
    parser.add_argument("--device", default="auto", help="auto (default), cpu or cuda")
    parser.add_argument("--backend", default="auto", choices=["auto", "torch", "onnxruntime"],
                        help="what runs the network: auto (default: ONNX Runtime on the CPU), torch, onnxruntime")
    parser.add_argument("--batch-size", type=int, default=4, metavar="B", help="images per forward pass")
    parser.add_argument("--image-size", type=int, default=800, metavar="S",
                        help="with --pretrained coco: longer image side the model sees (default 800)")
    parser.add_argument("--save-video", metavar="OUT", help="with a video INPUT: write it with boxes drawn (.mp4/.avi)")


@dataclass(frozen=True)
class Skipped:
    """An input that produced no record, with the reason (one line)."""

    path: Path
    reason: str


def run(args: argparse.Namespace) -> int:
    _check_args(args)
    images, skipped = expand_inputs(args.inputs)
    for item in skipped:
        print(f"skipped {item.path}: {item.reason}", file=sys.stderr)
    if not images:
        raise UsageError("no images to process in " + ", ".join(args.inputs))
    from engine.video import check_save_video  # video INPUTs: one record per frame (engine.video)

    check_save_video(images, args.save_video)
    detector = _load_detector(args)
    records: list[dict[str, Any]] = []
    to_stdout = args.json is None
    for item in detect_records(detector, images, threshold=args.threshold, batch_size=args.batch_size,
                               save_video=args.save_video):
        if isinstance(item, Skipped):
            skipped.append(item)
            print(f"skipped {item.path}: {item.reason}", file=sys.stderr)
            continue
        records.append(item)
        if to_stdout:
            print(_summary(item))
    if not records:
        raise UsageError(f"none of the {len(skipped)} inputs could be read")
    if args.json is not None:
        _write_json(args.json, records)
    if skipped or args.json not in (None, "-"):
        print(f"{len(records)} images processed, {len(skipped)} skipped", file=sys.stderr)
    return 0


def expand_inputs(inputs: Sequence[str]) -> tuple[list[Path], list[Skipped]]:
    """Image paths from files and folders, in the order given (folders sorted), and missing inputs."""
    from engine.io import list_images

    images: list[Path] = []
    skipped: list[Skipped] = []
    seen: set[Path] = set()
    for raw in inputs:
        path = Path(raw)
        if path.is_dir():
            found = list_images(path, recursive=True)
            if not found:
                skipped.append(Skipped(path, "folder contains no images"))
        elif path.is_file():
            found = [path]
        else:
            skipped.append(Skipped(path, "no such file or folder"))
            continue
        for image in found:
            try:
                key = image.resolve()
            except (OSError, RuntimeError):  # a symlink loop: decoding it will say so, per file
                key = image.absolute()
            if key not in seen:
                seen.add(key)
                images.append(image)
    return images, skipped


def detect_records(
    detector: Detector, images: Sequence[Path], *, threshold: float, batch_size: int,
    save_video: str | None = None,
) -> Iterator[dict[str, Any] | Skipped]:
    """One JSON record per image (or a ``Skipped``), in input order.

    A video file gives one record per frame with ``"frame"`` and ``"time"`` added (``engine.video``);
    ``save_video`` writes that video with its boxes drawn.
    """
    from engine.video import VideoError, detect_video, split_videos

    for is_video, paths in split_videos(images):
        if is_video:
            try:
                yield from detect_video(detector, paths[0], score_thresh=threshold, batch_size=batch_size,
                                        save_video=save_video)
            except VideoError as exc:
                yield Skipped(paths[0], str(exc))
            continue
        for result in detector.predict_paths(paths, score_thresh=threshold, batch_size=batch_size):
            if result.error is not None:
                yield Skipped(result.path, str(result.error))
            else:
                yield _record(str(result.path), result.width, result.height, result.detections)


def _record(image: str, width: int, height: int, detections: Sequence[Any]) -> dict[str, Any]:
    return {"image": image, "width": width, "height": height, "detections": [d.to_json() for d in detections]}


def _check_args(args: argparse.Namespace) -> None:
    if args.weights and (args.pretrained or args.arch):
        raise UsageError("give either --weights CKPT or --arch A --pretrained coco, not both")
    if not args.weights and not args.pretrained:
        raise UsageError("detect needs a trained model: --weights CKPT or --pretrained coco [--arch A]")
    if not 0.0 <= args.threshold <= 1.0:
        raise UsageError(f"--threshold must be between 0 and 1, got {args.threshold}")
    if args.batch_size < 1:
        raise UsageError(f"--batch-size must be at least 1, got {args.batch_size}")
    if args.image_size < 32:
        raise UsageError(f"--image-size must be at least 32, got {args.image_size}")


def _load_detector(args: argparse.Namespace) -> Detector:
    from engine.infer import Detector

    if args.weights:
        detector = Detector.from_checkpoint(args.weights, device=args.device, backend=args.backend)
    else:
        detector = Detector.from_pretrained(args.arch or DEFAULT_COCO_ARCH, device=args.device,
                                            image_size=args.image_size, backend=args.backend)
    log.debug("running %s on %s with %s", detector.arch, detector.device, detector.backend_name)
    return detector


def _summary(record: dict[str, Any]) -> str:
    dets = record["detections"]
    counts = Counter(d["label"] for d in dets)
    what = ", ".join(f"{n} {label}" for label, n in counts.most_common())
    where = record["image"] + (f" frame {record['frame']}" if "frame" in record else "")
    return f"{where} ({record['width']}x{record['height']}): {len(dets)} detections" + (
        f": {what}" if what else ""
    )


def _write_json(dst: str, records: list[dict[str, Any]]) -> None:
    text = json.dumps(records, indent=1)
    if dst == "-":
        print(text)
        return
    path = Path(dst)
    try:
        write_text_atomic(path, text + "\n")
    except OSError as exc:
        raise UsageError(f"cannot write {dst}: {exc.strerror or exc}") from None
