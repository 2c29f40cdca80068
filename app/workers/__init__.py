"""Background work for the app: one QObject per long task, each on its own QThread.

``base`` holds the superqt-style ``Worker`` (run wraps the work: ``errored`` on exception, no
``returned`` when aborted, ``finished`` always) and the ``WorkerPool`` that starts one-shot workers and
waits for all of them on close. ``image_loader`` decodes and prefetches images, ``model`` owns the
detector (torch is imported there, never on the GUI thread), ``tasks`` has the one-shot jobs (open a
project, export, import, download weights).
"""

from app.workers.base import FunctionWorker, Worker, WorkerPool

__all__ = ["FunctionWorker", "Worker", "WorkerPool"]
