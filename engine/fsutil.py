"""Small file-system helpers shared by the engine: atomic text writes and durable renames.

A reader never sees a half-written file: text goes to a temporary file beside the target and is
renamed over it (``os.replace`` is atomic on POSIX and Windows).
"""

from __future__ import annotations

import os
from pathlib import Path


def write_text_atomic(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` through a temporary file and a rename; creates the folder."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def write_bytes_atomic(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file, fsync and a rename; creates the folder.
    A failed write leaves the previous file (if any) untouched and no temporary file behind."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def fsync_dir(folder: str | os.PathLike[str]) -> None:
    """Make a rename inside ``folder`` durable (POSIX); a no-op where folders cannot be opened (Windows)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


MAX_FILE_BYTES = 1 << 30
"""The largest file RetinaLab reads into memory whole (an image or an annotation file): 1 GiB."""


def file_problem(path: str | os.PathLike[str], *, max_bytes: int | None = MAX_FILE_BYTES) -> str | None:
    """Why ``path`` must not be read as a file, or None when it is a regular file of sane size.

    Checked before any read, so a FIFO (which would block forever), a device such as ``/dev/zero``
    (which never ends), a symlink loop or an over-large file is refused with a one-line reason.
    """
    import stat

    try:
        st = os.stat(path)
    except FileNotFoundError:
        return "file not found"
    except OSError as exc:  # ELOOP (symlink loop), EACCES, ENAMETOOLONG ...
        return (exc.strerror or str(exc)).lower()
    except ValueError:  # an embedded NUL character
        return "not a valid file name"
    if stat.S_ISDIR(st.st_mode):
        return "is a folder, not a file"
    if stat.S_ISFIFO(st.st_mode):
        return "is a named pipe (FIFO), not a file"
    if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
        return "is a device, not a file"
    if not stat.S_ISREG(st.st_mode):
        return "is not a regular file"
    if max_bytes is not None and st.st_size > max_bytes:
        return f"{st.st_size:,} bytes is over the {max_bytes:,}-byte limit for files read whole"
    return None
