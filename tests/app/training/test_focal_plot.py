"""The FL-vs-CE plot next to the α and γ fields (the paper's Figure 1)."""

from __future__ import annotations

import math

import pytest

from PySide6.QtWidgets import QLabel

from app.training.focal_plot import FocalLossPlot, focal_loss_curve

pytestmark = pytest.mark.gui


def test_gamma_zero_is_cross_entropy_and_larger_gamma_shrinks_easy_examples() -> None:
    assert focal_loss_curve(0.3, None, 0.0) == pytest.approx(-math.log(0.3))
    assert focal_loss_curve(0.9, None, 2.0) == pytest.approx(0.01 * -math.log(0.9))
    assert focal_loss_curve(0.9, 0.25, 2.0) == pytest.approx(0.25 * 0.01 * -math.log(0.9))


def test_plot_redraws_for_new_alpha_and_gamma(qtbot) -> None:
    plot = FocalLossPlot()
    qtbot.addWidget(plot)
    ce = dict(plot.curve("CE"))
    fl = dict(plot.curve("FL"))
    p_easy = min(ce, key=lambda p: abs(p - 0.9))
    assert fl[p_easy] < ce[p_easy] / 50  # γ = 2: ~100x smaller at p_t = 0.9
    plot.set_params(0.5, 0.0)
    assert dict(plot.curve("FL"))[p_easy] == pytest.approx(ce[p_easy])
    assert dict(plot.curve("alpha_FL"))[p_easy] == pytest.approx(0.5 * ce[p_easy])
    assert "1×" in plot.findChild(QLabel, "focal_loss_caption").text()
