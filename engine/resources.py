"""Find the files RetinaLab ships (class-name lists, the demo model and its card) wherever it runs.

The source is the repository's top-level ``resources/`` folder; installs carry it as the package
``engine.resource_files`` (see ``setup.py``), found through ``importlib.resources``: a wheel, an
editable install and a zipped install alike. A source checkout run without installing (``PYTHONPATH``
set to the checkout) has no such package and reads ``resources/`` beside ``engine/``. From a zip the
files asked for are copied once to a temporary folder (removed at exit), because torch, OpenCV and
Qt want real paths.
"""

from __future__ import annotations

import atexit
import functools
import shutil
import tempfile
import threading
from importlib import resources
from importlib.abc import Traversable
from pathlib import Path

RESOURCE_PACKAGE = "engine.resource_files"
CHECKOUT_RESOURCES = Path(__file__).resolve().parent.parent / "resources"
_extract_lock = threading.Lock()  # the GUI thread and a worker may ask for the same file at once


@functools.cache
def resource_root() -> Traversable:
    """The folder of shipped files: the installed package, else the checkout's ``resources/``."""
    try:
        return resources.files(RESOURCE_PACKAGE)
    except ModuleNotFoundError:
        return CHECKOUT_RESOURCES


def resource_path(*parts: str) -> Path:
    """A real file-system path of ``resources/<parts...>`` (a file or a folder); does not check that
    it exists. From a zipped install the file or folder is extracted first."""
    root = resource_root()
    if isinstance(root, Path):
        return root.joinpath(*parts)
    with _extract_lock:
        return _extracted(parts)


@functools.cache
def _extract_dir() -> Path:
    folder = Path(tempfile.mkdtemp(prefix="retinalab-resources-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


@functools.cache
def _extracted(parts: tuple[str, ...]) -> Path:
    dest = _extract_dir().joinpath(*parts)
    _copy(resource_root().joinpath(*parts), dest)
    return dest


def _copy(source: Traversable, dest: Path) -> None:
    if source.is_file():
        if dest.is_file():  # already extracted with a folder above it
            return
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(dest.name + ".part")
        with source.open("rb") as src, open(tmp, "wb") as out:
            shutil.copyfileobj(src, out)
        tmp.replace(dest)
    elif source.is_dir():
        dest.mkdir(parents=True, exist_ok=True)
        for child in source.iterdir():
            if child.name != "__pycache__" and not child.name.endswith(".py"):
                _copy(child, dest / child.name)
