"""Time `python app.py --db TMP seed --count 1000000` into a new database (target < 60 s).

Each repeat seeds a fresh database in a temporary folder (deleted afterwards) and records
the command's wall time, the seed's own time as app.py prints it (without interpreter
start-up and imports), the child's CPU time (user + system, less sensitive to other load
on a shared machine) and the resulting file size. Prints a markdown table and writes
JSON (default bench/results/seed.json). Run: python bench/seed_time.py [--count N].
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import APP_DIR, RESULTS_DIR, app_version

TARGET_S = 60.0


def seed_once(count: int) -> dict:
    """Seed count notes into a new database; return the times and size."""
    with tempfile.TemporaryDirectory(prefix="notes-seed-") as folder:
        db = Path(folder) / "notes.db"
        cmd = [sys.executable, "app.py", "--db", str(db), "seed", "--count", str(count)]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        proc = subprocess.run(cmd, cwd=APP_DIR, capture_output=True, text=True, check=True)
        wall = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        printed = re.search(r"added \d+ notes in ([\d.]+) s", proc.stdout)
        return {
            "wall_s": wall,
            "seed_s": float(printed.group(1)) if printed else None,
            "cpu_s": (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime),
            "db_mb": db.stat().st_size / 1e6,
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=1_000_000, help="notes to seed")
    parser.add_argument("--repeat", type=int, default=1, help="seeds to run (median reported)")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR / "seed.json")
    args = parser.parse_args()

    runs = []
    for i in range(args.repeat):
        print(f"seeding {args.count:,} notes ({i + 1}/{args.repeat})...", flush=True)
        runs.append(seed_once(args.count))
    median = {
        key: statistics.median(r[key] for r in runs)
        for key in ("wall_s", "seed_s", "cpu_s", "db_mb")
        if all(r[key] is not None for r in runs)
    }
    verdict = "ok" if median["wall_s"] < TARGET_S else "MISS"
    text = "\n".join(
        [
            "| notes | command wall s | seed s (app.py) | CPU s | DB MB | target |",
            "|---:|---:|---:|---:|---:|---|",
            f"| {args.count:,} | {median['wall_s']:.1f} | {median.get('seed_s', 0):.1f} "
            f"| {median['cpu_s']:.1f} | {median['db_mb']:.0f} | < {TARGET_S:g} s wall: {verdict} |",
        ]
    )
    print(text)
    results = {
        "app": app_version(),
        "count": args.count,
        "median": median,
        "runs": runs,
        "table": text,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
