"""Waiting on a signal emitted by an object that lives on a worker thread, without the hang.

``qtbot.waitSignal(worker.signal)`` connects a plain Python callable, and PySide6 runs such a callable
on the *emitting* thread (there is no receiver QObject to queue to). pytest-qt's blocker then calls
``QTimer.stop()`` and ``QEventLoop.quit()`` from the worker thread. If that lands between the
blocker's ``timer.start()`` and ``loop.exec()`` on the GUI thread, the quit is lost (``exec`` resets
it) and the foreign ``stop()`` marks the timeout timer inactive without killing it, so its timeout is
ignored: ``exec`` never returns and the test hangs with no timeout error. ``wait_signal_from_thread``
routes the signal through a QObject on the GUI thread first (a queued connection), so the blocker
only ever sees GUI-thread emissions. Use it for any signal whose sender was moved to a QThread.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator

from PySide6.QtCore import QObject, Signal


class GuiThreadRelay(QObject):
    """Re-emits ``signal`` (from any thread) as ``fired(args)`` on the thread that created it."""

    fired = Signal(object)  # tuple of the original arguments

    def __init__(self, signal: Any) -> None:
        super().__init__()
        self._signal = signal
        signal.connect(self._on_signal)  # a QObject method: queued when the sender is on another thread

    def _on_signal(self, *args: Any) -> None:
        self.fired.emit(args)

    def close(self) -> None:
        try:
            self._signal.disconnect(self._on_signal)
        except (RuntimeError, TypeError):
            pass  # the sender is already gone


@contextmanager
def wait_signal_from_thread(qtbot: Any, signal: Any, *, timeout: int = 5000) -> Iterator[Any]:
    """Like ``qtbot.waitSignal(signal, timeout=...)``; the blocker's ``args`` are the signal's own."""
    relay = GuiThreadRelay(signal)
    try:
        with qtbot.waitSignal(relay.fired, timeout=timeout) as blocker:
            yield blocker
        blocker.args = list(blocker.args[0]) if blocker.args else blocker.args
    finally:
        relay.close()
