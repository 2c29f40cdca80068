"""The project database's schema, its version, and the forward migrations that bring old files up to date.

``PRAGMA user_version`` holds the schema version and ``PRAGMA application_id`` marks the file as a
RetinaLab project, so a foreign SQLite file is recognised and refused rather than altered. Each
migration is a list of SQL statements run inside the caller's write transaction; a file written by a
newer RetinaLab (a version above ``SCHEMA_VERSION``) is refused, never downgraded.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from engine.errors import ProjectError

APPLICATION_ID = 0x524C4142  # "RLAB"
SCHEMA_VERSION = 2
SQLITE_HEADER = b"SQLite format 3\x00"

# MIGRATIONS[v] takes a database at version v to version v + 1. Never edit a released entry: append.
MIGRATIONS: dict[int, list[str]] = {
    0: [
        """CREATE TABLE meta (
            key TEXT PRIMARY KEY,
            value TEXT NOT NULL
        )""",
        """CREATE TABLE images (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            path TEXT NOT NULL UNIQUE,
            width INTEGER,
            height INTEGER,
            status TEXT NOT NULL DEFAULT 'new' CHECK (status IN ('new', 'predicted', 'reviewed')),
            uncertainty REAL,
            missing INTEGER NOT NULL DEFAULT 0,
            added_at REAL NOT NULL,
            updated_at REAL NOT NULL
        )""",
        """CREATE TABLE classes (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            name TEXT NOT NULL UNIQUE,
            colour TEXT NOT NULL,
            ord INTEGER NOT NULL
        )""",
        """CREATE TABLE models (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            path TEXT NOT NULL,
            created REAL NOT NULL,
            metrics TEXT NOT NULL DEFAULT '{}'
        )""",
        """CREATE TABLE boxes (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            image_id INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,
            class_id INTEGER NOT NULL REFERENCES classes(id),
            x1 REAL NOT NULL,
            y1 REAL NOT NULL,
            x2 REAL NOT NULL,
            y2 REAL NOT NULL,
            source TEXT NOT NULL CHECK (source IN ('manual', 'predicted', 'accepted', 'edited')),
            score REAL,
            model_id INTEGER REFERENCES models(id) ON DELETE SET NULL,
            rejected INTEGER NOT NULL DEFAULT 0,
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL
        )""",
        "CREATE INDEX boxes_by_image ON boxes(image_id)",
        "CREATE INDEX boxes_by_class ON boxes(class_id)",
        "CREATE INDEX images_by_status ON images(status)",
    ],
    # Validation marks move into the store (they lived in .retinalab/validation.json; the project
    # imports that file once on open, see engine.project.labels).
    1: [
        "ALTER TABLE images ADD COLUMN validation INTEGER NOT NULL DEFAULT 0",
    ],
}


def check_header(db_path: Path) -> None:
    """Refuse a file that is not an SQLite database at all (a foreign or truncated ``project.db``)."""
    try:
        with open(db_path, "rb") as f:
            head = f.read(len(SQLITE_HEADER))
    except OSError as exc:
        raise ProjectError(f"{db_path}: cannot read the project database ({exc.strerror})") from exc
    if head != SQLITE_HEADER:
        raise ProjectError(
            f"{db_path}: not a RetinaLab project database (not an SQLite file); it was left untouched"
        )


def _is_corruption(exc: sqlite3.Error) -> bool:
    text = str(exc).lower()
    return "malformed" in text or "not a database" in text or "corrupt" in text


def _first_problem(report: str) -> str:
    """SQLite's integrity report (one problem a line, under a ``*** in database main ***`` header)
    as one line: the first problem and how many more there are."""
    problems = [line.strip() for line in report.splitlines() if line.strip() and not line.startswith("***")]
    if not problems:
        return "integrity check failed"
    more = len(problems) - 1
    return problems[0] + (f"; and {more} more problem{'s' if more > 1 else ''}" if more else "")


def check_identity(conn: sqlite3.Connection, db_path: Path) -> int:
    """Verify the file is a sound RetinaLab database and return its schema version.

    Raises ProjectError naming the file when SQLite finds it corrupt, when it belongs to another
    program, or when a newer RetinaLab wrote it.
    """
    try:
        app_id = conn.execute("PRAGMA application_id").fetchone()[0]
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        quick = "\n".join(str(row[0]) for row in conn.execute("PRAGMA quick_check(20)"))
    except sqlite3.OperationalError as exc:
        if not _is_corruption(exc):  # disk full, I/O error, no permission: the file may be fine
            raise ProjectError(
                f"{db_path}: cannot read the project database ({exc}); the disk may be full or failing, "
                "or the folder not writable; it was left untouched") from exc
        raise ProjectError(f"{db_path}: the project database is corrupt ({exc}); it was left untouched") from exc
    except sqlite3.DatabaseError as exc:
        raise ProjectError(f"{db_path}: the project database is corrupt ({exc}); it was left untouched") from exc
    if quick != "ok":
        raise ProjectError(f"{db_path}: the project database is corrupt ({_first_problem(quick)}); "
                           "it was left untouched")
    if app_id != APPLICATION_ID:
        raise ProjectError(
            f"{db_path}: an SQLite file that is not a RetinaLab project (application_id {app_id:#x}); "
            "it was left untouched"
        )
    if version > SCHEMA_VERSION:
        raise ProjectError(
            f"{db_path}: written by a newer RetinaLab (schema {version}, this one reads up to "
            f"{SCHEMA_VERSION}); update RetinaLab to open it"
        )
    return int(version)


def initialise(conn: sqlite3.Connection) -> None:
    """Stamp a brand-new, empty database as ours at version 0 (migrations then build the tables)."""
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    conn.execute("PRAGMA user_version = 0")


def migrate(conn: sqlite3.Connection, version: int) -> int:
    """Run every migration from ``version`` up to ``SCHEMA_VERSION`` in one transaction; return the new version.

    The connection must be in autocommit mode (``isolation_level=None``); a failure rolls back fully.
    """
    if version >= SCHEMA_VERSION:
        return version
    conn.execute("BEGIN IMMEDIATE")
    try:
        # Re-read under the write lock: another process may have migrated meanwhile.
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        while version < SCHEMA_VERSION:
            for statement in MIGRATIONS[version]:
                conn.execute(statement)
            version += 1
            conn.execute(f"PRAGMA user_version = {version}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return version
