"""Checkpoints round-trip, are written atomically, and refuse anything that is not plain weights."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

from engine.checkpoint import FORMAT_VERSION, load_checkpoint, model_from_checkpoint, save_checkpoint
from engine.errors import CheckpointError
from engine.models import build_model
from engine.types import TrainConfig

ARCH = "retinanet_mobilenet_v3_fpn"
CLASSES = ("cat", "dog", "traffic light")


@pytest.fixture(scope="module")
def model() -> torch.nn.Module:
    torch.manual_seed(0)
    return build_model(ARCH, len(CLASSES), alpha=0.3, gamma=1.0, image_size=128).eval()


@pytest.fixture(scope="module")
def saved(model: torch.nn.Module, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ckpt") / "best.pt"
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    save_checkpoint(
        path,
        model=model,
        arch=ARCH,
        class_names=CLASSES,
        image_size=128,
        alpha=0.3,
        gamma=1.0,
        train_config=TrainConfig(data="/data/set", out=Path("/runs/a"), class_names=CLASSES, extra={"note": "x"}),
        metrics={"AP": np.float64(0.5), "epoch": np.int64(3), "per_class": {"cat": 0.25}},
        extra={"optimizer": optimizer.state_dict(), "epoch": 3},
    )
    return path


def test_round_trip_restores_model_and_metadata(model: torch.nn.Module, saved: Path) -> None:
    ckpt = load_checkpoint(saved)
    assert (ckpt.arch, ckpt.class_names, ckpt.image_size, ckpt.alpha, ckpt.gamma) == (ARCH, CLASSES, 128, 0.3, 1.0)
    assert ckpt.train_config["data"] == "/data/set" and ckpt.train_config["out"] == "/runs/a"
    assert ckpt.train_config["class_names"] == CLASSES and ckpt.train_config["extra"] == {"note": "x"}
    assert ckpt.metrics == {"AP": 0.5, "epoch": 3, "per_class": {"cat": 0.25}}
    assert ckpt.extra["epoch"] == 3 and "param_groups" in ckpt.extra["optimizer"]
    assert ckpt.created and ckpt.path == saved
    rebuilt = model_from_checkpoint(ckpt)
    assert not rebuilt.training
    assert rebuilt.head.classification_head.alpha == 0.3
    x = [torch.rand(3, 96, 128)]
    with torch.no_grad():
        a, b = model(x)[0], rebuilt(x)[0]
    torch.testing.assert_close(a["boxes"], b["boxes"])
    torch.testing.assert_close(a["scores"], b["scores"])
    # the optimizer state comes back usable for resuming
    torch.optim.AdamW(rebuilt.parameters(), lr=1e-3).load_state_dict(ckpt.extra["optimizer"])


def test_file_is_plain_weights_only_data(saved: Path) -> None:
    raw = torch.load(saved, weights_only=True)
    assert raw["format_version"] == FORMAT_VERSION
    assert isinstance(raw["train_config"], dict)
    assert type(raw["metrics"]["AP"]) is float


def test_unsafe_pickle_is_refused_and_never_runs(tmp_path: Path) -> None:
    victim = tmp_path / "pwned.txt"

    class Exploit:
        def __reduce__(self):  # noqa: ANN204
            return (os.system, (f"touch {victim}",))

    path = tmp_path / "evil.pt"
    torch.save({"format_version": FORMAT_VERSION, "state_dict": {}, "payload": Exploit()}, path)
    with pytest.raises(CheckpointError, match="unsafe") as info:
        load_checkpoint(path)
    assert "\n" not in str(info.value)
    assert not victim.exists()
    # the same holds for a bare pickle that is not a zip archive
    plain = tmp_path / "evil.pkl"
    plain.write_bytes(pickle.dumps(Exploit(), protocol=2))
    with pytest.raises(CheckpointError):
        load_checkpoint(plain)
    assert not victim.exists()


def test_truncated_and_foreign_files(saved: Path, tmp_path: Path) -> None:
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(saved.read_bytes()[: saved.stat().st_size // 2])
    with pytest.raises(CheckpointError, match="truncated or corrupt"):
        load_checkpoint(truncated)
    empty = tmp_path / "empty.pt"
    empty.write_bytes(b"")
    with pytest.raises(CheckpointError, match="empty"):
        load_checkpoint(empty)
    text = tmp_path / "notes.pt"
    text.write_text("hello")
    with pytest.raises(CheckpointError):
        load_checkpoint(text)
    bare = tmp_path / "bare.pt"
    torch.save({"conv.weight": torch.zeros(1)}, bare)
    with pytest.raises(CheckpointError, match="not a RetinaLab checkpoint"):
        load_checkpoint(bare)
    with pytest.raises(CheckpointError, match="not found"):
        load_checkpoint(tmp_path / "nope.pt")


def test_wrong_format_version(saved: Path, tmp_path: Path) -> None:
    data = torch.load(saved, weights_only=True)
    data["format_version"] = FORMAT_VERSION + 1
    path = tmp_path / "future.pt"
    torch.save(data, path)
    with pytest.raises(CheckpointError, match="format version"):
        load_checkpoint(path)


def test_state_dict_that_does_not_fit_the_arch(saved: Path, tmp_path: Path) -> None:
    data = torch.load(saved, weights_only=True)
    data["class_names"] = ["cat", "dog"]  # 2 classes, but the logit layer has 3 columns
    path = tmp_path / "mismatch.pt"
    torch.save(data, path)
    with pytest.raises(CheckpointError, match="wrong shape"):
        model_from_checkpoint(load_checkpoint(path))
    data["class_names"] = list(CLASSES)
    data["arch"] = "retinanet_resnet50_fpn"
    torch.save(data, path)
    with pytest.raises(CheckpointError, match="does not match retinanet_resnet50_fpn"):
        model_from_checkpoint(load_checkpoint(path))
    data["arch"] = "no_such_arch"
    torch.save(data, path)
    with pytest.raises(CheckpointError, match="unknown architecture"):
        model_from_checkpoint(load_checkpoint(path))


def test_save_is_atomic_and_keeps_the_old_file_on_failure(model: torch.nn.Module, saved: Path, tmp_path: Path) -> None:
    path = tmp_path / "last.pt"
    save_checkpoint(path, model=model, arch=ARCH, class_names=CLASSES, image_size=128, alpha=0.3, gamma=1.0)
    before = path.read_bytes()
    with pytest.raises(CheckpointError, match="unsupported type"):
        save_checkpoint(path, model=model, arch=ARCH, class_names=CLASSES, image_size=128, alpha=0.3, gamma=1.0,
                        metrics={"bad": object()})
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["last.pt"]  # no temp files left behind
    with pytest.raises(CheckpointError, match="clash"):
        save_checkpoint(path, model=model, arch=ARCH, class_names=CLASSES, image_size=128, alpha=0.3, gamma=1.0,
                        extra={"state_dict": {}})
