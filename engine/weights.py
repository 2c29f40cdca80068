"""Pretrained weights: which file each (arch, pretrained) pair needs, the local cache, and the download.

Files come from torchvision's weights API (URL and SHA-256 prefix in the file name) and live where
torchvision itself caches them, ``<torch hub dir>/checkpoints/<file>`` (``$TORCH_HOME`` moves it), so
weights fetched by either are shared. ``download_weights`` streams in chunks to a temporary file in the
cache, reports progress, can be cancelled, checks the hash and renames atomically; the app runs it on a
worker thread. With ``RETINALAB_OFFLINE=1`` (set by the tests) nothing here touches the network; a
missing file then raises ``WeightsUnavailableError`` naming the URL and the exact path to put it at.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import sys
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any, Callable

from engine.errors import ModelError, WeightsUnavailableError

log = logging.getLogger(__name__)

OFFLINE_ENV = "RETINALAB_OFFLINE"
CHUNK_SIZE = 1 << 20
# (arch, pretrained) -> (torchvision weights enum path, member, its URL). Importing torchvision is
# deferred; the URL (kept equal to torchvision's by a test) lets the Train panel look in the cache on
# the GUI thread without importing torch.
_TV = "https://download.pytorch.org/models/"
_WEIGHTS: dict[tuple[str, str], tuple[str, str, str]] = {
    ("retinanet_resnet50_fpn", "coco"): ("RetinaNet_ResNet50_FPN_Weights", "COCO_V1",
                                         _TV + "retinanet_resnet50_fpn_coco-eeacb38b.pth"),
    ("retinanet_resnet50_fpn", "imagenet"): ("ResNet50_Weights", "IMAGENET1K_V1", _TV + "resnet50-0676ba61.pth"),
    ("retinanet_resnet50_fpn_v2", "coco"): ("RetinaNet_ResNet50_FPN_V2_Weights", "COCO_V1",
                                            _TV + "retinanet_resnet50_fpn_v2_coco-5905b1c5.pth"),
    ("retinanet_resnet50_fpn_v2", "imagenet"): ("ResNet50_Weights", "IMAGENET1K_V2", _TV + "resnet50-11ad3fa6.pth"),
    ("retinanet_mobilenet_v3_fpn", "imagenet"): ("MobileNet_V3_Large_Weights", "IMAGENET1K_V1",
                                                 _TV + "mobilenet_v3_large-8738ca79.pth"),
}
ARCH_PRETRAINED: dict[str, tuple[str, ...]] = {
    "retinanet_resnet50_fpn": ("none", "imagenet", "coco"),
    "retinanet_resnet50_fpn_v2": ("none", "imagenet", "coco"),
    "retinanet_mobilenet_v3_fpn": ("none", "imagenet"),
}
_HASH_PREFIX = re.compile(r"-([a-f0-9]+)\.")  # torchvision's check_hash convention: name-<sha256 prefix>.pth


class DownloadCancelled(Exception):
    """``should_stop()`` returned True during a download; the partial file has been removed."""


def is_offline() -> bool:
    return os.environ.get(OFFLINE_ENV, "").strip().lower() in ("1", "true", "yes", "on")


def check_pretrained(arch: str, pretrained: str) -> None:
    """Raise ``ModelError`` listing the valid choices unless ``arch`` supports ``pretrained``."""
    if arch not in ARCH_PRETRAINED:
        raise ModelError(f"unknown architecture {arch!r}; choose one of: {', '.join(ARCH_PRETRAINED)}")
    choices = ARCH_PRETRAINED[arch]
    if pretrained not in choices:
        raise ModelError(
            f"{arch} has no {pretrained!r} weights; choose pretrained from: {', '.join(choices)}"
        )


def _entry(arch: str, pretrained: str) -> tuple[str, str, str]:
    check_pretrained(arch, pretrained)
    if pretrained == "none":
        raise ModelError(f"{arch} with pretrained='none' uses no weights file")
    return _WEIGHTS[(arch, pretrained)]


def torchvision_weights(arch: str, pretrained: str) -> Any:
    """The ``torchvision.models`` ``Weights`` entry for the pair (url, meta["categories"], ...)."""
    enum_name, member, _url = _entry(arch, pretrained)
    import torchvision.models as tvm
    import torchvision.models.detection as tvd

    enum = getattr(tvd, enum_name, None) or getattr(tvm, enum_name)
    return enum[member]


def weights_url(arch: str, pretrained: str) -> str:
    """torchvision's URL for the pair (imports neither torch nor torchvision)."""
    return _entry(arch, pretrained)[2]


def cache_dir() -> Path:
    """``<torch hub dir>/checkpoints``, the folder torchvision's loader uses.

    Before torch is imported this follows ``torch.hub.get_dir``'s own rule (``$TORCH_HOME/hub``, else
    ``$XDG_CACHE_HOME/torch/hub``, else ``~/.cache/torch/hub``), so the GUI thread can look in the cache
    without importing torch; once torch is imported it is asked (``torch.hub.set_dir`` may have moved it).
    """
    if "torch" not in sys.modules:
        home = os.getenv("TORCH_HOME", os.path.join(os.getenv("XDG_CACHE_HOME", "~/.cache"), "torch"))
        return Path(os.path.expanduser(home)) / "hub" / "checkpoints"
    import torch.hub

    return Path(torch.hub.get_dir()) / "checkpoints"


def cached_weights_path(arch: str, pretrained: str) -> Path:
    """Where the weights file for the pair lives (or will, once downloaded)."""
    return cache_dir() / os.path.basename(urllib.parse.urlparse(weights_url(arch, pretrained)).path)


def is_cached(arch: str, pretrained: str) -> bool:
    return cached_weights_path(arch, pretrained).is_file()


def unavailable_message(arch: str, pretrained: str, reason: str = "offline") -> str:
    return (
        f"{pretrained} weights for {arch} are not cached ({reason}): download "
        f"{weights_url(arch, pretrained)} and save it as {cached_weights_path(arch, pretrained)}"
    )


def _network_reason(url: str, exc: BaseException) -> str:
    """``no network: cannot reach HOST (Name or service not known)`` rather than ``<urlopen error ...>``."""
    reason = getattr(exc, "reason", exc)
    detail = getattr(reason, "strerror", None) or str(reason) or type(reason).__name__
    host = urllib.parse.urlparse(url).hostname or url
    return f"no network: cannot reach {host} ({detail})"


def download_weights(
    arch: str,
    pretrained: str,
    *,
    progress: Callable[[int, int], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    timeout_s: float = 30.0,
) -> Path:
    """Fetch the weights file into the cache and return its path (no-op when already cached).

    ``progress(done_bytes, total_bytes)`` is called after each chunk (``total_bytes`` is 0 when the
    server does not say). ``should_stop()`` is checked between chunks; True removes the partial file and
    raises ``DownloadCancelled``. Raises ``WeightsUnavailableError`` when offline, on a network error or
    on a hash mismatch (one line each).
    """
    dst = cached_weights_path(arch, pretrained)
    if dst.is_file():
        return dst
    if is_offline():
        raise WeightsUnavailableError(unavailable_message(arch, pretrained, f"{OFFLINE_ENV}=1"))
    url = weights_url(arch, pretrained)
    dst.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=dst.name + ".", suffix=".partial", dir=dst.parent)
    tmp = Path(tmp_name)
    sha256 = hashlib.sha256()
    try:
        with os.fdopen(fd, "wb") as out:
            try:
                response = urllib.request.urlopen(url, timeout=timeout_s)  # noqa: S310 (https/file URLs)
            except (urllib.error.URLError, OSError) as exc:
                raise WeightsUnavailableError(unavailable_message(arch, pretrained, _network_reason(url, exc))) from None
            with response:
                total = int(response.headers.get("Content-Length") or 0)
                done = 0
                while True:
                    if should_stop is not None and should_stop():
                        raise DownloadCancelled(f"download of {url} cancelled")
                    try:
                        chunk = response.read(CHUNK_SIZE)
                    except OSError as exc:
                        raise WeightsUnavailableError(
                            unavailable_message(arch, pretrained, f"download failed: {exc}")
                        ) from None
                    if not chunk:
                        break
                    out.write(chunk)
                    sha256.update(chunk)
                    done += len(chunk)
                    if progress is not None:
                        progress(done, total)
            out.flush()
            os.fsync(out.fileno())
        match = _HASH_PREFIX.search(dst.name)
        if match and not sha256.hexdigest().startswith(match.group(1)):
            raise WeightsUnavailableError(
                f"downloaded {url} is corrupt (SHA-256 {sha256.hexdigest()[:12]}..., expected "
                f"{match.group(1)}...); try again"
            )
        os.replace(tmp, dst)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    log.info("downloaded %s to %s", url, dst)
    return dst


def load_pretrained_state_dict(arch: str, pretrained: str) -> dict[str, Any]:
    """The state dict of the pair's weights file, downloading it first unless offline."""
    import torch

    path = cached_weights_path(arch, pretrained)
    if not path.is_file():
        log.info("%s weights for %s not cached; downloading", pretrained, arch)
        path = download_weights(arch, pretrained)
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # a truncated or foreign file in the cache
        raise WeightsUnavailableError(
            f"cannot read cached weights {path} ({type(exc).__name__}); delete it and download "
            f"{weights_url(arch, pretrained)} again"
        ) from None
