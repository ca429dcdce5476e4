"""Export and import at scale (issue 12): time, peak memory, and what an export costs the
other sessions.

For each size N (100 and 1,000,000 notes by default; the databases of bench_feed.py) and
each format (csv, json, md), in a fresh subprocess so that its peak RSS is its own:

* **command**: `export_notes` into a file, as `python app.py export` does: wall and CPU
  time, the file's size, and peak RSS above the process's baseline (the app imported and
  the database opened and read once);
* **page**: `_export_bytes`, what the feed's Download button runs when clicked (the file
  built in a temporary file, then handed to Streamlit as bytes): the same figures. Its
  peak includes the one copy of the file Streamlit keeps to serve it;
* **readers**: while the page export runs, another thread reads feed pages
  (`list_notes`, 25 notes) in a loop; p50 and p99 of those reads, against the same loop
  with no export running (does an export freeze other sessions?).

Then **import** (SQLite): an export of the newest notes cut to the page's upload limit
(10 MB) is read and checked (`read_notes_file` + `plan_import` against the N-note
database): time and peak RSS; and imported into a new database: time.

Targets are reported, never asserted: peak RSS of an export well under its file's size
(command) and about one file (page); readers' p99 during an export within a few times
idle. Run: python bench/bench_export.py [--sizes 100 1000000] [--formats csv].
Results: bench/results/export.json.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from common import APP_DIR, RESULTS_DIR, app_version, percentile, prepare_db

SIZES = [100, 1_000_000]
FORMATS = ["csv", "json", "md"]
UPLOAD_LIMIT_MB = 10
FILTERS = {"search": "", "author": None, "tag": None}


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _readers(conn_factory, stop: threading.Event, out: list[float]) -> None:
    """Read feed pages until stop, recording each read's time in ms."""
    sys.path.insert(0, str(APP_DIR))
    import app

    conn = conn_factory()
    while not stop.is_set():
        started = time.perf_counter()
        app.NoteService.list_notes(conn)
        out.append((time.perf_counter() - started) * 1000)
        time.sleep(0.005)
    conn.close()


def measure(path: Path, fmt: str, part: str) -> dict:
    """One measurement, in this (fresh) process: part is command, page, idle or import."""
    sys.path.insert(0, str(APP_DIR))
    import app

    conn = app.connect(path, create=False)
    app.NoteService.list_notes(conn)
    if part == "idle":  # readers with nothing else running, for comparison
        stop, times = threading.Event(), []
        thread = threading.Thread(target=_readers, args=(lambda: app.connect(path), stop, times))
        thread.start()
        time.sleep(5)
        stop.set()
        thread.join()
        return {"reader_p50_ms": percentile(times, 50), "reader_p99_ms": percentile(times, 99)}
    if part == "import":
        return measure_import(app, conn)
    base = _rss_mb()
    cpu, started = time.process_time(), time.perf_counter()
    result: dict = {}
    if part == "command":
        with tempfile.TemporaryDirectory() as folder:
            target = Path(folder) / f"export.{fmt}"
            with open(target, "w", encoding="utf-8", newline="") as out:
                count = app.export_notes(conn, out, fmt)
            result["file_mb"] = target.stat().st_size / 2**20
    else:
        stop, times = threading.Event(), []
        thread = threading.Thread(target=_readers, args=(lambda: app.connect(path), stop, times))
        thread.start()
        data = app._export_bytes(path, fmt, FILTERS, "bench")
        stop.set()
        thread.join()
        count = None
        result["file_mb"] = len(data) / 2**20
        result["reader_p50_ms"] = percentile(times, 50)
        result["reader_p99_ms"] = percentile(times, 99)
        result["reads_during_export"] = len(times)
    result.update(
        notes=count,
        wall_s=time.perf_counter() - started,
        cpu_s=time.process_time() - cpu,
        peak_rss_above_base_mb=_rss_mb() - base,
    )
    return result


class _Full(Exception):
    pass


class _Capped(io.StringIO):
    """A text buffer that stops an export once it holds the upload limit."""

    def write(self, text: str) -> int:
        if self.tell() > UPLOAD_LIMIT_MB * 2**20:
            raise _Full
        return super().write(text)


def measure_import(app, conn) -> dict:
    """Read, check and plan an upload-sized CSV of the newest notes; import it anew."""
    out = _Capped()
    with contextlib.suppress(_Full):
        app.export_notes(conn, out, "csv")  # the newest notes, up to the upload limit
    data = out.getvalue().encode()[: UPLOAD_LIMIT_MB * 2**20]
    data = data[: data.rfind(b"\n", 0, len(data)) + 1]  # whole lines (bodies have none here)
    del out
    base = _rss_mb()
    started = time.perf_counter()
    notes = app.read_notes_file(data, "upload.csv")
    plan = app.plan_import(conn, notes)
    checked = time.perf_counter() - started
    peak = _rss_mb() - base
    with tempfile.TemporaryDirectory() as folder:
        fresh = app.connect(Path(folder) / "new.db")
        started = time.perf_counter()
        done = app.import_notes(fresh, notes, actor=app.OPERATOR)
        imported = time.perf_counter() - started
        fresh.close()
    return {
        "file_mb": len(data) / 2**20,
        "rows": len(notes.rows) + len(notes.rejected),
        "present": len(plan.present),
        "read_and_plan_s": checked,
        "read_and_plan_peak_rss_mb": peak,
        "import_into_new_db_s": imported,
        "added": len(done.new),
    }


def run_child(path: Path, fmt: str, part: str) -> dict:
    cmd = [sys.executable, __file__, "--child", str(path), fmt, part]
    output = subprocess.run(cmd, capture_output=True, text=True, check=True, cwd=APP_DIR)
    return json.loads(output.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=SIZES)
    parser.add_argument("--formats", nargs="+", default=FORMATS, choices=FORMATS)
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        path, fmt, part = args.child
        print(json.dumps(measure(Path(path), fmt, part)))
        return
    results: dict = {"app": app_version(), "sizes": {}}
    for n in args.sizes:
        path = prepare_db(n)
        size: dict = {"idle": run_child(path, "csv", "idle"), "import": None}
        for fmt in args.formats:
            size[fmt] = {part: run_child(path, fmt, part) for part in ("command", "page")}
        size["import"] = run_child(path, "csv", "import")
        results["sizes"][str(n)] = size
    print(
        "| notes | format | way | time s (CPU) | file MB | peak RSS above base MB |"
        " readers p50 / p99 ms (idle) |"
    )
    print("|---:|---|---|---:|---:|---:|---:|")
    for n, size in results["sizes"].items():
        idle = size["idle"]
        for fmt in args.formats:
            for part, r in size[fmt].items():
                readers = (
                    f"{r['reader_p50_ms']:.1f} / {r['reader_p99_ms']:.1f}"
                    f" ({idle['reader_p50_ms']:.1f} / {idle['reader_p99_ms']:.1f})"
                    if part == "page"
                    else ""
                )
                print(
                    f"| {int(n):,} | {fmt} | {part} | {r['wall_s']:.2f} ({r['cpu_s']:.2f}) |"
                    f" {r['file_mb']:.1f} | {r['peak_rss_above_base_mb']:.1f} | {readers} |"
                )
    print(
        "\n| notes in db | upload MB | rows | read+check+plan s | peak RSS MB |"
        " import into new db s |"
    )
    print("|---:|---:|---:|---:|---:|---:|")
    for n, size in results["sizes"].items():
        i = size["import"]
        print(
            f"| {int(n):,} | {i['file_mb']:.1f} | {i['rows']:,} | {i['read_and_plan_s']:.2f} |"
            f" {i['read_and_plan_peak_rss_mb']:.1f} | {i['import_into_new_db_s']:.2f} |"
        )
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    out = RESULTS_DIR / "export.json"
    out.write_text(json.dumps(results, indent=2))
    print(f"\nwrote {out.relative_to(APP_DIR)}")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
