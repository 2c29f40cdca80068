"""Test-wide settings: Qt renders offscreen, torch stays on few threads, nothing needs the network."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Keep tests off the network: torchvision's weight downloads would fail loudly rather than hang.
os.environ.setdefault("RETINALAB_OFFLINE", "1")


@pytest.fixture()
def shipped_procedural(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Offline with an empty torch cache, and a copy of the shipped procedurally pretrained model at
    ``engine.start.pretrained_model_path()`` (tests may delete or replace the copy)."""
    import engine.start

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setenv("RETINALAB_OFFLINE", "1")
    path = tmp_path / "resources" / "models" / engine.start.PRETRAINED_MODEL_NAME
    path.parent.mkdir(parents=True)
    shutil.copy(engine.start.pretrained_model_path(), path)
    monkeypatch.setattr(engine.start, "pretrained_model_path", lambda: path)
    return path
