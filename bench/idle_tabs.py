"""What real open tabs cost the server while nobody does anything: N headless Chromium tabs
on the feed of a 100-note database, then the server's CPU for a minute.

For each app folder given (default: this repository; e.g. a git worktree of an older
commit too), starts `streamlit run app.py` on a copy of bench/.data/notes-100.db, opens
N tabs (`--tabs`, 20) on `/` in one browser, waits until each shows a note and the server
has gone quiet, then measures for `--seconds` (60): the server process's CPU (utime +
stime, in % of one core), and what the tabs sent: websocket rerun requests (a script run
each on the server) and HTTP requests to /api/live (a cached answer each).

    .venv/bin/python bench/idle_tabs.py
    git worktree add /tmp/old a31e08b && .venv/bin/python bench/idle_tabs.py --app . /tmp/old

Prints a markdown table and writes bench/results/idle-tabs-*.json. Reported, not asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import APP_DIR, CHROMIUM, CHROMIUM_ARGS, RESULTS_DIR, prepare_db, server_cpu_s
from playwright.sync_api import sync_playwright
from streamlit.proto.BackMsg_pb2 import BackMsg


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _git(app_dir: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(app_dir), *args], capture_output=True, text=True)
    return done.stdout.strip()


def measure(app_dir: Path, tabs: int, seconds: float) -> dict:
    """N idle tabs on app_dir's app.py: the server's CPU and the tabs' requests."""
    folder = Path(tempfile.mkdtemp(prefix="idle-tabs-"))
    database = folder / "notes.db"
    shutil.copy(prepare_db(100, app_dir), database)
    port = _free_port()
    command = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true"]
    command += ["--server.port", str(port), "--browser.gatherUsageStats", "false"]
    log = (folder / "server.log").open("w")
    server = subprocess.Popen(
        command, cwd=app_dir, env={**os.environ, "NOTES_DB": str(database)}, stdout=log,
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            context = browser.new_context()
            sent = {"reruns": 0, "polls": 0}

            def frame(payload: str | bytes) -> None:
                if isinstance(payload, bytes):
                    kind = BackMsg.FromString(payload).WhichOneof("type")
                    sent["reruns"] += kind == "rerun_script"

            def socket_opened(ws) -> None:
                ws.on("framesent", frame)

            context.on(
                "request",
                lambda r: sent.__setitem__("polls", sent["polls"] + ("/api/live" in r.url)),
            )
            for _ in range(tabs):
                page = context.new_page()
                page.on("websocket", socket_opened)
                for _ in range(120):  # the server starting
                    try:
                        page.goto(f"http://127.0.0.1:{port}/", timeout=60_000)
                        break
                    except Exception:
                        time.sleep(0.5)
                page.locator('[class*="st-key-note_"]').first.wait_for(timeout=120_000)
            page.wait_for_timeout(5_000)  # the last tab's own runs end
            cpu, reruns, polls, start = (
                server_cpu_s(server.pid),
                sent["reruns"],
                sent["polls"],
                time.monotonic(),
            )
            page.wait_for_timeout(seconds * 1000)  # (Playwright's events arrive meanwhile)
            took = time.monotonic() - start
            result = {
                "tabs": tabs,
                "seconds": round(took, 1),
                "server_cpu_pct": round(100 * (server_cpu_s(server.pid) - cpu) / took, 1),
                "reruns_per_tab_minute": round((sent["reruns"] - reruns) / tabs * 60 / took, 1),
                "polls_per_tab_minute": round((sent["polls"] - polls) / tabs * 60 / took, 1),
            }
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--app", nargs="+", type=Path, default=[APP_DIR])
    parser.add_argument("--tabs", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60)
    args = parser.parse_args()
    rows = []
    for app_dir in args.app:
        load = Path("/proc/loadavg").read_text().split()[0]
        row = {
            "app": str(app_dir),
            "commit": _git(app_dir, "log", "-1", "--format=%h"),
            "load": load,
        }
        row |= measure(app_dir.resolve(), args.tabs, args.seconds)
        rows.append(row)
        print(row, flush=True)
    print(
        "\n| app.py (commit) | tabs | server CPU, % of a core | reruns / tab / min"
        " | /api/live polls / tab / min | load at start |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    for row in rows:
        print(
            f"| {row['commit']} | {row['tabs']} | {row['server_cpu_pct']} |"
            f" {row['reruns_per_tab_minute']} | {row['polls_per_tab_minute']} | {row['load']} |"
        )
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    out = RESULTS_DIR / f"idle-tabs-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps(rows, indent=2))
    print(f"written to {out}")


if __name__ == "__main__":
    main()
