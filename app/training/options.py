"""The Train panel's settings form: data, validation, starting point, hyper-parameters, device.

It holds no state beyond its widgets: :meth:`TrainOptionsForm.options` reads them into a frozen
:class:`TrainOptions`, :meth:`set_options` writes one back (tests and "Resume" use it), and
:meth:`TrainOptions.to_config` turns the options into the ``TrainConfig`` that ``engine.train.fit``
takes. Changing α or γ redraws the FL-vs-CE plot beside them.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Literal

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.training.focal_plot import FocalLossPlot
from app.training.start_choice import StartChoiceView
from app.training.train_worker import default_num_threads
from engine.start import StartChoice
from engine.types import ARCHS, TrainConfig

DataScope = Literal["reviewed", "confirmed"]
ValMode = Literal["auto", "marked"]
StartFrom = Literal["auto", "current", "coco", "imagenet", "scratch"]

_SCOPES: tuple[tuple[str, str], ...] = (
    ("reviewed", "Reviewed images and their boxes"),
    ("confirmed", "All images whose boxes are all confirmed"),
)
_VAL_MODES: tuple[tuple[str, str], ...] = (
    ("auto", "Automatic 20 % (fixed seed)"),
    ("marked", "Images I marked for validation"),
)
_STARTS: tuple[tuple[str, str], ...] = (
    ("auto", "Best available"),  # app.training.start_choice says which, and why
    ("current", "The current model (fine-tune)"),
    ("coco", "COCO-pretrained RetinaNet"),
    ("imagenet", "ImageNet backbone"),
    ("scratch", "Scratch (random weights)"),
)
_DEVICES: tuple[tuple[str, str], ...] = (("auto", "auto"), ("cuda", "cuda"), ("cpu", "cpu"))


@dataclass(frozen=True)
class TrainOptions:
    """What the form shows; ``to_config`` adds the data and output paths."""

    scope: DataScope = "reviewed"
    val_mode: ValMode = "auto"
    val_fraction: float = 0.2
    seed: int = 0
    start_from: StartFrom = "auto"
    arch: str = "retinanet_mobilenet_v3_fpn"
    epochs: int = 10
    batch_size: int = 4
    image_size: int = 512
    lr: float = 0.01
    alpha: float = 0.25
    gamma: float = 2.0
    device: str = "auto"
    num_threads: int = dataclasses.field(default_factory=default_num_threads)

    def replace(self, **changes: object) -> TrainOptions:
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]

    def to_config(
        self, *, data: str, out: str, val: str | None, fmt: str = "coco", init_checkpoint: str | None = None,
        current_arch: str | None = None, best_start: StartChoice | None = None,
    ) -> TrainConfig:
        """The ``TrainConfig`` for these options.

        "The current model" is the model on screen: a checkpoint (``init_checkpoint``; its own arch is
        used) or torchvision's COCO detector of ``current_arch`` (fine-tuned from those weights).
        "Best available" is ``best_start`` (``app.training.start_choice``). Raises ``ValueError`` when
        "current" is chosen and neither is given, or "auto" without ``best_start``.
        """
        pretrained = {"coco": "coco", "imagenet": "imagenet"}.get(self.start_from, "none")
        arch, init = self.arch, None
        if self.start_from == "auto":
            if best_start is None:
                raise ValueError("no starting point was chosen: pick one under Start from")
            arch, pretrained, init = best_start.arch, best_start.pretrained, best_start.init_checkpoint
        elif self.start_from == "current":
            if init_checkpoint is not None:
                init = init_checkpoint
            elif current_arch is not None:
                arch, pretrained = current_arch, "coco"
            else:
                raise ValueError("the model on screen cannot be fine-tuned (none is loaded, or it is an "
                                 "ONNX export): load a checkpoint (Model menu) or choose another starting point")
        return TrainConfig(
            data=data,
            out=out,
            format=fmt,
            val=val,
            arch=arch,
            pretrained=pretrained,
            init_checkpoint=init,
            epochs=self.epochs,
            batch_size=self.batch_size,
            image_size=self.image_size,
            lr=self.lr,
            alpha=self.alpha,
            gamma=self.gamma,
            val_fraction=self.val_fraction,
            seed=self.seed,
            device=self.device,
            num_threads=self.num_threads,
        )


def _combo(object_name: str, items: tuple[tuple[str, str], ...]) -> QComboBox:
    combo = QComboBox()
    combo.setObjectName(object_name)
    for key, text in items:
        combo.addItem(text, key)
    return combo


def _spin(object_name: str, lo: int, hi: int, step: int = 1) -> QSpinBox:
    spin = QSpinBox()
    spin.setObjectName(object_name)
    spin.setRange(lo, hi)
    spin.setSingleStep(step)
    return spin


def _dspin(object_name: str, lo: float, hi: float, step: float, decimals: int) -> QDoubleSpinBox:
    spin = QDoubleSpinBox()
    spin.setObjectName(object_name)
    spin.setRange(lo, hi)
    spin.setSingleStep(step)
    spin.setDecimals(decimals)
    return spin


class TrainOptionsForm(QWidget):
    """Data scope, validation, starting point, arch and hyper-parameters, with the focal-loss plot."""

    options_changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("train_options")
        self.scope = _combo("scope_combo", _SCOPES)
        self.val_mode = _combo("val_mode_combo", _VAL_MODES)
        self.start_from = _combo("start_combo", _STARTS)
        self.start_choice = StartChoiceView()  # the panel keeps it resolved
        self.arch = _combo("arch_combo", tuple((a, a) for a in ARCHS))
        self.epochs = _spin("epochs_spin", 1, 1000)
        self.batch_size = _spin("batch_spin", 1, 256)
        self.image_size = _spin("image_size_spin", 64, 2048, 32)
        self.lr = _dspin("lr_spin", 1e-6, 1.0, 0.001, 5)
        self.alpha = _dspin("alpha_spin", 0.0, 1.0, 0.05, 2)
        self.gamma = _dspin("gamma_spin", 0.0, 10.0, 0.5, 2)
        self.device = _combo("device_combo", _DEVICES)
        self.threads = _spin("threads_spin", 1, 256)
        self.threads.setToolTip("CPU threads for training; the default leaves one core to the app")
        self.focal_plot = FocalLossPlot()
        self._seed = 0
        self._val_fraction = 0.2

        data_box = QGroupBox("Data")
        data_form = QFormLayout(data_box)
        data_form.addRow("Train on", self.scope)
        data_form.addRow("Validation", self.val_mode)
        model_box = QGroupBox("Model")
        model_form = QFormLayout(model_box)
        model_form.addRow("Start from", self.start_from)
        model_form.addRow(self.start_choice)
        model_form.addRow("Architecture", self.arch)
        model_form.addRow("Epochs", self.epochs)
        model_form.addRow("Batch size", self.batch_size)
        model_form.addRow("Image size", self.image_size)
        model_form.addRow("Learning rate", self.lr)
        model_form.addRow("Device", self.device)
        model_form.addRow("CPU threads", self.threads)
        focal_box = QGroupBox("Focal loss")
        focal_layout = QHBoxLayout(focal_box)
        focal_form = QFormLayout()
        focal_form.addRow("α", self.alpha)
        focal_form.addRow("γ", self.gamma)
        focal_layout.addLayout(focal_form)
        focal_layout.addWidget(self.focal_plot, 1)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(data_box)
        layout.addWidget(model_box)
        layout.addWidget(focal_box, 1)

        self.set_options(TrainOptions())
        self.alpha.valueChanged.connect(self._on_focal_changed)
        self.gamma.valueChanged.connect(self._on_focal_changed)
        for combo in (self.scope, self.val_mode, self.start_from, self.arch, self.device):
            combo.currentIndexChanged.connect(self.options_changed)
        for spin in (self.epochs, self.batch_size, self.image_size, self.lr, self.threads):
            spin.valueChanged.connect(self.options_changed)

    @Slot()
    def _on_focal_changed(self) -> None:
        self.focal_plot.set_params(self.alpha.value(), self.gamma.value())
        self.options_changed.emit()

    def options(self) -> TrainOptions:
        return TrainOptions(
            scope=self.scope.currentData(),
            val_mode=self.val_mode.currentData(),
            val_fraction=self._val_fraction,
            seed=self._seed,
            start_from=self.start_from.currentData(),
            arch=self.arch.currentData(),
            epochs=self.epochs.value(),
            batch_size=self.batch_size.value(),
            image_size=self.image_size.value(),
            lr=self.lr.value(),
            alpha=self.alpha.value(),
            gamma=self.gamma.value(),
            device=self.device.currentData(),
            num_threads=self.threads.value(),
        )

    def set_options(self, options: TrainOptions) -> None:
        """Show ``options``; a value the widgets cannot hold raises ``ValueError``."""
        for combo, key in (
            (self.scope, options.scope),
            (self.val_mode, options.val_mode),
            (self.start_from, options.start_from),
            (self.arch, options.arch),
            (self.device, options.device),
        ):
            index = combo.findData(key)
            if index < 0:
                raise ValueError(f"{combo.objectName()}: no choice {key!r}")
            combo.setCurrentIndex(index)
        self.epochs.setValue(options.epochs)
        self.batch_size.setValue(options.batch_size)
        self.image_size.setValue(options.image_size)
        self.lr.setValue(options.lr)
        self.alpha.setValue(options.alpha)
        self.gamma.setValue(options.gamma)
        self.threads.setValue(options.num_threads)
        self._seed, self._val_fraction = options.seed, options.val_fraction
        self.focal_plot.set_params(options.alpha, options.gamma)
        self.val_mode.setItemText(
            0, f"Automatic {options.val_fraction:.0%} (fixed seed {options.seed})".replace("%", " %")
        )

    def set_current_model_available(self, title: str | None) -> None:
        """Name the current model in the "Start from" choice (or say there is none)."""
        text = f"The current model: {title}" if title else "The current model (none loaded yet)"
        self.start_from.setItemText(self.start_from.findData("current"), text)
