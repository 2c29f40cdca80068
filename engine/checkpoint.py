"""Save and load RetinaLab checkpoints: one ``.pt`` file holding a model and everything needed to rebuild it.

A checkpoint is a plain dict ``{format_version, arch, class_names, image_size, alpha, gamma, state_dict,
train_config, metrics, created}`` plus any ``extra`` keys (optimizer / scheduler state, epoch ...) for
resuming. Only types that ``torch.load(weights_only=True)`` accepts are written (tensors, dicts, lists,
tuples, str, int, float, bool, None), so loading never runs pickled code. Writes are atomic: a temporary
file in the target folder, fsync, then ``os.replace``; a crash leaves the previous file intact. Every
failure to load (missing, truncated, foreign, unsafe, wrong version, mismatched weights) becomes a
``CheckpointError`` with a one-line reason.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import os
import pickle
import tempfile
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from engine.errors import CheckpointError, RetinaLabError
from engine.fsutil import file_problem, fsync_dir

FORMAT_VERSION = 1
MAX_CHECKPOINT_BYTES = 4 << 30
"""Larger files are refused before loading (the ResNet-50 models are about 150 MB)."""
_CORE_KEYS = (
    "format_version",
    "arch",
    "class_names",
    "image_size",
    "alpha",
    "gamma",
    "state_dict",
    "train_config",
    "metrics",
    "created",
)


@dataclass(frozen=True)
class Checkpoint:
    """A loaded checkpoint. ``state_dict`` tensors are on the CPU; ``class_names[k]`` is logit column k."""

    arch: str
    class_names: tuple[str, ...]
    image_size: int
    alpha: float
    gamma: float
    state_dict: Mapping[str, torch.Tensor] = field(repr=False)
    train_config: Mapping[str, Any] | None = None
    metrics: Mapping[str, Any] = field(default_factory=dict)
    created: str = ""
    extra: Mapping[str, Any] = field(default_factory=dict, repr=False)
    path: Path | None = None


def save_checkpoint(
    path: str | os.PathLike[str],
    *,
    model: nn.Module,
    arch: str,
    class_names: Sequence[str],
    image_size: int,
    alpha: float,
    gamma: float,
    train_config: Any = None,
    metrics: Mapping[str, Any] | None = None,
    extra: Mapping[str, Any] | None = None,
    state_dict: Mapping[str, torch.Tensor] | None = None,
) -> Path:
    """Write ``model``'s weights and metadata to ``path`` atomically; returns the path.

    ``state_dict`` stores these tensors instead of ``model.state_dict()`` (same keys; e.g. weights in
    reduced precision, as ``engine.demo.export_half_precision`` writes them).

    ``train_config`` may be a ``TrainConfig`` (or any dataclass) or a mapping; it is stored as a plain
    dict. ``extra`` keys (e.g. ``optimizer``, ``epoch``) are merged into the file and must not clash with
    the core keys. Raises ``CheckpointError`` for values that cannot be stored safely.
    """
    path = Path(path)
    extra = dict(extra or {})
    clash = sorted(set(extra) & set(_CORE_KEYS))
    if clash:
        raise CheckpointError(f"extra keys clash with checkpoint fields: {', '.join(clash)}")
    weights = model.state_dict() if state_dict is None else state_dict
    state_dict = {k: v.detach().to("cpu").clone() for k, v in weights.items()}
    payload: dict[str, Any] = {
        "format_version": FORMAT_VERSION,
        "arch": str(arch),
        "class_names": [str(n) for n in class_names],
        "image_size": int(image_size),
        "alpha": float(alpha),
        "gamma": float(gamma),
        "state_dict": state_dict,
        "train_config": None if train_config is None else _plain(train_config, "train_config"),
        "metrics": _plain(dict(metrics or {}), "metrics"),
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    }
    for key, value in extra.items():
        payload[str(key)] = _plain(value, str(key))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise CheckpointError(f"cannot write checkpoint {path}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(payload, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp_name, path)
    except (OSError, RuntimeError) as exc:  # disk full: torch says "unexpected pos ..." (RuntimeError)
        Path(tmp_name).unlink(missing_ok=True)
        raise CheckpointError(f"cannot write checkpoint {path}: {_write_failure(exc, path.parent)}") from None
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)
    return path


def _write_failure(exc: BaseException, folder: Path) -> str:
    """A one-line reason for a failed write, with the free space left (the usual cause)."""
    import shutil

    reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "the write failed"
    try:
        free = shutil.disk_usage(folder).free
    except OSError:
        return reason
    return f"{reason} ({free / 1e6:,.1f} MB free on that disk)"


STALE_TEMPORARY_GLOB = ".*.pt.*.tmp"
"""Temporary files ``save_checkpoint`` leaves only when killed mid-write (``.last.pt.k3j2.tmp``)."""


def remove_stale_temporaries(folder: str | os.PathLike[str]) -> list[Path]:
    """Delete half-written checkpoints a killed save left in ``folder``; returns what was removed."""
    removed = []
    for leftover in Path(folder).glob(STALE_TEMPORARY_GLOB):
        try:
            leftover.unlink()
            removed.append(leftover)
        except OSError:
            pass
    return removed


def load_checkpoint(path: str | os.PathLike[str]) -> Checkpoint:
    """Read a checkpoint safely (``weights_only=True``, tensors mapped to the CPU)."""
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"checkpoint not found: {path}")
    if not path.is_file():
        raise CheckpointError(f"checkpoint is not a file: {path}")
    problem = file_problem(path, max_bytes=MAX_CHECKPOINT_BYTES)
    if problem is not None:
        raise CheckpointError(f"cannot read checkpoint {path}: {problem}")
    try:
        with path.open("rb") as f:
            head = f.read(4)
    except OSError as exc:
        raise CheckpointError(f"cannot read checkpoint {path}: {exc.strerror or exc}") from None
    # torch.save writes a zip archive; a bare pickle starts with its protocol byte. Anything else
    # (random bytes, a JPEG renamed .pt) is not called an unsafe pickle: it is not a checkpoint at all.
    if head and not head.startswith((b"PK\x03\x04", b"\x80")):
        raise CheckpointError(f"cannot read checkpoint {path}: not a PyTorch checkpoint file")
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        if "weights_only" in str(exc) or "Unsupported" in str(exc) or "global" in str(exc).lower():
            raise CheckpointError(
                f"refusing to load {path}: it contains Python objects other than weights (unsafe pickle)"
            ) from None
        raise CheckpointError(f"cannot read checkpoint {path}: file is corrupt or not a checkpoint") from None
    except (RuntimeError, EOFError, zipfile.BadZipFile, ValueError, OSError, AttributeError, KeyError) as exc:
        reason = "file is truncated or corrupt" if path.stat().st_size else "file is empty"
        raise CheckpointError(f"cannot read checkpoint {path}: {reason} ({type(exc).__name__})") from None
    if not isinstance(data, dict) or "format_version" not in data or "state_dict" not in data:
        raise CheckpointError(f"{path} is not a RetinaLab checkpoint (no format_version / state_dict)")
    version = data["format_version"]
    if version != FORMAT_VERSION:
        raise CheckpointError(
            f"{path} has checkpoint format version {version!r}; this RetinaLab reads version {FORMAT_VERSION}"
        )
    missing = [k for k in _CORE_KEYS if k not in data]
    if missing:
        raise CheckpointError(f"{path} is missing checkpoint fields: {', '.join(missing)}")
    try:
        ckpt = Checkpoint(
            arch=str(data["arch"]),
            class_names=tuple(str(n) for n in data["class_names"]),
            image_size=int(data["image_size"]),
            alpha=float(data["alpha"]),
            gamma=float(data["gamma"]),
            state_dict=data["state_dict"],
            train_config=data["train_config"],
            metrics=data["metrics"] or {},
            created=str(data["created"]),
            extra={k: v for k, v in data.items() if k not in _CORE_KEYS},
            path=path,
        )
    except (TypeError, ValueError) as exc:
        raise CheckpointError(f"{path} has malformed checkpoint fields ({exc})") from None
    if not isinstance(ckpt.state_dict, Mapping) or not all(
        isinstance(v, torch.Tensor) for v in ckpt.state_dict.values()
    ):
        raise CheckpointError(f"{path} has a malformed state_dict (expected a mapping of tensors)")
    if not ckpt.class_names:
        raise CheckpointError(f"{path} lists no class names")
    return ckpt


def model_from_checkpoint(ckpt: Checkpoint, device: str | torch.device = "cpu") -> nn.Module:
    """Rebuild the checkpoint's model (eval mode, on ``device``) and load its weights strictly."""
    from engine.models import build_model

    try:
        model = build_model(
            ckpt.arch,
            len(ckpt.class_names),
            pretrained="none",
            alpha=ckpt.alpha,
            gamma=ckpt.gamma,
            image_size=ckpt.image_size,
        )
    except RetinaLabError as exc:
        raise CheckpointError(f"{_name(ckpt)}: {exc}") from None
    non_finite = [k for k, v in ckpt.state_dict.items() if v.is_floating_point() and not bool(torch.isfinite(v).all())]
    if non_finite:  # a model trained into NaN detects nothing at all: say so instead
        raise CheckpointError(f"{_name(ckpt)}: {len(non_finite)} tensors hold NaN/inf (e.g. {non_finite[0]}); "
                              "the model is unusable")
    result = _load_strict(model, ckpt)
    if result:
        raise CheckpointError(f"{_name(ckpt)} does not match {ckpt.arch} with {len(ckpt.class_names)} classes: {result}")
    return model.to(device).eval()


def _load_strict(model: nn.Module, ckpt: Checkpoint) -> str:
    expected = model.state_dict()
    missing = [k for k in expected if k not in ckpt.state_dict]
    unexpected = [k for k in ckpt.state_dict if k not in expected]
    wrong_shape = [
        k for k in expected if k in ckpt.state_dict and tuple(ckpt.state_dict[k].shape) != tuple(expected[k].shape)
    ]
    if missing or unexpected or wrong_shape:
        parts = []
        for label, keys in (("missing", missing), ("unexpected", unexpected), ("wrong shape", wrong_shape)):
            if keys:
                parts.append(f"{len(keys)} {label} (e.g. {keys[0]})")
        return ", ".join(parts)
    model.load_state_dict(dict(ckpt.state_dict))
    return ""


def _name(ckpt: Checkpoint) -> str:
    return str(ckpt.path) if ckpt.path is not None else "checkpoint"


def _plain(value: Any, where: str) -> Any:
    """``value`` as weights_only-loadable types (dataclasses and mappings -> dict, Path -> str, ...)."""
    if value is None:
        return None
    for kind in (bool, int, float, str):  # also unwraps subclasses such as numpy.float64 and enums
        if isinstance(value, kind):
            return kind(value)
    if isinstance(value, torch.Tensor):
        return value.detach().to("cpu")
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name), f"{where}.{f.name}") for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {_plain_key(k, where): _plain(v, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        items = [_plain(v, f"{where}[{i}]") for i, v in enumerate(value)]
        return items if isinstance(value, list) else tuple(items)
    if hasattr(value, "item") and hasattr(value, "dtype") and getattr(value, "ndim", None) == 0:  # numpy scalar
        return value.item()
    if hasattr(value, "__array__") and hasattr(value, "dtype"):  # numpy array
        return torch.as_tensor(value)
    raise CheckpointError(f"cannot store {where} in a checkpoint: unsupported type {type(value).__name__}")


def _plain_key(key: Any, where: str) -> Any:
    if isinstance(key, (str, int, bool, float)) or key is None:
        return key
    raise CheckpointError(f"cannot store {where} in a checkpoint: unsupported key type {type(key).__name__}")
