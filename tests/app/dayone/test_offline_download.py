"""Issue 18, defect 3: Model › COCO RetinaNet with no network: the whole message, no raw urlopen error, no 0 % bar."""

from __future__ import annotations

import socket
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtWidgets import QLabel

pytestmark = [pytest.mark.gui, pytest.mark.slow]  # engine.weights imports torch to find the cache folder


def test_offline_coco_dialog_shows_where_to_save_the_file(qtbot: Any, make_window: Any, tmp_path: Path,
                                                        monkeypatch: Any) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))  # nothing cached
    monkeypatch.setenv("RETINALAB_OFFLINE", "0")

    def no_network(*args: Any, **kwargs: Any) -> Any:
        raise urllib.error.URLError(socket.gaierror(-2, "Name or service not known"))

    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    window = make_window()
    window.resize(900, 700)
    window.actions.model.coco_r50.trigger()
    from app.widgets.model_dialogs import DownloadDialog

    dialog = window.findChild(DownloadDialog, "download_dialog")
    qtbot.waitUntil(lambda: dialog.error is not None, timeout=60_000)
    detail = dialog.findChild(QLabel, "download_detail") or dialog.status_label
    text = dialog.status_label.text() + "\n" + detail.text()
    from engine.weights import cached_weights_path

    saved_as = str(cached_weights_path("retinanet_resnet50_fpn", "coco"))
    assert saved_as in text and "urlopen" not in text and "no network" in text
    assert detail.isVisible() and detail.width() >= detail.sizeHint().width()  # not cut off: the file name can be read
    assert not dialog.bar.isVisible()
