"""Typed errors the engine raises for bad input.

Every one carries a one-line, human-readable message that names the file or value at fault; the CLI
turns a ``RetinaLabError`` into exit status 2 with that line on stderr, the app into a message box.
"""

from __future__ import annotations


class RetinaLabError(Exception):
    """Base class: a problem with the user's input, explained in one line."""


class ImageLoadError(RetinaLabError):
    """An image file could not be decoded (missing, empty, truncated, not an image, too large)."""


class DatasetError(RetinaLabError):
    """A dataset folder or annotation file is missing or malformed."""


class CheckpointError(RetinaLabError):
    """A checkpoint file is missing, unreadable, unsafe, or does not match the requested model."""


class ModelError(RetinaLabError):
    """An unknown architecture, unavailable weights, or an impossible model configuration."""


class WeightsUnavailableError(ModelError):
    """Pretrained weights are not cached and cannot be downloaded (offline)."""


class ProjectError(RetinaLabError):
    """A labeling project cannot be opened or changed as asked."""
