"""No usable display: ``retinalab gui`` says why in one line and exits 2, before Qt can abort the process."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import pytest

from app.display import display_problem

REPO = Path(__file__).resolve().parents[3]
linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="X11 and Wayland checks are Linux's")


def _gui(env_changes: dict[str, str | None], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "XDG_DATA_HOME": str(tmp_path / "data")}
    for key, value in env_changes.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return subprocess.run([sys.executable, "-m", "app.cli", "gui", "--demo"], capture_output=True, text=True,
                          timeout=60, env=env, cwd=tmp_path)


def _free_display_number() -> int:
    for number in range(180, 260):
        if not Path(f"/tmp/.X11-unix/X{number}").exists() and not _listening(number):
            return number
    raise RuntimeError("no free X display number")


def _listening(number: int) -> bool:
    with socket.socket(socket.AF_UNIX) as sock:
        try:
            sock.connect(f"\0/tmp/.X11-unix/X{number}")
            return True
        except OSError:
            return False


@linux_only
def test_no_display_at_all_is_one_line_and_exit_2(tmp_path: Path) -> None:
    out = _gui({"DISPLAY": None, "WAYLAND_DISPLAY": None, "QT_QPA_PLATFORM": None}, tmp_path)
    assert out.returncode == 2, (out.returncode, out.stderr[-2000:])  # Qt's abort would be -6
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert lines[0].startswith("error: no display") and "xvfb-run" in lines[0] and "retinalab --help" in lines[0]
    assert not (tmp_path / "data").exists()  # stopped before anything started


@linux_only
def test_a_display_without_an_x_server_names_it(tmp_path: Path) -> None:
    number = _free_display_number()
    out = _gui({"DISPLAY": f":{number}", "WAYLAND_DISPLAY": None, "QT_QPA_PLATFORM": None}, tmp_path)
    assert out.returncode == 2, (out.returncode, out.stderr[-2000:])
    assert out.stderr.strip() == out.stderr.strip().splitlines()[0]
    assert f"no X server answers at DISPLAY=:{number}" in out.stderr


@pytest.fixture
def fake_x_server() -> Iterator[str]:
    """Something listening where an X server would (the abstract socket), enough for the connect check."""
    number = _free_display_number()
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(f"\0/tmp/.X11-unix/X{number}")
        server.listen()
        yield f":{number}"


@linux_only
def test_a_missing_libxcb_cursor_is_named_with_the_package_to_install(fake_x_server: str) -> None:
    def load(name: str) -> object:
        if name == "libxcb-cursor.so.0":
            raise OSError(f"{name}: cannot open shared object file")
        return object()

    problem = display_problem({"DISPLAY": fake_x_server}, platform="linux", load_library=load)
    assert problem is not None and "\n" not in problem
    assert "libxcb-cursor.so.0" in problem and "sudo apt install libxcb-cursor0" in problem
    assert display_problem({"DISPLAY": fake_x_server}, platform="linux", load_library=lambda _: object()) is None


def test_a_chosen_platform_or_another_os_is_not_second_guessed(tmp_path: Path) -> None:
    def load(_name: str) -> object:
        raise OSError("missing")

    assert display_problem({"QT_QPA_PLATFORM": "offscreen"}, platform="linux", load_library=load) is None
    assert display_problem({}, platform="darwin", load_library=load) is None
    assert display_problem({}, platform="win32", load_library=load) is None
    (tmp_path / "wayland-1").touch()
    wayland = {"WAYLAND_DISPLAY": "wayland-1", "XDG_RUNTIME_DIR": str(tmp_path)}
    assert display_problem(wayland, platform="linux", load_library=load) is None  # the X11 plugin is not needed
    gone = display_problem({**wayland, "QT_QPA_PLATFORM": "wayland", "WAYLAND_DISPLAY": "wayland-9"},
                           platform="linux", load_library=load)
    assert gone is not None and gone.startswith("no Wayland compositor at WAYLAND_DISPLAY=wayland-9")


def test_a_missing_system_library_for_qt_is_one_line_and_exit_2(monkeypatch: pytest.MonkeyPatch,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    import app
    from app.cli import GUI, run_gui
    from engine.cli import build_parser

    class _QtWithoutEGL:  # importing the app fails the way PySide6 does without libEGL
        def find_spec(self, name: str, path: object = None, target: object = None) -> None:
            if name == "app.launch":
                raise ImportError("libEGL.so.1: cannot open shared object file: No such file or directory")

    args = build_parser({"gui": GUI}).parse_args(["gui"])
    monkeypatch.delitem(sys.modules, "app.launch", raising=False)
    monkeypatch.delattr(app, "launch", raising=False)
    monkeypatch.setattr(sys, "meta_path", [_QtWithoutEGL(), *sys.meta_path])
    assert run_gui(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "libEGL.so.1" in err and "sudo apt install libegl1" in err
