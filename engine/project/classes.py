"""Class table operations for the project store: add, rename, recolour, reorder, delete.

Functions here take an open connection inside the caller's write transaction; ``Project`` wraps them.
A class in use by boxes is never deleted silently: the caller must reassign its boxes to another class
or delete them along with it.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Sequence
from typing import Any

from engine.errors import ProjectError
from engine.project.records import ClassInfo
from engine.types import PALETTE

_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")


def clean_name(name: object) -> str:
    if not isinstance(name, str) or not name.strip():
        raise ProjectError(f"class name must be a non-empty string, got {name!r}")
    return name.strip()


def clean_colour(colour: object) -> str:
    if not isinstance(colour, str) or not _COLOUR.match(colour):
        raise ProjectError(f"class colour must look like '#rrggbb', got {colour!r}")
    return colour.lower()


def list_classes(conn: sqlite3.Connection) -> list[ClassInfo]:
    rows = conn.execute("SELECT name, colour, ord FROM classes ORDER BY ord, id").fetchall()
    return [ClassInfo(name, colour, i) for i, (name, colour, _) in enumerate(rows)]


def class_id(conn: sqlite3.Connection, name: str) -> int | None:
    row = conn.execute("SELECT id FROM classes WHERE name = ?", (name,)).fetchone()
    return None if row is None else int(row[0])


def add_class(conn: sqlite3.Connection, name: str, colour: str | None = None) -> ClassInfo:
    name = clean_name(name)
    if class_id(conn, name) is not None:
        raise ProjectError(f"class {name!r} already exists")
    count = conn.execute("SELECT COUNT(*) FROM classes").fetchone()[0]
    colour = PALETTE[count % len(PALETTE)] if colour is None else clean_colour(colour)
    conn.execute("INSERT INTO classes (name, colour, ord) VALUES (?, ?, ?)", (name, colour, count))
    return ClassInfo(name, colour, count)


def ensure_class(conn: sqlite3.Connection, name: str) -> tuple[int, bool]:
    """The id of class ``name``, adding it (palette colour, last in order) if new; (id, added)."""
    name = clean_name(name)
    found = class_id(conn, name)
    if found is not None:
        return found, False
    add_class(conn, name)
    return int(class_id(conn, name)), True  # type: ignore[arg-type]


def _require(conn: sqlite3.Connection, name: str) -> int:
    found = class_id(conn, name)
    if found is None:
        raise ProjectError(f"no class named {name!r}")
    return found


def rename_class(conn: sqlite3.Connection, old: str, new: str) -> None:
    cid = _require(conn, old)
    new = clean_name(new)
    if new == old:
        return
    if class_id(conn, new) is not None:
        raise ProjectError(
            f"cannot rename {old!r} to {new!r}: that class exists (delete {old!r} reassigning to it to merge)"
        )
    conn.execute("UPDATE classes SET name = ? WHERE id = ?", (new, cid))


def set_class_colour(conn: sqlite3.Connection, name: str, colour: str) -> None:
    conn.execute("UPDATE classes SET colour = ? WHERE id = ?", (clean_colour(colour), _require(conn, name)))


def reorder_classes(conn: sqlite3.Connection, names: Sequence[str]) -> None:
    current = [c.name for c in list_classes(conn)]
    if sorted(current) != sorted(names) or len(set(names)) != len(names):
        raise ProjectError(f"reorder_classes needs every class exactly once: {current}, got {list(names)}")
    conn.executemany("UPDATE classes SET ord = ? WHERE name = ?", [(i, n) for i, n in enumerate(names)])


def delete_class(conn: sqlite3.Connection, name: str, *, reassign_to: str | None = None,
                 delete_boxes: bool = False) -> int:
    """Delete class ``name``; returns how many boxes were reassigned or deleted.

    Refuses (ProjectError) while visible boxes use the class unless ``reassign_to`` (an existing
    class) or ``delete_boxes=True`` says what to do with them. Rejected predictions of the class
    follow the same choice.
    """
    cid = _require(conn, name)
    if reassign_to is not None and delete_boxes:
        raise ProjectError("delete_class: choose reassign_to or delete_boxes, not both")
    used = conn.execute("SELECT COUNT(*) FROM boxes WHERE class_id = ? AND rejected = 0", (cid,)).fetchone()[0]
    if reassign_to is not None:
        target = _require(conn, reassign_to)
        if target == cid:
            raise ProjectError(f"cannot reassign boxes of {name!r} to itself")
        conn.execute("UPDATE boxes SET class_id = ? WHERE class_id = ?", (target, cid))
    elif delete_boxes:
        conn.execute("DELETE FROM boxes WHERE class_id = ?", (cid,))
    elif used:
        raise ProjectError(
            f"class {name!r} is used by {used} box(es): reassign them to another class or delete them too"
        )
    else:
        conn.execute("DELETE FROM boxes WHERE class_id = ?", (cid,))  # only rejected ones remain
    conn.execute("DELETE FROM classes WHERE id = ?", (cid,))
    remaining = [c.name for c in list_classes(conn)]
    conn.executemany("UPDATE classes SET ord = ? WHERE name = ?", [(i, n) for i, n in enumerate(remaining)])
    return int(used)


class ClassesMixin:
    """``Project`` methods for classes; each edit is one durable transaction."""

    _db: Any

    def classes(self) -> list[ClassInfo]:
        """Classes in display / model order (``order`` 0, 1, ...)."""
        return list_classes(self._db.connect())

    def class_names(self) -> list[str]:
        """Class names in order: the model's logit column k is ``class_names()[k]``."""
        return [c.name for c in self.classes()]

    def add_class(self, name: str, colour: str | None = None) -> ClassInfo:
        """Add a class at the end (colour from the palette unless given as ``#rrggbb``)."""
        with self._db.write() as conn:
            return add_class(conn, name, colour)

    def rename_class(self, old: str, new: str) -> None:
        """Rename a class; its boxes follow. Refused when ``new`` exists (merge with ``delete_class``)."""
        with self._db.write() as conn:
            rename_class(conn, old, new)

    def set_class_colour(self, name: str, colour: str) -> None:
        with self._db.write() as conn:
            set_class_colour(conn, name, colour)

    def reorder_classes(self, names: Sequence[str]) -> None:
        """Set the class order; ``names`` must list every class exactly once."""
        with self._db.write() as conn:
            reorder_classes(conn, names)

    def delete_class(self, name: str, *, reassign_to: str | None = None, delete_boxes: bool = False) -> int:
        """Delete a class; refused while boxes use it unless told to reassign or delete them.

        Returns the number of boxes reassigned or deleted.
        """
        with self._db.write() as conn:
            return delete_class(conn, name, reassign_to=reassign_to, delete_boxes=delete_boxes)

    def class_counts(self) -> dict[str, int]:
        """Visible boxes per class name (every class present, 0 when unused)."""
        rows = self._db.connect().execute(
            "SELECT c.name, COUNT(b.id) FROM classes c LEFT JOIN boxes b ON b.class_id = c.id AND b.rejected = 0 "
            "GROUP BY c.id ORDER BY c.ord, c.id").fetchall()
        return {name: int(n) for name, n in rows}
