"""Camera › Collect uncertain frames on a video file: only frames the model is unsure about are saved
into the project (with their predictions and uncertainty), at most one every N seconds."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from app.camera import CameraPanel
from engine.types import Detection

pytestmark = pytest.mark.gui

NUM_FRAMES = 30
UNSURE_GREEN = (72, 128)  # frames 10-15 (green = 8 * index): the model scores them near the threshold


class GreenDetector:
    """One box per frame: score 0.32 (just above the 0.3 min score) on frames in UNSURE_GREEN, else 0.95."""

    class_names = ["thing"]

    def predict(self, images, score_thresh=0.05, batch_size=4):
        out = []
        for pixels in images:
            green = float(np.asarray(pixels)[..., 1].mean())
            score = 0.32 if UNSURE_GREEN[0] <= green < UNSURE_GREEN[1] else 0.95
            out.append([Detection(10.0, 8.0, 50.0, 40.0, "thing", score)])
        return out


@pytest.fixture
def panel(qtbot, project):
    panel = CameraPanel(lambda: project, GreenDetector)
    qtbot.addWidget(panel)
    panel.resize(480, 400)
    panel.show()
    yield panel
    panel.shutdown()


def _play_to_the_end(qtbot, panel: CameraPanel, clip: Path) -> None:
    panel.open_video(clip)
    qtbot.waitUntil(lambda: panel.view.current_frame() is not None
                    and panel.view.current_frame().index == NUM_FRAMES - 1, timeout=20_000)
    qtbot.wait(300)  # the last detection result
    qtbot.waitUntil(lambda: not panel.collector.busy, timeout=10_000)


def test_only_uncertain_frames_are_collected_with_predictions(qtbot, panel, project, make_clip) -> None:
    collector = panel.collector
    collector.interval_spin.setValue(0.0)
    assert collector.threshold_spin.value() == pytest.approx(0.8)
    collector.set_enabled(True)
    collected = []
    collector.collected.connect(collected.append)
    _play_to_the_end(qtbot, panel, make_clip("walk.avi", num_frames=NUM_FRAMES, fps=15.0))
    assert collected, "no uncertain frame was collected"
    records = project.images(order="uncertainty")
    assert {r.id for r in records} == {g.image_id for g in collected}
    for record in records:
        assert record.path.startswith("captures/walk_f") and record.status == "predicted"
        assert record.uncertainty == pytest.approx(1 - 0.02 / 0.7)
        green = np.asarray(Image.open(project.folder / record.path))[..., 1].mean()
        assert UNSURE_GREEN[0] - 8 <= green < UNSURE_GREEN[1] + 8  # an unsure frame, not a sure one
        assert [(b.label, b.score) for b in project.boxes(record)] == [("thing", pytest.approx(0.32))]


def test_at_most_one_frame_every_n_seconds_and_off_by_default(qtbot, panel, project, make_clip) -> None:
    clip = make_clip("walk.avi", num_frames=NUM_FRAMES, fps=15.0)
    assert not panel.collector.enabled
    _play_to_the_end(qtbot, panel, clip)
    assert project.images() == []  # nothing collected while switched off
    panel.close_source()
    panel.collector.interval_spin.setValue(3600.0)
    panel.collector.set_enabled(True)
    _play_to_the_end(qtbot, panel, clip)
    assert len(project.images()) == 1
