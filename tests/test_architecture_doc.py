"""docs/architecture.md stays a true map: every path it names exists, and every package is on it."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "architecture.md"
NAMED_PATH = re.compile(r"`((?:engine|app|tests|bench|resources|docs)/[\w./-]*)`")


def _named_paths() -> list[str]:
    return NAMED_PATH.findall(DOC.read_text(encoding="utf-8"))


def test_every_path_the_map_names_exists() -> None:
    named = _named_paths()
    assert len(named) > 50  # the pattern still finds the paths
    missing = [p for p in named if not (ROOT / p).exists()]
    assert not missing, f"docs/architecture.md names paths that do not exist: {missing}"


def test_every_package_is_on_the_map() -> None:
    named = {p.rstrip("/") for p in _named_paths()}
    packages = [
        init.parent.relative_to(ROOT).as_posix()
        for top in ("engine", "app")
        for init in (ROOT / top).glob("*/__init__.py")
    ]
    unmapped = sorted(p for p in packages if p not in named)
    assert not unmapped, f"packages missing from docs/architecture.md's table: {unmapped}"
