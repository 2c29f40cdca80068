"""The generated bad-input corpus (``hostile_corpus.py``) through every reader and every command.

Each bad file gets a one-line message or a clean skip: no traceback, no hang (a watchdog fails the
test after 60 s), and bounded memory (the commands run in a child process whose peak memory is read
back). Runs in well under a minute on 2 cores.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from engine.errors import DatasetError
from engine.io import read_dataset
from engine.io.formats import check_format
from hostile_corpus import BAD_IMAGES, GOOD_IMAGES, Corpus, build

REPO = Path(__file__).resolve().parents[3]
TINY_TRAIN = ["--epochs", "1", "--batch-size", "2", "--image-size", "64", "--threads", "1", "--warmup-steps", "1"]
PEAK_MEMORY_MB = 2000  # torch + a tiny model on tiny images peak near 1.1 GB; runaway readers took 10+ GB


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Corpus:
    return build(tmp_path_factory.mktemp("corpus"))


@pytest.mark.parametrize("name", ["coco", "voc", "yolo", "yolo_yaml", "coco_deep"])
def test_every_reader_reads_valid_boxes_or_says_one_line(corpus: Corpus, watchdog, name: str) -> None:
    fmt, path = corpus.datasets[name]
    try:
        ann = read_dataset(path, check_format(fmt))
    except DatasetError as exc:
        assert "\n" not in str(exc) and str(path) in str(exc)
        return
    assert ann.warnings and all("\n" not in w or "dog\nbaby" in w for w in ann.warnings)
    assert len(ann.class_names) <= 10_000
    for img in ann.images:
        assert img.width >= 0 and img.height >= 0
        for box in img.boxes:
            assert box.is_finite() and box.width >= 1 and box.height >= 1 and box.label in ann.class_names
            if img.width and img.height:
                assert 0 <= box.x1 < box.x2 <= img.width and 0 <= box.y1 < box.y2 <= img.height


def _run(*args: str | Path, timeout: float = 240) -> tuple[subprocess.CompletedProcess[str], float]:
    """``retinalab ARGS`` in a child process; returns it and its peak resident memory in MB."""
    proc, peak = _measured([sys.executable, "-m", "engine.cli", *map(str, args)], timeout=timeout)
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    return proc, peak


# The command runs under a small go-between process that reports the peak of its one child. Reading
# RUSAGE_CHILDREN in pytest itself would also count every earlier child of the test session, such as
# DataLoader workers forked from a pytest process that has grown past 2 GB over the app tests.
_MEASURE = ("import resource, subprocess, sys; code = subprocess.run(sys.argv[1:]).returncode; "
            "print('@@peak_kb', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr); "
            "sys.exit(code)")


def _measured(argv: list[str], *, timeout: float, input: str | None = None,
              ) -> tuple[subprocess.CompletedProcess[str], float]:
    """Run ``argv``; returns it (without the measuring line) and its own peak resident memory in MB."""
    proc = subprocess.run([sys.executable, "-c", _MEASURE, *argv], capture_output=True, text=True, timeout=timeout,
                          input=input, env={**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"})
    head, _, tail = proc.stderr.rpartition("@@peak_kb ")
    peak_kb = float(tail.split()[0]) if tail.strip() else float("inf")
    proc.stderr = head
    return proc, peak_kb / 1024


def _assert_one_line_or_ok(proc: subprocess.CompletedProcess[str]) -> None:
    assert proc.returncode in (0, 1, 2), proc.stderr[-2000:]
    if proc.returncode:
        assert proc.stderr.strip().splitlines()[-1].startswith("error: "), proc.stderr[-2000:]


@pytest.mark.slow
def test_detect_skips_each_bad_image_by_name(corpus: Corpus, weights: Path) -> None:
    proc, peak = _run("detect", "--weights", weights, corpus.images)
    assert proc.returncode == 0, proc.stderr
    skipped = [line for line in proc.stderr.splitlines() if line.startswith("skipped ")]
    for name in BAD_IMAGES:
        assert sum(f"/{name}:" in line for line in skipped) == 1, (name, proc.stderr)
    for name in GOOD_IMAGES:
        assert f"{name} (" in proc.stdout
    assert f"{len(GOOD_IMAGES)} images processed, {len(BAD_IMAGES)} skipped" in proc.stderr
    assert peak < PEAK_MEMORY_MB


_COMMANDS_SCRIPT = textwrap.dedent("""
    import sys, traceback
    from engine.cli import main
    for line in sys.stdin.read().splitlines():
        args = line.split("\\t")
        try:
            code = main(args)
        except BaseException:
            traceback.print_exc()
            code = "UNCAUGHT"
        sys.stdout.flush()
        print(f"=== {code} {' '.join(args[:2])}", file=sys.stderr, flush=True)
""")


@pytest.mark.slow
def test_convert_train_and_eval_over_every_bad_dataset(corpus: Corpus, weights: Path, tmp_path: Path) -> None:
    commands = []
    for name, (fmt, path) in corpus.datasets.items():
        for target in ("coco", "voc", "yolo"):
            commands.append(["convert", "--from", fmt, "--to", target, path, tmp_path / f"{name}-{target}"])
        commands.append(["train", "--data", path, "--format", fmt, "--out", tmp_path / f"run-{name}", *TINY_TRAIN])
        commands.append(["eval", "--weights", weights, "--data", path, "--format", fmt])
    # one child process for all commands: torch is imported once, and its peak memory is read back
    proc, peak = _measured([sys.executable, "-c", _COMMANDS_SCRIPT], timeout=600,
                           input="\n".join("\t".join(map(str, c)) for c in commands))
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr[-3000:]
    chunks = proc.stderr.split("=== ")
    results = [chunk.split("\n", 1)[0] for chunk in chunks[1:]]
    assert len(results) == len(commands)
    for before_marker, result in zip(chunks, results):
        code = result.split()[0]
        assert code in ("0", "1", "2"), result
        if code != "0":
            last = before_marker.strip().splitlines()[-1]
            assert last.startswith("error: ") and len(last) < 600, (result, last)
    assert peak < PEAK_MEMORY_MB
