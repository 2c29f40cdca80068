"""The engine must import and work without Qt (napari's model/view rule)."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import engine


def _engine_modules() -> list[str]:
    names = ["engine"]
    for info in pkgutil.walk_packages(engine.__path__, prefix="engine."):
        if not info.name.endswith("__main__"):
            names.append(info.name)
    return names


def test_every_engine_module_imports_with_qt_blocked() -> None:
    code = (
        "import sys, importlib\n"
        "class _Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('PySide6', 'PyQt5', 'PyQt6', 'shiboken6'):\n"
        "            raise ImportError('Qt is blocked in engine tests: ' + name)\n"
        "        return None\n"
        "sys.meta_path.insert(0, _Block())\n"
        f"for m in {_engine_modules()!r}:\n"
        "    importlib.import_module(m)\n"
        "print('ok')\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "ok" in result.stdout


def test_cli_help_is_fast_and_lists_commands() -> None:
    result = subprocess.run(
        [sys.executable, "-c", "import sys; from engine.cli import main; sys.exit(main(['--help']))"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0
    assert "gui" in result.stdout
    # --help must not pull in torch or Qt
    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, contextlib, io\n"
            "from engine.cli import build_parser\n"
            "build_parser()\n"
            "print('torch' in sys.modules, 'PySide6' in sys.modules)",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert probe.stdout.split() == ["False", "False"], probe.stderr


def test_unknown_subcommand_option_exits_2_with_one_line() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "engine.cli", "gui", "--no-such-flag"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1
