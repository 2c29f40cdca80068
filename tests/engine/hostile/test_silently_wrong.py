"""Issue 13, items 9-16: inputs that used to give a wrong result without a word, and smaller slips."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from engine.checkpoint import load_checkpoint, save_checkpoint
from engine.errors import ProjectError
from engine.io import load_image, read_voc, read_yolo, write_dataset
from engine.models import build_model
from engine.project import Project
from engine.types import AnnotatedImage, Annotations, Box

ARCH = "retinanet_mobilenet_v3_fpn"
TINY_TRAIN = ["--epochs", "1", "--batch-size", "2", "--image-size", "64", "--threads", "1", "--warmup-steps", "1"]


# 9 -------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_a_run_that_blows_up_writes_no_model_and_says_so(cli, tiny_coco: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    # from random weights (AdamW): the start this blow-up was written against, not the default best start
    result = cli("train", "--data", tiny_coco, "--out", out, *TINY_TRAIN, "--lr", "1e9", "--pretrained", "none")
    assert result.code == 1
    error = result.err.strip().splitlines()[-1]
    assert error.startswith("error:") and "NaN/inf" in error and "--lr" in error
    assert not (out / "best.pt").exists() and not (out / "last.pt").exists()


def test_fine_tuning_from_a_nan_checkpoint_is_refused(cli, tiny_coco: Path, weights: Path, tmp_path: Path) -> None:
    ckpt = load_checkpoint(weights)
    state = {k: (torch.full_like(v, float("nan")) if v.is_floating_point() else v) for k, v in ckpt.state_dict.items()}
    nan = tmp_path / "nan.pt"
    save_checkpoint(nan, model=build_model(ARCH, 2, image_size=64), arch=ARCH, class_names=ckpt.class_names,
                    image_size=64, alpha=0.25, gamma=2.0, state_dict=state)
    result = cli("train", "--data", tiny_coco, "--init", nan, "--out", tmp_path / "run", *TINY_TRAIN)
    assert result.code == 2 and "NaN/inf" in result.err and result.err.count("\n") == 1
    image = tmp_path / "a.png"
    Image.fromarray(np.zeros((20, 30, 3), np.uint8)).save(image)
    result = cli("detect", "--weights", nan, image)
    assert result.code == 2 and "NaN/inf" in result.err and "unusable" in result.err


def test_an_epoch_of_only_nan_steps_fails_even_when_shorter_than_the_guard(tiny_coco: Path, tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from engine.train import fit
    from engine.train.step import TrainStep
    from engine.types import TrainConfig

    real_call = TrainStep.__call__

    def always_nan(self, images, targets):  # noqa: ANN001, ANN202 - as if every loss came out NaN
        result = real_call(self, images, targets)
        self.num_skipped += 1
        return {**result, "total": float("nan"), "skipped": 1.0}

    monkeypatch.setattr(TrainStep, "__call__", always_nan)
    config = TrainConfig(data=str(tiny_coco), out=str(tmp_path / "run"), epochs=1, batch_size=4, image_size=64,
                         lr=1e-3, optimizer="adamw", warmup_steps=1, num_threads=1, max_bad_steps=5)
    result = fit(config)
    assert result.status == "failed" and "every step of epoch 1" in result.message
    assert result.best_path is None


# 10 ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", ["yolo", "voc"])
def test_a_class_name_with_a_line_break_stays_one_class(make, tmp_path: Path, fmt: str) -> None:
    make.image(tmp_path / "src" / "a.png", 40, 60)
    names = ("dog\nbaby", "baby", " cat")
    boxes = tuple(Box(2 + i, 2, 30, 30, name) for i, name in enumerate(names))
    ann = Annotations(tmp_path / "src", names, (AnnotatedImage("a.png", 60, 40, boxes),))
    warnings = write_dataset(ann, tmp_path / "out", fmt)
    assert any("'dog\\nbaby'" in w and "'dog baby'" in w for w in warnings)
    back = (read_yolo if fmt == "yolo" else read_voc)(tmp_path / "out")
    assert back.class_names == ("dog baby", "baby", "cat")
    assert [b.label for b in back.images[0].boxes] == ["dog baby", "baby", "cat"]  # no dog became a baby


# 11 ------------------------------------------------------------------------------------------
def test_voc_xml_with_another_root_leaves_its_image_out(make, tmp_path: Path) -> None:
    make.image(tmp_path / "JPEGImages" / "a.jpg", 20, 30)
    make.image(tmp_path / "JPEGImages" / "b.jpg", 20, 30, seed=1)
    (tmp_path / "Annotations").mkdir()
    (tmp_path / "Annotations" / "a.xml").write_text(
        "<annotations><filename>a.jpg</filename><object><name>cat</name><bndbox><xmin>2</xmin><ymin>2</ymin>"
        "<xmax>9</xmax><ymax>9</ymax></bndbox></object></annotations>")
    (tmp_path / "Annotations" / "b.xml").write_text(
        "<annotation><filename>b.jpg</filename><object><name>cat</name><bndbox><xmin>2</xmin><ymin>2</ymin>"
        "<xmax>9</xmax><ymax>9</ymax></bndbox></object></annotation>")
    ann = read_voc(tmp_path)
    assert [img.path for img in ann.images] == ["b.jpg"]  # a.jpg is not a "background" image
    assert any("a.xml" in w and "not a VOC annotation" in w and "image skipped" in w for w in ann.warnings)
    assert not any("no XML" in w for w in ann.warnings)


# 12 ------------------------------------------------------------------------------------------
def test_read_only_open_does_not_hide_edits_in_the_wal(make, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from engine.project import database, opening

    folder = tmp_path / "project"
    make.image(folder / "a.jpg", 40, 60)
    project = Project.open(folder)
    image = project.images()[0]
    project.add_box(image, Box(1, 1, 20, 20, "cat"))
    db_path = project.db_path
    # a crash (no clean close) leaves the last edits in the write-ahead log
    conn = sqlite3.connect(db_path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    project.add_box(image, Box(5, 5, 30, 30, "cat"))
    wal = Path(f"{db_path}-wal")
    saved = {p: p.read_bytes() for p in (Path(db_path), wal)}
    project.close()
    for p, data in saved.items():
        p.write_bytes(data)
    Path(f"{db_path}-shm").unlink(missing_ok=True)
    assert wal.stat().st_size > 0

    # what SQLite answers for mode=ro when the -shm is gone and the folder is read-only (as root,
    # a chmod cannot make it so)
    real_connect = database.Database.connect

    def connect(self):  # noqa: ANN001, ANN202
        if self._uri is not None and "immutable" not in self._uri:
            raise sqlite3.OperationalError("unable to open database file")
        return real_connect(self)

    monkeypatch.setattr(database.Database, "connect", connect)
    with pytest.raises(ProjectError) as info:
        opening.open_read_only(Path(db_path))
    message = str(info.value)
    assert "project.db-wal" in message and "recent edits" in message and "\n" not in message


# 13 ------------------------------------------------------------------------------------------
def test_eval_skips_unreadable_images_and_warns_about_meaningless_ap(cli, make, weights: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    for name in ("a.png", "b.png"):
        make.image(data / name, 40, 60)
    (data / "broken.png").write_bytes(b"not an image at all")
    names = ["a.png", "b.png", "broken.png"]
    images = [{"id": i, "file_name": n, "width": 60, "height": 40} for i, n in enumerate(names)]
    anns = [{"id": i, "image_id": i, "category_id": 7, "bbox": [5, 5, 20, 20], "iscrowd": 0} for i in range(3)]
    make.coco(data, images=images, annotations=anns, categories=[{"id": 7, "name": "zebra"}])
    result = cli("eval", "--weights", weights, "--data", data, "--format", "coco")
    assert result.code == 0 and "AP" in result.out
    assert "skipped" in result.err and "broken.png" in result.err
    assert "1 of 3 images could not be read" in result.err
    assert "none of the dataset's classes ('zebra')" in result.err

    make.coco(data, images=images[:2], annotations=[], categories=[{"id": 7, "name": "circle"}])
    result = cli("eval", "--weights", weights, "--data", data, "--format", "coco")
    assert result.code == 0 and "no ground-truth boxes" in result.err


# 14 ------------------------------------------------------------------------------------------
def test_truncated_jpeg_decodes_what_is_there_with_a_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    full = tmp_path / "full.jpg"
    pixels = np.random.default_rng(0).integers(0, 256, (96, 64, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(full, quality=90)
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(full.read_bytes()[: full.stat().st_size // 2])  # "Premature end of JPEG file"
    rgb, whole = load_image(cut), load_image(full)
    assert rgb.shape == whole.shape == (96, 64, 3)
    np.testing.assert_array_equal(rgb[:16], whole[:16])  # the first rows are all there
    assert any("cut.jpg" in r.getMessage() and "truncated" in r.getMessage() for r in caplog.records)


# 15 ------------------------------------------------------------------------------------------
def test_resume_removes_half_written_checkpoints(tmp_path: Path, tiny_coco: Path) -> None:
    from engine.train import fit
    from engine.types import TrainConfig

    out = tmp_path / "run"
    out.mkdir()
    stale = [out / ".last.pt.k3j2x_.tmp", out / ".best.pt.a8b9c0.tmp"]
    for path in stale:
        path.write_bytes(b"\0" * 1000)
    keep = out / "notes.tmp"
    keep.write_text("mine")
    config = TrainConfig(data=str(tiny_coco), out=str(out), epochs=1, batch_size=4, image_size=64, lr=1e-3,
                         optimizer="adamw", warmup_steps=1, num_threads=1, resume=True)
    fit(config)  # nothing to resume: fails, but the leftovers are cleaned first
    assert not any(p.exists() for p in stale) and keep.exists()


# 16 ------------------------------------------------------------------------------------------
def test_corrupt_index_page_is_one_line(make, tmp_path: Path) -> None:
    folder = tmp_path / "project"
    for i in range(3):
        make.image(folder / f"g{i}.jpg", 20, 30, seed=i)
    project = Project.open(folder)
    images = project.images()
    for k in range(30):
        project.add_box(images[k % 3], Box(1 + k % 10, 1, 20, 20, f"c{k % 7}"))
    db_path = Path(project.db_path)
    project.close()
    conn = sqlite3.connect(db_path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    rows = conn.execute("SELECT rootpage FROM sqlite_master WHERE type = 'index' AND rootpage > 0").fetchall()
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    conn.close()
    root = max(r[0] for r in rows)
    rng = np.random.default_rng(0)
    with open(db_path, "r+b") as f:
        f.seek((root - 1) * page_size + 8)
        f.write(rng.integers(0, 256, page_size - 8, dtype=np.uint8).tobytes())
    for read_only in (True, False):
        with pytest.raises(ProjectError) as info:
            Project.open(folder, read_only=read_only)
        message = str(info.value)
        assert "corrupt" in message and "\n" not in message and "left untouched" in message


def test_detect_names_every_input_it_skips(cli, make, weights: Path, tmp_path: Path) -> None:
    good = make.image(tmp_path / "good.jpg", 40, 60)
    empty = tmp_path / "empty"
    empty.mkdir()
    result = cli("detect", "--weights", weights, good, tmp_path / "typo.jpg", empty)
    assert result.code == 0
    assert "skipped " + str(tmp_path / "typo.jpg") + ": no such file or folder" in result.err
    assert "skipped " + str(empty) + ": folder contains no images" in result.err
    assert "1 images processed, 2 skipped" in result.err


def test_random_bytes_as_weights_are_not_called_a_pickle(cli, make, tmp_path: Path) -> None:
    junk = tmp_path / "junk.pt"
    junk.write_bytes(np.random.default_rng(0).integers(1, 127, 5000, dtype=np.uint8).tobytes())
    image = make.image(tmp_path / "a.png", 20, 30)
    result = cli("detect", "--weights", junk, image)
    assert result.code == 2 and "not a PyTorch checkpoint file" in result.err and "pickle" not in result.err


def test_convert_prints_each_warning_once(cli, make, tmp_path: Path) -> None:
    make.image(tmp_path / "src" / "a.png", 20, 30)
    make.coco(tmp_path / "src", images=[{"id": 1, "file_name": "a.png", "width": 30, "height": 20},
                                        {"id": 2, "file_name": "gone.png", "width": 30, "height": 20}],
              annotations=[], categories=[{"id": 1, "name": "line\nbreak"}])
    import subprocess
    import sys

    # a real process: under pytest the log records go to pytest, not to stderr
    repo = Path(__file__).resolve().parents[3]
    proc = subprocess.run([sys.executable, "-m", "engine.cli", "convert", "--from", "coco", "--to", "yolo",
                           str(tmp_path / "src"), str(tmp_path / "dst")], capture_output=True, text=True,
                          timeout=120, env={**os.environ, "PYTHONPATH": str(repo)})
    assert proc.returncode == 0, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == len(set(lines)) >= 2
    assert sum("gone.png" in line for line in lines) == 1


def test_resume_into_a_new_folder_never_prints_none(cli, tiny_coco: Path, tmp_path: Path) -> None:
    first = tmp_path / "first"
    assert cli("train", "--data", tiny_coco, "--out", first, *TINY_TRAIN).code == 0
    result = cli("train", "--data", tiny_coco, "--out", tmp_path / "new", "--resume", first / "last.pt", *TINY_TRAIN)
    assert result.code == 0 and "None" not in result.out
    assert "nothing written" in result.out or "wrote" in result.out
