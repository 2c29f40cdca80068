"""Bring the project's image table in line with the folder: new files added, vanished ones marked missing.

Only file names are read here, never pixels or headers, so scanning 10,000 images takes well under a
second; sizes are filled in later (``Project.image_size``). A vanished image keeps its row and its
boxes (``missing = 1``), so moving a file away and back loses nothing.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

from engine.errors import DatasetError, ProjectError
from engine.io import list_images
from engine.project.database import Database

log = logging.getLogger(__name__)


def list_relative(folder: Path) -> list[str]:
    """Image paths under ``folder`` relative to it, forward slashes, sorted."""
    try:
        files = list_images(folder, recursive=True)
    except DatasetError as exc:
        raise ProjectError(str(exc)) from exc
    prefix = len(str(folder).rstrip(os.sep)) + 1  # string slicing: pathlib costs ~0.2 s per 10,000 here
    if os.sep == "/":
        return [str(p)[prefix:] for p in files]
    return [str(p)[prefix:].replace(os.sep, "/") for p in files]


def rescan(db: Database, folder: Path) -> tuple[int, int]:
    """Add new images and mark vanished ones missing; returns (added, newly missing) counts."""
    found = list_relative(folder)  # outside the transaction: the write lock is held only briefly
    present = set(found)
    now = time.time()
    with db.write() as conn:
        known = dict(conn.execute("SELECT path, missing FROM images").fetchall())
        new = [(p, now, now) for p in found if p not in known]
        gone = [(now, p) for p, missing in known.items() if not missing and p not in present]
        back = [(now, p) for p, missing in known.items() if missing and p in present]
        conn.executemany("INSERT INTO images (path, added_at, updated_at) VALUES (?, ?, ?)", new)
        conn.executemany("UPDATE images SET missing = 1, updated_at = ? WHERE path = ?", gone)
        conn.executemany("UPDATE images SET missing = 0, updated_at = ? WHERE path = ?", back)
    if new or gone or back:
        log.info("%s: %d new, %d missing, %d back", folder, len(new), len(gone), len(back))
    return len(new), len(gone)
