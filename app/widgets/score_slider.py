"""The score threshold control: a slider 0..1 that hides predictions below it (no re-run)."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSlider, QWidget

STEPS = 100


class ScoreSlider(QWidget):
    """Two-way bound to ``Document.score_thresh``."""

    def __init__(self, document: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("score_slider")
        self._document = document
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setObjectName("score_thresh")
        self.slider.setRange(0, STEPS)
        self.slider.setFixedWidth(160)
        self.slider.setToolTip("Hide predictions scoring below this threshold")
        self.value_label = QLabel()
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 0, 6, 0)
        layout.addWidget(QLabel("Score ≥"))
        layout.addWidget(self.slider)
        layout.addWidget(self.value_label)
        layout.addStretch(1)  # keep label, slider and value together at the left of the toolbar
        self._on_document_score_thresh_changed(document.score_thresh)
        self.slider.valueChanged.connect(self._on_slider_value_changed)
        document.score_thresh_changed.connect(self._on_document_score_thresh_changed)

    def set_value(self, thresh: float) -> None:
        self.slider.setValue(round(thresh * STEPS))

    @Slot(int)
    def _on_slider_value_changed(self, value: int) -> None:
        self._document.set_score_thresh(value / STEPS)
        self.value_label.setText(f"{value / STEPS:.2f}")

    @Slot(float)
    def _on_document_score_thresh_changed(self, thresh: float) -> None:
        self.slider.blockSignals(True)
        self.slider.setValue(round(thresh * STEPS))
        self.slider.blockSignals(False)
        self.value_label.setText(f"{thresh:.2f}")
