"""Live training charts: loss components per step and validation AP per epoch (QtCharts).

Training delivers one event per batch; redrawing a chart per event would put the chart's layout and
painting on the GUI thread dozens of times a second. So points are buffered in plain Python lists and
a QTimer hands them to the series at about 7 Hz with one ``QXYSeries.replace`` each. A series keeps
at most ``max_points`` points: past that, every other point is dropped, so the whole run stays in
view at a coarser resolution and the cost of a redraw stays bounded.
"""

from __future__ import annotations

from collections.abc import Mapping

from PySide6.QtCharts import QChart, QChartView, QLineSeries, QValueAxis
from PySide6.QtCore import QMargins, QPointF, Qt, QTimer
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import QWidget

FLUSH_INTERVAL_MS = 150
DEFAULT_MAX_POINTS = 1000

_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b")


def _nice_step(raw: float) -> float:
    """The smallest of 1, 2, 5 x 10^k (k >= 0) that is at least ``raw``."""
    step = 1.0
    while True:
        for factor in (1.0, 2.0, 5.0):
            if step * factor >= raw:
                return step * factor
        step *= 10.0


class _BufferedChart(QChartView):
    """A chart of named line series fed by :meth:`add_point`, drawn in batches on a timer."""

    def __init__(
        self,
        title: str,
        x_title: str,
        y_title: str,
        *,
        max_points: int = DEFAULT_MAX_POINTS,
        markers: bool = False,
        parent: QWidget | None = None,
    ) -> None:
        self._chart = QChart()
        super().__init__(self._chart, parent)
        self.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.setMinimumHeight(200)  # below ~185 px QtCharts elides every axis label
        self._chart.setTitle(title)
        self._chart.setMargins(QMargins(2, 2, 2, 2))
        self._chart.setBackgroundRoundness(0)
        self._chart.legend().setAlignment(Qt.AlignmentFlag.AlignTop)
        self._x_axis = QValueAxis()
        self._x_axis.setTitleText(x_title)
        self._x_axis.setLabelFormat("%d")
        self._y_axis = QValueAxis()
        self._y_axis.setTitleText(y_title)
        self._chart.addAxis(self._x_axis, Qt.AlignmentFlag.AlignBottom)
        self._chart.addAxis(self._y_axis, Qt.AlignmentFlag.AlignLeft)
        self._max_points = max(4, max_points)
        self._markers = markers
        self._series: dict[str, QLineSeries] = {}
        self._points: dict[str, list[QPointF]] = {}
        self._dirty: set[str] = set()
        self._x_max = 1.0
        self._y_max = 1e-6
        self._timer = QTimer(self)
        self._timer.setInterval(FLUSH_INTERVAL_MS)
        self._timer.timeout.connect(self.flush)
        self._timer.start()
        self.clear()

    # -- feeding -------------------------------------------------------------------------------
    def add_point(self, name: str, x: float, y: float) -> None:
        """Queue one point of series ``name`` (created on first use); drawn at the next flush."""
        if not (y == y) or y in (float("inf"), float("-inf")):  # NaN/inf would break the axis range
            return
        points = self._points.get(name)
        if points is None:
            points = self._points[name] = []
            self._add_series(name)
        points.append(QPointF(float(x), float(y)))
        if len(points) > self._max_points:
            # Decimate the older history, keep the newest point exact.
            del points[-2::-2]
        self._x_max = max(self._x_max, float(x))
        self._y_max = max(self._y_max, float(y))
        self._dirty.add(name)

    def add_points(self, x: float, values: Mapping[str, float]) -> None:
        for name, value in values.items():
            self.add_point(name, x, value)

    def flush(self) -> None:
        """Hand queued points to the series now (the timer does this ~7 times a second)."""
        if not self._dirty:
            return
        for name in self._dirty:
            self._series[name].replace(self._points[name])
        self._dirty.clear()
        self._update_axes()

    def clear(self) -> None:
        """Remove every series (a new run starts)."""
        for series in self._series.values():
            self._chart.removeSeries(series)
            series.deleteLater()
        self._series.clear()
        self._points.clear()
        self._dirty.clear()
        self._x_max, self._y_max = 1.0, 1e-6
        self._update_axes()

    # -- reading (tests, screenshots) -----------------------------------------------------------
    def series_names(self) -> list[str]:
        return list(self._series)

    def point_count(self, name: str) -> int:
        """Points of series ``name`` drawn so far (after the last flush)."""
        series = self._series.get(name)
        return 0 if series is None else series.count()

    def last_point(self, name: str) -> tuple[float, float] | None:
        series = self._series.get(name)
        if series is None or series.count() == 0:
            return None
        point = series.at(series.count() - 1)
        return (point.x(), point.y())

    # -- internals -------------------------------------------------------------------------------
    def _add_series(self, name: str) -> None:
        series = QLineSeries()
        series.setName(name)
        pen = QPen(QColor(_COLOURS[len(self._series) % len(_COLOURS)]))
        pen.setWidthF(1.6)
        series.setPen(pen)
        series.setPointsVisible(self._markers)
        self._chart.addSeries(series)
        series.attachAxis(self._x_axis)
        series.attachAxis(self._y_axis)
        self._series[name] = series

    def _update_axes(self) -> None:
        x_top = max(self._x_max, self._x_min() + 1.0)
        self._x_axis.setRange(self._x_min(), x_top)
        # Whole-number ticks (steps, epochs) at a 1-2-5 spacing: "%d" labels never repeat.
        self._x_axis.setTickType(QValueAxis.TickType.TicksDynamic)
        self._x_axis.setTickAnchor(0.0)
        self._x_axis.setTickInterval(_nice_step((x_top - self._x_min()) / 8))
        self._y_axis.setRange(0.0, self._y_top())

    def _x_min(self) -> float:
        return 0.0

    def _y_top(self) -> float:
        return self._y_max * 1.1 if self._y_max > 1e-6 else 1.0


class LossChart(_BufferedChart):
    """Loss components (``classification``, ``bbox_regression``, ``total``) against the global step."""

    def __init__(self, parent: QWidget | None = None, *, max_points: int = DEFAULT_MAX_POINTS) -> None:
        super().__init__("Training loss", "step", "loss", max_points=max_points, parent=parent)
        self.setObjectName("loss_chart")


class ApChart(_BufferedChart):
    """Validation AP (and AP50) against the epoch; the y axis is fixed to [0, 1]."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Validation AP", "epoch", "AP", markers=True, parent=parent)
        self.setObjectName("ap_chart")

    def _x_min(self) -> float:
        return 0.0

    def _y_top(self) -> float:
        return 1.0
