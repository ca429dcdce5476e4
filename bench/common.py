"""Shared by the benches: where things are, the cached seeded databases, what was measured."""

from __future__ import annotations

import hashlib
import math
import subprocess
import sys
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
APP_DIR = BENCH_DIR.parent
DATA_DIR = BENCH_DIR / ".data"  # git-ignored (bench/.gitignore)
RESULTS_DIR = BENCH_DIR / "results"  # git-ignored (.gitignore)


def prepare_db(n: int) -> Path:
    """Return the cached database of n notes: seeded if missing, migrated to app.py's schema.

    `app.py migrate` brings an older schema up to date first, so a migration never lands
    inside a measurement (or its peak RSS).
    """
    path = DATA_DIR / f"notes-{n}.db"
    if not path.exists():
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".partial")
        for stale in DATA_DIR.glob(partial.name + "*"):
            stale.unlink()
        print(f"seeding {path.name} ({n - 1} notes + the welcome note)...", flush=True)
        cmd = [sys.executable, "app.py", "--db", str(partial), "seed", "--count", str(n - 1)]
        subprocess.run(cmd, cwd=APP_DIR, check=True)
        partial.rename(path)
    cmd = [sys.executable, "app.py", "--db", str(path), "migrate"]
    subprocess.run(cmd, cwd=APP_DIR, check=True, stdout=subprocess.DEVNULL)
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
