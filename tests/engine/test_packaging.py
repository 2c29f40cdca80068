"""The wheel carries what the app needs at run time, and finds it without the source checkout.

The wheel is built from a copy of the project's sources (as ``pip install .`` would) and then imported
straight from the ``.whl`` file (a zip), with the checkout and every installed package out of
``sys.path``: the demo model, the class lists and the model card must come out of the wheel itself.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import engine
from engine.demo import DEMO_MODEL_NAME
from engine.start import PRETRAINED_MODEL_NAME

PROCEDURAL_CARD = "MODEL_CARD_procedural.md"

REPO = Path(__file__).resolve().parents[2]
SOURCES = ("setup.py", "pyproject.toml", "README.md", "app", "engine", "resources")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    src = tmp_path_factory.mktemp("src")
    for name in SOURCES:
        if not (REPO / name).exists():
            continue
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, src / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(REPO / name, src / name)
    out = tmp_path_factory.mktemp("dist")
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                            "--no-index", "-q", "-w", str(out), str(src)],
                           capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stderr[-3000:]
    (found,) = out.glob("retinalab-*.whl")
    return found


def test_the_wheel_holds_the_demo_model_class_lists_and_card_but_not_the_readme_pictures(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    data = "engine/resource_files/"
    assert {f"{data}models/{DEMO_MODEL_NAME}", f"{data}models/MODEL_CARD.md", f"{data}coco_names.txt",
            f"{data}coco_names_91.txt", f"{data}models/{PRETRAINED_MODEL_NAME}",
            f"{data}models/{PROCEDURAL_CARD}"} <= names
    shipped = zipfile.ZipFile(wheel).read(f"{data}models/{DEMO_MODEL_NAME}")
    assert shipped == (REPO / "resources" / "models" / DEMO_MODEL_NAME).read_bytes()
    assert not [n for n in names if "screenshots" in n]
    assert f"retinalab-{engine.__version__}.dist-info/entry_points.txt" in names
    assert "app/launch.py" in names and "engine/cli/detect.py" in names


_PROBE = """
import json, sys
sys.path.insert(0, sys.argv[1])
from engine.demo import demo_model_path
from engine.resources import resource_path
model = demo_model_path()
print(json.dumps({"engine": __import__("engine").__file__, "model": str(model), "size": model.stat().st_size,
                  "models": sorted(p.name for p in resource_path("models").iterdir()),
                  "coco": resource_path("coco_names.txt").read_text().splitlines()[:2]}))
"""


def test_resources_are_found_from_the_zipped_wheel_without_the_checkout(wheel: Path, tmp_path: Path) -> None:
    # -I -S: no PYTHONPATH, no current folder, no site-packages (so no editable install of the checkout)
    out = subprocess.run([sys.executable, "-I", "-S", "-c", _PROBE, str(wheel)], capture_output=True,
                         text=True, timeout=60, cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    found = json.loads(out.stdout)
    assert found["engine"].startswith(str(wheel))
    assert found["size"] == (REPO / "resources" / "models" / DEMO_MODEL_NAME).stat().st_size
    assert not found["model"].startswith(str(REPO))
    assert found["models"] == sorted(["MODEL_CARD.md", PROCEDURAL_CARD, DEMO_MODEL_NAME, PRETRAINED_MODEL_NAME])
    assert found["coco"] == ["person", "bicycle"]


def test_version_prints_the_package_version(capsys: pytest.CaptureFixture[str]) -> None:
    from engine.cli import main

    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out == f"retinalab {engine.__version__}\n"
