"""Kill -9 harness for the project store, shared by test_durability.py and bench/store.py.

Run as a script it is the child: it opens the project and edits boxes forever, printing ``DO`` before
each edit and ``ACK`` once the call has returned. The parent (``run_kill_cycles``) kills it with
SIGKILL at a random moment, reopens the project, and checks that every acknowledged edit is there,
the one edit in flight (DO without ACK) is either fully applied or not at all, and SQLite's
``PRAGMA integrity_check`` says ok.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
LABELS = ("cat", "dog", "bird", "fox")


@dataclass
class KillResult:
    kills: int = 0
    acked_edits: int = 0
    lost: list[str] = field(default_factory=list)
    integrity_failures: list[str] = field(default_factory=list)
    open_failures: list[str] = field(default_factory=list)


def child(folder: str, seed: int) -> None:
    from engine.project import Project
    from engine.types import Box

    rnd = random.Random(seed)
    p = Project.open(folder)
    image_id = p.images()[0].id
    print(f"OPEN {int(p.read_only)}", flush=True)
    mine: list[int] = []
    while True:
        r = rnd.random()
        x, y = round(rnd.uniform(0, 40), 3), round(rnd.uniform(0, 30), 3)
        label = rnd.choice(LABELS) + ("" if rnd.random() < 0.97 else str(rnd.randrange(1000)))
        if r < 0.7 or not mine:
            print(f"DO add {x} {y} {label}", flush=True)
            bid = p.add_box(image_id, Box(x, y, x + 10, y + 8, label))
            mine.append(bid)
            print(f"ACK add {bid} {x} {y} {label}", flush=True)
        elif r < 0.9:
            bid = rnd.choice(mine)
            print(f"DO update {bid} {x} {y} {label}", flush=True)
            p.update_box(bid, {"x1": x, "y1": y, "x2": x + 10, "y2": y + 8, "label": label})
            print(f"ACK update {bid} {x} {y} {label}", flush=True)
        else:
            bid = mine.pop(rnd.randrange(len(mine)))
            print(f"DO delete {bid}", flush=True)
            p.delete_box(bid)
            print(f"ACK delete {bid}", flush=True)


def _read_lines(stream, out: list[str], opened: threading.Event) -> None:
    for line in stream:
        out.append(line.rstrip("\n"))
        if line.startswith("OPEN"):
            opened.set()


def run_kill_cycles(folder: Path, kills: int, *, seed: int = 0, max_delay_s: float = 0.4) -> KillResult:
    """Start, kill -9 and verify the child ``kills`` times on the project in ``folder``.

    One kill in five lands at a random moment from the child's start (so during start-up, project
    creation and scanning too); the others at a random moment up to ``max_delay_s`` after it opened
    the project, among the edits.
    """
    rnd = random.Random(seed)
    expected: dict[int, tuple[float, float, str] | None] = {}  # None: deleted
    result = KillResult()
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    for cycle in range(kills):
        proc = subprocess.Popen([sys.executable, __file__, str(folder), str(seed * 100_003 + cycle)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        lines: list[str] = []
        opened = threading.Event()
        reader = threading.Thread(target=_read_lines, args=(proc.stdout, lines, opened), daemon=True)
        reader.start()
        if rnd.random() < 0.2:
            time.sleep(rnd.uniform(0.0, 0.6))
        else:
            opened.wait(timeout=60)
            time.sleep(rnd.uniform(0.0, max_delay_s))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        reader.join()
        err = proc.stderr.read() if proc.stderr else ""
        if proc.returncode != -signal.SIGKILL:
            result.open_failures.append(f"cycle {cycle}: child exited {proc.returncode}: {err[-500:]}")
        result.kills += 1
        in_flight: tuple[str, int | None, tuple[float, float, str] | None] | None = None
        for line in lines:
            parts = line.split()
            if not parts or parts[0] not in ("DO", "ACK"):
                continue
            if parts[0] == "DO":
                op = parts[1]
                if op == "add":
                    in_flight = ("add", None, (float(parts[2]), float(parts[3]), parts[4]))
                elif op == "update":
                    in_flight = ("update", int(parts[2]), (float(parts[3]), float(parts[4]), parts[5]))
                else:
                    in_flight = ("delete", int(parts[2]), None)
                continue
            result.acked_edits += 1
            in_flight = None
            op, bid = parts[1], int(parts[2])
            expected[bid] = None if op == "delete" else (float(parts[3]), float(parts[4]), parts[5])
        _verify(folder, expected, in_flight, cycle, result)
    return result


def _verify(folder: Path, expected: dict[int, tuple[float, float, str] | None], in_flight, cycle: int,
            result: KillResult) -> None:
    from engine.project import Project

    db = folder / ".retinalab" / "project.db"
    if not db.exists():
        if expected:
            result.lost.append(f"cycle {cycle}: project.db vanished")
        return
    conn = sqlite3.connect(db)
    check = conn.execute("PRAGMA integrity_check").fetchone()[0]
    conn.close()
    if check != "ok":
        result.integrity_failures.append(f"cycle {cycle}: {check}")
    try:
        with Project.open(folder) as p:
            if p.read_only:
                result.open_failures.append(f"cycle {cycle}: reopened read-only: {p.read_only_reason}")
            stored = {b.id: (b.x1, b.y1, b.label) for img in p.images() for b in p.boxes(img)}
    except Exception as exc:  # noqa: BLE001 - every failure to reopen is a finding
        result.open_failures.append(f"cycle {cycle}: {exc}")
        return
    flight_id = in_flight[1] if in_flight else None
    for bid, want in expected.items():
        got = stored.get(bid)
        if got == want or (bid == flight_id and got == in_flight[2]):  # type: ignore[index]
            continue
        result.lost.append(f"cycle {cycle}: box {bid}: expected {want}, found {got}")
    # An add in flight may have committed: adopt it so later cycles track it.
    for bid, got in stored.items():
        if bid not in expected:
            if in_flight and in_flight[0] == "add" and got == in_flight[2]:
                expected[bid] = got
            else:
                result.lost.append(f"cycle {cycle}: unexpected box {bid} {got}")
    if in_flight and in_flight[0] == "update" and flight_id is not None:
        expected[flight_id] = stored.get(flight_id)
    if in_flight and in_flight[0] == "delete" and flight_id is not None and flight_id not in stored:
        expected[flight_id] = None


if __name__ == "__main__":
    child(sys.argv[1], int(sys.argv[2]))
