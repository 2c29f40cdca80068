"""App-test hygiene: cyclic garbage from a test is collected on the GUI thread, right after it.

A closed window's Python wrappers (window, controllers, docks) form reference cycles that only the
cyclic garbage collector frees, and it runs on whichever thread happens to allocate next. When that
was a worker thread of a later test (the demo project generator, a model load), it deleted the old
window's widgets off the GUI thread and the process died with a segfault. Collecting after every app
test keeps that work on the GUI thread.
"""

from __future__ import annotations

import gc
from typing import Any, Callable, Iterator

import pytest


@pytest.fixture(autouse=True)
def _own_config_dir(tmp_path_factory: Any, monkeypatch: Any) -> None:
    """Recent folders and other per-user settings go to a temporary folder, not the user's config."""
    monkeypatch.setenv("RETINALAB_CONFIG_DIR", str(tmp_path_factory.mktemp("config")))


@pytest.fixture(autouse=True)
def _collect_garbage_on_the_gui_thread() -> Iterator[None]:
    yield
    gc.collect()


@pytest.fixture
def make_window(qtbot: Any) -> Callable[..., Any]:
    from app.main_window import MainWindow

    windows = []

    def make(**kwargs: Any) -> Any:
        window = MainWindow(**kwargs)
        qtbot.addWidget(window)
        window.show()
        windows.append(window)
        return window

    yield make
    for window in windows:
        window.shutdown()
