"""Schema versions: a project made by an older schema is migrated forward on open, its data kept."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from engine.errors import ProjectError
from engine.project import Project, schema
from engine.types import Box


def test_old_schema_is_migrated_forward_keeping_data(image_folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with Project.open(image_folder) as p:
        bid = p.add_box(p.images()[0], Box(1, 2, 30, 40, "cat"))
    db = image_folder / ".retinalab" / "project.db"
    assert sqlite3.connect(db).execute("PRAGMA user_version").fetchone()[0] == schema.SCHEMA_VERSION
    # A future release adds a column: the file written above is now "old" and must be upgraded.
    future = schema.SCHEMA_VERSION + 1
    monkeypatch.setattr(schema, "SCHEMA_VERSION", future)
    monkeypatch.setitem(schema.MIGRATIONS, future - 1, ["ALTER TABLE images ADD COLUMN note TEXT"])
    with pytest.raises(ProjectError, match="older RetinaLab"):  # read-only cannot upgrade: clear refusal
        Project.open(image_folder, read_only=True)
    with Project.open(image_folder) as p:
        assert p.box(bid).label == "cat"
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == future
    assert "note" in [r[1] for r in conn.execute("PRAGMA table_info(images)")]
