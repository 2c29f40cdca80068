"""A project is never corrupted or overwritten: foreign files, second instances, read-only folders, threads."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import threading
from pathlib import Path

import pytest

from engine.errors import ProjectError
from engine.project import Project
from engine.types import Box


def _db(folder: Path) -> Path:
    return folder / ".retinalab" / "project.db"


@pytest.mark.parametrize("content", [b"not a database at all, just text\n" * 50, b""])
def test_non_sqlite_project_db_is_refused_untouched(image_folder: Path, content: bytes) -> None:
    _db(image_folder).parent.mkdir()
    _db(image_folder).write_bytes(content)
    with pytest.raises(ProjectError, match="project.db"):
        Project.open(image_folder)
    assert _db(image_folder).read_bytes() == content


def test_foreign_sqlite_file_is_refused_untouched(image_folder: Path) -> None:
    _db(image_folder).parent.mkdir()
    conn = sqlite3.connect(_db(image_folder))
    conn.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL)")
    conn.execute("INSERT INTO invoices (total) VALUES (12.5)")
    conn.commit()
    conn.close()
    before = _db(image_folder).read_bytes()
    with pytest.raises(ProjectError, match="not a RetinaLab project"):
        Project.open(image_folder)
    assert _db(image_folder).read_bytes() == before
    with pytest.raises(ProjectError, match="not a RetinaLab project"):
        Project.open(image_folder, read_only=True)


def test_damaged_project_db_is_refused_untouched(image_folder: Path) -> None:
    with Project.open(image_folder) as p:
        img = p.images()[0]
        for i in range(200):
            p.add_box(img, Box(i % 50, 0, i % 50 + 5, 10, f"class{i % 7}"))
    data = bytearray(_db(image_folder).read_bytes())
    assert len(data) >= 4 * 4096
    data[2 * 4096:3 * 4096] = b"\xff" * 4096  # wreck a page in the middle
    _db(image_folder).write_bytes(bytes(data))
    with pytest.raises(ProjectError, match="corrupt"):
        Project.open(image_folder)
    assert _db(image_folder).read_bytes() == bytes(data)


def test_project_from_newer_version_is_refused(image_folder: Path) -> None:
    Project.open(image_folder).close()
    conn = sqlite3.connect(_db(image_folder))
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    with pytest.raises(ProjectError, match="newer RetinaLab"):
        Project.open(image_folder)


def test_second_instance_is_read_only_and_sees_live_edits(image_folder: Path) -> None:
    first = Project.open(image_folder)
    try:
        second = Project.open(image_folder)
        assert not first.read_only
        assert second.read_only and "another RetinaLab window" in (second.read_only_reason or "")
        img = first.images()[0]
        bid = first.add_box(img, Box(0, 0, 10, 10, "cat"))
        assert [b.id for b in second.boxes(img)] == [bid]
        with pytest.raises(ProjectError, match="read-only"):
            second.add_box(img, Box(0, 0, 10, 10, "cat"))
        with pytest.raises(ProjectError, match="read-only"):
            second.add_class("dog")
        second.close()
    finally:
        first.close()
    with Project.open(image_folder) as again:
        assert not again.read_only


def test_second_process_is_read_only(image_folder: Path) -> None:
    import sys

    with Project.open(image_folder):
        code = "import sys; from engine.project import Project; p = Project.open(sys.argv[1]); print(p.read_only)"
        out = subprocess.run([sys.executable, "-c", code, str(image_folder)], capture_output=True, text=True,
                             cwd=Path(__file__).resolve().parents[3], timeout=60)
        assert out.stdout.strip() == "True", out.stderr


def test_explicit_read_only_never_writes(image_folder: Path) -> None:
    with Project.open(image_folder) as p:
        p.add_box(p.images()[0], Box(0, 0, 10, 10, "cat"))
    before = _db(image_folder).read_bytes()
    with Project.open(image_folder, read_only=True) as ro:
        assert ro.read_only and len(ro.boxes(ro.images()[0])) == 1
        with pytest.raises(ProjectError, match="read-only"):
            ro.set_status(ro.images()[0], "reviewed")
    assert _db(image_folder).read_bytes() == before


def _make_read_only(folder: Path) -> list[list[str]]:
    """Make ``folder`` and everything in it unwritable even for root; returns the undo commands."""
    paths = [folder] + [Path(d) / n for d, dirs, files in os.walk(folder) for n in dirs + files]
    for p in paths:
        p.chmod(0o555 if p.is_dir() else 0o444)
    undo = [["chmod", "-R", "u+w", str(folder)]]
    if os.access(folder, os.W_OK):  # root ignores modes: try the immutable attribute
        for p in reversed(paths):
            if subprocess.run(["chattr", "+i", str(p)], capture_output=True).returncode != 0:
                subprocess.run(["chattr", "-R", "-i", str(folder)], capture_output=True)
                pytest.skip("cannot make a folder read-only here")
        undo.insert(0, ["chattr", "-R", "-i", str(folder)])
    return undo


@pytest.mark.parametrize("with_store", [True, False])
def test_read_only_folder_opens_read_only(image_folder: Path, with_store: bool) -> None:
    if with_store:
        with Project.open(image_folder) as p:
            p.add_box(p.images()[0], Box(0, 0, 10, 10, "cat"))
    undo = _make_read_only(image_folder)
    try:
        with Project.open(image_folder) as p:
            assert p.read_only and "read-only" in (p.read_only_reason or "")
            assert [r.path for r in p.images()] == ["a.png", "b.jpg", "sub/c.png"]
            assert len(p.boxes(p.images()[0])) == (1 if with_store else 0)
            assert p.image_size(p.images()[1]) == (64, 48)
            with pytest.raises(ProjectError, match="read-only"):
                p.add_box(p.images()[0], Box(0, 0, 10, 10, "cat"))
    finally:
        for cmd in undo:
            subprocess.run(cmd, capture_output=True)
    assert _db(image_folder).exists() == with_store


def test_snapshots_are_consistent_while_another_thread_edits(image_folder: Path) -> None:
    errors: list[BaseException] = []
    seen_counts: set[int] = set()
    with Project.open(image_folder) as p:
        img = p.images()[0]
        labels = [Box(i * 10, 0, i * 10 + 8, 8, "cat") for i in range(5)]
        ids = [p.add_box(img, b) for b in labels]
        stop = threading.Event()

        def reader() -> None:
            try:
                while not stop.is_set():
                    snap = p.snapshot(reviewed_only=False)
                    seen_counts.add(sum(len(i.boxes) for i in snap.images if i.path == img.path))
            except BaseException as exc:  # noqa: BLE001
                errors.append(exc)

        thread = threading.Thread(target=reader)
        thread.start()
        try:
            for _ in range(150):  # each round deletes 5 labels and inserts 5 in one transaction
                with p.transaction():
                    for box_id in ids:
                        p.delete_box(box_id)
                    ids = [p.add_box(img, b) for b in labels]
        finally:
            stop.set()
            thread.join()
    assert errors == []
    assert seen_counts == {5}  # never a half-replaced set


def test_write_blocked_past_timeout_is_a_clear_error_and_keeps_nothing(
        image_folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from engine.project import database

    monkeypatch.setattr(database, "BUSY_TIMEOUT_MS", 200)
    with Project.open(image_folder) as p:
        img = p.images()[0]
        p.image_size(img)
        other = sqlite3.connect(_db(image_folder), isolation_level=None)
        other.execute("BEGIN IMMEDIATE")  # another writer holds the lock (a foreign tool, say)
        try:
            with pytest.raises(ProjectError, match="project.db.*locked"):
                p.add_box(img, Box(0, 0, 10, 10, "cat"))
        finally:
            other.execute("ROLLBACK")
            other.close()
        assert p.boxes(img) == []
        assert p.add_box(img, Box(0, 0, 10, 10, "cat")) > 0  # and the project carries on
