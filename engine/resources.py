"""Locate files under the repository's ``resources/`` folder (class lists, the demo model)."""

from __future__ import annotations

from pathlib import Path

RESOURCES_DIR = Path(__file__).resolve().parent.parent / "resources"


def resource_path(*parts: str) -> Path:
    """Path of ``resources/<parts...>``; does not check that it exists."""
    return RESOURCES_DIR.joinpath(*parts)
