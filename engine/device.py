"""Which torch device a ``--device`` / ``device=`` string names: the one rule for inference and training."""

from __future__ import annotations

import torch

from engine.errors import ModelError


def _available() -> list[str]:
    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    return ["cpu", *(f"cuda:{i}" for i in range(count))]


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``"auto"`` -> CUDA when available, else CPU; ``"cpu"``, ``"cuda"`` and ``"cuda:N"`` as they say.

    Raises ``ModelError`` (one line naming the devices this machine has) for any other name, for CUDA
    on a machine without a GPU, and for a ``cuda:N`` beyond the GPUs present.
    """
    name = str(device).strip()
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    available = _available()
    try:
        resolved = torch.device(name)
    except (RuntimeError, ValueError):
        resolved = None
    if resolved is None or resolved.type not in ("cpu", "cuda"):
        raise ModelError(f"unknown device {name!r}; use auto, cpu, cuda or cuda:N "
                         f"(this machine has {', '.join(available)})")
    if resolved.type == "cuda":
        gpus = len(available) - 1
        if gpus == 0:
            raise ModelError(f"device {name!r} asked for, but CUDA is not available here (no GPU); use cpu or auto")
        if resolved.index is not None and resolved.index >= gpus:
            raise ModelError(f"device {name!r} asked for, but this machine has {gpus} GPU(s): "
                             f"{', '.join(available[1:])}")
    return resolved
