"""Detections on video frames: drawing boxes, writing annotated video, per-frame detection for the CLI.

``detect_video`` runs a detector over every frame of a file and yields one JSON-ready record per frame
(the ``retinalab detect`` video path); ``BoxVideoWriter`` writes frames with boxes drawn on them;
``split_videos`` / ``check_save_video`` let the CLI mix image and video inputs. Frames are
``(H, W, 3) uint8 RGB``; boxes are absolute pixels of the frame.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator, Sequence

import numpy as np

from engine.types import Detection, palette_colour
from engine.video.capture import DEFAULT_FPS, CaptureSource, Frame, VideoError, is_video_path

if TYPE_CHECKING:
    from engine.infer import Detector

logger = logging.getLogger(__name__)

_WRITER_FOURCC = {".mp4": "mp4v", ".m4v": "mp4v", ".mov": "mp4v", ".avi": "MJPG"}


# -- drawing and writing --------------------------------------------------------------------------------
def label_colour(label: str) -> tuple[int, int, int]:
    """``engine.types.palette_colour(label)`` as an ``(r, g, b)`` tuple, for drawing on RGB frames."""
    hex_colour = palette_colour(label)
    return int(hex_colour[1:3], 16), int(hex_colour[3:5], 16), int(hex_colour[5:7], 16)


def draw_detections(rgb: np.ndarray, detections: Sequence[Detection], *, thickness: int = 2) -> np.ndarray:
    """A copy of ``rgb`` ``(H, W, 3) uint8`` with each detection's box and "label score" drawn on it."""
    import cv2

    out = np.ascontiguousarray(rgb).copy()
    for det in detections:
        colour = label_colour(det.label)
        x1, y1, x2, y2 = (int(round(v)) for v in det.xyxy)
        cv2.rectangle(out, (x1, y1), (x2, y2), colour, thickness)
        text = f"{det.label} {det.score:.2f}"
        (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, 0.45, 1)
        ty = y1 - 2 if y1 - th - base - 2 >= 0 else y1 + th + 2
        cv2.rectangle(out, (x1, ty - th - base), (x1 + tw, ty + base - 1), colour, -1)
        cv2.putText(out, text, (x1, ty), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 1, cv2.LINE_AA)
    return out


class BoxVideoWriter:
    """Writes RGB frames (optionally with detections drawn) to ``.mp4`` (mp4v) or ``.avi`` (MJPG).

    The frame size is taken from the first frame; later frames of another size are resized to it.
    """

    def __init__(self, path: str | Path, fps: float) -> None:
        self.path = Path(path)
        suffix = self.path.suffix.lower()
        if suffix not in _WRITER_FOURCC:
            raise VideoError(f"cannot write video {self.path.name}: use .mp4 or .avi")
        if not self.path.parent.is_dir():
            raise VideoError(f"cannot write video {self.path}: folder {self.path.parent} does not exist")
        self.fps = fps if fps > 0 else DEFAULT_FPS
        self._fourcc = _WRITER_FOURCC[suffix]
        self._writer: Any = None
        self._size: tuple[int, int] | None = None
        self.frames_written = 0

    def write(self, rgb: np.ndarray, detections: Sequence[Detection] = ()) -> None:
        import cv2

        if self._writer is None:
            self._size = (int(rgb.shape[1]), int(rgb.shape[0]))
            self._writer = cv2.VideoWriter(str(self.path), cv2.VideoWriter_fourcc(*self._fourcc),
                                           self.fps, self._size)
            if not self._writer.isOpened():
                self._writer = None
                raise VideoError(f"cannot write video {self.path.name}: codec {self._fourcc} unavailable")
        drawn = draw_detections(rgb, detections) if detections else rgb
        if (drawn.shape[1], drawn.shape[0]) != self._size:
            drawn = cv2.resize(drawn, self._size)
        self._writer.write(cv2.cvtColor(drawn, cv2.COLOR_RGB2BGR))
        self.frames_written += 1

    def close(self) -> None:
        if self._writer is not None:
            self._writer.release()
            self._writer = None

    def __enter__(self) -> BoxVideoWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# -- detection over a file (CLI) -------------------------------------------------------------------------
def split_videos(paths: Sequence[Path]) -> Iterator[tuple[bool, list[Path]]]:
    """Input paths as consecutive runs, in order: ``(True, [video])`` for each video file and
    ``(False, [images...])`` for the images between them (so images keep being batched together)."""
    run: list[Path] = []
    for path in paths:
        if is_video_path(path):
            if run:
                yield False, run
                run = []
            yield True, [path]
        else:
            run.append(path)
    if run:
        yield False, run


def check_save_video(paths: Sequence[Path], save_video: str | Path | None) -> None:
    """``--save-video OUT`` needs exactly one video among the inputs and a writable .mp4/.avi name."""
    if save_video is None:
        return
    videos = [p for p in paths if is_video_path(p)]
    if len(videos) != 1:
        raise VideoError(f"--save-video needs exactly one video input, got {len(videos)}")
    if Path(save_video).suffix.lower() not in _WRITER_FOURCC:
        raise VideoError(f"--save-video {save_video}: use a .mp4 or .avi file name")
    if Path(save_video).resolve() == Path(videos[0]).resolve():
        raise VideoError(f"--save-video {save_video} would overwrite the input video")


def frame_result(path: str | Path, frame: Frame, detections: Sequence[Detection]) -> dict[str, Any]:
    """The JSON record of one frame: ``{"image", "frame", "time", "width", "height", "detections"}``."""
    return {
        "image": str(path),
        "frame": frame.index,
        "time": round(frame.time_s, 6),
        "width": frame.width,
        "height": frame.height,
        "detections": [d.to_json() for d in detections],
    }


def detect_video(
    detector: Detector,
    path: str | Path,
    *,
    score_thresh: float = 0.05,
    batch_size: int = 4,
    save_video: str | Path | None = None,
    on_frame: Callable[[int, int | None], None] | None = None,
) -> Iterator[dict[str, Any]]:
    """Run ``detector`` on every frame of the video at ``path``; yield one ``frame_result`` per frame.

    Frames are batched ``batch_size`` at a time. With ``save_video`` the frames are also written there
    with their boxes drawn. ``on_frame(done, total)`` reports progress (total None when unknown).
    """
    if batch_size < 1:
        raise VideoError(f"batch size must be 1 or more, not {batch_size}")
    writer: BoxVideoWriter | None = None
    with CaptureSource(path) as source:
        if save_video is not None:
            writer = BoxVideoWriter(save_video, source.fps)
        try:
            batch: list[Frame] = []
            done = 0
            frames = iter(source)
            while True:
                frame = next(frames, None)
                if frame is not None:
                    batch.append(frame)
                if batch and (frame is None or len(batch) >= batch_size):
                    results = detector.predict([f.pixels for f in batch], score_thresh=score_thresh,
                                               batch_size=batch_size)
                    for f, dets in zip(batch, results):
                        if writer is not None:
                            writer.write(f.pixels, dets)
                        done += 1
                        if on_frame is not None:
                            on_frame(done, source.frame_count)
                        yield frame_result(path, f, dets)
                    batch = []
                if frame is None:
                    break
        finally:
            if writer is not None:
                writer.close()
    if done == 0:
        raise VideoError(f"no frames could be decoded from {Path(path).name}")
