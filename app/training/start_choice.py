"""The Train panel's "Starts from" line: which weights a run starts from, and why.

``StartChoiceView`` sits under the "Start from" choice. With "Best available" it shows the start that
``engine.start.choose_start`` picks (the current model, cached ImageNet/COCO weights, the shipped
procedurally pretrained model, random weights) and its reason; a person reads, e.g., "Starts from:
procedural pretrained model — No model of this project yet and …". When the ImageNet backbone would
be the better start but is not in the cache and the machine is online, a "Download ImageNet backbone"
button asks for it (``download_requested(arch)``: the window runs the Model menu's download dialog).
Resolving looks at a few files and imports no torch, so it runs on the GUI thread on every change.
"""

from __future__ import annotations

from typing import Any, Sequence

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import QLabel, QPushButton, QVBoxLayout, QWidget

from engine.start import StartChoice, choose_start, given_start, head_start_model


def start_for_options(options: Any, *, current_checkpoint: str | None, current_coco_arch: str | None,
                  class_names: Sequence[str]) -> StartChoice:
    """The start ``options.start_from`` means with this model on screen and these project classes."""
    if options.start_from == "auto":
        return choose_start(options.arch, current_checkpoint=head_start_model(current_checkpoint, class_names),
                            current_coco_arch=current_coco_arch)
    if options.start_from == "current":
        if current_checkpoint or current_coco_arch:
            return choose_start(options.arch, current_checkpoint=current_checkpoint,
                                current_coco_arch=current_coco_arch)
        return StartChoice("current", options.arch, label="the current model",
                           reason="none is loaded yet: load one (Model menu) or choose another start")
    pretrained = "none" if options.start_from == "scratch" else options.start_from
    return given_start(pretrained, options.arch, "chosen above")


class StartChoiceView(QWidget):
    """The label (``start_choice_label``) and the download button (``download_imagenet_button``)."""

    download_requested = Signal(str)  # arch whose ImageNet backbone to fetch

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("start_choice")
        self.choice: StartChoice | None = None
        self._arch = ""
        self.label = QLabel()
        self.label.setObjectName("start_choice_label")
        self.label.setWordWrap(True)
        self.download_button = QPushButton("Download ImageNet backbone")
        self.download_button.setObjectName("download_imagenet_button")
        self.download_button.setToolTip("Fetch torchvision's ImageNet weights for this architecture's backbone "
                                        "(a better start than the procedural model); shared with torchvision's cache")
        self.download_button.clicked.connect(self._on_download_clicked)
        self.download_button.hide()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.label)
        layout.addWidget(self.download_button)

    def update_choice(self, options: Any, current_checkpoint: str | None, current_coco_arch: str | None,
                      project: Any) -> StartChoice:
        """Resolve and show the start of a run with ``options`` (a ``TrainOptions``) on ``project`` (or
        None) with this model on screen."""
        from engine.weights import ARCH_PRETRAINED, is_cached, is_offline

        choice = start_for_options(options, current_checkpoint=current_checkpoint, current_coco_arch=current_coco_arch,
                                   class_names=project.class_names() if project is not None else [])
        self.choice, self._arch = choice, options.arch
        self.label.setText(f"Starts from: {choice.describe()}")
        wants_imagenet = (choice.kind in ("procedural", "scratch") and options.start_from == "auto") or (
            options.start_from == "imagenet")
        self.download_button.setVisible(
            wants_imagenet and not is_offline() and "imagenet" in ARCH_PRETRAINED.get(options.arch, ())
            and not is_cached(options.arch, "imagenet"))
        return choice

    @Slot()
    def _on_download_clicked(self) -> None:
        self.download_requested.emit(self._arch)
