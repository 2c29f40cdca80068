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


def test_the_engine_commands_help_imports_neither_torch_nor_qt() -> None:
    """(``retinalab``'s own help, with ``gui``, is tested in tests/app/shell/test_cli.py.)"""
    code = (
        "import sys, contextlib, io\n"
        "out = io.StringIO()\n"
        "from engine.cli import main\n"
        "with contextlib.redirect_stdout(out), contextlib.suppress(SystemExit):\n"
        "    main(['--help'])\n"
        "assert 'train' in out.getvalue() and 'detect' in out.getvalue()\n"
        "print('torch' in sys.modules, 'PySide6' in sys.modules)"
    )
    probe = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert probe.stdout.split() == ["False", "False"], probe.stderr
