"""The status bar: transient messages, the model's state and whether the last edit was saved."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Slot
from PySide6.QtWidgets import QLabel, QStatusBar, QWidget

from app.text import plural

# a message starting with one of these is an error: it clears itself after ERROR_TIMEOUT_MS, so it is not
# read later as being about what is on screen then
ERROR_PREFIXES = ("Model not loaded", "Detection failed", "Could not", "Cannot", "Export failed", "Import failed",
                  "Sort order not saved", "Nothing to")


class StatusBarView(QStatusBar):
    """Left: the latest message. Right: model state, then save state."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("status_bar")
        self.model_label = QLabel("No model")
        self.model_label.setObjectName("model_state")
        self.saved_label = QLabel("")
        self.saved_label.setObjectName("save_state")
        self.addPermanentWidget(self.model_label)
        self.addPermanentWidget(self.saved_label)
        self.last_message = ""
        self.error_timeout_ms = 15_000

    @Slot(str)
    def show_message(self, text: str) -> None:
        self.last_message = text
        is_error = text.startswith(ERROR_PREFIXES) or " failed" in text.split(":", 1)[0]
        self.showMessage(text, self.error_timeout_ms if is_error else 0)

    @Slot(bool)
    def on_model_loading(self, loading: bool) -> None:
        if loading:
            self.model_label.setText("Model: loading…")

    @Slot(object)
    def on_model_ready(self, info: Any) -> None:
        backend = getattr(info, "backend", "")
        self.model_label.setText(f"Model: {info.title} ✓ ready" + (f" · {backend}" if backend else ""))
        self.model_label.setToolTip(f"{info.arch}, {plural(info.num_classes, 'class', 'classes')}, {info.device}"
                                    + (f", run by {backend}" if backend else ""))

    @Slot(str)
    def on_model_failed(self, message: str) -> None:
        if "✓ ready" not in self.model_label.text():
            self.model_label.setText("No model")
        self.show_message(f"Model not loaded: {message}")

    @Slot(str)
    def on_saved(self, text: str) -> None:
        self.saved_label.setText("✓ " + (text or "saved"))
        self.saved_label.setStyleSheet("")

    @Slot(str)
    def on_save_failed(self, message: str) -> None:
        self.saved_label.setText("not saved")
        self.saved_label.setStyleSheet("color: #c62828")
        self.show_message(message)
