"""Concurrent writers on one notes.db: is every acknowledged write kept, and how fast is it?

Method. A fresh notes.db is created in a temporary folder. 8 threads in this process
plus 2 worker processes (this script again, with --worker) each open their own
connection with app.connect() and, after a common start signal, do --ops (2,000) mixed
operations: 60% create, 25% update, 15% delete, stopping early at --seconds (120).
A worker updates and deletes only notes it created itself, always passing the version
it last saw, so the expected final state follows from each worker's own log with no
ordering across workers. Every ACKNOWLEDGED write (the call returned) is logged: a
create's note_id and unique body, an update's note_id, body and returned version, a
delete's note_id. Failed calls are counted by exception type; any whose message says
"locked" or "busy" is a lock error.

Afterwards the database is compared with the logs: every acknowledged, undeleted note
is in `notes` with its last acknowledged body and version (else it is lost); every
acknowledged delete is absent from `notes` and in `trash` (else lost); any row in notes
or trash that no log explains, besides the welcome note #1, is a phantom; and
app.check_database() must report nothing.

Where the time goes: a trace callback on each connection times how long BEGIN IMMEDIATE
waits for the write lock and how long the lock is then held; /proc/thread-self/schedstat
splits each worker's time into CPU, waiting for a CPU (other load on the machine) and
blocked (lock waits, I/O, the GIL). Targets: 0 lost, 0 phantom, 0 lock errors, at least
2,000 acknowledged writes/s. Prints a table, writes JSON (default
bench/results/stress.json) and exits 1 if a target is missed.
Run: python bench/stress.py [--threads 8 --procs 2 --ops 2000 --seconds 120 --seed 0]

--proc-threads K gives each worker process K writer threads instead of one.

--backend postgresql runs the same against a new database on a throwaway PostgreSQL
server (common.start_postgres(None), pg_cluster.BENCH_SETTINGS: fsync and
synchronous_commit on, so an acknowledged write is on disk). Each process opens the
database once with app.open_database(url): one pool (app.POOL_MAX_SIZE connections)
that its threads share, as the app's server process does. The checks read the
PostgreSQL database. There is no trace callback there, so lock wait and hold are not
split out; instead the report gives each process's pool statistics (requests that
waited for a connection, and for how long) and the server's CPU time, which is not in
the workers'. JSON: bench/results/stress-postgresql.json.
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from common import add_backend_argument, pg_settings, server_cpu_s, start_postgres

import app

BENCH_DIR = Path(__file__).resolve().parent
TARGET_WRITES_PER_S = 2000


def schedstat() -> list[float]:
    """This thread's [CPU s, waiting-for-a-CPU s] so far (Linux), else zeros."""
    try:
        return [int(x) / 1e9 for x in open("/proc/thread-self/schedstat").read().split()[:2]]
    except OSError:
        return [0.0, 0.0]


def run_worker(
    path: str, wid: int, ops: int, deadline: float, seed: int, db: app.Database | None = None
) -> dict:
    """Do up to ops mixed writes until deadline, on a new SQLite connection to path, or on
    db (the process's PostgreSQL pool, shared with its other threads); return log and timings."""
    rng = random.Random(seed * 1000 + wid)
    conn = db if db is not None else app.connect(path)
    began: list[float] = []  # when BEGIN IMMEDIATE started, then when it got the lock

    def trace(sql: str) -> None:
        if sql.startswith("BEGIN"):
            began[:] = [time.perf_counter()]
        elif len(began) == 1:
            began.append(time.perf_counter())  # first statement after BEGIN: lock taken

    if isinstance(conn, sqlite3.Connection):  # PostgreSQL has no file lock to time
        conn.set_trace_callback(trace)
    messages: Counter = Counter()
    live: dict[int, int] = {}  # my undeleted notes: note_id -> version
    log: list[list] = []
    errors: Counter = Counter()
    latency, wait, hold, failed = [], [], [], []
    (cpu0, runq0), t0 = schedstat(), time.perf_counter()
    for count in range(ops):
        if time.time() >= deadline:
            break
        roll = rng.random()
        op = "create" if roll < 0.60 or not live else ("update" if roll < 0.85 else "delete")
        note_id = rng.choice(list(live)) if op != "create" else None
        body, user = f"w{wid} n{count} {op} #bench{rng.randrange(5)}", f"worker{wid}"
        start, began[:] = time.perf_counter(), []
        try:
            if op == "create":
                note = app.NoteService.create_note(conn, user, body)
                live[note.id] = note.version
                entry = ["create", note.id, body, note.version]
            elif op == "update":
                note = app.NoteService.update_note(conn, note_id, user, body, version=live[note_id])
                live[note_id] = note.version
                entry = ["update", note_id, body, note.version]
            else:
                app.NoteService.delete_note(conn, note_id, version=live.pop(note_id))
                entry = ["delete", note_id]
        except app.NotesError as error:
            text = str(error).lower()
            kind = "lock" if "locked" in text or "busy" in text else type(error).__name__
            errors[kind] += 1
            messages[str(error)[:120]] += 1
            failed.append([kind, time.perf_counter() - start])  # how long before it gave up
            continue
        end = time.perf_counter()
        latency.append(end - start)
        if len(began) == 2:
            wait.append(began[1] - began[0])
            hold.append(end - began[1])
        log.append(entry)
    (cpu, runq), elapsed = schedstat(), time.perf_counter() - t0
    if db is None:
        conn.close()
    return {"worker": wid, "log": log, "errors": dict(errors), "failed": failed,
            "latency": latency, "wait": wait, "hold": hold, "elapsed": elapsed,
            "cpu": cpu - cpu0, "runq": runq - runq0, "messages": dict(messages)}  # fmt: skip


def run_threads(
    path: str,
    wids: list[int],
    ops: int,
    deadline: Callable[[], float],
    seed: int,
    db: app.Database | None,
    go: threading.Event | None = None,
) -> list[dict]:
    """Run one run_worker per id in its own thread (after go is set, if given); return all."""
    results: list[dict] = [{}] * len(wids)

    def thread_main(i: int) -> None:
        if go is not None:
            go.wait()
        results[i] = run_worker(path, wids[i], ops, deadline(), seed, db)

    threads = [threading.Thread(target=thread_main, args=(i,)) for i in range(len(wids))]
    for thread in threads:
        thread.start()
    if go is not None:
        go.set()
    for thread in threads:
        thread.join()
    return results


def check(path: str, logs: list[list]) -> dict:
    """Compare the database with the acknowledged writes; return lost and phantom note_ids."""
    expected: dict[int, tuple] = {}  # live note -> (body, version)
    deleted: dict[int, tuple] = {}
    for entry in (entry for log in logs for entry in log):
        if entry[0] == "delete":
            deleted[entry[1]] = expected.pop(entry[1])
        else:
            expected[entry[1]] = (entry[2], entry[3])
    conn = app.open_database(path)  # the file, or the PostgreSQL URL
    notes = {
        r["id"]: (r["body"], r["version"])
        for r in app._read(conn, "SELECT id, body, version FROM notes")
    }
    rows = app._read(conn, "SELECT id, body, version FROM trash")  # by name on both
    trash = {row["id"]: (row["body"], row["version"]) for row in rows}
    problems = app.check_database(conn).problems
    conn.close()
    lost = [r for r, state in expected.items() if notes.get(r) != state]
    lost += [r for r, state in deleted.items() if r in notes or trash.get(r) != state]
    phantom = sorted((set(notes) | set(trash)) - set(expected) - set(deleted) - {1})
    return {"lost": lost, "phantom": phantom, "check_database": problems}


def percentiles(values: list[float]) -> dict:
    """p50/p95/p99/max in milliseconds, and the sum in seconds."""
    cuts = statistics.quantiles(values, n=100, method="inclusive") if len(values) > 1 else [0] * 99
    return {"p50": cuts[49] * 1e3, "p95": cuts[94] * 1e3, "p99": cuts[98] * 1e3,
            "max": max(values, default=0) * 1e3, "sum_s": sum(values)}  # fmt: skip


def open_shared(target: str) -> app.Database | None:
    """This process's PostgreSQL pool for its threads; None for SQLite (a connection each)."""
    if app.is_database_url(target):
        return app.open_database(target)
    app.connect(target).close()
    return None


def pool_stats(db: app.Database | None) -> dict | None:
    """The pool's counters (psycopg_pool): requests, how many waited, for how long."""
    return dict(db.pool.get_stats()) if isinstance(db, app.Postgres) else None


def worker_main(args: argparse.Namespace) -> None:
    """Worker process: connect, say ready, wait for the go line, work, print JSON."""
    db = open_shared(args.db)
    print("ready", flush=True)
    sys.stdin.readline()
    deadline = time.time() + args.seconds
    wids = [args.worker + j for j in range(args.proc_threads)]
    results = run_threads(args.db, wids, args.ops, lambda: deadline, args.seed, db)
    json.dump({"results": results, "pool": pool_stats(db)}, sys.stdout)
    if db is not None:
        db.close()


def main(args: argparse.Namespace) -> int:
    cluster = start_postgres(root=None) if args.backend == "postgresql" else None
    try:
        return race(args, cluster)
    finally:
        if cluster is not None:
            cluster.remove()


def race(args: argparse.Namespace, cluster) -> int:
    """Run the writers on a new database (a file, or one on cluster), check, report."""
    folder = tempfile.TemporaryDirectory(prefix="notes-stress-", dir=args.tmpdir)
    path = str(Path(folder.name) / "notes.db")
    if cluster is not None:
        path = cluster.url(cluster.create_database())
    app.open_database(path).close()  # create the schema once, before the race
    db = open_shared(path)  # this process's pool, for its threads (PostgreSQL)
    argv = [sys.executable, __file__, "--db", path, "--seed", str(args.seed)]
    argv += ["--ops", str(args.ops), "--seconds", str(args.seconds)]
    argv += ["--proc-threads", str(args.proc_threads)]
    pipes = {"stdin": subprocess.PIPE, "stdout": subprocess.PIPE, "text": True}
    procs = [
        subprocess.Popen([*argv, "--worker", str(args.threads + i * args.proc_threads)], **pipes)
        for i in range(args.procs)
    ]
    for proc in procs:
        assert proc.stdout.readline().strip() == "ready", "a worker process failed to start"
    server_cpu0 = server_cpu_s(cluster.server_pid()) if cluster else 0.0
    go = threading.Event()
    start = time.perf_counter()
    for proc in procs:
        proc.stdin.write("go\n")
        proc.stdin.flush()
    deadline = lambda: time.time() + args.seconds  # noqa: E731 (each thread's own, as before)
    results = run_threads(path, list(range(args.threads)), args.ops, deadline, args.seed, db, go)
    pools = [pool_stats(db)]
    for proc in procs:
        out = json.loads(proc.communicate()[0])
        results += out["results"]
        pools.append(out["pool"])
    wall = time.perf_counter() - start
    server_cpu = server_cpu_s(cluster.server_pid()) - server_cpu0 if cluster else None
    if db is not None:
        db.close()
    verdict = check(path, [r["log"] for r in results])
    folder.cleanup()

    errors: Counter = Counter()
    for r in results:
        errors.update(r["errors"])
    lock_errors = errors.pop("lock", 0)
    ops = Counter(entry[0] for r in results for entry in r["log"])
    acked = sum(ops.values())
    times = {k: sum(r[k] for r in results) for k in ("elapsed", "cpu", "runq")}
    messages: Counter = Counter()
    for r in results:
        messages.update(r["messages"])
    report = {
        "backend": args.backend,
        **{k: getattr(args, k) for k in ("threads", "procs", "proc_threads", "ops", "seconds",
                                         "seed")},
        "acknowledged_writes": acked, "by_op": dict(ops), "wall_s": wall,
        "writes_per_s": acked / wall, "lost_writes": len(verdict["lost"]),
        "phantom_writes": len(verdict["phantom"]), "lock_errors": lock_errors,
        "other_errors": dict(errors), "check_database": verdict["check_database"],
        "lost_ids": verdict["lost"][:20], "phantom_ids": verdict["phantom"][:20],
        "failed_calls_s": [[r["worker"], *f] for r in results for f in r["failed"]],
        "workers": [{"worker": r["worker"], "acked": len(r["log"]), "errors": r["errors"],
                     "max_call_ms": max(r["latency"], default=0) * 1e3} for r in results],
        "worker_time_s": {**times, "blocked": times["elapsed"] - times["cpu"] - times["runq"]},
        "writes_per_cpu_s": acked / times["cpu"] if times["cpu"] else None,
        "error_messages": dict(messages.most_common(10)),
        "server_cpu_s": server_cpu,
        "pools": pools,
        **{f"{k}_ms": percentiles([x for r in results for x in r[k]])
           for k in ("latency", "wait", "hold")},
    }  # fmt: skip
    targets = {
        "lost or phantom writes": verdict["lost"] or verdict["phantom"],
        "lock errors": lock_errors,
        "other errors or check_database problems": errors or verdict["check_database"],
        f"below {TARGET_WRITES_PER_S} writes/s": acked / wall < TARGET_WRITES_PER_S,
    }
    failures = [name for name, failed in targets.items() if failed]
    report["failures"] = failures
    wt = report["worker_time_s"]
    gave_up = ", ".join(f"{f[2]:.2f}" for f in report["failed_calls_s"][:10])
    rows = [
        ("acknowledged writes", f"{acked:,} ({', '.join(f'{k} {v}' for k, v in ops.items())})", ""),
        ("wall time", f"{wall:.2f} s", f"<= {args.seconds:g} s cap"),
        ("acknowledged writes/s", f"{acked / wall:,.0f}", f">= {TARGET_WRITES_PER_S:,}"),
        ("lost writes", len(verdict["lost"]), 0),
        ("phantom writes", len(verdict["phantom"]), 0),
        ("lock errors (locked/busy)", lock_errors, 0),
        ("failed calls gave up after (s)", gave_up or "-", ""),
        ("other errors", f"{sum(errors.values())} {dict(errors) or ''}", 0),
        ("check_database", "; ".join(verdict["check_database"]) or "ok", "ok"),
        ("worker time: CPU / waiting for a CPU / blocked",
         f"{wt['cpu']:.1f} / {wt['runq']:.1f} / {wt['blocked']:.1f} s", ""),
        ("writes per worker CPU-second", f"{report['writes_per_cpu_s'] or 0:,.0f}", ""),
    ]  # fmt: skip
    if cluster is not None:
        waited = [p for p in pools if p]
        rows += [
            ("server CPU (all backends)", f"{server_cpu:.1f} s", ""),
            ("writes per CPU-second, workers + server",
             f"{acked / (times['cpu'] + server_cpu):,.0f}", ""),
            ("pool requests that waited for a connection",
             f"{sum(p.get('requests_queued', 0) for p in waited):,} of "
             f"{sum(p.get('requests_num', 0) for p in waited):,}, "
             f"{sum(p.get('requests_wait_ms', 0) for p in waited) / 1e3:.1f} s in all", ""),
        ]  # fmt: skip
        report["postgresql"] = pg_settings(path)
    where = "one PostgreSQL database" if cluster is not None else "one notes.db"
    procs_text = f"{args.procs} process{'es' if args.procs != 1 else ''}" + (
        f" x {args.proc_threads} threads" if args.proc_threads > 1 else ""
    )
    print(f"\n## Stress: {args.threads} threads + {procs_text}, {where}\n")
    print("| metric | value | target |\n|---|---|---|")
    for row in rows:
        print("| " + " | ".join(map(str, row)) + " |")
    print("\n| per acknowledged write (ms) | p50 | p95 | p99 | max | sum (s) |")
    print("|---|---|---|---|---|---|")
    timed = [("latency", "call"), ("wait", "lock wait"), ("hold", "lock held")]
    for key, name in timed[:1] if cluster is not None else timed:
        p = report[f"{key}_ms"]
        print(f"| {name} | {p['p50']:.2f} | {p['p95']:.2f} | {p['p99']:.2f} | {p['max']:.1f}"
              f" | {p['sum_s']:.1f} |")  # fmt: skip
    print(f"\nresult: {'PASS' if not failures else 'FAIL: ' + '; '.join(failures)}")
    out = args.out or str(
        BENCH_DIR / "results" / ("stress-postgresql.json" if cluster else "stress.json")
    )
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    Path(out).write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {out}")
    return 1 if failures else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=8, help="writer threads in this process")
    parser.add_argument("--procs", type=int, default=2, help="writer processes besides this one")
    parser.add_argument("--ops", type=int, default=2000, help="operations per worker")
    parser.add_argument("--seconds", type=float, default=120, help="stop workers after this")
    parser.add_argument("--proc-threads", type=int, default=1, help="writer threads per process")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tmpdir", help="folder for the temporary database (default: system)")
    parser.add_argument("--out", help="default: results/stress[-postgresql].json")
    add_backend_argument(parser)
    parser.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    parsed = parser.parse_args()
    if parsed.worker is not None:
        worker_main(parsed)
    else:
        sys.exit(main(parsed))
