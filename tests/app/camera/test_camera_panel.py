"""CameraPanel end to end: live view with detections drawn, grab into the project, errors, install."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QMainWindow, QSlider

from app.camera import CameraPanel, install_camera
from engine.video import label_colour

pytestmark = pytest.mark.gui


@pytest.fixture
def make_panel(qtbot):
    panels: list[CameraPanel] = []

    def make(project=None, detector=None) -> CameraPanel:
        panel = CameraPanel(lambda: project, lambda: detector)
        qtbot.addWidget(panel)
        panel.resize(400, 360)
        panel.show()
        panels.append(panel)
        return panel

    yield make
    for panel in panels:
        panel.shutdown()


def _wait_frame(qtbot, panel: CameraPanel, index: int | None = None) -> None:
    def shown() -> bool:
        frame = panel.view.current_frame()
        return frame is not None and (index is None or frame.index == index)

    qtbot.waitUntil(shown, timeout=5000)


def test_detections_arrive_off_the_gui_thread_and_are_drawn(qtbot, make_panel, make_clip, detector) -> None:
    panel = make_panel(detector=detector)
    with qtbot.waitSignal(panel.source_opened, timeout=5000):
        panel.open_video(make_clip(num_frames=24, fps=60.0))
    _wait_frame(qtbot, panel, 23)  # played to the end: the worker pauses on the last frame
    qtbot.waitUntil(lambda: not panel.is_playing, timeout=2000)
    frame_index = panel.view.current_frame().index
    qtbot.waitUntil(lambda: panel.view.current_detections().frame_index == frame_index, timeout=3000)
    assert threading.main_thread().name not in detector.threads

    image = panel.view.grab().toImage()
    target = panel.view.image_rect()
    scale = target.width() / 64
    x1 = 10.0  # FakeDetector.box's left edge
    expected = QColor(*label_colour("thing"))
    left_edge = image.pixelColor(round(target.x() + x1 * scale), round(target.y() + 30 * scale))
    inside = image.pixelColor(round(target.x() + 30 * scale), round(target.y() + 30 * scale))
    assert _close(left_edge, expected), (left_edge.name(), expected.name())
    assert not _close(inside, expected)
    assert panel.view.detector_fps() > 0
    assert panel.view.box_delay_s() is not None and panel.view.box_delay_s() >= 0
    assert "detector" in panel.view.stats_text()

    panel.set_detection_enabled(False)  # boxes go away with detection off
    assert panel.view.current_detections() is None


def _close(a: QColor, b: QColor, tol: int = 40) -> bool:
    return abs(a.red() - b.red()) + abs(a.green() - b.green()) + abs(a.blue() - b.blue()) < tol


def test_seek_slider_shows_that_frame_while_paused(qtbot, make_panel, make_clip) -> None:
    panel = make_panel()
    panel.open_source(lambda: __import__("engine.video").video.CaptureSource(make_clip(num_frames=30)),
                      name="clip", start_paused=True)
    qtbot.waitUntil(lambda: panel.source_info is not None, timeout=5000)
    slider = panel.findChild(QSlider, "cameraSeek")
    assert slider.isEnabled() and slider.maximum() == 29
    slider.setValue(17)
    _wait_frame(qtbot, panel, 17)
    assert not panel.is_playing


def test_grab_frame_lands_in_the_project_with_its_predictions(qtbot, make_panel, make_clip, project,
                                                             detector) -> None:
    panel = make_panel(project=project, detector=detector)
    panel.open_video(make_clip("walk.mp4", num_frames=20, fps=30.0))
    _wait_frame(qtbot, panel)
    panel.pause()
    panel.activateWindow()
    qtbot.waitActive(panel)
    panel.view.setFocus()
    with qtbot.waitSignal(panel.frame_grabbed, timeout=10000) as grabbed:
        qtbot.keyClick(panel.view, Qt.Key.Key_G)  # the Grab Frame key
    image_id, path = grabbed.args
    path = Path(path)
    assert path.parent == project.folder / "captures" and path.suffix == ".png" and path.is_file()
    assert path.name == f"walk_f{panel.view.current_frame().index:06d}.png"
    record = project.image(image_id)
    assert record.path == f"captures/{path.name}" and record.status == "predicted"
    boxes = project.boxes(record)
    assert [(b.label, b.source, b.score) for b in boxes] == [("thing", "predicted", pytest.approx(0.9))]
    assert boxes[0].xyxy == (10.0, 8.0, 50.0, 40.0)


def test_grab_without_a_project_says_so(qtbot, make_panel, make_clip) -> None:
    panel = make_panel(project=None)
    panel.open_video(make_clip())
    _wait_frame(qtbot, panel)
    with qtbot.waitSignal(panel.error_reported, timeout=2000) as blocker:
        panel.grab_frame()
    assert "Open a project first" in blocker.args[0]


def test_live_view_without_a_model_says_how_to_get_boxes(qtbot, make_panel, make_clip) -> None:
    panel = make_panel(detector=None)
    panel.open_video(make_clip())
    qtbot.waitUntil(lambda: "No model loaded" in panel.controls.status_label.text(), timeout=5000)
    assert panel.view.current_detections() is None


def test_add_every_nth_frame_of_a_video(qtbot, make_panel, make_clip, project) -> None:
    panel = make_panel(project=project)
    panel.open_video(make_clip("tour.avi", num_frames=24, fps=60.0))
    _wait_frame(qtbot, panel)
    with qtbot.waitSignal(panel.frames_added, timeout=10000) as added:
        panel.add_every_nth(5)
    assert added.args == [5, 5]
    paths = sorted(r.path for r in project.images())
    assert paths == [f"captures/tour_f{i:06d}.png" for i in (0, 5, 10, 15, 20)]


def test_camera_that_cannot_open_reports_and_the_panel_stays_usable(qtbot, make_panel, make_clip,
                                                                    fake_camera_cls) -> None:
    panel = make_panel()
    with qtbot.waitSignal(panel.error_reported, timeout=5000) as blocker:
        panel.open_source(lambda: fake_camera_cls(fail_open=True), name="camera 7")
    assert blocker.args[0].startswith("cannot open camera 7")
    assert "cannot open camera 7" in panel.view.message()
    assert "cannot open camera 7" in panel.controls.status_label.text()
    assert not panel.controls.play_button.isEnabled()
    # the app carries on: another source opens and plays
    panel.open_video(make_clip())
    _wait_frame(qtbot, panel)
    assert panel.view.message() == ""


def test_camera_unplugged_mid_stream_reports_and_keeps_the_last_frame(qtbot, make_panel, fake_camera_cls,
                                                                      detector) -> None:
    panel = make_panel(detector=detector)
    camera = fake_camera_cls(frames_before_unplug=5)
    with qtbot.waitSignal(panel.error_reported, timeout=5000) as blocker:
        panel.open_source(lambda: camera, name="fake camera")
    assert "unplugged" in blocker.args[0]
    qtbot.waitUntil(lambda: camera.closed, timeout=2000)
    assert panel.view.current_frame().index == 4
    assert "unplugged" in panel.view.message()
    qtbot.waitUntil(lambda: not panel.controls.play_button.isEnabled(), timeout=2000)


def test_install_camera_adds_a_menu_and_opens_grabbed_frames(qtbot, make_clip, project, detector) -> None:
    window = QMainWindow()
    qtbot.addWidget(window)
    opened: list[int] = []
    dock, actions = install_camera(window, project_provider=lambda: project,
                                   detector_provider=lambda: detector, open_image=opened.append)
    try:
        titles = [a.text() for a in window.menuBar().actions()]
        assert "&Camera" in titles
        assert dock.isHidden() and window.findChild(type(dock), "cameraDock") is dock
        window.show()
        dock.open_video(make_clip(num_frames=20, fps=30.0))
        assert dock.isVisible()
        qtbot.waitUntil(lambda: dock.panel.view.current_frame() is not None, timeout=5000)
        with qtbot.waitSignal(dock.panel.frame_grabbed, timeout=10000) as grabbed:
            actions.grab.trigger()
        assert opened == [grabbed.args[0]]
        actions.close.trigger()
        assert not dock.panel.is_open
    finally:
        dock.panel.shutdown()


def test_switching_off_a_slow_detector_does_not_freeze_the_view(qtbot, make_panel, make_clip,
                                                                fake_detector_cls) -> None:
    import time

    slow = fake_detector_cls(delay_s=0.8)
    panel = make_panel(detector=slow)
    panel.open_video(make_clip(num_frames=60, fps=30.0))
    qtbot.waitUntil(lambda: slow.calls >= 1, timeout=5000)  # a frame is in the detector now
    started = time.perf_counter()
    panel.set_detection_enabled(False)
    assert time.perf_counter() - started < 0.3  # did not wait for the detector's frame
    shown = panel.view.frames_shown
    qtbot.waitUntil(lambda: panel.view.frames_shown > shown + 5, timeout=3000)  # still playing
    assert panel.view.current_detections() is None
