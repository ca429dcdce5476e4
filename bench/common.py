"""Shared by the benches: where things are, the cached seeded databases, what was measured,
and, for --backend postgresql, the PostgreSQL server they run against."""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import math
import os
import subprocess
import sys
import time
from pathlib import Path

import psycopg

BENCH_DIR = Path(__file__).resolve().parent
APP_DIR = BENCH_DIR.parent
DATA_DIR = BENCH_DIR / ".data"  # git-ignored (bench/.gitignore)
RESULTS_DIR = BENCH_DIR / "results"  # git-ignored (.gitignore)
PG_ROOT = DATA_DIR / "pg"  # the kept PostgreSQL server of the feed benches (and its data)

# Chromium, launched as the browser tests launch it (one list, in tests/e2e/notes_e2e.py).
sys.path.insert(0, str(APP_DIR / "tests" / "e2e"))
from notes_e2e import CHROMIUM, CHROMIUM_ARGS  # noqa: E402, F401  (re-exported to the benches)

BACKENDS = ("sqlite", "postgresql")
_held: list = []  # the open lock file of a kept PostgreSQL root (see start_postgres)


def prepare_db(n: int, app_dir: Path = APP_DIR) -> Path:
    """Return the cached database of n notes: seeded if missing, migrated to app.py's schema
    (app_dir's app.py: another copy, an older commit say, gets its own file, by its hash).

    `app.py migrate` brings an older schema up to date first, so a migration never lands
    inside a measurement (or its peak RSS).
    """
    name = f"notes-{n}.db"
    if app_dir.resolve() != APP_DIR.resolve():
        name = f"notes-{n}-{hashlib.sha256((app_dir / 'app.py').read_bytes()).hexdigest()[:12]}.db"
    path = DATA_DIR / name
    if not path.exists():
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".partial")
        for stale in DATA_DIR.glob(partial.name + "*"):
            stale.unlink()
        print(f"seeding {path.name} ({n - 1} notes + the welcome note)...", flush=True)
        cmd = [sys.executable, "app.py", "--db", str(partial), "seed", "--count", str(n - 1)]
        subprocess.run(cmd, cwd=app_dir, check=True)
        partial.rename(path)
    cmd = [sys.executable, "app.py", "--db", str(path), "migrate"]
    subprocess.run(cmd, cwd=app_dir, check=True, stdout=subprocess.DEVNULL)
    return path


def app_version() -> dict:
    """Which app.py was measured: git commit, whether app.py differs from it, and its hash."""

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=APP_DIR, capture_output=True, text=True).stdout

    source = (APP_DIR / "app.py").read_bytes()
    return {
        "commit": git("rev-parse", "--short", "HEAD").strip(),
        "app_py_modified": bool(git("status", "--porcelain", "app.py").strip()),
        "app_py_sha256": hashlib.sha256(source).hexdigest()[:12],
    }


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(pct / 100 * len(ordered)) - 1)]


# PostgreSQL ------------------------------------------------------------------


def add_backend_argument(parser: argparse.ArgumentParser) -> None:
    """--backend sqlite (default) or postgresql."""
    parser.add_argument(
        "--backend",
        choices=BACKENDS,
        default="sqlite",
        help="sqlite (default), or postgresql: a server started from Debian's binaries"
        " (tests/pg_cluster.py) with pg_cluster.BENCH_SETTINGS",
    )


def start_postgres(root: Path | None = PG_ROOT):
    """Start a PostgreSQL server for a bench and return its pg_cluster.Cluster.

    root: the folder kept between runs (bench/.data/pg by default: the seeded databases
    stay there); None for a throwaway server in a temporary folder (remove() it after).
    """
    sys.path.insert(0, str(APP_DIR / "tests"))
    from pg_cluster import BENCH_SETTINGS, HOW_TO_GET_IT, Cluster, find_bin_dir

    bin_dir = find_bin_dir()
    if bin_dir is None:
        raise SystemExit(HOW_TO_GET_IT)
    if root is not None:  # one bench at a time: a second start would stop the first's server
        root.parent.mkdir(parents=True, exist_ok=True)
        lock = open(root.parent / f"{root.name}.lock", "w")  # noqa: SIM115 (held until exit)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise SystemExit(f"another bench is using the server in {root}; wait for it") from None
        _held.append(lock)
    cluster = Cluster(bin_dir, root=root, settings=BENCH_SETTINGS)
    print(f"starting PostgreSQL ({bin_dir.parent.name}) in {cluster.root}...", flush=True)
    return cluster.start()


def pg_schema_key() -> str:
    """A short hash of what a seeded PostgreSQL database depends on in app.py: its schema,
    its INSERT and the seed. A cached database whose key differs is seeded again (the
    PostgreSQL schema can change while its version number stays the same)."""
    import inspect

    sys.path.insert(0, str(APP_DIR))
    import app

    parts = [
        repr(app._SCHEMA["postgresql"]),
        repr(app._UPGRADES["postgresql"]),
        app._INSERT_NOTES["postgresql", False],
    ]
    parts += [inspect.getsource(app.seed_notes), repr(app._SEED_WORDS)]
    parts += [inspect.getsource(app._bulk_load)]  # it adds the seed's counts
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:8]


def prepare_pg_db(cluster, n: int) -> str:
    """Return the URL of the cached PostgreSQL database of n notes on cluster: seeded if
    missing (into notes_N_partial, renamed to notes_N_KEY when done, KEY from
    pg_schema_key(); databases of other keys are dropped), migrated to app.py's schema.

    After the seed (which ends with ANALYZE), `app.py vacuum` (VACUUM ANALYZE) sets the
    visibility map and hint bits, as autovacuum would soon after a bulk load, so that
    the measurement does not depend on whether autovacuum got there first.
    """
    name = f"notes_{n}_{pg_schema_key()}"
    with psycopg.connect(cluster.url("postgres"), autocommit=True) as conn:
        found = conn.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE %s", (f"notes\\_{n}\\_%",)
        ).fetchall()
    for (stale,) in found:
        if stale != name:
            print(f"dropping {stale} (another schema or unfinished)", flush=True)
            cluster.drop_database(stale)
    if not cluster.has_database(name):
        partial = f"notes_{n}_partial"
        cluster.create_database(name=partial)
        url = cluster.url(partial)
        print(f"seeding PostgreSQL {name} ({n - 1} notes + the welcome note)...", flush=True)
        cmd = [sys.executable, "app.py", "--db", url, "seed", "--count", str(n - 1)]
        subprocess.run(cmd, cwd=APP_DIR, check=True)
        started = time.perf_counter()
        subprocess.run([sys.executable, "app.py", "--db", url, "vacuum"], cwd=APP_DIR, check=True)
        print(f"VACUUM ANALYZE took {time.perf_counter() - started:.1f} s", flush=True)
        cluster.admin(f"ALTER DATABASE {partial} RENAME TO {name}")
    url = cluster.url(name)
    cmd = [sys.executable, "app.py", "--db", url, "migrate"]
    subprocess.run(cmd, cwd=APP_DIR, check=True, stdout=subprocess.DEVNULL)
    return url


def pg_database_mb(url: str) -> float:
    """The size of the PostgreSQL database at url, in MB (pg_database_size)."""
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT pg_database_size(current_database())").fetchone()[0] / 1e6


def pg_settings(url: str) -> dict:
    """The server's version and the settings that matter to the benches."""
    names = ["server_version", "shared_buffers", "work_mem", "effective_cache_size", "jit",
             "synchronous_commit", "fsync", "max_wal_size", "random_page_cost"]  # fmt: skip
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT name, current_setting(name) FROM pg_settings WHERE name = ANY(%s)", (names,)
        ).fetchall()
    return dict(rows)


def server_cpu_s(pid: int) -> float:
    """CPU seconds (user + system) used so far by the server whose postmaster is pid: its
    own, its exited children's, and its running children's (Linux /proc)."""
    tick = os.sysconf("SC_CLK_TCK")

    def stat(proc: str) -> list[str]:
        text = Path(f"/proc/{proc}/stat").read_text()
        return text[text.rindex(")") + 2 :].split()  # fields from the 3rd (state) on

    total = sum(int(x) for x in stat(str(pid))[11:15])  # utime stime cutime cstime
    for proc in os.listdir("/proc"):
        if proc.isdigit():
            try:
                fields = stat(proc)
            except (OSError, ValueError):
                continue  # exited meanwhile
            if fields[1] == str(pid):  # a child of the postmaster: a backend or a worker
                total += int(fields[11]) + int(fields[12])
    return total / tick
