"""retinalab train / eval on the command line, and the same training under torchrun with 2 processes."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from engine.cli import main

REPO = Path(__file__).resolve().parents[3]
TINY = ["--epochs", "1", "--batch-size", "2", "--image-size", "64", "--threads", "1", "--warmup-steps", "1"]


@pytest.mark.slow
def test_train_then_eval(tiny_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "run"
    assert main(["train", "--data", str(tiny_data), "--format", "coco", "--out", str(out), *TINY]) == 0
    text = capsys.readouterr().out
    # captured output is not a terminal: one plain line per epoch, no \r redrawing (see test_progress_printer)
    assert "\r" not in text and "img/s" in text and "ETA" in text and "epoch 1/1" in text
    assert {p.name for p in out.iterdir()} >= {"last.pt", "best.pt", "metrics.json"}

    report = tmp_path / "m.json"
    assert main(["eval", "--weights", str(out / "best.pt"), "--data", str(tiny_data), "--format", "coco",
                 "--json", str(report)]) == 0
    printed = capsys.readouterr().out
    assert "AP50" in printed and "circle" in printed
    doc = json.loads(report.read_text())
    assert set(doc) == {"AP", "AP50", "AP75", "per_class"}
    assert set(doc["per_class"]) == {"circle", "square", "triangle", "star"}


def test_bad_input_is_one_line_exit_2(tiny_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["train", "--data", str(tmp_path / "missing"), "--out", str(tmp_path / "o"), *TINY]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "does not exist" in err and "\n" not in err and "Traceback" not in err
    assert main(["eval", "--weights", str(tmp_path / "none.pt"), "--data", str(tiny_data)]) == 2
    assert "checkpoint not found" in capsys.readouterr().err


@pytest.mark.slow
def test_ddp_two_cpu_processes(tiny_data: Path, tmp_path: Path) -> None:
    out = tmp_path / "ddp"
    python_path = os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])  # keep packages found there
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": python_path}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
           "-m", "engine.cli", "train", "--data", str(tiny_data), "--format", "coco", "--out", str(out),
           "--device", "cpu", *TINY]
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-2000:]
    doc = json.loads((out / "metrics.json").read_text())
    assert doc["world_size"] == 2 and len(doc["epochs"]) == 1
    # 5 or 6 training images sharded over 2 ranks, batch 2: 2 steps per rank instead of 3
    assert "step 2/2" in proc.stdout
    assert proc.stdout.count("saved best.pt") == 1  # rank 0 alone reports and writes
    assert (out / "best.pt").is_file() and (out / "last.pt").is_file()


def test_more_ddp_processes_than_gpus_is_one_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    from engine.errors import RetinaLabError
    from engine.train.distributed import DistContext

    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    second = DistContext(rank=1, local_rank=1, world_size=2)
    with pytest.raises(RetinaLabError, match=r"nproc_per_node=1\) or pass --device cpu"):
        second.device_for(torch.device("cuda"))
    assert second.device_for(torch.device("cpu")) == torch.device("cpu")


def _print_two_epochs(stream: io.StringIO) -> str:
    from engine.cli.train import ProgressPrinter
    from engine.types import TrainEvent

    printer = ProgressPrinter(stream, min_interval_s=0.0)
    common = {"num_epochs": 2, "total_steps": 6, "lr": 1e-3}
    printer(TrainEvent(kind="train_started", message="training on 6 images", **common))
    for epoch in (1, 2):
        for step in range(3 * epoch - 2, 3 * epoch + 1):
            printer(TrainEvent(kind="batch_end", epoch=epoch, step=step, images_per_s=4.0, eta_s=6.0 - step,
                               losses={"total": 1.0, "classification": 0.6, "bbox_regression": 0.4}, **common))
        printer(TrainEvent(kind="epoch_end", epoch=epoch, step=3 * epoch, losses={"total": 0.9},
                           metrics={"AP": 0.5, "AP50": 0.7, "AP75": 0.4}, **common))
    printer(TrainEvent(kind="finished", message="finished 2 epochs", **common))
    return stream.getvalue()


def test_progress_into_a_log_file_is_one_plain_line_per_epoch() -> None:
    text = _print_two_epochs(io.StringIO())  # like stdout redirected to a file: not a TTY
    assert "\r" not in text and "\x1b" not in text
    lines = text.splitlines()
    epoch_lines = [line for line in lines if line.startswith("epoch ")]
    assert len(epoch_lines) == 2 and lines == ["training on 6 images", *epoch_lines, "finished 2 epochs"]
    assert epoch_lines[1].startswith("epoch 2/2  step 6/6") and "img/s" in epoch_lines[1] and "AP 0.5000" in text


def test_progress_on_a_terminal_redraws_one_line() -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    text = _print_two_epochs(Terminal())
    assert text.count("\r") == 6 and "step 6/6" in text and "epoch 2/2  loss 0.900" in text
