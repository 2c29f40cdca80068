"""Every model trained for this project, with its metrics; pick one to switch back to it.

A view of ``Project.models()`` (newest first): when it was trained, AP / AP50 on its validation
split, the AP of the model it started from, epochs, and the checkpoint file. "Use selected model"
emits ``model_chosen(path)``; the panel forwards that to the model worker (a hot swap, no restart).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

_COLUMNS = ("Trained", "AP", "AP50", "AP before", "Epochs", "Arch", "Checkpoint")


RECORDED_METRICS = ("AP", "AP50", "AP75", "epoch")


def fmt_metric(value: Any) -> str:
    """A metric as shown in the panel: three decimals, or a dash when there is none."""
    return f"{value:.3f}" if isinstance(value, (int, float)) else "—"


def history_metrics(metrics_before: Mapping[str, Any], metrics_after: Mapping[str, Any],
                    config: Any) -> dict[str, Any]:
    """What ``Project.add_model`` stores for a finished run: the validation metrics after training
    (numbers only), ``AP_before`` (the starting model's AP) and the run's epochs, arch and image size."""
    metrics: dict[str, Any] = {k: float(metrics_after[k]) for k in RECORDED_METRICS
                               if isinstance(metrics_after.get(k), (int, float))}
    if isinstance(metrics_before.get("AP"), (int, float)):
        metrics["AP_before"] = float(metrics_before["AP"])
    metrics.update(epochs=config.epochs, arch=config.arch, image_size=config.image_size)
    return metrics



class ModelHistoryWidget(QWidget):
    """Table of trained models; double-click or "Use selected model" switches to one."""

    model_chosen = Signal(str)  # checkpoint path

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("model_history")
        self._table = QTableWidget(0, len(_COLUMNS))
        self._table.setObjectName("model_history_table")
        self._table.setHorizontalHeaderLabels(list(_COLUMNS))
        self._table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self._table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self._table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self._table.verticalHeader().setVisible(False)
        self._table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self._table.horizontalHeader().setStretchLastSection(True)
        self._table.itemDoubleClicked.connect(self._on_table_double_clicked)
        self._table.itemSelectionChanged.connect(self._on_table_selection_changed)
        self._use = QPushButton("Use selected model")
        self._use.setObjectName("use_history_model_button")
        self._use.setEnabled(False)
        self._use.clicked.connect(self.use_selected)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self._use)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self._table, 1)
        layout.addLayout(buttons)
        self._paths: list[str] = []
        self._current: str | None = None

    def set_models(self, records: Sequence[Any]) -> None:
        """Show ``records`` (``ModelRecord``: id, path, created, metrics), newest first."""
        rows = sorted(records, key=lambda r: r.created, reverse=True)
        self._table.setRowCount(len(rows))
        self._paths = []
        for row, record in enumerate(rows):
            metrics = dict(record.metrics or {})
            path = str(record.path)
            values = (
                time.strftime("%Y-%m-%d %H:%M", time.localtime(record.created)),
                fmt_metric(metrics.get("AP")),
                fmt_metric(metrics.get("AP50")),
                fmt_metric(metrics.get("AP_before")),
                str(metrics.get("epochs", "—")),
                str(metrics.get("arch", "—")),
                Path(path).parent.name + "/" + Path(path).name,
            )
            for column, text in enumerate(values):
                item = QTableWidgetItem(text)
                item.setToolTip(path)
                if column in (1, 2, 3, 4):
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self._table.setItem(row, column, item)
            self._paths.append(path)
        self._mark_current()

    def set_current(self, path: str | None) -> None:
        """Bold the row of the model now in use."""
        self._current = path
        self._mark_current()

    def paths(self) -> list[str]:
        """Checkpoint paths in display order (newest first)."""
        return list(self._paths)

    def select_row(self, row: int) -> None:
        self._table.selectRow(row)

    @Slot()
    def use_selected(self) -> None:
        rows = self._table.selectionModel().selectedRows()
        if rows:
            self.model_chosen.emit(self._paths[rows[0].row()])

    @Slot(QTableWidgetItem)
    def _on_table_double_clicked(self, item: QTableWidgetItem) -> None:
        self.model_chosen.emit(self._paths[item.row()])

    @Slot()
    def _on_table_selection_changed(self) -> None:
        self._use.setEnabled(bool(self._table.selectionModel().selectedRows()))

    def _mark_current(self) -> None:
        for row, path in enumerate(self._paths):
            for column in range(self._table.columnCount()):
                item = self._table.item(row, column)
                if item is not None:
                    font = item.font()
                    font.setBold(path == self._current)
                    item.setFont(font)
