"""Feed at scale (issue 4): does the app cost the same at a million notes as at a hundred?

For each size N (100, 10,000, 100,000 and 1,000,000 notes by default) this bench

* builds bench/.data/notes-N.db once with `python app.py seed` (N - 1 demo notes plus
  the welcome note), reuses it afterwards, and lets app.py migrate it before measuring;
* in a fresh subprocess per N, so that peak RSS belongs to that N alone, measures
  - the feed page's script run (`AppTest.run()` of app.render_read): 1 warm-up, median of 7,
  - the Update page's script run (app.render_update), the same way,
  - the search page's script run (the feed opened with ?q=coffee gar), the same way:
    5 matching notes at 100 notes, a full page of 25 at a million,
  - the same with ?q=garden, a full page of 25 matches at both sizes, so that its
    ratio compares like with like (at 100 notes, 25 matches took 19 ms more than 5 on
    26 Nov 2026: that, not the search, was most of the first one's ratio),
  - the Activity page's script run (app.render_activity), the same way,
  - search service time, p50 and p99 of NoteService.list_notes(conn, search=q) over 200
    varied queries (words, prefixes, misses, FTS syntax, emoji, a 10,000-character string),
  - peak RSS (ru_maxrss) of that subprocess;
* in another subprocess, for N <= --naive-max, a naive feed that reads every row and renders
  each note with st.markdown + st.caption, timed the same way, to report naive/ours.

Times are reported as wall / CPU (process or thread CPU time, steadier on a shared machine);
--rounds R repeats every size R times, interleaved, and reports the median of the rounds.
It prints a markdown table and writes JSON (default bench/results/feed.json). The targets
are reported, never asserted: 1M/100 ratio <= 1.25, RSS delta <= 30 MB, search at 1M
p50 < 20 ms and p99 < 100 ms. Run: python bench/bench_feed.py [--sizes 100 1000000].

--backend postgresql measures the same on PostgreSQL: a server kept in bench/.data/pg
(started for the run, stopped after it; see common.start_postgres), one database
notes_N per size, seeded the same way once and then VACUUM ANALYZEd. The app finds it
through NOTES_DATABASE_URL and the search timings use app.open_database(url), a pool.
CPU times are then this (client) process's only: the server's work shows in wall time.
Results go to bench/results/feed-postgresql.json.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

from common import (
    APP_DIR,
    RESULTS_DIR,
    add_backend_argument,
    app_version,
    percentile,
    pg_database_mb,
    pg_settings,
    prepare_db,
    prepare_pg_db,
    start_postgres,
)

SIZES = [100, 10_000, 100_000, 1_000_000]
RUNS = 7  # timed AppTest runs after one warm-up
QUERIES = 200
TIMEOUT_S = 600.0  # AppTest run timeout (the naive feed at 100,000 notes takes 35-85 s)
TARGET_RATIO, TARGET_RSS_MB, TARGET_P50_MS, TARGET_P99_MS = 1.25, 30.0, 20.0, 100.0


# FTS5 syntax, SQL, symbols and scripts that a search box must survive (" | " separates).
HOSTILE = (
    '" | "" | NEAR( | NEAR(coffee tea) | a AND b | coffee OR tea | NOT coffee | * | -x | coffee*'
    " | ^coffee | body:coffee | username:bob | '; DROP TABLE notes;-- | 🙂 | ☕ coffee | ñandú"
    " | 日本語 | #til | ## | \\"
).split(" | ")


def search_queries(words: list[str], count: int = QUERIES) -> list[str]:
    """Return count search strings: hostile and huge ones, then random words and prefixes."""
    fixed = [
        *HOSTILE,
        "   ",
        "x" * 10_000,  # one 10,000-character word
        " ".join(["coffee"] * 1500)[:10_000],  # 10,000 characters of one repeated word
        " ".join(words[:16]),  # 16 common words: an AND of 16 long lists, no note matches
    ]
    rng = random.Random(4)
    kinds = [
        lambda: rng.choice(words),  # one word
        lambda: " ".join(rng.sample(words, 2)),  # two words
        lambda: rng.choice(words)[: rng.randint(1, 3)],  # half-typed prefix
        lambda: f"{rng.choice(words)} {rng.choice(words)[:2]}",  # a word and a half-typed one
        lambda: f"{rng.choice(words)}_{rng.randrange(300)}",  # an author's name
        lambda: rng.choice(["zyzzyva", "qwertyuiop", "xylophone", "coffeez", "quux"]),  # misses
        lambda: " ".join(rng.sample(words, rng.randint(3, 6))),  # several words
    ]
    return fixed + [rng.choice(kinds)() for _ in range(count - len(fixed))]


def _page_script(page: str) -> None:
    """AppTest script: run one page function of app.py (as tests/conftest.py does)."""
    import app as notes_app

    getattr(notes_app, f"render_{page}")()


def _naive_feed_script(target: str) -> None:
    """AppTest script: the naive feed, every row read and rendered (a file or a URL)."""
    import sqlite3

    import psycopg
    import streamlit as st

    postgres = target.startswith(("postgresql://", "postgres://"))
    conn = psycopg.connect(target) if postgres else sqlite3.connect(target)
    # Both tables start id, created_timestamp, updated_timestamp, username, body.
    for row in conn.execute("SELECT * FROM notes ORDER BY id DESC").fetchall():
        st.markdown(row[4])
        st.caption(f"{row[3]} · {row[1]}")
    conn.close()


def time_apptest(script, args: tuple, runs: int, query: dict | None = None) -> dict:
    """Median wall and CPU (all threads) ms of AppTest.run() on fresh AppTests, after a warm-up.

    query: the page's URL query string (e.g. {"q": "coffee"} for the search page).
    """
    from streamlit.testing.v1 import AppTest

    wall, cpu = [], []
    for _ in range(runs + 1):
        at = AppTest.from_function(script, args=args, default_timeout=TIMEOUT_S)
        at.query_params.update(query or {})
        started, started_cpu = time.perf_counter(), time.process_time()
        at.run()
        wall.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
        if at.exception:
            raise RuntimeError(f"{script.__name__}{args} raised: {at.exception[0].value}")
    wall, cpu = wall[1:], cpu[1:]
    return {"wall_ms": statistics.median(wall), "cpu_ms": statistics.median(cpu), "runs": wall}


def worker(kind: str, target: str, runs: int) -> dict:
    """Measure one database (a file, or a postgresql:// URL) in this (fresh) process."""
    sys.path.insert(0, str(APP_DIR))
    if target.startswith(("postgresql://", "postgres://")):
        os.environ["NOTES_DATABASE_URL"] = target  # the app's pool (st.cache_resource)
        os.environ.pop("NOTES_DB", None)
    else:
        os.environ["NOTES_DB"] = target
        os.environ.pop("NOTES_DATABASE_URL", None)
    import app

    if kind == "naive":
        result = {"naive": time_apptest(_naive_feed_script, (target,), runs)}
    else:
        result = {
            "feed": time_apptest(_page_script, ("read",), runs),
            "update": time_apptest(_page_script, ("update",), runs),
            # The feed page with a search: two words, the last half-typed.
            "search_page": time_apptest(_page_script, ("read",), runs, {"q": "coffee gar"}),
            # One word in a quarter of the notes: 25 matches at 100 notes as at a million.
            "search_full": time_apptest(_page_script, ("read",), runs, {"q": "garden"}),
            "activity": time_apptest(_page_script, ("activity",), runs),
        }
        conn = app.open_database(target)  # a SQLite connection, or a pool of its own
        queries = search_queries(app._SEED_WORDS)
        for query in queries:  # warm-up pass
            app.NoteService.list_notes(conn, search=query)
        wall, cpu = [], []
        for query in queries:
            started, started_cpu = time.perf_counter(), time.thread_time()
            app.NoteService.list_notes(conn, search=query)
            wall.append((time.perf_counter() - started) * 1000)
            cpu.append((time.thread_time() - started_cpu) * 1000)
        for pct in (50, 99):
            result[f"search_p{pct}"] = {
                "wall_ms": percentile(wall, pct),
                "cpu_ms": percentile(cpu, pct),
            }
        slowest = sorted(zip(cpu, wall, queries, strict=True), reverse=True)[:5]
        if isinstance(conn, app.Postgres):  # the server's work is not this process's CPU
            slowest = sorted(zip(cpu, wall, queries, strict=True), key=lambda s: -s[1])[:5]
        result["search_slowest"] = [
            {"cpu_ms": c, "wall_ms": w, "query": q[:80]} for c, w, q in slowest
        ]
        result["notes"] = app.NoteService.count_notes(conn)
        conn.close()
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return result


def run_worker(kind: str, target: str, runs: int) -> dict:
    """Run worker() in a fresh subprocess and return its JSON result."""
    cmd = [sys.executable, __file__, "--worker", kind, "--db", target, "--runs", str(runs)]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=APP_DIR)
    if proc.returncode:
        raise SystemExit(f"worker {kind} {target} failed:\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def combine(values: list):
    """Merge the rounds' results: numbers by median, lists joined, dicts key by key."""
    if isinstance(values[0], dict):
        return {key: combine([v[key] for v in values]) for key in values[0]}
    if isinstance(values[0], list):
        return [item for v in values for item in v]
    return statistics.median(values) if isinstance(values[0], float) else values[0]


def cell(m: dict | None, digits: int = 1, unit: str = "") -> str:
    """Format a {"wall": .., "cpu": ..} (or {"wall_ms": .., "cpu_ms": ..}) pair."""
    if not m:
        return "-"
    wall, cpu = m.get("wall", m.get("wall_ms")), m.get("cpu", m.get("cpu_ms"))
    return f"{wall:.{digits}f}{unit} / {cpu:.{digits}f}{unit}"


def ok(value: float, target: float) -> str:
    return "ok" if value <= target else "MISS"


def report(results: dict) -> str:
    """Return the markdown table and the ratios against the targets."""
    postgres = results.get("backend") == "postgresql"
    lines = [
        f"Backend: {results.get('backend', 'sqlite')}. Times in ms, wall / CPU"
        f"{' (of the client process)' if postgres else ''}: medians of AppTest.run();"
        " search over 200 queries.",
        "",
        "| notes | DB MB | feed | update | search page | search page, 25 at both | activity "
        "| search p50 | search p99 | peak RSS MB | naive feed | naive/ours | naive RSS MB |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for n, r in results["sizes"].items():
        naive_rss = f"{r['naive_rss_mb']:.0f}" if "naive" in r else "-"
        lines.append(
            f"| {n:,} | {r['db_mb']:.1f} | {cell(r['feed'])} | {cell(r['update'])} "
            f"| {cell(r['search_page'])} | {cell(r.get('search_full'))} "
            f"| {cell(r.get('activity'))} "
            f"| {cell(r['search_p50'], 2)} | {cell(r['search_p99'], 2)} "
            f"| {r['peak_rss_mb']:.0f} | {cell(r.get('naive'), 0)} "
            f"| {cell(r.get('naive_over_ours'), 1, 'x')} | {naive_rss} |"
        )
    if summary := results.get("summary"):
        lo, hi = summary["from"], summary["to"]
        lines += ["", f"Ratios {hi:,} / {lo:,} notes, wall / CPU (target <= {TARGET_RATIO}):"]
        for name in ("feed", "update", "search_page", "search_full", "activity", "search_p50"):
            if name not in summary:
                continue
            wall, cpu = summary[name]["wall"], summary[name]["cpu"]
            verdicts = f"{ok(wall, TARGET_RATIO)} / {ok(cpu, TARGET_RATIO)}"
            lines.append(f"- {name}: {cell(summary[name], 2, 'x')}  {verdicts}")
        delta = summary["rss_delta_mb"]
        verdict = ok(delta, TARGET_RSS_MB)
        lines.append(f"- peak RSS delta: {delta:+.1f} MB (target <= {TARGET_RSS_MB:g})  {verdict}")
    if r := results["sizes"].get(1_000_000):
        for pct, target in ((50, TARGET_P50_MS), (99, TARGET_P99_MS)):
            m = r[f"search_p{pct}"]
            lines.append(
                f"- search p{pct} at 1,000,000: {cell(m, 2)} ms (target < {target:g})  "
                f"{ok(m['wall_ms'], target)} / {ok(m['cpu_ms'], target)}"
            )
        slowest: dict[str, float] = {}  # the slowest queries of every round, worst time kept
        key = "wall_ms" if postgres else "cpu_ms"
        for q in r["search_slowest"]:
            slowest[q["query"]] = max(q[key], slowest.get(q["query"], 0.0))
        top = sorted(slowest.items(), key=lambda item: -item[1])[:5]
        slow = ", ".join(f"{query[:32]!r} {ms:.0f}" for query, ms in top)
        lines.append(
            f"- slowest searches at 1,000,000 ({'wall' if postgres else 'CPU'} ms): {slow}"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=SIZES, help="note counts")
    parser.add_argument("--out", type=Path, help="default: results/feed[-postgresql].json")
    parser.add_argument("--naive-max", type=int, default=10_000, help="largest N for naive")
    parser.add_argument("--runs", type=int, default=RUNS, help="timed runs after a warm-up")
    parser.add_argument("--rounds", type=int, default=1, help="repeat all sizes; take medians")
    parser.add_argument("--worker", choices=["ours", "naive"], help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    add_backend_argument(parser)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.db, args.runs)))
        return
    postgres = args.backend == "postgresql"
    out = args.out or RESULTS_DIR / ("feed-postgresql.json" if postgres else "feed.json")
    cluster = start_postgres() if postgres else None
    try:
        results = measure(args, cluster)
    finally:
        if cluster is not None:
            cluster.stop()  # the data stays in bench/.data/pg for the next run
    print(text := report(results))
    results["table"] = text
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    print(f"wrote {out}")


def measure(args: argparse.Namespace, cluster) -> dict:
    """Prepare every size's database, measure the rounds, and return the results."""
    results: dict = {
        "app": app_version(),
        "backend": args.backend,
        "runs": args.runs,
        "rounds": args.rounds,
    }
    if cluster is not None:
        targets = {n: prepare_pg_db(cluster, n) for n in sorted(set(args.sizes))}
        results["postgresql"] = pg_settings(targets[min(targets)])
    else:
        targets = {n: str(prepare_db(n)) for n in sorted(set(args.sizes))}
    rounds: dict[int, list[dict]] = {n: [] for n in targets}
    for i in range(args.rounds):  # rounds interleave the sizes, so load drift hits all alike
        for n, measured in rounds.items():
            target = targets[n]
            print(f"round {i + 1}/{args.rounds}: measuring {n:,} notes...", flush=True)
            r = run_worker("ours", target, args.runs)
            if n <= args.naive_max:
                naive = run_worker("naive", target, args.runs)
                r["naive"], r["naive_rss_mb"] = naive["naive"], naive["peak_rss_mb"]
            measured.append(r)
    results["sizes"] = sizes = {n: combine(measured) for n, measured in rounds.items()}
    for n, r in sizes.items():
        target = targets[n]
        r["db_mb"] = pg_database_mb(target) if cluster else Path(target).stat().st_size / 1e6
        if "naive" in r:
            r["naive_over_ours"] = {
                k: r["naive"][f"{k}_ms"] / r["feed"][f"{k}_ms"] for k in ("wall", "cpu")
            }
    if len(sizes) > 1:
        lo, hi = min(sizes), max(sizes)
        results["summary"] = summary = {"from": lo, "to": hi}
        for name in ("feed", "update", "search_page", "search_full", "activity", "search_p50"):
            summary[name] = {
                k: sizes[hi][name][f"{k}_ms"] / sizes[lo][name][f"{k}_ms"] for k in ("wall", "cpu")
            }
        summary["rss_delta_mb"] = sizes[hi]["peak_rss_mb"] - sizes[lo]["peak_rss_mb"]
    return results


if __name__ == "__main__":
    main()
