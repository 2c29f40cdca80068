"""The worker pattern every background job in the app follows (after superqt's thread workers).

A ``Worker`` is a QObject moved to its own QThread. Its ``run`` slot wraps ``work()``: it emits
``errored`` with a one-line message when the work raises (the window always shows it), skips
``returned`` when the worker was aborted, and always emits ``finished``. Cancelling sets a
``threading.Event`` that the work reads through ``should_stop()`` (engine callbacks receive that
method); nothing ever calls ``QThread.terminate()``. ``WorkerPool`` starts one-shot workers (the
jobs, and the loops that run until aborted: training, camera capture, live detection), keeps them alive
until their thread ends, and ``await_worker`` / ``await_workers()`` ask one or all of them to stop, then
wait.
"""

from __future__ import annotations

import logging
import threading
from typing import Any, Callable

from PySide6.QtCore import QObject, Qt, QThread, Signal, Slot

from engine.errors import RetinaLabError

log = logging.getLogger(__name__)

ProgressFn = Callable[[int, int, str], None]  # done, total, message
StopFn = Callable[[], bool]


class Cancelled(Exception):
    """Raised inside work to unwind quickly once ``should_stop()`` is true."""


def describe_error(exc: BaseException) -> str:
    """One line for the user: our own errors carry their message; anything else names its type."""
    if isinstance(exc, RetinaLabError):
        return str(exc)
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else 'unexpected error'}"


class Worker(QObject):
    """Base class: override ``work()``; start it with ``WorkerPool.start`` (or a QThread of your own)."""

    started = Signal()
    progressed = Signal(int, int, str)  # done, total, message
    returned = Signal(object)
    errored = Signal(str)
    finished = Signal()

    def __init__(self, name: str = "") -> None:
        super().__init__()
        self.name = name or type(self).__name__
        self._stop = threading.Event()

    def abort(self) -> None:
        """Ask the work to stop at its next check; safe from any thread."""
        self._stop.set()

    def should_stop(self) -> bool:
        return self._stop.is_set()

    @property
    def aborted(self) -> bool:
        return self._stop.is_set()

    def report(self, done: int, total: int, message: str = "") -> None:
        """Progress callback handed to the engine: it only emits."""
        self.progressed.emit(int(done), int(total), str(message))

    def work(self) -> Any:
        raise NotImplementedError

    @Slot()
    def run(self) -> None:
        self.started.emit()
        try:
            result = self.work()
        except Cancelled:
            log.info("%s cancelled", self.name)
        except Exception as exc:  # surfaced to the user through errored, never swallowed
            if not isinstance(exc, RetinaLabError):
                log.exception("%s failed", self.name)
            self.errored.emit(describe_error(exc))
        else:
            if not self.aborted:
                self.returned.emit(result)
        finally:
            self.finished.emit()


class FunctionWorker(Worker):
    """Runs ``fn(report, should_stop)`` and returns its result."""

    def __init__(self, fn: Callable[[ProgressFn, StopFn], Any], name: str = "") -> None:
        super().__init__(name or getattr(fn, "__name__", "task"))
        self._fn = fn

    def work(self) -> Any:
        return self._fn(self.report, self.should_stop)


class WorkerPool(QObject):
    """Owns the threads of one-shot and long-lived workers; ``await_workers`` stops them all."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._running: dict[QThread, QObject] = {}

    def start(self, worker: Worker) -> QThread:
        """Move ``worker`` to a new thread and call its ``run``; the thread ends when it finishes."""
        thread = self._thread_for(worker)
        thread.started.connect(worker.run)
        # direct: the thread quits from itself, so it ends even while the GUI thread is busy or waiting
        worker.finished.connect(thread.quit, Qt.ConnectionType.DirectConnection)
        thread.start()
        return thread

    def start_service(self, worker: QObject) -> QThread:
        """Move a long-lived worker (slots called through queued signals) to its own running thread."""
        thread = self._thread_for(worker)
        thread.start()
        return thread

    def _thread_for(self, worker: QObject) -> QThread:
        thread = QThread(self)
        thread.setObjectName(getattr(worker, "name", type(worker).__name__))
        worker.moveToThread(thread)
        thread.finished.connect(self._on_thread_finished)
        self._running[thread] = worker
        return thread

    def active(self) -> list[QObject]:
        return [w for t, w in self._running.items() if t.isRunning()]

    @Slot()
    def _on_thread_finished(self) -> None:
        thread = self.sender()
        worker = self._running.pop(thread, None)  # type: ignore[arg-type]
        if worker is not None:
            worker.deleteLater()
        if isinstance(thread, QThread):
            thread.deleteLater()

    def await_worker(self, worker: QObject, timeout_ms: int = 30_000) -> bool:
        """Ask ``worker`` to stop, end its thread's event loop, then wait. True if it ended (or had)."""
        _abort(worker)
        for thread in [t for t, w in self._running.items() if w is worker]:
            thread.quit()
            if not thread.wait(timeout_ms):
                log.warning("worker thread %s did not stop within %d ms", thread.objectName(), timeout_ms)
                return False
        return True

    def await_workers(self, timeout_ms: int = 30_000) -> bool:
        """Ask every worker to stop, end their threads' event loops, then wait. True if all ended."""
        for worker in list(self._running.values()):
            _abort(worker)
        all_done = True
        for thread in list(self._running):
            thread.quit()
        for thread in list(self._running):
            if not thread.wait(timeout_ms):
                log.warning("worker thread %s did not stop within %d ms", thread.objectName(), timeout_ms)
                all_done = False
        return all_done


def _abort(worker: QObject) -> None:
    abort = getattr(worker, "abort", None)  # services (the image loader, the model worker) may have none
    if callable(abort):
        abort()
