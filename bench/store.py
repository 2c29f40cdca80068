"""Benchmark the project store: open times on 10,000 images, committed edits per second, snapshots
read while another thread edits, and kill -9 durability. Prints the numbers; asserts nothing.

    .venv/bin/python bench/store.py [--images 10000] [--edits 10000] [--kills 1000] [--dir DIR]
"""

from __future__ import annotations

import argparse
import io
import random
import shutil
import sqlite3
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests" / "engine" / "project"))

from PIL import Image  # noqa: E402

from engine.errors import ProjectError  # noqa: E402
from engine.project import Project  # noqa: E402
from engine.project.store import ProjectBase  # noqa: E402
from engine.types import Box  # noqa: E402


def make_folder(folder: Path, count: int) -> None:
    """``count`` tiny JPEGs (copies of one 96x64 file) in subfolders of 1,000."""
    buf = io.BytesIO()
    Image.new("RGB", (96, 64), (90, 140, 200)).save(buf, "JPEG")
    data = buf.getvalue()
    for i in range(count):
        sub = folder / f"part{i // 1000:02d}"
        if i % 1000 == 0:
            sub.mkdir(parents=True, exist_ok=True)
        (sub / f"img{i:05d}.jpg").write_bytes(data)


def timed_open(folder: Path) -> tuple[float, int]:
    t0 = time.perf_counter()
    p = Project.open(folder)
    n = len(p.images())
    elapsed = time.perf_counter() - t0
    p.close()
    return elapsed, n


def edit_mix(p: Project, image_ids: list[int], count: int, rnd: random.Random) -> tuple[float, int]:
    """``count`` edits (60% add, 30% move/resize, 10% delete), each its own committed transaction."""
    live: list[int] = []
    errors = 0
    t0 = time.perf_counter()
    for _ in range(count):
        r = rnd.random()
        x, y = rnd.uniform(0, 60), rnd.uniform(0, 40)
        try:
            if r < 0.6 or not live:
                live.append(p.add_box(rnd.choice(image_ids), Box(x, y, x + 20, y + 15, rnd.choice("abcde"))))
            elif r < 0.9:
                p.update_box(rnd.choice(live), {"x1": x, "y1": y, "x2": x + 20, "y2": y + 15})
            else:
                p.delete_box(live.pop(rnd.randrange(len(live))))
        except (sqlite3.OperationalError, ProjectError) as exc:
            errors += 1
            print(f"  edit failed: {exc}")
    return count / (time.perf_counter() - t0), errors


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=10_000)
    parser.add_argument("--edits", type=int, default=10_000)
    parser.add_argument("--kills", type=int, default=1_000)
    parser.add_argument("--dir", type=Path, default=None, help="work folder (default: a temporary one)")
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]  # numbers as they come
    work = Path(tempfile.mkdtemp(prefix="retinalab-bench-", dir=args.dir))
    rnd = random.Random(0)
    try:
        folder = work / "images"
        t0 = time.perf_counter()
        make_folder(folder, args.images)
        print(f"made {args.images} images in {time.perf_counter() - t0:.1f} s")

        first, n = timed_open(folder)
        second, _ = timed_open(folder)
        third, _ = timed_open(folder)
        print(f"open, {n} images: first {first:.3f} s (goal < 5), second {second:.3f} s, "
              f"third {third:.3f} s (goal < 1)")

        with Project.open(folder) as p:
            images = p.images()
            t0 = time.perf_counter()
            for rec in images[:1000]:
                p.image_size(rec)
            per_header = (time.perf_counter() - t0) / 1000
            print(f"lazy size read: {per_header * 1e3:.2f} ms per image "
                  f"({per_header * len(images):.1f} s if all {len(images)} were read)")
            ids = [r.id for r in images[:1000]]

            rate, errors = edit_mix(p, ids, args.edits, rnd)
            print(f"{args.edits} edits, each committed (synchronous={p.synchronous}, the default): "
                  f"{rate:.0f} edits/s (goal >= 500), {errors} errors")

            for rec in images[:2000]:
                p.set_status(rec, "reviewed")
            stop = threading.Event()
            reader_errors: list[str] = []
            snapshots = [0, 0]

            def reader() -> None:
                while not stop.is_set():
                    try:
                        snap = p.snapshot()
                        snapshots[0] += 1
                        snapshots[1] = snap.num_boxes
                    except (sqlite3.OperationalError, ProjectError) as exc:
                        reader_errors.append(str(exc))

            thread = threading.Thread(target=reader)
            thread.start()
            try:
                rate, errors = edit_mix(p, ids, args.edits, rnd)
            finally:
                stop.set()
                thread.join()
            locked = sum("locked" in e for e in reader_errors) + errors  # every writer error counts
            print(f"{args.edits} edits while another thread took {snapshots[0]} training snapshots "
                  f"({snapshots[1]} boxes on 2000 reviewed images each): {rate:.0f} edits/s, "
                  f"'database is locked' errors: {locked} (writer {errors}, reader {len(reader_errors)})")
            conn = sqlite3.connect(p.db_path)
            print(f"integrity_check: {conn.execute('PRAGMA integrity_check').fetchone()[0]}")
            conn.close()

        ProjectBase.synchronous = "FULL"
        with Project.open(folder) as p:
            ids = [r.id for r in p.images()[:1000]]
            rate, errors = edit_mix(p, ids, args.edits // 4, rnd)
            print(f"for comparison, {args.edits // 4} edits with synchronous=FULL (fsync per commit): "
                  f"{rate:.0f} edits/s, {errors} errors")
        ProjectBase.synchronous = "NORMAL"

        if args.kills:
            from store_durability import run_kill_cycles

            kill_folder = work / "kill"
            make_folder(kill_folder, 1)
            t0 = time.perf_counter()
            result = run_kill_cycles(kill_folder, args.kills, seed=7)
            print(f"kill -9: {result.kills} kills in {time.perf_counter() - t0:.0f} s, "
                  f"{result.acked_edits} acknowledged edits, lost {len(result.lost)}, "
                  f"integrity failures {len(result.integrity_failures)}, "
                  f"reopen failures {len(result.open_failures)}")
            for line in (result.lost + result.integrity_failures + result.open_failures)[:10]:
                print("  ", line)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
