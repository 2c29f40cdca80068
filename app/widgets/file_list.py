"""The file list dock: every image of the project with its status, a text filter and a status filter.

A ``QAbstractListModel`` over the project's image records (10k images stay fast) in natural order
(``raccoon-2`` before ``raccoon-10``) or, with the sort box on "most uncertain first", by the
uncertainty the last detection pass stored (never-detected images last, in natural order);
navigation follows the order on screen (``ordered_ids``). Rows are filtered by a
``QSortFilterProxyModel``. Statuses are the store's ``new | predicted | reviewed`` plus
``unreadable`` for images that failed to decode (with the reason as tooltip). Clicking or pressing
Enter on a row emits ``image_activated(image_id)``; the navigator decides what is shown.
"""

from __future__ import annotations

import re
from typing import Any, Iterable, Sequence

from PySide6.QtCore import (
    QAbstractListModel,
    QModelIndex,
    QPersistentModelIndex,
    QSignalBlocker,
    QSortFilterProxyModel,
    Qt,
    QTimer,
    Signal,
    Slot,
)
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import (
    QComboBox,
    QDockWidget,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListView,
    QVBoxLayout,
    QWidget,
)

STATUS_COLOURS = {"new": "#9e9e9e", "predicted": "#1e88e5", "reviewed": "#43a047", "unreadable": "#e53935"}
FILTERS = ("all", "new", "predicted", "reviewed", "unreviewed", "unreadable")
SORT_ORDERS = {"name": "by name", "uncertainty": "most uncertain first"}  # stored value -> shown text
IdRole = Qt.ItemDataRole.UserRole + 1
StatusRole = Qt.ItemDataRole.UserRole + 2

_Index = QModelIndex | QPersistentModelIndex
_DIGITS = re.compile(r"(\d+)")


def natural_key(path: str) -> tuple[Any, ...]:
    """Sort key for a relative path that compares runs of digits as numbers (img-2 < img-10 <
    img-10b), ignores case and sorts folder by folder (``sub/x`` before ``sub2/x``)."""
    return tuple(_natural_name(name) for name in path.casefold().split("/")), path


def _natural_name(name: str) -> tuple[tuple[Any, ...], str]:
    stem, dot, ext = name.rpartition(".")
    if not stem:  # no extension (or a dot file)
        stem, ext = name, ""
    return tuple(int(p) if i % 2 else p for i, p in enumerate(_DIGITS.split(stem))), ext  # text, number, ...


class FileListModel(QAbstractListModel):
    """Rows: (image_id, relative path, status); ``unreadable`` overrides the stored status."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._ids: list[int] = []
        self._paths: list[str] = []
        self._status: dict[int, str] = {}
        self._unreadable: dict[int, str] = {}
        self._uncertainty: dict[int, float] = {}
        self._box_counts: dict[int, int] = {}  # shown after the name: "img.jpg  (3)"
        self.order_version = 0  # bumped whenever the "most uncertain first" order may change
        self._row: dict[int, int] = {}
        self._icons = {name: _dot(colour) for name, colour in STATUS_COLOURS.items()}

    def set_records(self, records: Iterable[Any]) -> None:
        self.beginResetModel()
        records = sorted(records, key=lambda r: natural_key(r.path))
        self._ids = [r.id for r in records]
        self._paths = [r.path for r in records]
        self._status = {r.id: r.status for r in records}
        self._uncertainty = {r.id: float(r.uncertainty) for r in records if getattr(r, "uncertainty", None) is not None}
        self.order_version += 1
        self._unreadable = {}
        self._row = {image_id: row for row, image_id in enumerate(self._ids)}
        self.endResetModel()

    def set_box_count(self, image_id: int, n: int) -> None:
        if image_id in self._row and self._box_counts.get(image_id, 0) != n:
            self._box_counts[image_id] = n
            self._changed(image_id)

    def set_box_counts(self, counts: dict[int, int]) -> None:
        """Boxes per image id, shown after the name (images not in ``counts``: none)."""
        self._box_counts = dict(counts)
        if self._ids:
            self.dataChanged.emit(self.index(0), self.index(len(self._ids) - 1), [Qt.ItemDataRole.DisplayRole])

    def box_count(self, image_id: int) -> int:
        return self._box_counts.get(image_id, 0)

    def ids(self) -> list[int]:
        return list(self._ids)

    def path(self, image_id: int) -> str:
        return self._paths[self._row[image_id]]

    def status(self, image_id: int) -> str:
        if image_id in self._unreadable:
            return "unreadable"
        return self._status.get(image_id, "new")

    def stored_status(self, image_id: int) -> str:
        return self._status.get(image_id, "new")

    def set_status(self, image_id: int, status: str) -> None:
        if image_id in self._row and self._status.get(image_id) != status:
            self._status[image_id] = status
            self._changed(image_id)

    def uncertainty(self, image_id: int) -> float | None:
        return self._uncertainty.get(image_id)

    def set_uncertainty(self, image_id: int, uncertainty: float | None) -> None:
        if image_id not in self._row or self._uncertainty.get(image_id) == uncertainty:
            return
        if uncertainty is None:
            self._uncertainty.pop(image_id, None)
        else:
            self._uncertainty[image_id] = float(uncertainty)
        self.order_version += 1
        self._changed(image_id)

    def uncertainty_key(self, image_id: int) -> tuple[bool, float, int]:
        """Most uncertain first; images never detected last; ties in natural order."""
        u = self._uncertainty.get(image_id)
        return (u is None, -(u or 0.0), self._row[image_id])

    def set_unreadable(self, image_id: int, reason: str | None) -> None:
        if image_id not in self._row:
            return
        if reason:
            self._unreadable[image_id] = reason
        else:
            self._unreadable.pop(image_id, None)
        self._changed(image_id)

    def counts(self) -> dict[str, int]:
        out = {name: 0 for name in STATUS_COLOURS}
        for image_id in self._ids:
            out[self.status(image_id)] += 1
        return out

    def index_of(self, image_id: int) -> QModelIndex:
        row = self._row.get(image_id)
        return QModelIndex() if row is None else self.index(row, 0)

    def _changed(self, image_id: int) -> None:
        index = self.index(self._row[image_id], 0)
        self.dataChanged.emit(index, index)

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008 (Qt signature)
        return 0 if parent.isValid() else len(self._ids)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        image_id = self._ids[index.row()]
        status = self.status(image_id)
        if role == Qt.ItemDataRole.DisplayRole:
            n = self._box_counts.get(image_id, 0)
            return f"{self._paths[index.row()]}  ({n})" if n else self._paths[index.row()]
        if role == Qt.ItemDataRole.DecorationRole:
            return self._icons[status]
        if role == Qt.ItemDataRole.ToolTipRole:
            reason = self._unreadable.get(image_id)
            u = self._uncertainty.get(image_id)
            return f"unreadable: {reason}" if reason else status + (f" · uncertainty {u:.2f}" if u is not None else "")
        if role == IdRole:
            return image_id
        if role == StatusRole:
            return status
        return None


class FileFilterProxy(QSortFilterProxyModel):
    """Keeps rows whose path contains the text (case-insensitive) and whose status matches; sorts
    them in natural order (the model's) or most uncertain first."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._text = ""
        self._status = "all"
        self.order = "name"

    def set_order(self, order: str) -> None:
        self.order = order
        if order == "uncertainty":
            self.invalidate()  # re-sort with the current keys
            self.sort(0)
        else:
            self.sort(-1)  # the source model's (natural) order

    def lessThan(self, left: _Index, right: _Index) -> bool:  # noqa: N802 - Qt's name
        model = self.sourceModel()
        return model.uncertainty_key(left.data(IdRole)) < model.uncertainty_key(right.data(IdRole))

    def set_text(self, text: str) -> None:
        self._refilter(text=text.strip().lower())

    def set_status(self, status: str) -> None:
        self._refilter(status=status)

    def _refilter(self, **changes: str) -> None:
        if hasattr(self, "beginFilterChange"):  # Qt >= 6.10; invalidateFilter is deprecated there
            self.beginFilterChange()
            self._text = changes.get("text", self._text)
            self._status = changes.get("status", self._status)
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)
        else:
            self._text = changes.get("text", self._text)
            self._status = changes.get("status", self._status)
            self.invalidateFilter()

    def accepts(self, path: str, status: str) -> bool:
        if self._text and self._text not in path.lower():
            return False
        if self._status == "all":
            return True
        if self._status == "unreviewed":
            return status in ("new", "predicted")
        return status == self._status

    def filterAcceptsRow(self, source_row: int, source_parent: _Index) -> bool:
        model = self.sourceModel()
        index = model.index(source_row, 0, source_parent)
        return self.accepts(model.path(model.data(index, IdRole)), model.data(index, StatusRole))


class FileListDock(QDockWidget):
    """Dock with the filter controls and the list; ``image_activated`` when the user picks a row."""

    image_activated = Signal(int)
    sort_order_changed = Signal(str)  # "name" | "uncertainty"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Images", parent)
        self.setObjectName("file_list_dock")
        self.model = FileListModel(self)
        self._ordered: tuple[int, list[int]] | None = None  # (model.order_version, ids most uncertain first)
        self.proxy = FileFilterProxy(self)
        self.proxy.setSourceModel(self.model)

        self.filter_edit = QLineEdit(placeholderText="Filter by name…", clearButtonEnabled=True)
        self.filter_edit.setObjectName("file_filter")
        self.status_combo = QComboBox()
        self.status_combo.setObjectName("status_filter")
        self.status_combo.addItems(FILTERS)
        self.sort_combo = QComboBox()
        self.sort_combo.setObjectName("sort_order")
        for key, text in SORT_ORDERS.items():
            self.sort_combo.addItem(text, key)
        self.sort_combo.setToolTip("Most uncertain first: the images the model is least sure about, or that "
                                   "contradict your corrections, come first (set by every detection pass)")
        self.view = QListView()
        self.view.setObjectName("file_list")
        self.view.setModel(self.proxy)
        self.view.setUniformItemSizes(True)
        self.view.setEditTriggers(QListView.EditTrigger.NoEditTriggers)
        self.counts_label = QLabel()
        self.counts_label.setObjectName("file_counts")

        row = QHBoxLayout()
        row.addWidget(self.filter_edit, 1)
        row.addWidget(self.status_combo)
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(row)
        layout.addWidget(self.sort_combo)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.counts_label)
        self.setWidget(body)

        self.filter_edit.textChanged.connect(self._on_filter_text_changed)
        self.status_combo.currentTextChanged.connect(self._on_status_filter_changed)
        self.sort_combo.currentIndexChanged.connect(self._on_sort_combo_changed)
        self.view.activated.connect(self._on_view_activated)
        self.view.clicked.connect(self._on_view_activated)
        # counting is O(images): coalesce bursts of status changes (Detect All) into one update
        self._counts_timer = QTimer(self, singleShot=True, interval=100)
        self._counts_timer.timeout.connect(self._update_counts)
        self.model.modelReset.connect(self._counts_timer.start)
        self.model.dataChanged.connect(self._counts_timer.start)

    # --- public API -------------------------------------------------------------------------
    def set_records(self, records: Sequence[Any]) -> None:
        self.model.set_records(records)

    def set_status(self, image_id: int, status: str) -> None:
        self.model.set_status(image_id, status)

    def set_unreadable(self, image_id: int, reason: str | None) -> None:
        self.model.set_unreadable(image_id, reason)

    def set_uncertainty(self, image_id: int, uncertainty: float | None) -> None:
        self.model.set_uncertainty(image_id, uncertainty)

    def sort_order(self) -> str:
        return self.proxy.order

    def set_sort_order(self, order: str) -> None:
        """``"name"`` (natural order) or ``"uncertainty"`` (most uncertain first); unknown values: name."""
        order = order if order in SORT_ORDERS else "name"
        blocker = QSignalBlocker(self.sort_combo)  # a programmatic change is not the user's choice
        self.sort_combo.setCurrentIndex(list(SORT_ORDERS).index(order))
        blocker.unblock()
        if self.proxy.order != order:
            self._apply_sort(order)

    def ordered_ids(self) -> list[int]:
        """Every image id (hidden ones too) in the order the list shows them."""
        if self.proxy.order != "uncertainty":
            return self.model.ids()
        if self._ordered is None or self._ordered[0] != self.model.order_version:  # sort once per change
            self._ordered = (self.model.order_version, sorted(self.model.ids(), key=self.model.uncertainty_key))
        return list(self._ordered[1])

    def set_filter(self, text: str = "", status: str = "all") -> None:
        self.filter_edit.setText(text)
        self.status_combo.setCurrentText(status)

    def visible_ids(self) -> list[int]:
        return [self.proxy.index(r, 0).data(IdRole) for r in range(self.proxy.rowCount())]

    def is_visible_id(self, image_id: int) -> bool:
        return self.proxy.accepts(self.model.path(image_id), self.model.status(image_id))

    def set_current(self, image_id: int | None) -> None:
        if image_id is None:
            self.view.clearSelection()
            return
        index = self.proxy.mapFromSource(self.model.index_of(image_id))
        if index.isValid():
            self.view.setCurrentIndex(index)
            self.view.scrollTo(index)

    # --- slots ------------------------------------------------------------------------------
    @Slot(str)
    def _on_filter_text_changed(self, text: str) -> None:
        self.proxy.set_text(text)

    @Slot(str)
    def _on_status_filter_changed(self, status: str) -> None:
        self.proxy.set_status(status)

    @Slot(int)
    def _on_sort_combo_changed(self, index: int) -> None:
        order = self.sort_combo.itemData(index)
        if order and order != self.proxy.order:
            self._apply_sort(order)
            self.sort_order_changed.emit(order)

    def _apply_sort(self, order: str) -> None:
        self.proxy.set_order(order)
        current = self.view.currentIndex()
        if current.isValid():
            self.view.scrollTo(current)

    @Slot(QModelIndex)
    def _on_view_activated(self, index: QModelIndex) -> None:
        image_id = index.data(IdRole)
        if image_id is not None:
            self.image_activated.emit(int(image_id))

    @Slot()
    def _update_counts(self) -> None:
        c = self.model.counts()
        self.counts_label.setText(
            f"{len(self.model.ids())} images · {c['new']} new · {c['predicted']} predicted · "
            f"{c['reviewed']} reviewed" + (f" · {c['unreadable']} unreadable" if c["unreadable"] else "")
        )


def _dot(colour: str) -> QIcon:
    pixmap = QPixmap(12, 12)
    pixmap.fill(QColor(colour))
    return QIcon(pixmap)
