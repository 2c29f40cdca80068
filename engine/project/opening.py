"""Open a project's database safely: single-writer lock, atomic creation, refusal of foreign files.

A project folder has ``.retinalab/project.db`` and ``.retinalab/lock``. The writer holds an advisory
``flock`` on the lock file for as long as the project is open, so a second app instance (or engine
process) on the same folder opens read-only instead of writing behind the first one's back; the kernel
drops the lock when a process dies, even by kill -9. A new database is built under a temporary name
and renamed into place, so a crash during creation never leaves a half-made ``project.db``; an existing
file that is not a sound RetinaLab database is refused with its path and never touched.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

from engine.errors import ProjectError
from engine.fsutil import fsync_dir
from engine.project import schema
from engine.project.database import Database

try:
    import fcntl
except ImportError:  # Windows: no advisory lock; SQLite's own locking still keeps the file sound
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

STORE_DIR = ".retinalab"
DB_NAME = "project.db"
LOCK_NAME = "lock"


@dataclass
class Lock:
    """The held single-writer lock (an open file descriptor); ``release`` is idempotent."""

    fd: int | None

    def release(self) -> None:
        if self.fd is not None:
            if fcntl is not None:
                fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None


def acquire_lock(store_dir: Path) -> tuple[Lock | None, str | None]:
    """Take the writer lock; returns (lock, None) or (None, reason the project must open read-only)."""
    try:
        store_dir.mkdir(exist_ok=True)
    except OSError as exc:
        return None, f"the folder is not writable ({exc.strerror}); opened read-only"
    if not os.access(store_dir, os.W_OK):
        return None, f"{store_dir} is not writable; opened read-only"
    try:
        fd = os.open(store_dir / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        return None, f"cannot write {store_dir / LOCK_NAME} ({exc.strerror}); opened read-only"
    if fcntl is not None:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            owner = _read_owner(fd)
            os.close(fd)
            return None, f"the project is open in another RetinaLab window{owner}; opened read-only"
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        except OSError:
            pass  # the note is for people; the lock itself is what counts
    return Lock(fd), None


def _read_owner(fd: int) -> str:
    try:
        pid = os.pread(fd, 32, 0).decode().strip()
    except (OSError, UnicodeDecodeError):
        return ""
    return f" (process {pid})" if pid.isdigit() else ""


def create_database(db_path: Path) -> None:
    """Build a fresh, fully migrated database at ``db_path`` atomically (temporary file + rename)."""
    tmp = db_path.with_name(f"{db_path.name}.tmp-{os.getpid()}")
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{tmp}{suffix}").unlink(missing_ok=True)
    conn = sqlite3.connect(tmp, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = FULL")
        schema.initialise(conn)
        schema.migrate(conn, 0)
        conn.execute("INSERT INTO meta (key, value) VALUES ('created', ?)", (repr(time.time()),))
    finally:
        conn.close()  # checkpoints the WAL into the main file and removes it
    fd = os.open(tmp, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, db_path)
    fsync_dir(db_path.parent)
    log.info("created %s", db_path)


def remove_stale_temporaries(store_dir: Path) -> None:
    """Delete half-built databases left by a crash during creation (only while holding the lock)."""
    for leftover in store_dir.glob(f"{DB_NAME}.tmp-*"):
        try:
            leftover.unlink()
        except OSError:
            pass


def open_writable(db_path: Path, synchronous: str) -> Database:
    """Connect to an existing database for writing, checking and migrating it first."""
    schema.check_header(db_path)
    db = Database(db_path, synchronous=synchronous)
    try:
        conn = db.connect()
        version = schema.check_identity(conn, db_path)
        try:
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        except sqlite3.DatabaseError as exc:
            raise ProjectError(f"{db_path}: cannot use the project database ({exc})") from exc
        if mode != "wal":
            log.warning("%s: journal mode is %s, not wal", db_path, mode)
        if version < schema.SCHEMA_VERSION:
            log.info("%s: migrating schema %d -> %d", db_path, version, schema.SCHEMA_VERSION)
            try:
                schema.migrate(conn, version)
            except sqlite3.Error as exc:
                raise ProjectError(f"{db_path}: cannot upgrade the project database ({exc})") from exc
    except BaseException:
        db.close()
        raise
    return db


def _refuse_unread_wal(db_path: Path, error: Exception | None) -> None:
    """immutable=1 reads the main file alone: recent edits still in the write-ahead log would be
    silently missing (200 of 300 boxes shown), so with a non-empty log that fallback is refused."""
    wal = Path(f"{db_path}-wal")
    try:
        size = wal.stat().st_size
    except OSError:
        return
    if size > 0:
        raise ProjectError(
            f"{db_path}: cannot open read-only without losing recent edits: they are in {wal.name} "
            f"({size:,} bytes), which SQLite can only read with write access to {db_path.parent} "
            f"({error}); make that folder writable, or copy the whole project folder and open the copy")


def open_read_only(db_path: Path) -> Database:
    """Connect to an existing database without ever writing to it (file or folder may be read-only)."""
    schema.check_header(db_path)
    quoted = urllib.parse.quote(str(db_path.resolve()))
    last_error: Exception | None = None
    # mode=ro works when the WAL index (-shm) exists or can be made; immutable=1 is for read-only
    # media with no WAL left behind (a cleanly closed project), where it is exact.
    for uri in (f"file:{quoted}?mode=ro", f"file:{quoted}?mode=ro&immutable=1"):
        if "immutable" in uri:
            _refuse_unread_wal(db_path, last_error)
        db = Database(db_path, uri=uri, read_only=True)
        try:
            version = schema.check_identity(db.connect(), db_path)
        except ProjectError as exc:
            db.close()
            last_error = exc
            if "corrupt" in str(exc) and "unable to open" not in str(exc):
                raise
            continue
        except sqlite3.Error as exc:
            db.close()
            last_error = exc
            continue
        if version < schema.SCHEMA_VERSION:
            db.close()
            raise ProjectError(
                f"{db_path}: made by an older RetinaLab (schema {version}); open it once with write "
                "access to upgrade it"
            )
        return db
    raise ProjectError(f"{db_path}: cannot open the project database read-only ({last_error})")
