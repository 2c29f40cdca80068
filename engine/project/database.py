"""Thread-safe access to one project database: a connection per thread, explicit transactions.

SQLite connections must not be shared between threads mid-transaction, so every thread that touches
the project gets its own connection (kept in a thread-local, all of them closed together). Writes run
in ``BEGIN IMMEDIATE`` transactions, which take the write lock up front, so two writers queue on the
busy timeout instead of failing with "database is locked" half-way; reads that must be consistent
(snapshots) run in one deferred transaction, which in WAL mode sees a fixed version of the database
while writers carry on. Nested ``write()`` blocks on one thread join the outer transaction.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from engine.errors import ProjectError

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 30_000
FLUSH_INTERVAL_S = 1.0  # with synchronous=NORMAL: the most a power cut can take (kill -9 takes nothing)


class Database:
    """Per-thread connections to ``path``; ``uri`` opens it through an SQLite URI (read-only modes)."""

    def __init__(self, path: Path, *, uri: str | None = None, read_only: bool = False,
                 synchronous: str = "FULL") -> None:
        self.path = path
        self._uri = uri
        self.read_only = read_only
        self._synchronous = synchronous
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections: list[sqlite3.Connection] = []
        self._closed = False
        self.reason = "opened read-only"
        self._dirty = threading.Event()
        self._stop = threading.Event()
        self._flusher: threading.Thread | None = None
        if not read_only and synchronous.upper() == "NORMAL":
            self._flusher = threading.Thread(target=self._flush_loop, name="project-wal-flush", daemon=True)
            self._flusher.start()

    def connect(self) -> sqlite3.Connection:
        """This thread's connection, opened on first use."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            return conn
        with self._lock:
            if self._closed:
                raise ProjectError(f"{self.path}: the project is closed")
            target = self._uri if self._uri is not None else str(self.path)
            # check_same_thread=False only so close() may close every thread's connection at the end.
            conn = sqlite3.connect(target, uri=self._uri is not None, isolation_level=None,
                                   check_same_thread=False, timeout=BUSY_TIMEOUT_MS / 1000)
            self._connections.append(conn)
        try:
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            conn.execute("PRAGMA foreign_keys = ON")
            if not self.read_only:
                conn.execute(f"PRAGMA synchronous = {self._synchronous}")
        except sqlite3.Error as exc:  # disk full or failing, the WAL index cannot be made
            raise ProjectError(
                f"{self.path}: cannot open the project database ({exc}); the disk may be full or "
                "failing, or the folder not writable") from exc
        self._local.conn = conn
        self._local.depth = 0
        return conn

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One atomic write, committed when the block exits without error (then safe from a process
        kill; on disk at once under synchronous=FULL, within FLUSH_INTERVAL_S under NORMAL).
        SQLite errors (busy past the timeout, disk full, I/O) become ProjectError; nothing is kept."""
        if self.read_only:
            raise ProjectError(f"{self.path}: the project is read-only ({self.reason})")
        conn = self.connect()
        depth = self._local.depth
        if depth == 0:
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise ProjectError(f"{self.path}: cannot save ({exc})") from exc
        self._local.depth = depth + 1
        try:
            yield conn
        except BaseException as exc:
            self._local.depth = depth
            if depth == 0:
                self._rollback(conn)
                if isinstance(exc, sqlite3.Error):
                    raise ProjectError(f"{self.path}: the edit was not saved ({exc})") from exc
            raise
        self._local.depth = depth
        if depth == 0:
            try:
                conn.execute("COMMIT")
            except sqlite3.Error as exc:  # disk full, I/O error: nothing of this edit is kept
                self._rollback(conn)
                raise ProjectError(f"{self.path}: the edit was not saved ({exc})") from exc
            self._dirty.set()

    @staticmethod
    def _rollback(conn: sqlite3.Connection) -> None:
        try:
            conn.execute("ROLLBACK")
        except sqlite3.Error:
            pass  # SQLite already rolled back (it does on some errors)

    def _flush_loop(self) -> None:
        """Under synchronous=NORMAL a commit reaches the OS (safe from kill -9) but not the disk;
        fsync the WAL shortly after commits so a power cut loses at most FLUSH_INTERVAL_S of edits."""
        while not self._stop.wait(FLUSH_INTERVAL_S):
            if self._dirty.is_set():
                self._dirty.clear()
                self._fsync_wal()

    def _fsync_wal(self) -> None:
        try:
            fd = os.open(f"{self.path}-wal", os.O_RDONLY)
        except OSError:
            return  # no WAL right now: everything is in the main file
        try:
            os.fsync(fd)
        except OSError as exc:
            log.warning("%s: fsync of the write-ahead log failed: %s", self.path, exc)
        finally:
            os.close(fd)

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """A consistent read: every query in the block sees the same committed state."""
        conn = self.connect()
        depth = self._local.depth
        if depth == 0:
            conn.execute("BEGIN DEFERRED")
        self._local.depth = depth + 1
        try:
            yield conn
        finally:
            self._local.depth = depth
            if depth == 0:
                conn.execute("COMMIT")

    def close(self) -> None:
        """Close every thread's connection; later use raises ProjectError."""
        self._stop.set()
        if self._flusher is not None and self._flusher is not threading.current_thread():
            self._flusher.join()
        if self._dirty.is_set():
            self._fsync_wal()
        with self._lock:
            self._closed = True
            connections, self._connections = self._connections, []
        for conn in connections:
            try:
                conn.close()
            except sqlite3.Error:
                pass
        self._local = threading.local()

    @property
    def closed(self) -> bool:
        return self._closed
