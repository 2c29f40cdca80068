"""The camera panel's buttons, slider and readouts, built and laid out in one place.

``build_controls(panel, view)`` lays out the panel (view on top, a transport row, an actions row, a
status line) and returns the widgets as a ``CameraControls`` record; the panel wires them. Every
widget has an ``objectName`` (``cameraPlayPause``, ``cameraSeek``, ``cameraGrab`` ...) for tests and
style sheets.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QCheckBox, QDoubleSpinBox, QHBoxLayout, QLabel, QPushButton, QSlider,
                               QSpinBox, QVBoxLayout, QWidget)


@dataclass(frozen=True)
class CameraControls:
    play_button: QPushButton
    seek_slider: QSlider
    time_label: QLabel
    detect_check: QCheckBox
    score_spin: QDoubleSpinBox
    grab_button: QPushButton
    every_spin: QSpinBox
    add_button: QPushButton
    close_button: QPushButton
    status_label: QLabel


def build_controls(panel: QWidget, view: QWidget) -> CameraControls:
    """Create the controls as children of ``panel`` and lay out ``panel`` around ``view``."""
    c = CameraControls(
        play_button=QPushButton("Play", objectName="cameraPlayPause", toolTip="Play / pause (Space)"),
        seek_slider=QSlider(Qt.Orientation.Horizontal, objectName="cameraSeek"),
        time_label=QLabel("", objectName="cameraTime"),
        detect_check=QCheckBox("Detect", objectName="cameraDetect", checked=True,
                               toolTip="Run the current model on the newest frame"),
        score_spin=QDoubleSpinBox(objectName="cameraScore", minimum=0.0, maximum=1.0, singleStep=0.05,
                                  value=0.3, decimals=2, prefix="min score "),
        grab_button=QPushButton("Grab Frame (G)", objectName="cameraGrab",
                                toolTip="Save this frame into the project (captures/) with its detections"),
        every_spin=QSpinBox(objectName="cameraEveryN", minimum=1, maximum=10000, value=10,
                            prefix="every ", suffix=" frames"),
        add_button=QPushButton("Add Frames", objectName="cameraAddEveryN",
                               toolTip="Add every N-th frame of this video to the project (captures/)"),
        close_button=QPushButton("Close", objectName="cameraClose"),
        status_label=QLabel("", objectName="cameraStatus", wordWrap=True),
    )
    transport = QHBoxLayout()
    transport.addWidget(c.play_button)
    transport.addWidget(c.seek_slider, 1)
    transport.addWidget(c.time_label)
    actions = QHBoxLayout()
    actions.addWidget(c.detect_check)
    actions.addWidget(c.score_spin)
    actions.addStretch(1)
    for widget in (c.grab_button, c.every_spin, c.add_button, c.close_button):
        actions.addWidget(widget)
    layout = QVBoxLayout(panel)
    layout.setContentsMargins(4, 4, 4, 4)
    layout.addWidget(view, 1)
    layout.addLayout(transport)
    layout.addLayout(actions)
    layout.addWidget(c.status_label)
    return c
