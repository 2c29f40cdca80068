"""bench/head_start.py: the summary a reader compares starts by (ratios and time to reach the scratch AP50)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))

from head_start import summary  # noqa: E402


def _run(optimizer: str, lr: float, ap50s: list[float]) -> dict:
    return {"optimizer": optimizer, "lr": lr, "epochs": [
        {"epoch": k + 1, "AP": a / 3, "AP50": a, "AP75": a / 4, "wall_s": 60.0 * (k + 1), "cpu_s": 50.0 * (k + 1)}
        for k, a in enumerate(ap50s)]}


def test_each_start_is_compared_with_where_random_weights_ended() -> None:
    runs = {"random": _run("adamw", 0.001, [0.0, 0.1, 0.3, 0.2]),
            "demo": _run("sgd", 0.01, [0.1, 0.2, 0.25, 0.4]),
            "stuck": _run("sgd", 0.01, [0.05, 0.1, 0.1, 0.15])}
    rows = {r["start"]: r for r in summary(runs, threads=2)}
    # random's final AP50 (0.2, below its best 0.3 at epoch 3) is the bar
    assert (rows["random"]["best_AP50"], rows["random"]["best_epoch"]) == (0.3, 3)
    assert (rows["random"]["reach_epoch"], rows["random"]["reach_wall_min"]) == (3, 3.0)  # before its last epoch
    assert (rows["demo"]["reach_epoch"], rows["demo"]["reach_wall_min"]) == (2, 2.0)  # first epoch at >= 0.2
    assert rows["stuck"]["reach_epoch"] is None
    assert rows["demo"]["AP50_x_random"] == pytest.approx(2.0)
    assert rows["demo"]["recipe"] == "sgd 0.01" and rows["random"]["recipe"] == "adamw 0.001"
    # CPU-minutes are the machine held (wall x threads); the process's own CPU time is given beside
    assert (rows["demo"]["wall_min"], rows["demo"]["cpu_min"], rows["demo"]["process_cpu_min"]) == (4.0, 8.0,
                                                                                                    pytest.approx(200 / 60))


def test_without_a_random_run_there_is_no_bar_to_reach() -> None:
    (row,) = summary({"demo": _run("sgd", 0.01, [0.1, 0.4])}, threads=1)
    assert row["reach_epoch"] is None and row["AP50_x_random"] is None and row["AP50"] == 0.4
