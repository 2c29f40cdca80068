"""Kill -9 at random moments never loses an acknowledged edit nor corrupts the project database."""

from __future__ import annotations

from pathlib import Path

import pytest
from store_durability import run_kill_cycles


@pytest.mark.slow
def test_kill_9_loses_nothing_acknowledged(tmp_path: Path, make_images) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "proj"
    make_images(folder, ["only.png"], size=(64, 48))
    result = run_kill_cycles(folder, kills=20, seed=1, max_delay_s=0.3)
    assert result.kills == 20
    assert result.acked_edits > 50, "the child barely ran; the test would prove nothing"
    assert result.lost == [], result.lost[:5]
    assert result.integrity_failures == []
    assert result.open_failures == []
