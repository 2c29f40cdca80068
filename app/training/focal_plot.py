"""The focal loss next to cross entropy over p_t, for the α and γ the user chose.

A small QtCharts view that redraws the paper's Figure 1 (Lin et al., "Focal Loss for Dense Object
Detection"): CE(p_t) = -log(p_t) against FL(p_t) = -(1 - p_t)^γ log(p_t), plus the α-weighted focal
loss of a foreground anchor, α·FL. It makes visible what γ does: easy, well-classified anchors
(p_t > 0.6) contribute almost nothing, so the loss is dominated by the hard ones. Pure numpy/Qt math,
no torch.
"""

from __future__ import annotations

import math

from PySide6.QtCharts import QChart, QChartView, QLineSeries, QValueAxis
from PySide6.QtCore import QMargins, QPointF, Qt
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

_NUM_POINTS = 120
_P_MIN = 0.005
_Y_MAX = 5.0  # the paper's figure clips the loss axis at 5


def focal_loss_curve(p_t: float, alpha: float | None, gamma: float) -> float:
    """-α_t (1 - p_t)^γ log(p_t) for one probability of the true class; ``alpha=None`` means α_t = 1."""
    loss = -((1.0 - p_t) ** gamma) * math.log(p_t)
    return loss if alpha is None else alpha * loss


def easy_example_factor(gamma: float, p_t: float = 0.9) -> float:
    """How many times smaller FL is than CE for an anchor already classified with ``p_t``."""
    return 1.0 / max((1.0 - p_t) ** gamma, 1e-12)


class FocalLossPlot(QWidget):
    """CE, FL(γ) and α·FL(γ) over p_t ∈ (0, 1]; call :meth:`set_params` when α or γ change."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("focal_loss_plot")
        self._chart = QChart()
        self._chart.setMargins(QMargins(2, 2, 2, 2))
        self._chart.legend().setAlignment(Qt.AlignmentFlag.AlignTop)
        self._chart.setBackgroundRoundness(0)
        self._ce = QLineSeries(name="CE")
        self._fl = QLineSeries()
        self._alpha_fl = QLineSeries()
        for series, colour, style in (
            (self._ce, "#7f7f7f", Qt.PenStyle.DashLine),
            (self._fl, "#1f77b4", Qt.PenStyle.SolidLine),
            (self._alpha_fl, "#d62728", Qt.PenStyle.DotLine),
        ):
            pen = QPen(QColor(colour))
            pen.setWidthF(2.0)
            pen.setStyle(style)
            series.setPen(pen)
            self._chart.addSeries(series)
        x_axis = QValueAxis()
        x_axis.setRange(0.0, 1.0)
        x_axis.setTitleText("probability of ground truth class p_t")
        x_axis.setLabelFormat("%.1f")
        x_axis.setTickCount(6)
        y_axis = QValueAxis()
        y_axis.setRange(0.0, _Y_MAX)
        y_axis.setTitleText("loss")
        y_axis.setLabelFormat("%.0f")
        y_axis.setTickCount(6)
        self._chart.addAxis(x_axis, Qt.AlignmentFlag.AlignBottom)
        self._chart.addAxis(y_axis, Qt.AlignmentFlag.AlignLeft)
        for series in (self._ce, self._fl, self._alpha_fl):
            series.attachAxis(x_axis)
            series.attachAxis(y_axis)
        self._view = QChartView(self._chart)
        self._view.setRenderHint(QPainter.RenderHint.Antialiasing)
        self._view.setMinimumSize(260, 190)
        self._caption = QLabel()
        self._caption.setObjectName("focal_loss_caption")
        self._caption.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self._view, 1)
        layout.addWidget(self._caption)
        self._ce.replace(self._points(None, 0.0))
        self.alpha = 0.25
        self.gamma = 2.0
        self.set_params(self.alpha, self.gamma)

    @staticmethod
    def _points(alpha: float | None, gamma: float) -> list[QPointF]:
        points = []
        for i in range(_NUM_POINTS + 1):
            p_t = _P_MIN + (1.0 - _P_MIN) * i / _NUM_POINTS
            points.append(QPointF(p_t, min(focal_loss_curve(p_t, alpha, gamma), _Y_MAX)))
        return points

    def set_params(self, alpha: float, gamma: float) -> None:
        """Redraw FL for ``alpha`` ∈ [0, 1] and ``gamma`` ≥ 0 (cheap: ~120 points per curve)."""
        self.alpha, self.gamma = float(alpha), float(gamma)
        self._fl.setName(f"FL γ={self.gamma:g}")
        self._alpha_fl.setName(f"α·FL α={self.alpha:g} (foreground)")
        self._fl.replace(self._points(None, self.gamma))
        self._alpha_fl.replace(self._points(self.alpha, self.gamma))
        factor = easy_example_factor(self.gamma)
        self._caption.setText(
            f"An easy anchor (p_t = 0.9) weighs {factor:,.0f}× less than with cross entropy; "
            f"background anchors get weight 1−α = {1.0 - self.alpha:.2f}."
        )

    def curve(self, which: str) -> list[tuple[float, float]]:
        """The plotted points of ``"CE"``, ``"FL"`` or ``"alpha_FL"`` as (p_t, loss) pairs."""
        series = {"CE": self._ce, "FL": self._fl, "alpha_FL": self._alpha_fl}[which]
        return [(p.x(), p.y()) for p in series.points()]
