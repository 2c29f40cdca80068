"""``--device`` names: one rule for detection and training, and a clear line for a device that is not there."""

from __future__ import annotations

import pytest
import torch

from engine.device import resolve_device
from engine.errors import ModelError


def _pretend_gpus(monkeypatch: pytest.MonkeyPatch, count: int) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: count > 0)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: count)


def test_auto_cpu_and_cuda_indices(monkeypatch: pytest.MonkeyPatch) -> None:
    assert resolve_device("cpu") == torch.device("cpu")
    _pretend_gpus(monkeypatch, 2)
    assert resolve_device("auto") == torch.device("cuda")
    assert resolve_device("cuda") == torch.device("cuda")
    assert resolve_device("cuda:1") == torch.device("cuda", 1)
    _pretend_gpus(monkeypatch, 0)
    assert resolve_device("auto") == torch.device("cpu")


def test_a_gpu_that_is_not_there_names_the_ones_that_are(monkeypatch: pytest.MonkeyPatch) -> None:
    _pretend_gpus(monkeypatch, 1)
    with pytest.raises(ModelError, match=r"'cuda:1'.*1 GPU\(s\): cuda:0"):
        resolve_device("cuda:1")
    _pretend_gpus(monkeypatch, 0)
    for name in ("cuda", "cuda:1"):
        with pytest.raises(ModelError, match="CUDA is not available.*no GPU"):
            resolve_device(name)


@pytest.mark.parametrize("name", ["tpu", "gpu", "mps", "cuda:x", ""])
def test_an_unknown_device_is_one_clear_error(name: str) -> None:
    with pytest.raises(ModelError, match=r"unknown device .*use auto, cpu, cuda or cuda:N \(this machine has cpu"):
        resolve_device(name)


def test_training_reports_a_bad_device_as_bad_input(tmp_path) -> None:
    from engine.train import fit
    from engine.types import TrainConfig

    result = fit(TrainConfig(data=str(tmp_path), out=str(tmp_path / "run"), device="tpu"))
    assert result.status == "failed" and result.bad_input and "unknown device 'tpu'" in result.message
