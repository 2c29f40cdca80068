"""Background work for the app: one QObject per long task, each on its own QThread.

``base`` holds ``Worker`` and ``WorkerPool``, the one worker mechanism (its rules: ``docs/architecture.md``,
Threading rules). ``image_loader`` decodes and prefetches images, ``model`` owns the detector (torch is
imported there, never on the GUI thread), ``tasks`` has the one-shot jobs (open a project, export,
import labels, export a model to ONNX).
"""

from app.workers.base import FunctionWorker, Worker, WorkerPool

__all__ = ["FunctionWorker", "Worker", "WorkerPool"]
