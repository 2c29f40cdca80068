"""Live camera and video files for RetinaLab, Qt-free: capture (``capture``) and detection output
(``detection``). Everything public is importable from ``engine.video``; the app's camera dock
(``app.camera``) and ``retinalab detect`` on video files are built on it.
"""

from __future__ import annotations

from engine.video.capture import (DEFAULT_FPS, VIDEO_EXTENSIONS, CameraInfo, CaptureSource, Frame, FrameSource,
                                  VideoError, is_video_path, iter_frames, probe_cameras)
from engine.video.detection import (BoxVideoWriter, check_save_video, detect_video, draw_detections,
                                    frame_result, label_colour, split_videos)

__all__ = [
    "DEFAULT_FPS", "VIDEO_EXTENSIONS", "BoxVideoWriter", "CameraInfo", "CaptureSource", "Frame", "FrameSource",
    "VideoError", "check_save_video", "detect_video", "draw_detections", "frame_result", "is_video_path",
    "iter_frames", "label_colour", "probe_cameras", "split_videos",
]
