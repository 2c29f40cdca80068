"""The Review dock: the model's disagreements with the labels, as a sortable, filterable table.

Rows are ``engine.review.Finding``s (kind, class, score, image, and whether the current model was
trained on that image). A kind filter narrows the list; clicking a row emits ``finding_activated``;
the Fix button (and the window's X shortcut, see ``app.review.controller``) emits ``fix_requested``.
The dock only shows and reports: the ``ReviewController`` runs the finder and applies fixes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
    Signal,
    Slot,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDockWidget,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

if TYPE_CHECKING:  # engine.review loads with the first review run, not with the window
    from engine.review import Finding

KIND_TEXT = {"missing": "missing", "spurious": "spurious", "wrong_class": "wrong class", "loose_box": "loose box"}
COLUMNS = ("Kind", "Class", "Score", "Image", "Trained on")
FindingRole = Qt.ItemDataRole.UserRole + 1
_Index = QModelIndex | QPersistentModelIndex

TRAINED_ON_NOTE = (
    "Findings come from the loaded model. A model trained on an image has learned its labels, mistakes "
    "included, so it rarely contradicts them: findings on images it was not trained on come first, and "
    "those it was trained on are marked. For the fairest check, review with a model trained on other images."
)


class FindingsModel(QAbstractTableModel):
    """The findings of the last run; ``trained`` holds the image ids the model was trained on."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._findings: list[Finding] = []
        self._trained: set[int] = set()

    def set_findings(self, findings: Sequence[Finding], trained: set[int] | None = None) -> None:
        self.beginResetModel()
        self._trained = set(trained or ())
        # held-out images first (their findings are stronger evidence), then by score
        self._findings = sorted(findings, key=lambda f: (f.image_id in self._trained, -f.score))
        self.endResetModel()

    def findings(self) -> list[Finding]:
        return list(self._findings)

    def is_trained_on(self, finding: Finding) -> bool:
        return finding.image_id in self._trained

    def remove(self, finding: Finding) -> None:
        if finding in self._findings:
            row = self._findings.index(finding)
            self.beginRemoveRows(QModelIndex(), row, row)
            del self._findings[row]
            self.endRemoveRows()

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008, N802 - Qt's signature
        return 0 if parent.isValid() else len(self._findings)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:  # noqa: N802
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        f = self._findings[index.row()]
        column = index.column()
        if role == FindingRole:
            return f
        if role == Qt.ItemDataRole.DisplayRole:
            trained = "yes" if self.is_trained_on(f) else ""
            return (KIND_TEXT[f.kind], f.class_name, f"{f.score:.2f}", f.image, trained)[column]
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{KIND_TEXT[f.kind]}: {f.fix} (X)" + (f" · IoU {f.iou:.2f}" if f.iou else "")
        if role == Qt.ItemDataRole.UserRole and column == 2:
            return f.score  # numeric sort for the score column
        return None


class KindFilterProxy(QSortFilterProxyModel):
    """Shows one kind of finding, or all."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.kind = "all"

    def set_kind(self, kind: str) -> None:
        self.kind = kind
        self.invalidate()

    def filterAcceptsRow(self, source_row: int, source_parent: _Index) -> bool:  # noqa: N802
        if self.kind == "all":
            return True
        f = self.sourceModel().index(source_row, 0, source_parent).data(FindingRole)
        return f is not None and f.kind == self.kind


class ReviewDock(QDockWidget):
    """See the module docstring."""

    run_requested = Signal()
    finding_activated = Signal(object)  # Finding
    fix_requested = Signal(object)  # Finding

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Review", parent)
        self.setObjectName("review_dock")
        self.model = FindingsModel(self)
        self.proxy = KindFilterProxy(self)
        self.proxy.setSourceModel(self.model)
        self.run_button = QPushButton("Find label errors")
        self.run_button.setObjectName("review_run")
        self.run_button.setToolTip("Run the loaded model on the reviewed and labelled images and list where it "
                                   "disagrees with your labels")
        self.kind_combo = QComboBox()
        self.kind_combo.setObjectName("review_kind")
        self.kind_combo.addItem("all kinds", "all")
        for kind, text in KIND_TEXT.items():  # engine.review.FINDING_KINDS, in order
            self.kind_combo.addItem(text, kind)
        self.fix_button = QPushButton("Fix (X)")
        self.fix_button.setObjectName("review_fix")
        self.fix_button.setEnabled(False)
        self.table = QTableView()
        self.table.setObjectName("review_table")
        self.table.setModel(self.proxy)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        self.status_label = QLabel("Load a model, then find label errors.")
        self.status_label.setObjectName("review_status")
        self.status_label.setWordWrap(True)
        self.note = QLabel(TRAINED_ON_NOTE)
        self.note.setObjectName("review_note")
        self.note.setWordWrap(True)
        self.note.setStyleSheet("color: palette(mid); font-size: small;")

        top = QHBoxLayout()
        top.addWidget(self.run_button)
        top.addWidget(self.kind_combo, 1)
        top.addWidget(self.fix_button)
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(top)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.status_label)
        layout.addWidget(self.note)
        self.setWidget(body)

        self.run_button.clicked.connect(self.run_requested)
        self.fix_button.clicked.connect(self._on_fix_button_clicked)
        self.kind_combo.currentIndexChanged.connect(self._on_kind_combo_changed)
        self.table.clicked.connect(self._on_table_clicked)
        self.table.activated.connect(self._on_table_clicked)
        self.table.selectionModel().selectionChanged.connect(self._on_selection_changed)

    # --- public API -------------------------------------------------------------------------
    def set_findings(self, findings: Sequence[Finding], trained: set[int] | None = None) -> None:
        self.model.set_findings(findings, trained)
        self._on_selection_changed()

    def set_kind(self, kind: str) -> None:
        self.kind_combo.setCurrentIndex(max(0, self.kind_combo.findData(kind)))

    def visible_findings(self) -> list[Finding]:
        return [self.proxy.index(r, 0).data(FindingRole) for r in range(self.proxy.rowCount())]

    def selected_finding(self) -> Finding | None:
        rows = self.table.selectionModel().selectedRows()
        return rows[0].data(FindingRole) if rows else None

    def select_finding(self, finding: Finding) -> None:
        for r in range(self.proxy.rowCount()):
            if self.proxy.index(r, 0).data(FindingRole) == finding:
                self.table.selectRow(r)
                return

    def remove_finding(self, finding: Finding) -> None:
        """Drop a fixed finding; the next one in the list becomes selected."""
        row = next((r for r in range(self.proxy.rowCount()) if self.proxy.index(r, 0).data(FindingRole) == finding), -1)
        self.model.remove(finding)
        if row >= 0 and self.proxy.rowCount():
            self.table.selectRow(min(row, self.proxy.rowCount() - 1))

    # --- slots ------------------------------------------------------------------------------
    @Slot(int)
    def _on_kind_combo_changed(self, index: int) -> None:
        self.proxy.set_kind(self.kind_combo.itemData(index) or "all")

    @Slot(QModelIndex)
    def _on_table_clicked(self, index: QModelIndex) -> None:
        finding = index.data(FindingRole)
        if finding is not None:
            self.finding_activated.emit(finding)

    @Slot()
    def _on_fix_button_clicked(self) -> None:
        finding = self.selected_finding()
        if finding is not None:
            self.fix_requested.emit(finding)

    @Slot()
    def _on_selection_changed(self, *args: Any) -> None:
        self.fix_button.setEnabled(self.selected_finding() is not None)
