"""Time `python app.py --db TMP seed --count 1000000` into a new database (target < 60 s).

Each repeat seeds a fresh database in a temporary folder (deleted afterwards) and records
the command's wall time, the seed's own time as app.py prints it (without interpreter
start-up and imports), the child's CPU time (user + system, less sensitive to other load
on a shared machine) and the resulting file size. Prints a markdown table and writes
JSON (default bench/results/seed.json). Run: python bench/seed_time.py [--count N].

--backend postgresql seeds `python app.py --db URL seed` into a new database on a
throwaway PostgreSQL server (common.start_postgres(None), pg_cluster.BENCH_SETTINGS),
one database per repeat, dropped afterwards. It also records the server's CPU time
during the seed, the database size (pg_database_size), and the time of the
`app.py vacuum` (VACUUM ANALYZE) that bench_feed.py runs after its own seed, which is
not part of the seed command. JSON: bench/results/seed-postgresql.json.
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

from common import (
    APP_DIR,
    RESULTS_DIR,
    add_backend_argument,
    app_version,
    pg_database_mb,
    pg_settings,
    server_cpu_s,
    start_postgres,
)

# What `app.py seed` prints: "Added 1,000,000 notes in 38.1 s to ...".
_SEED_PRINTED = re.compile(r"added [\d,]+ notes in ([\d.]+) s", re.IGNORECASE)
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
        printed = _SEED_PRINTED.search(proc.stdout)
        return {
            "wall_s": wall,
            "seed_s": float(printed.group(1)) if printed else None,
            "cpu_s": (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime),
            "db_mb": db.stat().st_size / 1e6,
        }


def seed_once_postgres(cluster, count: int) -> dict:
    """Seed count notes into a new database on cluster; return the times and size."""
    name = cluster.create_database()
    url = cluster.url(name)
    try:
        cmd = [sys.executable, "app.py", "--db", url, "seed", "--count", str(count)]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        server_before = server_cpu_s(cluster.server_pid())
        started = time.perf_counter()
        proc = subprocess.run(cmd, cwd=APP_DIR, capture_output=True, text=True, check=True)
        wall = time.perf_counter() - started
        server = server_cpu_s(cluster.server_pid()) - server_before
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        printed = _SEED_PRINTED.search(proc.stdout)
        db_mb = pg_database_mb(url)
        started = time.perf_counter()
        cmd = [sys.executable, "app.py", "--db", url, "vacuum"]
        subprocess.run(cmd, cwd=APP_DIR, capture_output=True, check=True)
        vacuum = time.perf_counter() - started
        return {
            "wall_s": wall,
            "seed_s": float(printed.group(1)) if printed else None,
            "cpu_s": (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime),
            "server_cpu_s": server,
            "db_mb": db_mb,
            "vacuum_analyze_s": vacuum,
            "db_mb_after_vacuum": pg_database_mb(url),
        }
    finally:
        cluster.drop_database(name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=1_000_000, help="notes to seed")
    parser.add_argument("--repeat", type=int, default=1, help="seeds to run (median reported)")
    parser.add_argument("--out", type=Path, help="default: results/seed[-postgresql].json")
    add_backend_argument(parser)
    args = parser.parse_args()
    postgres = args.backend == "postgresql"
    out = args.out or RESULTS_DIR / ("seed-postgresql.json" if postgres else "seed.json")

    runs = []
    cluster = start_postgres(root=None) if postgres else None
    try:
        for i in range(args.repeat):
            print(f"seeding {args.count:,} notes ({i + 1}/{args.repeat})...", flush=True)
            runs.append(
                seed_once_postgres(cluster, args.count) if postgres else seed_once(args.count)
            )
        settings = pg_settings(cluster.url("postgres")) if postgres else None
    finally:
        if cluster is not None:
            cluster.remove()
    median = {
        key: statistics.median(r[key] for r in runs)
        for key in runs[0]
        if all(r[key] is not None for r in runs)
    }
    verdict = "ok" if median["wall_s"] < TARGET_S else "MISS"
    head = "| notes | command wall s | seed s (app.py) | CPU s | DB MB |"
    row = (
        f"| {args.count:,} | {median['wall_s']:.1f} | {median.get('seed_s', float('nan')):.1f} "
        f"| {median['cpu_s']:.1f} | {median['db_mb']:.0f} |"
    )
    if postgres:  # the child's CPU above is the client's; the server works in its own
        head += " server CPU s | then VACUUM ANALYZE s |"
        row += f" {median['server_cpu_s']:.1f} | {median['vacuum_analyze_s']:.1f} |"
    text = "\n".join(
        [
            *([f"PostgreSQL {settings['server_version']}:", ""] if postgres else []),
            f"{head} target |",
            "|---:|---:|---:|---:|---:|" + ("---:|---:|" if postgres else "") + "---|",
            f"{row} < {TARGET_S:g} s wall: {verdict} |",
        ]
    )
    print(text)
    results = {
        "app": app_version(),
        "backend": args.backend,
        "count": args.count,
        "median": median,
        "runs": runs,
        "table": text,
    }
    if settings:
        results["postgresql"] = settings
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
