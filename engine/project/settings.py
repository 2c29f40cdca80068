"""Small per-project preferences (the file list's sort order, ...) kept in the store's ``meta`` table.

They travel with the project folder, so reopening a project restores how it was viewed. Keys are
namespaced strings (``"view.sort"``); values are short strings. Reserved keys (``created``) are
refused. A read-only project reads its settings and refuses to change them (``ProjectError``).
"""

from __future__ import annotations

from typing import Any

from engine.errors import ProjectError

_PREFIX = "setting."


class SettingsMixin:
    """``Project.setting`` and ``Project.set_setting``."""

    _db: Any

    def setting(self, key: str, default: str | None = None) -> str | None:
        """The stored value of ``key``, or ``default``."""
        row = self._db.connect().execute("SELECT value FROM meta WHERE key = ?", (_PREFIX + _check(key),)).fetchone()
        return default if row is None else str(row[0])

    def set_setting(self, key: str, value: str | None) -> None:
        """Store ``value`` for ``key`` (None removes it); durable when this returns."""
        if value is not None and not isinstance(value, str):
            raise ProjectError(f"a setting is a string, got {value!r}")
        self._require_writable()  # type: ignore[attr-defined]
        with self._db.write() as conn:
            if value is None:
                conn.execute("DELETE FROM meta WHERE key = ?", (_PREFIX + _check(key),))
            else:
                conn.execute("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = "
                             "excluded.value", (_PREFIX + _check(key), value))


def _check(key: str) -> str:
    if not isinstance(key, str) or not key.strip():
        raise ProjectError(f"a setting needs a non-empty name, got {key!r}")
    return key
