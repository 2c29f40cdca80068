"""Pretrained weights: offline message, cache paths, and the downloader (driven through a local file:// URL)."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

import engine.weights as weights
from engine.errors import ModelError, WeightsUnavailableError

ARCH, PRETRAINED = "retinanet_mobilenet_v3_fpn", "imagenet"


@pytest.fixture()
def hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    return tmp_path / "torch" / "hub" / "checkpoints"


def _serve(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, payload: bytes, name: str) -> None:
    """Point the pair's URL at a local file called ``name``, online."""
    src = tmp_path / "server" / name
    src.parent.mkdir(parents=True, exist_ok=True)
    src.write_bytes(payload)
    monkeypatch.setattr(weights, "weights_url", lambda arch, pretrained: src.as_uri())
    monkeypatch.setenv(weights.OFFLINE_ENV, "0")


def test_cache_path_is_torchvisions(hub: Path) -> None:
    path = weights.cached_weights_path(ARCH, PRETRAINED)
    assert path == hub / "mobilenet_v3_large-8738ca79.pth"
    assert not weights.is_cached(ARCH, PRETRAINED)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"x")
    assert weights.is_cached(ARCH, PRETRAINED)
    assert weights.download_weights(ARCH, PRETRAINED) == path  # cached: nothing to do, even offline


def test_offline_is_one_line_with_url_and_destination(hub: Path) -> None:
    with pytest.raises(WeightsUnavailableError) as info:
        weights.download_weights(ARCH, PRETRAINED)
    message = str(info.value)
    assert "\n" not in message
    assert "https://download.pytorch.org/models/mobilenet_v3_large-8738ca79.pth" in message
    assert str(hub / "mobilenet_v3_large-8738ca79.pth") in message
    assert not hub.exists() or not any(hub.iterdir())


def test_unsupported_pairs_list_choices() -> None:
    with pytest.raises(ModelError, match="none, imagenet, coco"):
        weights.torchvision_weights("retinanet_resnet50_fpn", "openimages")
    with pytest.raises(ModelError, match="unknown architecture"):
        weights.cached_weights_path("ssd", "coco")


def test_download_reports_progress_checks_hash_and_renames(
    hub: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    payload = bytes(range(256)) * 10_000  # 2.5 MB: several chunks
    digest = hashlib.sha256(payload).hexdigest()[:8]
    name = f"weights-{digest}.pth"
    _serve(tmp_path, monkeypatch, payload, name)
    monkeypatch.setattr(weights, "CHUNK_SIZE", 1 << 19)
    calls: list[tuple[int, int]] = []
    path = weights.download_weights(ARCH, PRETRAINED, progress=lambda done, total: calls.append((done, total)))
    assert path == hub / name and path.read_bytes() == payload
    assert len(calls) >= 4 and calls[-1] == (len(payload), len(payload))
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)
    assert list(hub.iterdir()) == [path]  # no temp file left


def test_hash_mismatch_is_rejected_and_nothing_is_kept(
    hub: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _serve(tmp_path, monkeypatch, b"not the real weights", "weights-deadbeef.pth")
    with pytest.raises(WeightsUnavailableError, match="corrupt"):
        weights.download_weights(ARCH, PRETRAINED)
    assert not any(hub.iterdir())


def test_cancel_removes_the_partial_file(hub: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _serve(tmp_path, monkeypatch, b"\0" * (3 << 20), "weights.pth")
    monkeypatch.setattr(weights, "CHUNK_SIZE", 1 << 20)
    seen: list[int] = []
    with pytest.raises(weights.DownloadCancelled):
        weights.download_weights(
            ARCH, PRETRAINED, progress=lambda done, total: seen.append(done), should_stop=lambda: len(seen) >= 1
        )
    assert seen == [1 << 20]
    assert not any(hub.iterdir())


def test_offline_env_never_opens_the_url(hub: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _serve(tmp_path, monkeypatch, b"data", "weights.pth")
    monkeypatch.setenv(weights.OFFLINE_ENV, "1")
    opened: list[str] = []
    monkeypatch.setattr(weights.urllib.request, "urlopen", lambda *a, **k: opened.append(a[0]))
    with pytest.raises(WeightsUnavailableError, match="RETINALAB_OFFLINE=1"):
        weights.download_weights(ARCH, PRETRAINED)
    assert opened == []


def test_unreachable_server_is_one_line(hub: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(weights, "weights_url", lambda arch, pretrained: (tmp_path / "missing.pth").as_uri())
    monkeypatch.setenv(weights.OFFLINE_ENV, "0")
    with pytest.raises(WeightsUnavailableError) as info:
        weights.download_weights(ARCH, PRETRAINED)
    assert "\n" not in str(info.value) and "cannot reach" in str(info.value)
    assert not any(hub.iterdir())


def test_corrupt_cached_file_says_delete_and_download_again(hub: Path) -> None:
    path = weights.cached_weights_path(ARCH, PRETRAINED)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"half a file")
    with pytest.raises(WeightsUnavailableError, match="delete it") as info:
        weights.load_pretrained_state_dict(ARCH, PRETRAINED)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_urls_are_torchvisions_and_the_cache_is_found_without_torch(hub: Path) -> None:
    for arch, choices in weights.ARCH_PRETRAINED.items():
        for pretrained in choices[1:]:
            assert weights.weights_url(arch, pretrained) == weights.torchvision_weights(arch, pretrained).url
    probe = ("import sys, engine.weights as w; print(w.cached_weights_path('retinanet_mobilenet_v3_fpn', 'imagenet'));"
             "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONPATH": str(Path(weights.__file__).parents[1])})
    path, torch_imported = out.stdout.split()
    assert Path(path) == weights.cached_weights_path(ARCH, PRETRAINED)  # here torch is imported: torch's answer
    assert torch_imported == "False"
