"""Benchmark: the live view playing a generated clip with the detector running, torch vs ONNX Runtime.

Writes a clip of moving shapes with cv2.VideoWriter, opens it in a CameraPanel (offscreen unless a
display is set) with live detection on, and measures what the user sees: frames painted over the
source's frame rate, detection results per second, and the delay from a frame's capture to the first
paint of its boxes. The real detector is the shipped demo model (``Detector.from_checkpoint``, CPU)
on each backend in turn, ``--rounds`` times alternating (torch, onnxruntime, torch, ...) so machine load
hits both alike; the summary gives each backend's median detector fps and the ratio. The last line is
``display_fps_ratio=<x>`` (the worst run; goal >= 0.95).

    .venv/bin/python bench/video.py [--seconds 6] [--fps 30] [--size 640x480] [--detector auto|real|fake]
                                    [--backends torch onnxruntime] [--rounds 2]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import cv2  # noqa: E402
import numpy as np  # noqa: E402


def write_clip(path: Path, *, seconds: float, fps: float, width: int, height: int) -> int:
    """Moving coloured shapes on a gradient; returns the number of frames written."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (width, height))
    num_frames = int(round(seconds * fps))
    ramp = np.linspace(30, 120, width, dtype=np.uint8)[None, :, None]
    for i in range(num_frames):
        bgr = np.broadcast_to(ramp, (height, width, 3)).copy()
        t = i / num_frames
        cx = int(width * (0.15 + 0.7 * t))
        cv2.rectangle(bgr, (cx - 40, height // 3 - 30), (cx + 40, height // 3 + 30), (40, 40, 220), -1)
        cv2.circle(bgr, (width - cx, 2 * height // 3), 35, (40, 200, 40), -1)
        writer.write(bgr)
    writer.release()
    return num_frames


class SleepDetector:
    """Stand-in when engine.infer is not available: a fixed inference time, one box."""

    class_names = ["shape"]

    def __init__(self, ms: float) -> None:
        self.ms = ms

    def predict(self, images, score_thresh=0.05, batch_size=4):
        from engine.types import Detection

        time.sleep(self.ms / 1000)
        return [[Detection(10, 10, 100, 80, "shape", 0.9)] for _ in images]


def build_detector(kind: str, backend: str, fake_ms: float) -> tuple[object, str]:
    if kind in ("auto", "real"):
        try:
            import torch

            from engine.demo import demo_model_path
            from engine.infer import Detector

            det = Detector.from_checkpoint(demo_model_path(), device="cpu", backend=backend)
            det.predict([np.zeros((240, 320, 3), np.uint8)])  # warm-up
            return det, (f"demo model ({det.arch}) at {det.image_size}px on cpu, {det.backend_name}, "
                         f"{torch.get_num_threads()} threads")
        except ImportError as exc:
            if kind == "real":
                raise
            print(f"note: real detector unavailable ({exc}); using a {fake_ms:.0f} ms stand-in")
    return SleepDetector(fake_ms), f"stand-in detector sleeping {fake_ms:.0f} ms"


def play(app: object, detector: object, clip: Path, num_frames: int, args: argparse.Namespace,
         width: int, height: int) -> dict[str, float] | None:
    """Play ``clip`` once in a CameraPanel with live detection; what the user saw, or None."""
    from PySide6.QtCore import QEventLoop, QTimer

    from app.camera import CameraPanel

    panel = CameraPanel(lambda: None, lambda: detector)
    panel.resize(width // 2 + 40, height // 2 + 140)
    panel.show()
    painted: list[tuple[int, float]] = []
    panel.view.frame_painted.connect(lambda index: painted.append((index, time.perf_counter())))
    loop = QEventLoop()
    poll = QTimer()
    poll.setInterval(20)
    deadline = time.perf_counter() + args.seconds * 3 + 10

    def check() -> None:
        frame = panel.view.current_frame()
        done = frame is not None and frame.index == num_frames - 1 and not panel.is_playing
        if done or time.perf_counter() > deadline:
            loop.quit()

    poll.timeout.connect(check)
    poll.start()
    panel.open_video(clip)
    loop.exec()
    poll.stop()
    app.processEvents()  # type: ignore[attr-defined]
    delays = list(panel.view.box_delays_s)
    live = panel._live  # bench-only peek at counters
    submitted = live.frames_submitted if live else 0
    detected = live.frames_detected if live else 0
    panel.shutdown()
    if len(painted) < 2:
        return None
    span = painted[-1][1] - painted[0][1]
    return {
        "painted": len(painted), "span": span, "submitted": submitted, "detected": detected,
        "display_fps": (len(painted) - 1) / span if span > 0 else 0.0,
        "detector_fps": detected / (span + 1 / args.fps) if span > 0 else 0.0,
        "delay_median": statistics.median(delays) if delays else float("nan"),
        "delay_p90": sorted(delays)[int(0.9 * (len(delays) - 1))] if delays else float("nan"),
        "ratio": min(((len(painted) - 1) / span if span > 0 else 0.0) / args.fps, len(painted) / num_frames),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--fps", type=float, default=30.0)
    parser.add_argument("--size", default="640x480")
    parser.add_argument("--detector", choices=["auto", "real", "fake"], default="auto")
    parser.add_argument("--backends", nargs="+", choices=["torch", "onnxruntime"], default=["torch", "onnxruntime"])
    parser.add_argument("--rounds", type=int, default=2, help="plays per backend, alternating")
    parser.add_argument("--fake-ms", type=float, default=80.0)
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.lower().split("x"))

    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
    detectors = {b: build_detector(args.detector, b, args.fake_ms) for b in args.backends}
    runs: dict[str, list[dict[str, float]]] = {b: [] for b in args.backends}
    with tempfile.TemporaryDirectory() as tmp:
        clip = Path(tmp) / "bench.avi"
        num_frames = write_clip(clip, seconds=args.seconds, fps=args.fps, width=width, height=height)
        print(f"platform: {app.platformName()}, clip {width}x{height} @ {args.fps:g} fps, {num_frames} frames")
        for round_index in range(args.rounds):
            for backend in args.backends:
                detector, name = detectors[backend]
                result = play(app, detector, clip, num_frames, args, width, height)
                if result is None:
                    print("error: no frames were painted")
                    return 1
                runs[backend].append(result)
                print(f"[{backend} round {round_index + 1}] {name}: painted {result['painted']}/{num_frames} "
                      f"in {result['span']:.2f} s, display {result['display_fps']:.2f} fps, detector "
                      f"{result['detector_fps']:.2f} fps ({result['detected']} of {result['submitted']} frames), "
                      f"frame-to-box median {result['delay_median'] * 1000:.0f} ms, "
                      f"p90 {result['delay_p90'] * 1000:.0f} ms")
    fps = {b: statistics.median(r["detector_fps"] for r in runs[b]) for b in args.backends}
    delay = {b: statistics.median(r["delay_median"] for r in runs[b]) for b in args.backends}
    for backend in args.backends:
        print(f"detector fps ({backend}): {fps[backend]:.2f} median of {len(runs[backend])}; "
              f"frame-to-box {delay[backend] * 1000:.0f} ms")
    if len(args.backends) == 2 and fps[args.backends[0]] > 0:
        print(f"onnx_fps_ratio={fps['onnxruntime'] / fps['torch']:.2f}")
    print(f"display_fps_ratio={min(r['ratio'] for rs in runs.values() for r in rs):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
