"""Two abuse scenarios against a real `streamlit run app.py` server, in headless Chromium.

Scenario A measures the in-session export of app.py before commit 4ba2808 (`--app` a
worktree of it): since then the feed's Download is a link to a streamed /export.csv, and
bench_routes.py measures a download whose client leaves ("disconnect").

**A, exports that outlive the attacker.** Open mode, a database of 200,000 notes
(`--notes`). K browser contexts (`--pages`, 40) each open the feed `/`, open its
"Download" popover and press "Download all N notes", which makes the server build a CSV
of every note in a thread. Right after the last press (the downloads are not awaited)
every context is closed: the attacker leaves. Then, for `--after` seconds (120), the
server's CPU time (utime + stime from /proc, common.server_cpu_s) is sampled every second
and a probe loads `/` every `--probe-every` seconds (5; at once if the last load took
longer), each load in a new context, timed
from `page.goto()` to the first visible note (`[class*="st-key-note_"]`, as
bench_browser.py). Reported: the server's CPU in % of one core per 10 s window after the
attacker left, the seconds until a 10 s window first averages under 10 %, and the probe
loads' median and worst. The same probe and sampling run for `--baseline` seconds (20)
before the attack, for comparison. Each press is checked to have sent its request: the
page's websocket must send a backend_operation_request within 5 s of the click. Once its
popover is open, each attacker page's timers are paused (Playwright's clock) until just
before its press (`--no-pause-timers` to keep them running): the feed's live part asks
the server for a rerun every 3 s, and 40 pages doing so kept the server at a full core
and took 20+ minutes to open. A paused page keeps its websocket, so its session stays
active on the server.

**B, memory with 8 import previews.** Signed-in mode with one admin (a local
oidc-provider-mock, tests/e2e/oidc.py) and a new, empty database. A CSV in the export
format (author, created, body; `--import-rows` rows, 70,000: about 9.4 MB, under the
10 MB upload limit, which the uploader counts in millions of bytes) is made in a
temporary folder. `--uploads` contexts (8) each sign in as the admin, open `/data`, and
get the file put into the uploader, one after the other; then each is awaited until it
shows the preview ("Will be added") or another message (the new code's "Other imports
are being checked right now.", or the uploader's refusal). The server's RSS
(VmRSS) is read before the uploads, once they all settled (plus its peak, VmHWM), and
`--rss-wait` seconds (60) after the 8 contexts were closed; `--rss-extra` seconds more
(0) if asked (Streamlit keeps a closed session, with its state and uploads, for 2
minutes in case it reconnects), and with `--poke` once more 10 s after one more admin
previewed a 10-row file (the new code drops ended sessions' previews at the next one).

`--app PATH` chooses the folder whose app.py is served (default: this repository), so
that one script measures two versions, e.g. the last commit in a git worktree:

    git worktree add /tmp/old-main HEAD
    python bench/abuse.py --app /tmp/old-main --label old
    python bench/abuse.py --label new

The server runs in a temporary working folder holding a copy of that app folder's
.streamlit/config.toml (and, for B, a secrets.toml with the [auth] section), with
NOTES_DB set. The database of A is bench/.data/notes-N.db (common.prepare_db) for this
repository's app.py; for another app.py it is seeded by that app.py into
bench/.data/notes-N-<its sha256>.db, as an older app may not open a newer schema.
Nothing leaves this machine: every context refuses requests to other hosts.

It prints markdown tables and writes JSON to bench/results/abuse-<label>-<timestamp>.json.
About 10 minutes a version with the defaults on 2 cores (A ~6.5, B ~3). Targets are
reported, never asserted.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import hashlib
import json
import logging
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from common import APP_DIR, CHROMIUM, CHROMIUM_ARGS, RESULTS_DIR, prepare_db, server_cpu_s
from playwright.sync_api import Browser, Page, expect, sync_playwright

NOTE = '[class*="st-key-note_"]'  # a note's container on the feed (key note_<id>)
POPOVER = ".st-key-feed_export button"  # the feed's "Download" popover
DOWNLOAD = ".st-key-feed_export_download button"  # "Download all N notes" in it
UPLOADER = "stFileUploaderDropzoneInput"
MSG_BUSY = "Other imports are being checked right now"
SETTLED_CPU_PCT = 10.0  # A: "settled" once a 10 s window averages under this
WINDOW_S = 10
ADMIN_EMAIL = "admin@example.com"
WORDS = (
    "coffee garden train morning idea meeting book walk rain code python sqlite notes "
    "river window letter music paper lamp cloud market bridge winter summer harbour"
).split()


# The server ------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """`streamlit run <app>/app.py` on a free port of 127.0.0.1 over the SQLite file db,
    in a temporary working folder with a copy of the app folder's .streamlit/config.toml
    and, given secrets (a function of the base URL), its .streamlit/secrets.toml."""

    def __init__(
        self, app_dir: Path, db: Path, log: Path, secrets: Callable[[str], str] | None = None
    ) -> None:
        port = _free_port()
        self.base_url = f"http://127.0.0.1:{port}"
        self.log = log
        self._folder = tempfile.TemporaryDirectory(prefix="abuse-cwd-")
        settings = Path(self._folder.name) / ".streamlit"
        settings.mkdir()
        shutil.copy(app_dir / ".streamlit" / "config.toml", settings / "config.toml")
        if secrets is not None:
            (settings / "secrets.toml").write_text(secrets(self.base_url))
        cmd = [sys.executable, "-m", "streamlit", "run", str(app_dir / "app.py")]
        cmd += ["--server.headless", "true", "--server.port", str(port)]
        cmd += ["--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"]
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "NOTES_DB": str(db)}
        env.pop("NOTES_DATABASE_URL", None)  # the caller's shell must not choose the database
        with log.open("w") as out:
            self.proc = subprocess.Popen(
                cmd,
                cwd=self._folder.name,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def url(self, path: str = "/") -> str:
        """The full address of a page (what oidc.sign_in calls)."""
        return self.base_url + path

    def wait_healthy(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"streamlit exited early:\n{self.log.read_text()}")
            health = self.base_url + "/_stcore/health"
            with contextlib.suppress(OSError), urllib.request.urlopen(health, timeout=2) as r:
                if r.read().decode().strip() == "ok":
                    return
            time.sleep(0.1)
        raise SystemExit(f"streamlit not healthy after {timeout:g} s:\n{self.log.read_text()}")

    def memory_mb(self) -> dict[str, float]:
        """VmRSS (now) and VmHWM (peak) of the server process, in MB."""
        fields = {}
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            name, _, value = line.partition(":")
            if name in ("VmRSS", "VmHWM"):
                fields[name] = int(value.split()[0]) / 1024
        return fields

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self._folder.cleanup()


@contextlib.contextmanager
def running(server: Server) -> Iterator[Server]:
    try:
        server.wait_healthy()
        yield server
    finally:
        server.stop()


def app_info(app_dir: Path) -> dict:
    """Which app.py was measured: its folder, git commit, whether it differs, its hash."""

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=app_dir, capture_output=True, text=True)
        return done.stdout.strip()

    return {
        "folder": str(app_dir),
        "commit": git("rev-parse", "--short", "HEAD"),
        "app_py_modified": bool(git("status", "--porcelain", "app.py")),
        "app_py_sha256": hashlib.sha256((app_dir / "app.py").read_bytes()).hexdigest()[:12],
    }


# The browser -----------------------------------------------------------------


def launch(playwright) -> Browser:
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


def local_context(browser: Browser):
    """A new context (its own cookies, so its own Streamlit session) that refuses every
    request to another host (tests/e2e/oidc.py's new_browser)."""
    from oidc import new_browser

    return new_browser(browser)


def first_note_ms(browser: Browser, url: str, timeout_s: float) -> float | None:
    """Open url in a new context: ms from goto() to the first visible note, or None."""
    context = local_context(browser)
    try:
        page = context.new_page()
        started = time.perf_counter()
        page.goto(url, wait_until="commit", timeout=timeout_s * 1000)
        page.locator(NOTE).first.wait_for(state="visible", timeout=timeout_s * 1000)
        return (time.perf_counter() - started) * 1000
    except Exception as error:  # a load that never showed a note: counted, not fatal
        print(f"  probe failed: {type(error).__name__}: {str(error).splitlines()[0]}")
        return None
    finally:
        context.close()


def machine_busy_s() -> float:
    """CPU seconds all cores of this machine spent busy so far (/proc/stat)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    return (sum(fields) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")  # not idle, iowait


class CpuSampler(threading.Thread):
    """Reads the server's CPU seconds every second (from start) until stopped: a list
    of (seconds since start, server CPU seconds), and the machine's busy seconds."""

    def __init__(self, pid: int, start: float) -> None:
        super().__init__(daemon=True)
        self.pid, self.start_at = pid, start
        self.samples: list[tuple[float, float]] = []
        self.machine: list[tuple[float, float]] = []
        self.halt = threading.Event()

    def run(self) -> None:
        tick = 0
        while not self.halt.is_set():
            with contextlib.suppress(OSError, ValueError):
                cpu, busy = server_cpu_s(self.pid), machine_busy_s()
                at = time.monotonic() - self.start_at
                self.samples.append((at, cpu))
                self.machine.append((at, busy))
            tick += 1
            self.halt.wait(max(0.0, self.start_at + tick - time.monotonic()))


def watch(server: Server, browser: Browser, seconds: float, probe_every: float) -> dict:
    """Sample the server's CPU every second and load / with a probe every probe_every
    seconds, for `seconds`; return the samples and the probe loads."""
    start = time.monotonic()
    sampler = CpuSampler(server.pid, start)
    sampler.start()
    probes: list[dict] = []
    try:
        while (due := start + len(probes) * probe_every) < start + seconds:
            time.sleep(max(0.0, due - time.monotonic()))  # no context is open meanwhile
            at = time.monotonic() - start
            ms = first_note_ms(browser, server.url("/"), timeout_s=60)
            probes.append({"at_s": round(at, 2), "ms": ms})
        time.sleep(max(0.0, start + seconds + 0.5 - time.monotonic()))
    finally:
        sampler.halt.set()
        sampler.join()
    return {"cpu_samples": sampler.samples, "machine": sampler.machine, "probes": probes}


def cpu_windows(samples: list[tuple[float, float]], width: int) -> list[float]:
    """CPU in % of one core in consecutive windows of `width` samples (seconds)."""
    return [
        (samples[i + width][1] - samples[i][1]) / (samples[i + width][0] - samples[i][0]) * 100
        for i in range(0, len(samples) - width, width)
    ]


def settled_after(samples: list[tuple[float, float]], width: int, below: float) -> float | None:
    """Seconds from the start of sampling to the first sliding window of `width` samples
    (1 s steps) whose CPU averages under `below` % of a core; None if none did."""
    for i in range(len(samples) - width):
        (t0, c0), (t1, c1) = samples[i], samples[i + width]
        if (c1 - c0) / (t1 - t0) * 100 < below:
            return round(t0, 1)
    return None


def _is_file_request(payload: str | bytes) -> bool:
    """True for a websocket frame that asks the server for a deferred download's file."""
    if not isinstance(payload, bytes):
        return False
    from streamlit.proto.BackMsg_pb2 import BackMsg

    message = BackMsg.FromString(payload)
    return message.WhichOneof("type") == "backend_operation_request"


def probe_summary(probes: list[dict]) -> dict:
    times = [p["ms"] for p in probes if p["ms"] is not None]
    return {
        "loads": len(probes),
        "failed": len(probes) - len(times),
        "median_ms": statistics.median(times) if times else None,
        "worst_ms": max(times) if times else None,
    }


# Scenario A --------------------------------------------------------------------


def scenario_a(playwright, app_dir: Path, args: argparse.Namespace, logs: Path) -> dict:
    db = prepare_db(args.notes, app_dir)
    result: dict = {"database": str(db), "pages": args.pages, "notes": args.notes}
    with running(Server(app_dir, db, logs / "abuse-a-server.log")) as server:
        browser = launch(playwright)
        try:
            first_note_ms(browser, server.url("/"), timeout_s=60)  # warm-up (not counted)
            if args.baseline > 0:
                print(f"A: baseline, {args.baseline:g} s...", flush=True)
                base = watch(server, browser, args.baseline, args.probe_every)
                result["baseline"] = {
                    "cpu_pct": _pct(base["cpu_samples"]),
                    "machine_busy_pct": _pct(base["machine"]),
                    **probe_summary(base["probes"]),
                    "probes": base["probes"],
                }
            print(f"A: opening {args.pages} pages with the Download popover open...", flush=True)
            started = time.monotonic()
            contexts, pages, sockets = [], [], []
            for i in range(args.pages):
                context = local_context(browser)
                if args.pause_timers:
                    context.clock.install()  # the page's timers, to pause them below
                page = context.new_page()
                socket_of: list = []
                page.on("websocket", lambda ws, found=socket_of: found.append(ws))
                opened = time.monotonic()
                page.goto(server.url("/"), timeout=120_000)
                page.locator(POPOVER).first.click(timeout=120_000)
                page.locator(DOWNLOAD).wait_for(state="visible", timeout=120_000)
                if i == 0:
                    label = page.locator(DOWNLOAD).inner_text().strip().splitlines()[-1]
                if args.pause_timers:  # its live feed's reruns stop: see --pause-timers
                    page.clock.pause_at(datetime.now() + timedelta(seconds=1))
                contexts.append(context)
                pages.append(page)
                sockets.append(socket_of)
                print(f"  page {i + 1}: {time.monotonic() - opened:.1f} s", flush=True)
            result["open_s"] = round(time.monotonic() - started, 1)
            result["timers_paused_while_opening"] = args.pause_timers
            print(f"A: pressing {label!r} on {args.pages} pages...", flush=True)
            cpu_before_clicks = server_cpu_s(server.pid)
            clicked_at = time.monotonic()
            sent = 0
            for page, socket_of in zip(pages, sockets, strict=True):
                if args.pause_timers:
                    page.clock.resume()
                button = page.locator(DOWNLOAD)
                if not button.is_visible():  # the popover closed meanwhile: open it again
                    page.locator(POPOVER).first.click()
                try:
                    with socket_of[-1].expect_event(
                        "framesent", predicate=_is_file_request, timeout=5_000
                    ):
                        button.click()
                    sent += 1
                except Exception as error:
                    print(f"  no request seen: {type(error).__name__}", flush=True)
            clicking_s = time.monotonic() - clicked_at
            for context in contexts:
                context.close()
            left_cpu = server_cpu_s(server.pid)
            result.update(
                button=label,
                requests_sent=sent,
                click_s=round(clicking_s, 2),
                close_s=round(time.monotonic() - clicked_at - clicking_s, 2),
                cpu_s_clicking_and_closing=round(left_cpu - cpu_before_clicks, 2),
            )
            print(f"A: left; watching for {args.after:g} s...", flush=True)
            after = watch(server, browser, args.after, args.probe_every)
        finally:
            browser.close()
        samples = after["cpu_samples"]
        result["after"] = {
            "cpu_pct_per_10s": [round(x, 1) for x in cpu_windows(samples, WINDOW_S)],
            "machine_busy_pct_per_10s": [
                round(x, 1) for x in cpu_windows(after["machine"], WINDOW_S)
            ],
            "cpu_pct": _pct(samples),
            "machine_busy_pct": _pct(after["machine"]),
            "cpu_s": round(samples[-1][1] - samples[0][1], 2),
            "settled_s": settled_after(samples, WINDOW_S, SETTLED_CPU_PCT),
            "settled_near_baseline_s": settled_after(
                samples, WINDOW_S, result["baseline"]["cpu_pct"] + 5
            )
            if "baseline" in result
            else None,
            **probe_summary(after["probes"]),
            "probes": after["probes"],
            "cpu_samples": [(round(t, 2), round(c, 2)) for t, c in samples],
        }
    result["server_log"] = deferred_errors(server.log)
    return result


def deferred_errors(log: Path) -> dict:
    """How the server's download builds failed, from its log: a build stopped for its
    ended session (the new code's _SessionEnded), a request whose download had already
    been dropped with its session ("not found"), and the total of failed builds. A build
    that ran to the end logs nothing."""
    text = log.read_text(errors="replace")
    return {
        "failed_builds": text.count("Error executing deferred callable"),
        "stopped_session_ended": len(re.findall(r"^[\w.]*_SessionEnded: ", text, re.M)),
        "dropped_not_found": len(
            re.findall(r"MediaFileStorageError: Deferred file \S+ not found", text)
        ),
    }


def _pct(samples: list[tuple[float, float]]) -> float:
    """Mean CPU over the samples, in % of one core."""
    (t0, c0), (t1, c1) = samples[0], samples[-1]
    return round((c1 - c0) / (t1 - t0) * 100, 1)


# Scenario B --------------------------------------------------------------------


def make_import_csv(path: Path, rows: int, seed: int = 7) -> None:
    """An export-format CSV of `rows` notes (author, created, body; bodies of 60 to 140
    ASCII characters, no formula characters)."""
    rng = random.Random(seed)
    start = datetime(2024, 1, 1, tzinfo=UTC)
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["author", "created", "body"])
        for i in range(rows):
            limit = rng.randint(60, 140)
            words: list[str] = []
            while len(" ".join(words)) < limit:
                words.append(rng.choice(WORDS))
            body = " ".join(words)[:limit].strip()
            created = (start + timedelta(seconds=i * 37)).strftime("%Y-%m-%dT%H:%M:%SZ")
            writer.writerow([f"importer{rng.randint(1, 500)}", created, body])


def _outcome(page: Page, timeout_s: float) -> str:
    """Wait until the /data page shows the preview or a message about the file."""
    preview = page.get_by_test_id("stMetric").filter(has_text="Will be added")
    alert = page.get_by_test_id("stAlertContainer").filter(has_not_text="Only an admin")
    refused = page.get_by_test_id("stFileChipIconError")  # the uploader's own: too large
    either = preview.or_(alert).or_(refused).first
    try:
        either.wait_for(state="visible", timeout=timeout_s * 1000)
    except Exception:
        return "timeout"
    if preview.count():
        return "preview"
    if refused.count():
        return "refused by the uploader (too large?)"
    text = alert.first.inner_text()
    return "busy" if MSG_BUSY in text else f"other: {text[:120]}"


def scenario_b(playwright, app_dir: Path, args: argparse.Namespace, logs: Path) -> dict:
    from oidc import Person, auth_secrets, run_provider, sign_in

    result: dict = {"uploads": args.uploads, "mode": "signed-in admin"}
    with (
        tempfile.TemporaryDirectory(prefix="abuse-b-") as folder,
        run_provider() as provider,
    ):
        upload = Path(folder) / "notes.csv"
        make_import_csv(upload, args.import_rows)
        result["file_mb"] = round(upload.stat().st_size / 1e6, 2)
        result["file_rows"] = args.import_rows
        admin = provider.add(Person(sub="admin", name="Admin", email=ADMIN_EMAIL))
        secrets = auth_secrets(provider, admins=[ADMIN_EMAIL])
        db = Path(folder) / "notes.db"
        server = Server(app_dir, db, logs / "abuse-b-server.log", secrets=secrets)
        with running(server):
            result["rss_mb_started"] = server.memory_mb()["VmRSS"]
            browser = launch(playwright)
            try:
                print(f"B: signing in {args.uploads} contexts as the admin...", flush=True)
                contexts, pages = [], []
                for _ in range(args.uploads):
                    context = local_context(browser)
                    page = context.new_page()
                    sign_in(page, server, admin)
                    page.goto(server.url("/data"))
                    page.get_by_test_id(UPLOADER).wait_for(state="attached", timeout=60_000)
                    contexts.append(context)
                    pages.append(page)
                pages[-1].wait_for_timeout(3_000)  # let the last runs finish
                result["rss_mb_before"] = server.memory_mb()["VmRSS"]
                print(f"B: uploading {result['file_mb']} MB on each...", flush=True)
                started = time.monotonic()
                for page in pages:
                    page.get_by_test_id(UPLOADER).set_input_files(upload)
                outcomes = [_outcome(page, args.settle_timeout) for page in pages]
                result["settle_s"] = round(time.monotonic() - started, 1)
                pages[-1].wait_for_timeout(3_000)
                memory = server.memory_mb()
                result["rss_mb_settled"] = memory["VmRSS"]
                result["rss_mb_peak"] = memory["VmHWM"]
                result["outcomes"] = outcomes
                result["previews"] = outcomes.count("preview")
                result["busy"] = outcomes.count("busy")
                for context in contexts:
                    context.close()
            finally:
                browser.close()
            print(f"B: closed; waiting {args.rss_wait + args.rss_extra:g} s...", flush=True)
            closed = time.monotonic()
            series = []
            for until in (args.rss_wait, args.rss_wait + args.rss_extra):
                while (left := closed + until - time.monotonic()) > 0:
                    time.sleep(min(10.0, left))
                    at = round(time.monotonic() - closed, 1)
                    series.append((at, server.memory_mb()["VmRSS"]))
                if until == args.rss_wait:
                    result["rss_mb_after_close"] = series[-1][1] if series else None
            result["rss_mb_after_close_series"] = series
            if args.poke:
                result["poke"] = poke(playwright, server, admin, Path(folder))
    return result


def poke(playwright, server: Server, admin, folder: Path) -> dict:
    """After the wait: one more admin session previews a 10-row file (the new code drops
    the previews of ended sessions when another preview is made), then leaves; the
    server's RSS 10 s later."""
    from oidc import sign_in

    small = folder / "small.csv"
    make_import_csv(small, 10, seed=8)
    print("B: poke: one more admin previews a 10-row file...", flush=True)
    browser = launch(playwright)
    try:
        context = local_context(browser)
        page = context.new_page()
        sign_in(page, server, admin)
        page.goto(server.url("/data"))
        page.get_by_test_id(UPLOADER).set_input_files(small)
        outcome = _outcome(page, 60)
        context.close()
    finally:
        browser.close()
    time.sleep(10)
    return {"outcome": outcome, "rss_mb_10s_after": server.memory_mb()["VmRSS"]}


# Report --------------------------------------------------------------------------


def _s(value: float | None) -> str:
    return "never" if value is None else f"{value:g} s"


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


def report(results: dict) -> None:
    label = results["label"]
    a = results.get("a")
    if a:
        base = a.get("baseline", {})
        after = a["after"]
        print(f"\n### A: {a['pages']} exports of {a['notes']:,} notes, then the attacker left")
        print(
            f"\n{a['requests_sent']}/{a['pages']} presses sent their request"
            f" ({a['click_s']} s to press all, {a['close_s']} s to close);"
            f" server CPU while pressing and closing: {a['cpu_s_clicking_and_closing']} s.\n"
        )
        log = a["server_log"]
        print(
            f"Server log: {log['failed_builds']} builds failed, of which"
            f" {log['stopped_session_ended']} stopped for their ended session and"
            f" {log['dropped_not_found']} found their download already dropped.\n"
        )
        print("| app | s after leaving | server CPU % of one core | machine busy % (of 200) |")
        print("|---|---|---:|---:|")
        windows = zip(after["cpu_pct_per_10s"], after["machine_busy_pct_per_10s"], strict=True)
        for i, (pct, busy) in enumerate(windows):
            print(f"| {label} | {i * WINDOW_S}-{(i + 1) * WINDOW_S} | {pct:.1f} | {busy:.0f} |")
        settled = after["settled_s"]
        print(
            "\n| app | baseline CPU % | CPU % over the whole watch | first 10 s window < 10 % at"
            " (< baseline + 5)"
            " | probe median ms (baseline) | probe worst ms (baseline) | probe loads failed |"
        )
        print("|---|---:|---:|---:|---:|---:|---:|")
        print(
            f"| {label} | {base.get('cpu_pct', '-')} | {after['cpu_pct']} |"
            f" {_s(settled)} ({_s(after['settled_near_baseline_s'])}) |"
            f" {_ms(after['median_ms'])} ({_ms(base.get('median_ms'))}) |"
            f" {_ms(after['worst_ms'])} ({_ms(base.get('worst_ms'))}) |"
            f" {after['failed']}/{after['loads']} |"
        )
    b = results.get("b")
    if b:
        print(f"\n### B: {b['uploads']} imports of a {b['file_mb']} MB CSV ({b['mode']})")
        print(
            "\n| app | previews | busy | other | RSS before MB | RSS settled MB (peak)"
            f" | RSS {results['args']['rss_wait']:g} s after closing MB | settle s |"
        )
        print("|---|---:|---:|---:|---:|---:|---:|---:|")
        other = len(b["outcomes"]) - b["previews"] - b["busy"]
        print(
            f"| {label} | {b['previews']} | {b['busy']} | {other} | {b['rss_mb_before']:.0f} |"
            f" {b['rss_mb_settled']:.0f} ({b['rss_mb_peak']:.0f}) |"
            f" {b['rss_mb_after_close']:.0f} | {b['settle_s']} |"
        )
        for outcome in b["outcomes"]:
            if outcome not in ("preview", "busy"):
                print(f"- {outcome}")
        series = ", ".join(
            f"{rss:.0f} MB at {at:g} s" for at, rss in b["rss_mb_after_close_series"]
        )
        print(f"\nRSS after closing: {series}.")
        if "poke" in b:
            poked = b["poke"]
            print(
                f"Poke (one more admin previews a 10-row file): {poked['outcome']}; RSS 10 s"
                f" after it left: {poked['rss_mb_10s_after']:.0f} MB."
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--app", type=Path, default=APP_DIR, help="folder of the app.py to run")
    parser.add_argument("--label", help="name of this app version in the table and file name")
    parser.add_argument("--scenarios", nargs="+", choices=["a", "b"], default=["a", "b"])
    parser.add_argument("--pages", type=int, default=40, help="A: attacker contexts (K)")
    parser.add_argument("--notes", type=int, default=200_000, help="A: notes in the database")
    parser.add_argument("--after", type=float, default=120, help="A: seconds watched after")
    parser.add_argument("--baseline", type=float, default=20, help="A: seconds watched before")
    parser.add_argument("--probe-every", type=float, default=5, help="A: seconds between loads")
    parser.add_argument(
        "--pause-timers",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="A: pause each attacker page's timers (Playwright's clock) once its popover is"
        " open, until its press",
    )
    parser.add_argument("--uploads", type=int, default=8, help="B: admin contexts uploading")
    parser.add_argument("--import-rows", type=int, default=70_000, help="B: rows in the CSV")
    parser.add_argument("--settle-timeout", type=float, default=180, help="B: s per upload")
    parser.add_argument("--rss-wait", type=float, default=60, help="B: s after closing")
    parser.add_argument(
        "--rss-extra", type=float, default=0, help="B: then read RSS for this many s more"
    )
    parser.add_argument(
        "--poke",
        action="store_true",
        help="B: at the end, one more admin previews a 10-row file; RSS 10 s after",
    )
    args = parser.parse_args()
    app_dir = args.app.resolve()
    if not (app_dir / "app.py").is_file():
        raise SystemExit(f"no app.py in {app_dir}")
    label = args.label or app_dir.name
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # the provider's request lines
    sys.path.insert(0, str(APP_DIR / "tests" / "e2e"))  # oidc.py: sign-in, local contexts
    expect.set_options(timeout=30_000)  # oidc.sign_in's waits, on a busy 2-core machine
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    logs = Path(tempfile.mkdtemp(prefix="abuse-logs-"))
    results: dict = {
        "label": label,
        "app": app_info(app_dir),
        "args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpus": os.cpu_count(),
        "loadavg_start": os.getloadavg(),
    }
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", label)
    out = RESULTS_DIR / f"abuse-{name}-{stamp}.json"
    with sync_playwright() as playwright:
        for scenario, run in (("a", scenario_a), ("b", scenario_b)):
            if scenario in args.scenarios:
                results[scenario] = run(playwright, app_dir, args, logs)
                results["loadavg_end"] = os.getloadavg()
                out.write_text(json.dumps(results, indent=2))  # kept should the next fail
    report(results)
    print(f"\nwrote {out.relative_to(APP_DIR)} (server logs in {logs})")


def _stop(signum: int, _frame: object) -> None:
    raise SystemExit(f"stopped by signal {signum}")  # so that servers and browsers stop


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, _stop)
    main()
