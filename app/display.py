"""Before Qt starts: is there a display to open the window on, and can Qt's X11 plugin load?

Without a usable display Qt prints several lines about platform plugins and then aborts the process
(a core dump, no exit status a script can read). ``display_problem()`` asks the same questions first,
without Qt: on Linux, is ``DISPLAY`` or ``WAYLAND_DISPLAY`` set, does an X server (or a Wayland
compositor) answer there, and are the system libraries of Qt's X11 plugin (``libxcb-cursor0`` first
among them, needed since Qt 6.5) installed. ``app.launch`` turns an answer into one line on stderr
and exit status 2. A platform chosen with ``QT_QPA_PLATFORM`` other than xcb or wayland (offscreen,
vnc, eglfs) is taken as is; macOS and Windows always have their window system.
"""

from __future__ import annotations

import ctypes
import os
import re
import socket
import sys
from pathlib import Path
from typing import Callable, Mapping

# The X11 plugin's system libraries (PySide6 bundles Qt, not these), with Debian/Ubuntu's package name.
XCB_LIBRARIES: dict[str, str] = {
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libX11-xcb.so.1": "libx11-xcb1",
}
WHAT_TO_DO = ("start RetinaLab in a desktop session, or under a virtual display with `xvfb-run retinalab`, "
              "or use the command line (`retinalab --help`: detect, train, eval, convert)")
_DISPLAY = re.compile(r"^(?P<host>[^:]*):(?P<number>\d+)(\.\d+)?$")


def display_problem(env: Mapping[str, str] | None = None, *, platform: str = sys.platform,
                    load_library: Callable[[str], object] = ctypes.CDLL) -> str | None:
    """One line saying why Qt could not open a window here and what to do, or None when it can."""
    env = os.environ if env is None else env
    if not platform.startswith("linux"):
        return None
    chosen = env.get("QT_QPA_PLATFORM", "").split(";")[0].split(":")[0].strip()
    if chosen and chosen not in ("xcb", "wayland", "wayland-egl"):
        return None  # offscreen, vnc, eglfs …: the user's choice, no display server involved
    wayland = env.get("WAYLAND_DISPLAY", "").strip()
    x_display = env.get("DISPLAY", "").strip()
    if chosen.startswith("wayland") or (not chosen and wayland):
        if wayland and _wayland_socket(wayland, env).exists():
            return None
        if chosen.startswith("wayland"):
            return f"no Wayland compositor at WAYLAND_DISPLAY={wayland or '(unset)'}: {WHAT_TO_DO}"
    if not x_display:
        return f"no display (DISPLAY and WAYLAND_DISPLAY are not set, as over SSH or on a server): {WHAT_TO_DO}"
    if not _x_server_answers(x_display):
        return f"no X server answers at DISPLAY={x_display}: {WHAT_TO_DO}"
    return _missing_xcb_libraries(load_library)


def _wayland_socket(name: str, env: Mapping[str, str]) -> Path:
    return Path(name) if name.startswith("/") else Path(env.get("XDG_RUNTIME_DIR", "")) / name


def _x_server_answers(display: str, timeout_s: float = 2.0) -> bool:
    """Connect (without talking X) where libxcb would: the local socket for ``:N``, TCP for ``host:N``."""
    match = _DISPLAY.match(display)
    if match is None:
        return True  # a form we do not know (a launchd path, …): let Qt judge
    host, number = match["host"], int(match["number"])
    if host in ("", "unix"):
        path = f"/tmp/.X11-unix/X{number}"
        addresses = [f"\0{path}", path] if sys.platform.startswith("linux") else [path]
        for address in addresses:  # Linux X servers also listen on an abstract socket
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                sock.settimeout(timeout_s)
                try:
                    sock.connect(address)
                    return True
                except OSError:
                    continue
        return False
    try:
        socket.create_connection((host, 6000 + number), timeout=timeout_s).close()
        return True
    except OSError:
        return False


def _missing_xcb_libraries(load_library: Callable[[str], object]) -> str | None:
    missing = []
    for library, package in XCB_LIBRARIES.items():
        try:
            load_library(library)
        except OSError:
            missing.append((library, package))
    if not missing:
        return None
    libraries = ", ".join(library for library, _ in missing)
    packages = " ".join(package for _, package in missing)
    return (f"Qt's X11 plugin needs {libraries}, not installed: `sudo apt install {packages}` on Debian or "
            f"Ubuntu (Fedora: `sudo dnf install xcb-util-cursor xcb-util-wm xcb-util-keysyms "
            f"xcb-util-renderutil xcb-util-image libxkbcommon-x11`)")
