"""The ``retinalab`` command (``app.cli``): help without torch or Qt, and a typo never opens the window."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.cli import main
from engine.cli import SUBCOMMANDS

REPO = Path(__file__).resolve().parents[3]
COMMANDS = ["gui", *SUBCOMMANDS]


@pytest.fixture
def launched(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[argparse.Namespace]:
    """The arguments of every window the command opened (none is opened); runs in an empty folder."""
    import app.launch

    calls: list[argparse.Namespace] = []
    monkeypatch.setattr(app.launch, "main", lambda args: calls.append(args) or 0)
    monkeypatch.chdir(tmp_path)
    return calls


def test_help_of_the_command_and_of_every_subcommand_imports_neither_torch_nor_qt() -> None:
    code = (
        "import contextlib, io, sys\n"
        "from app.cli import main\n"
        f"for argv in [[], *([c] for c in {COMMANDS!r})]:\n"
        "    out = io.StringIO()\n"
        "    with contextlib.redirect_stdout(out):\n"
        "        try:\n"
        "            main([*argv, '--help'])\n"
        "        except SystemExit as exc:\n"
        "            assert exc.code == 0, (argv, exc.code)\n"
        "    usage = out.getvalue().splitlines()[0]\n"
        "    assert usage.startswith(' '.join(['usage: retinalab', *argv])), (argv, usage)\n"
        "    if not argv:\n"
        "        assert all(c in out.getvalue() for c in " + repr(COMMANDS) + ")\n"
        "print('torch' in sys.modules, 'PySide6' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                            env={**os.environ, "PYTHONPATH": str(REPO)})
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "False"]


def test_a_typo_exits_2_with_one_line_naming_the_commands_and_opens_no_window(
        launched: list[argparse.Namespace], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["tarin"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "'tarin'" in err and "did you mean train" in err and all(c in err for c in COMMANDS)
    assert main(["-v", "missing-folder", "--demo"]) == 2
    assert launched == []


def test_a_bare_existing_folder_or_nothing_opens_the_window(launched: list[argparse.Namespace],
                                                            tmp_path: Path) -> None:
    (tmp_path / "photos").mkdir()
    assert main(["photos"]) == 0
    assert main([]) == 0
    assert main(["-v", str(tmp_path / "photos"), "--demo"]) == 0
    assert [(args.folder, args.demo) for args in launched] == [
        ("photos", False), (None, False), (str(tmp_path / "photos"), True)]


def test_a_subcommand_named_like_a_folder_stays_the_subcommand(launched: list[argparse.Namespace],
                                                                tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "review").mkdir()
    with pytest.raises(SystemExit) as exited:
        main(["review", "--help"])
    assert exited.value.code == 0
    assert capsys.readouterr().out.startswith("usage: retinalab review")
    assert launched == []


def test_an_unknown_option_exits_2_with_one_line(launched: list[argparse.Namespace],
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["gui", "--no-such-flag"]) == 2
    assert capsys.readouterr().err.count("\n") == 1
    assert launched == []


def test_the_engine_alone_knows_no_gui_and_takes_no_folder(tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    from engine.cli import main as engine_main

    assert engine_main(["gui"]) == 2
    assert engine_main([str(tmp_path)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 2 and all("is not a command;" in line and "train" in line for line in err)
