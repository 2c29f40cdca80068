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
