"""Time to first note in a real browser, at 100 and at 1,000,000 notes.

For each size this starts `streamlit run app.py` on its own port with NOTES_DB set to the
cached bench/.data/notes-N.db (built by bench_feed.py's seeding if missing), waits for
/_stcore/health, and then, in headless Chromium, measures the time from `page.goto(url)`
to the first note being visible (a container with CSS class st-key-note_<id>). Each
page load uses a new browser context (no cache, no cookies, a new Streamlit session).
All servers run side by side and the loads alternate between sizes, so that a burst of
load on this shared machine hits every size alike: 1 warm-up, then the median of 5.

It prints a markdown table with the ratio largest/smallest and writes JSON (default
bench/results/browser.json). Run: python bench/bench_browser.py [--sizes 100 1000000].
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from contextlib import ExitStack, suppress
from pathlib import Path

from common import APP_DIR, CHROMIUM, CHROMIUM_ARGS, RESULTS_DIR, app_version, prepare_db
from playwright.sync_api import sync_playwright

SIZES = [100, 1_000_000]
RUNS = 5
NOTE = '[class*="st-key-note_"]'


def free_port() -> int:
    """Return a TCP port that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """`streamlit run app.py` on a free port over one database, stopped on exit."""

    def __init__(self, db: Path, log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.log = log
        cmd = [sys.executable, "-m", "streamlit", "run", "app.py"]
        cmd += ["--server.headless", "true", "--server.port", str(self.port)]
        cmd += ["--browser.gatherUsageStats", "false"]
        env = {**os.environ, "NOTES_DB": str(db)}
        with log.open("w") as out:
            self.proc = subprocess.Popen(cmd, cwd=APP_DIR, env=env, stdout=out, stderr=out)

    def wait_healthy(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"streamlit exited early:\n{self.log.read_text()}")
            health = self.url + "_stcore/health"
            with suppress(OSError), urllib.request.urlopen(health, timeout=2) as response:
                if response.read().decode().strip() == "ok":
                    return
            time.sleep(0.1)
        raise SystemExit(f"streamlit not healthy after {timeout:g} s:\n{self.log.read_text()}")

    def peak_rss_mb(self) -> float:
        """The server's peak resident memory (VmHWM), in MB."""
        status = Path(f"/proc/{self.proc.pid}/status").read_text()
        kb = next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM"))
        return int(kb) / 1024

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def first_note_ms(browser, url: str) -> float:
    """Open url in a fresh context; return ms from goto() to the first note being visible."""
    context = browser.new_context()
    try:
        page = context.new_page()
        started = time.perf_counter()
        page.goto(url, wait_until="commit")
        page.locator(NOTE).first.wait_for(state="visible", timeout=60_000)
        return (time.perf_counter() - started) * 1000
    finally:
        context.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=SIZES, help="note counts")
    parser.add_argument("--runs", type=int, default=RUNS, help="timed page loads per size")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR / "browser.json")
    args = parser.parse_args()
    sizes = sorted(set(args.sizes))
    args.out.parent.mkdir(parents=True, exist_ok=True)

    with ExitStack() as stack:
        servers = {}
        for n in sizes:
            log = args.out.parent / f"streamlit-{n}.log"
            servers[n] = server = Server(prepare_db(n), log)
            stack.callback(server.stop)
        for server in servers.values():
            server.wait_healthy()
        playwright = stack.enter_context(sync_playwright())
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        stack.callback(browser.close)
        times: dict[int, list[float]] = {n: [] for n in sizes}
        for i in range(args.runs + 1):  # run 0 is the warm-up
            for n, server in servers.items():
                elapsed = first_note_ms(browser, server.url)
                print(f"{'warm-up' if i == 0 else f'run {i}'}: {n:,} notes {elapsed:.0f} ms")
                if i:
                    times[n].append(elapsed)
        rss = {n: server.peak_rss_mb() for n, server in servers.items()}

    results = {
        "app": app_version(),
        "runs": args.runs,
        "sizes": {
            n: {
                "median_ms": statistics.median(t),
                "runs_ms": t,
                "server_peak_rss_mb": rss[n],
            }
            for n, t in times.items()
        },
    }
    lines = [
        "| notes | goto → first note visible, median ms | runs ms | server peak RSS MB |",
        "|---:|---:|---|---:|",
    ]
    for n, r in results["sizes"].items():
        runs = ", ".join(f"{t:.0f}" for t in r["runs_ms"])
        lines.append(f"| {n:,} | {r['median_ms']:.0f} | {runs} | {r['server_peak_rss_mb']:.0f} |")
    if len(sizes) > 1:
        lo, hi = sizes[0], sizes[-1]
        ratio = results["sizes"][hi]["median_ms"] / results["sizes"][lo]["median_ms"]
        results["ratio"] = {"from": lo, "to": hi, "median_ratio": ratio}
        verdict = "ok" if ratio <= 1.25 else "MISS"
        lines += ["", f"Ratio {hi:,} / {lo:,} notes: {ratio:.2f}x (target <= 1.25)  {verdict}"]
    print(text := "\n".join(lines))
    results["table"] = text
    args.out.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
