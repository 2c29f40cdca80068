"""engine.video: file and camera sources, per-frame detection for the CLI, the box-drawing writer."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from engine.errors import RetinaLabError
from engine.types import Detection
from engine.video import (
    BoxVideoWriter,
    CaptureSource,
    VideoError,
    detect_video,
    draw_detections,
    is_video_path,
    iter_frames,
    probe_cameras,
)

W, H = 64, 48


def write_clip(path: Path, num_frames: int = 24, fps: float = 25.0) -> Path:
    """A clip whose frame i is a flat colour with blue = 10 * i (RGB), so frames can be told apart."""
    fourcc = "MJPG" if path.suffix == ".avi" else "mp4v"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps, (W, H))
    assert writer.isOpened()
    for i in range(num_frames):
        rgb = np.zeros((H, W, 3), np.uint8)
        rgb[..., 0] = 200  # red
        rgb[..., 2] = 10 * i
        writer.write(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    writer.release()
    return path


class FakeDetector:
    """Finds one 'spot' box whose score encodes the frame's blue level, so results can be matched."""

    class_names = ["spot"]

    def __init__(self) -> None:
        self.calls: list[int] = []

    def predict(self, images, score_thresh=0.05, batch_size=4):
        self.calls.append(len(images))
        out = []
        for img in images:
            assert img.dtype == np.uint8 and img.shape == (H, W, 3)
            blue = float(img[..., 2].mean())
            out.append([Detection(8.0, 8.0, 40.0, 30.0, "spot", min(1.0, 0.5 + blue / 1000))])
        return out


@pytest.mark.parametrize("suffix", [".avi", ".mp4"])
def test_file_source_delivers_every_frame_in_order_as_rgb(tmp_path: Path, suffix: str) -> None:
    clip = write_clip(tmp_path / f"clip{suffix}", num_frames=24, fps=25.0)
    with CaptureSource(clip) as source:
        assert source.is_file and source.name == clip.name
        assert source.fps == pytest.approx(25.0)
        assert source.frame_count == 24
        frames = list(source)
    assert [f.index for f in frames] == list(range(24))
    assert frames[10].time_s == pytest.approx(10 / 25.0)
    first, last = frames[0].pixels, frames[-1].pixels
    assert first.shape == (H, W, 3) and first.dtype == np.uint8
    assert first[..., 0].mean() > 150  # red stays in channel 0: BGR was converted to RGB
    assert last[..., 2].mean() == pytest.approx(230, abs=12)


def test_seek_makes_that_frame_the_next_one(tmp_path: Path) -> None:
    clip = write_clip(tmp_path / "clip.avi", num_frames=20)
    with CaptureSource(clip) as source:
        source.seek(12)
        frame = source.read()
        assert frame is not None and frame.index == 12
        assert frame.pixels[..., 2].mean() == pytest.approx(120, abs=12)
        source.seek(1000)  # clamped to the last frame
        assert source.read().index == 19
        assert source.read() is None  # end of file is not an error


def test_iter_frames_with_a_step(tmp_path: Path) -> None:
    clip = write_clip(tmp_path / "clip.mp4", num_frames=20)
    assert [f.index for f in iter_frames(clip, step=6)] == [0, 6, 12, 18]
    with pytest.raises(VideoError):
        list(iter_frames(clip, step=0))


def test_bad_sources_raise_one_clear_line(tmp_path: Path) -> None:
    with pytest.raises(VideoError, match="not found: .*missing.mp4"):
        CaptureSource(tmp_path / "missing.mp4").open()
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"this is not a video" * 10)
    with pytest.raises(VideoError, match="cannot open video junk.mp4"):
        CaptureSource(junk).open()
    with pytest.raises(VideoError, match="camera index"):
        CaptureSource(-1).open()
    if not Path("/dev/video5").exists():
        with pytest.raises(VideoError, match="cannot open camera 5") as info:
            CaptureSource(5).open()
        assert "\n" not in str(info.value)
    assert issubclass(VideoError, RetinaLabError)
    source = CaptureSource(tmp_path / "x.avi")
    with pytest.raises(VideoError, match="not open"):
        source.read()


def test_probe_cameras_is_silent_and_never_raises(capfd: pytest.CaptureFixture[str]) -> None:
    cameras = probe_cameras(max_index=5)
    assert isinstance(cameras, list)
    assert all(0 <= c.index <= 5 and c.name for c in cameras)
    out, err = capfd.readouterr()
    assert out == "" and err == ""


def test_detect_video_gives_one_result_per_frame_and_writes_boxes(tmp_path: Path) -> None:
    clip = write_clip(tmp_path / "clip.avi", num_frames=23, fps=20.0)
    detector = FakeDetector()
    out_video = tmp_path / "boxes.mp4"
    results = list(detect_video(detector, clip, batch_size=4, save_video=out_video))
    assert [r["frame"] for r in results] == list(range(23))
    assert results[5]["time"] == pytest.approx(0.25)
    assert results[0]["image"] == str(clip) and (results[0]["width"], results[0]["height"]) == (W, H)
    assert sum(detector.calls) == 23 and max(detector.calls) == 4
    # scores follow the frames: results are matched to the right frame
    scores = [r["detections"][0]["score"] for r in results]
    assert scores == sorted(scores) and scores[-1] > scores[0]
    assert results[3]["detections"][0]["box"] == [8.0, 8.0, 40.0, 30.0]
    json.dumps(results)  # JSON-ready
    with CaptureSource(out_video) as written:
        frames = list(written)
    assert len(frames) == 23
    # the box outline is drawn: pixels on the left edge differ from the flat background
    edge = frames[0].pixels[15:25, 8].astype(int)
    inside = frames[0].pixels[15:25, 24].astype(int)
    assert np.abs(edge - inside).sum(axis=1).mean() > 60


def test_draw_detections_leaves_the_input_alone() -> None:
    rgb = np.zeros((H, W, 3), np.uint8)
    drawn = draw_detections(rgb, [Detection(2, 2, 30, 30, "a", 0.9)])
    assert rgb.max() == 0 and drawn.max() > 0


def test_writer_rejects_unknown_extension_and_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(VideoError, match=".mp4 or .avi"):
        BoxVideoWriter(tmp_path / "out.gif", 25)
    with pytest.raises(VideoError, match="does not exist"):
        BoxVideoWriter(tmp_path / "no" / "out.mp4", 25)


def test_is_video_path() -> None:
    assert is_video_path("a/B.MP4") and is_video_path("x.avi")
    assert not is_video_path("x.png")


# -- retinalab detect on a video ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tiny_weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import torch

    from engine.checkpoint import save_checkpoint
    from engine.models import build_model

    torch.manual_seed(0)
    model = build_model("retinanet_mobilenet_v3_fpn", 2, image_size=128)
    with torch.no_grad():  # untrained but confident enough to give boxes
        model.head.classification_head.cls_logits.bias.fill_(-1.0)
    path = tmp_path_factory.mktemp("weights") / "tiny.pt"
    return save_checkpoint(path, model=model, arch="retinanet_mobilenet_v3_fpn", class_names=("a", "b"),
                           image_size=128, alpha=0.25, gamma=2.0)


@pytest.mark.slow
def test_cli_detect_on_a_video_gives_exactly_one_result_per_frame(tiny_weights: Path, tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    from engine.cli import main

    clip = write_clip(tmp_path / "clip.mp4", num_frames=12, fps=15.0)
    still = tmp_path / "still.png"
    cv2.imwrite(str(still), np.full((30, 40, 3), 100, np.uint8))
    out_json, out_video = tmp_path / "dets.json", tmp_path / "boxes.avi"
    code = main(["detect", "--weights", str(tiny_weights), str(still), str(clip), "--json", str(out_json),
                 "--save-video", str(out_video), "--threshold", "0.2", "--device", "cpu"])
    assert code == 0, capsys.readouterr().err
    records = json.loads(out_json.read_text())
    assert Path(records[0]["image"]).name == "still.png" and "frame" not in records[0]
    frames = records[1:]
    assert len(frames) == 12
    assert [r["frame"] for r in frames] == list(range(12))
    assert [r["time"] for r in frames] == pytest.approx([i / 15.0 for i in range(12)], abs=1e-6)
    assert all(Path(r["image"]) == clip and (r["width"], r["height"]) == (W, H) for r in frames)
    assert any(r["detections"] for r in frames)
    for det in (d for r in frames for d in r["detections"]):
        assert det["label"] in ("a", "b") and det["score"] >= 0.2
    with CaptureSource(out_video) as written:
        assert sum(1 for _ in written) == 12


def test_cli_detect_video_errors_exit_2_with_one_line(tiny_weights: Path, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    from engine.cli import main

    a = write_clip(tmp_path / "a.avi", num_frames=3)
    b = write_clip(tmp_path / "b.avi", num_frames=3)
    assert main(["detect", "--weights", str(tiny_weights), str(a), str(b), "--save-video",
                 str(tmp_path / "o.mp4")]) == 2
    assert "exactly one video" in capsys.readouterr().err
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"not a video at all")
    assert main(["detect", "--weights", str(tiny_weights), str(junk), "--json", str(tmp_path / "j.json")]) == 2
    err = capsys.readouterr().err
    assert "cannot open video junk.mp4" in err
