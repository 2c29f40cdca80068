"""Save and load RetinaLab checkpoints: one ``.pt`` file holding a model and everything needed to rebuild it.

A checkpoint is a plain dict ``{format_version, arch, class_names, image_size, alpha, gamma, state_dict,
train_config, metrics, created}`` plus any ``extra`` keys (optimizer / scheduler state, epoch ...) for
resuming. Only types that ``torch.load(weights_only=True)`` accepts are written (tensors, dicts, lists,
tuples, str, int, float, bool, None), so loading never runs pickled code. Writes are atomic: a temporary
file in the target folder, fsync, then ``os.replace``; a crash leaves the previous file intact. Every
failure to load (missing, truncated, foreign, unsafe, wrong version, mismatched weights) becomes a
``CheckpointError`` with a one-line reason. ``export_half_precision`` writes a float16 copy of a
checkpoint (about half the size), checked to move no box by more than a limit.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import logging
import os
import pickle
import tempfile
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from engine.errors import CheckpointError, RetinaLabError
from engine.fsutil import file_problem, fsync_dir

if TYPE_CHECKING:
    from engine.types import Detection

log = logging.getLogger(__name__)

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
    reduced precision, as ``export_half_precision`` writes them).

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


# Tried in order: the first step that keeps every box within the limit is stored. Biases, norms and
# other 1-D tensors always stay float32 (a few kB). Measured on the demo model: the first backbone
# stages (0.8 MB) move boxes most in float16 (0.017 px), then box regression (0.004 px); the big late
# backbone stages, the FPN and the classification head barely matter (< 0.003 px together).
_EARLY_BACKBONE = tuple(f"backbone.body.{i}." for i in range(11))
HALF_PRECISION_LADDER: tuple[tuple[str, ...], ...] = (
    (), _EARLY_BACKBONE, (*_EARLY_BACKBONE, "head.regression_head."),
    (*_EARLY_BACKBONE, "head.regression_head.", "backbone.fpn."),
)


def export_half_precision(src: str | os.PathLike[str], dst: str | os.PathLike[str], *,
                          check_images: Sequence[str | os.PathLike[str]], score_thresh: float = 0.3,
                          max_box_diff_px: float = 1e-2) -> float:
    """Store checkpoint ``src`` at ``dst`` with most weights in float16 (about half the size), checked.

    A float16 tensor loads back into the usual float32 model (``load_state_dict`` casts). Both models
    run on ``check_images``; every float32 detection scoring at least ``score_thresh`` must reappear
    (same class) with all four corners within ``max_box_diff_px`` pixels. Multi-dimensional weights go
    to float16 except under the prefixes of the first ``HALF_PRECISION_LADDER`` step that passes;
    if none passes, ``ValueError`` and nothing is written. Optimizer and scheduler state are dropped;
    metrics and the training config are kept, plus ``half_precision_max_box_diff_px`` and
    ``half_precision_float32_prefixes`` in the metrics. Returns the largest corner difference (px).
    """
    from engine.infer import Detector

    ckpt = load_checkpoint(src)
    model = model_from_checkpoint(ckpt)
    images = list(check_images)

    def predict() -> list:
        detector = Detector.from_model(model, ckpt.class_names, image_size=ckpt.image_size, arch=ckpt.arch,
                                       device="cpu")
        return detector.predict(images, score_thresh=0.01)

    reference = predict()
    worst = float("inf")
    for keep in HALF_PRECISION_LADDER:
        state = {k: v.half() if v.is_floating_point() and v.dim() > 1 and not k.startswith(keep)
                 else v for k, v in ckpt.state_dict.items()}
        model.load_state_dict(state)  # float16 values in float32 parameters, as loading the file will give
        worst = _largest_box_change(reference, predict(), score_thresh)
        log.info("float32 kept for %s: boxes move by up to %.5f px", list(keep) or "1-D tensors only", worst)
        if worst <= max_box_diff_px:
            break
    else:
        raise ValueError(f"float16 weights move boxes by up to {worst:.4f} px (limit {max_box_diff_px} px)")
    metrics = {**ckpt.metrics, "half_precision_max_box_diff_px": worst,
               "half_precision_float32_prefixes": list(keep)}
    save_checkpoint(dst, model=model, arch=ckpt.arch, class_names=ckpt.class_names, image_size=ckpt.image_size,
                    alpha=ckpt.alpha, gamma=ckpt.gamma, train_config=ckpt.train_config, metrics=metrics,
                    state_dict=state)  # the mixed precision checked above, not the float32 parameters
    reloaded = Detector.from_checkpoint(dst, device="cpu").predict(images, score_thresh=0.01)
    if _largest_box_change(reference, reloaded, score_thresh) > max_box_diff_px:  # the file itself, to be sure
        Path(dst).unlink(missing_ok=True)
        raise ValueError(f"{dst} does not reproduce the boxes checked before writing it")
    log.info("wrote %s (%.1f MB); boxes within %.5f px of float32", dst, Path(dst).stat().st_size / 1e6, worst)
    return worst


def _largest_box_change(reference: Sequence[Sequence[Detection]], after: Sequence[Sequence[Detection]],
                        score_thresh: float) -> float:
    """Largest corner move (px) from each confident reference detection to its closest same-class match."""
    worst = 0.0
    for ref_per_image, new_per_image in zip(reference, after):
        for ref in ref_per_image:
            if ref.score < score_thresh:
                continue
            diffs = [max(abs(ref.x1 - d.x1), abs(ref.y1 - d.y1), abs(ref.x2 - d.x2), abs(ref.y2 - d.y2))
                     for d in new_per_image if d.label == ref.label]
            worst = max(worst, min(diffs, default=float("inf")))
    return worst
