"""Putting camera and video frames into the labeling project (run on a worker thread, not the GUI).

``grab_into_project`` writes one frame as a PNG under ``<project>/captures/``, registers it with the
store and stores the detections as predictions and the frame's uncertainty (so a hard frame comes
early in the "most uncertain first" order), so the user can open it and correct the boxes.
``add_every_nth`` does the same for every N-th frame of a video file, without predictions (run the
model on them from the project like any other image). PNGs are written to a temporary name and
renamed, so a scan never sees half a file.
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from engine.errors import ProjectError
from engine.types import Detection
from engine.video import CaptureSource, Frame, VideoError

CAPTURES_DIR = "captures"


@dataclass(frozen=True)
class GrabbedFrame:
    """A frame now in the project: its image id, absolute PNG path and number of predictions stored."""

    image_id: int
    path: Path
    num_predictions: int
    uncertainty: float | None = None  # stored for the review order (engine.review.uncertainty)


@dataclass(frozen=True)
class AddedFrames:
    """Result of ``add_every_nth``: how many PNGs were written and how many images are new to the store."""

    written: int
    added: int
    folder: Path


def safe_stem(name: str) -> str:
    """A file-name-safe stem for a source name ("clip.mp4" -> "clip", "camera 0" -> "camera_0")."""
    stem = Path(name).stem if "." in name else name
    stem = re.sub(r"[^A-Za-z0-9_-]+", "_", stem).strip("_")
    return stem or "capture"


def save_png(rgb: np.ndarray, path: Path) -> Path:
    """Write ``rgb`` ``(H, W, 3) uint8`` as PNG at ``path`` atomically (temp file + rename)."""
    import cv2

    ok, encoded = cv2.imencode(".png", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    if not ok:
        raise VideoError(f"cannot encode frame as PNG: {path.name}")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.part")
    tmp.write_bytes(encoded.tobytes())
    os.replace(tmp, path)
    return path


def capture_path(folder: Path, source_name: str, frame: Frame, *, is_file: bool) -> Path:
    """``captures/<video>_f000123.png`` for a file (same frame, same name) or a timestamped name for
    a camera (never overwriting an earlier grab)."""
    stem = safe_stem(source_name)
    if is_file:
        return folder / f"{stem}_f{frame.index:06d}.png"
    now = time.time()
    base = f"{stem}_{time.strftime('%Y%m%d-%H%M%S', time.localtime(now))}-{int(now * 1000) % 1000:03d}"
    path, n = folder / f"{base}.png", 1
    while path.exists():
        path, n = folder / f"{base}-{n}.png", n + 1
    return path


def _require_writable(project: Any) -> None:
    if getattr(project, "read_only", False):
        reason = getattr(project, "read_only_reason", None) or "the project is read-only"
        raise ProjectError(f"cannot add frames to the project: {reason}")


def grab_into_project(
    project: Any,
    frame: Frame,
    detections: Sequence[Detection] | None,
    *,
    source_name: str,
    is_file: bool,
    detector_provider: Callable[[], Any] | None = None,
    score_thresh: float = 0.3,
) -> GrabbedFrame:
    """Save ``frame`` into ``<project>/captures/`` and store ``detections`` as its predictions.

    With ``detections`` None, the detector from ``detector_provider`` (if any) is run on the frame.
    """
    _require_writable(project)
    if detections is None:
        detector = detector_provider() if detector_provider is not None else None
        detections = detector.predict([frame.pixels], score_thresh=score_thresh)[0] if detector else ()
    folder = Path(project.folder) / CAPTURES_DIR
    path = save_png(frame.pixels, capture_path(folder, source_name, frame, is_file=is_file))
    project.rescan()
    record = project.find_image(path)
    if record is None:
        raise ProjectError(f"the project did not pick up {path.name} after saving it")
    stored = project.set_predictions(record, list(detections)) if detections else []
    from engine.review import image_uncertainty

    uncertainty = image_uncertainty(list(detections), decision_thresh=score_thresh)
    project.set_uncertainty(record, uncertainty)
    return GrabbedFrame(record.id, path, len(stored), uncertainty)


def add_every_nth(
    project: Any,
    video: str | Path,
    step: int,
    *,
    report: Callable[[int, int, str], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> AddedFrames:
    """Save frames 0, N, 2N, ... of ``video`` into ``<project>/captures/`` and add them to the project."""
    if step < 1:
        raise VideoError(f"add every N-th frame: N must be 1 or more, not {step}")
    _require_writable(project)
    folder = Path(project.folder) / CAPTURES_DIR
    name = Path(video).name
    written = 0
    with CaptureSource(video) as source:
        total = source.frame_count or 0
        expected = (total + step - 1) // step if total else 0
        for frame in source:
            if should_stop is not None and should_stop():
                break
            if frame.index % step:
                continue
            save_png(frame.pixels, capture_path(folder, name, frame, is_file=True))
            written += 1
            if report is not None:
                report(written, expected, f"frame {frame.index}")
    added, _missing = project.rescan() if written else (0, 0)
    return AddedFrames(written, added, folder)
