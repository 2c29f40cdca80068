"""Live charts take points in batches and keep a bounded, decimated history."""

from __future__ import annotations

import pytest

from app.training.charts import ApChart, LossChart

pytestmark = pytest.mark.gui


def test_points_are_drawn_in_batches_and_history_is_capped(qtbot) -> None:
    chart = LossChart(max_points=100)
    qtbot.addWidget(chart)
    for step in range(1, 1001):
        chart.add_points(step, {"total": 1.0 / step, "classification": 0.5 / step})
    assert chart.point_count("total") == 0  # nothing drawn per event: the timer flushes
    qtbot.waitUntil(lambda: chart.point_count("total") > 0, timeout=2000)
    assert 50 <= chart.point_count("total") <= 100  # decimated, not truncated:
    assert chart.last_point("total") == (1000.0, pytest.approx(0.001))  # newest kept exactly
    chart.add_point("total", 1001, float("nan"))  # a NaN loss must not break the axes
    chart.flush()
    assert chart.last_point("total")[0] == 1000.0
    chart.clear()
    assert chart.series_names() == []


def test_ap_chart_plots_per_epoch(qtbot) -> None:
    chart = ApChart()
    qtbot.addWidget(chart)
    chart.add_point("AP", 1, 0.1)
    chart.add_point("AP", 2, 0.3)
    chart.flush()
    assert chart.point_count("AP") == 2 and chart.last_point("AP") == (2.0, pytest.approx(0.3))
