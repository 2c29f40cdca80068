"""Test-wide settings: Qt renders offscreen, torch stays on few threads, nothing needs the network."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Keep tests off the network: torchvision's weight downloads would fail loudly rather than hang.
os.environ.setdefault("RETINALAB_OFFLINE", "1")
