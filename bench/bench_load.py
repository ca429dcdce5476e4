"""What a user waits for while K other tabs are open: one `streamlit run` server, Streamlit's
own websocket protocol, and a probe that times reruns of the feed.

    python bench/bench_load.py                          # this app.py: 0/25/50/100 idle, 20 active
    python bench/bench_load.py --script original        # the tutorial's app.py (git 760c44e)
    python bench/bench_load.py --script minimal         # 25 markdown lines + a 3 s fragment
    python bench/bench_load.py --script /path/app.py    # any other app.py
    python bench/bench_load.py --idle 0 10 --active 5 --record-s 0   # a short run
    python bench/bench_load.py --database-url auto --servers 2 --idle 100 --active

Each row starts a new server (`streamlit run SCRIPT --server.headless true ...`, NOTES_DB a
fresh copy of a seeded database of --notes notes: `SCRIPT --db FILE seed --count N-1`, or,
for a script without that command, this checkout's app.py seeds it), waits for
/_stcore/health, then:

- opens K idle tabs: websocket clients of ws://HOST/_stcore/stream that send the first
  rerun_script a browser sends (query string, page, widget states, context info), then do
  what an open tab does, driven by the server's messages: each `autoRerun` ForwardMsg
  starts a timer that sends a fragment rerun every `interval` seconds (a new full run's
  newSession clears them, `stopAutoRerun` stops one), and if the page holds an st.html
  element with class `notes-live` and `data-poll="<url>"`, an HTTP GET of that URL every
  --poll-s 3 s (a change in its answer asks for a rerun of the page);
- or K active sessions: tabs that also turn a page every --turn-s 2 s (`?before=<id>`,
  `?q=coffee`, the newest page), each turn waiting for the last to finish;
- waits --settle-s, then the probe session reruns the feed --probes 15 times, --probe-gap-s
  0.5 s apart, each timed from its rerun_script to the server's script_finished; the
  window lasts at least --window-s; over it, the server's CPU (utime + stime from /proc, in
  % of one core), the tabs' fragment ticks (from the fragment rerun sent to its
  script_finished) and the tabs' traffic (websocket messages and HTTP requests per tab per
  minute).

Before the rows, --record-s 60 s of one real tab in headless Chromium on the same script
(Playwright: websocket frames decoded with Streamlit's protobuf classes, HTTP requests)
give the browser's traffic per minute once loaded, beside the client tab's. Prints a
markdown table and writes bench/results/load-<label>-<timestamp>.json. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin

import httpx
import websockets
from common import APP_DIR, CHROMIUM, CHROMIUM_ARGS, DATA_DIR, RESULTS_DIR, percentile
from common import server_cpu_s as process_cpu_s
from google.protobuf.json_format import MessageToDict
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

ORIGINAL_COMMIT = "760c44e"  # the tutorial's first app.py
MINIMAL_SCRIPT = '''"""25 markdown lines, a fragment that reruns every 3 s (bench/bench_load.py)."""

import time

import streamlit as st

for i in range(25):
    st.markdown(f"Line {i}: **some** text, _a little_ markdown.")


@st.fragment(run_every=3)
def tick() -> None:
    st.caption(f"Ticked at {time.strftime('%H:%M:%S')}")


tick()
'''
FINISHED_FULL = ForwardMsg.FINISHED_SUCCESSFULLY
FINISHED_FRAGMENT = ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY
FINISHED_EARLY = ForwardMsg.FINISHED_EARLY_FOR_RERUN
CONTEXT = {"timezone": "UTC", "timezone_offset": 0, "locale": "en-US", "color_scheme": "light"}


# The script under test, its database, its servers ---------------------------


def resolve_script(name: str) -> Path:
    """--script: a path, or `original` / `minimal` (written into bench/.data/)."""
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    if name == "original":
        path = DATA_DIR / "original_app.py"
        source = subprocess.run(
            ["git", "show", f"{ORIGINAL_COMMIT}:app.py"],
            cwd=APP_DIR,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        path.write_text(source)
        return path
    if name == "minimal":
        path = DATA_DIR / "minimal_app.py"
        path.write_text(MINIMAL_SCRIPT)
        return path
    return Path(name).resolve()


def seeded_db(script: Path, notes: int) -> Path:
    """A new SQLite database of `notes` notes (notes - 1 + the welcome note), seeded by the
    script's own `seed` command if it has one, else by this checkout's app.py."""
    folder = Path(tempfile.mkdtemp(prefix="bench-load-db-"))
    path = folder / "notes.db"
    for seeder in (script, APP_DIR / "app.py"):
        cmd = [sys.executable, seeder.name, "--db", str(path), "seed", "--count", str(notes - 1)]
        done = subprocess.run(cmd, cwd=seeder.parent, capture_output=True, text=True)
        if done.returncode == 0 and count_notes(path) == notes:
            print(f"seeded {notes} notes with {seeder}", flush=True)
            return path
        for stale in folder.glob("notes.db*"):
            stale.unlink()
    raise SystemExit(f"could not seed a database: {done.stderr[-2000:]}")


def count_notes(path: Path) -> int | None:
    """The notes in the SQLite file at path (None if there is no such table or file)."""
    if not path.exists():
        return None
    try:
        with closing(sqlite3.connect(path)) as conn:
            return conn.execute("SELECT count(*) FROM notes").fetchone()[0]
    except sqlite3.Error:
        return None


def seeded_pg(notes: int) -> tuple[str, object]:
    """--database-url auto: a throwaway PostgreSQL (tests/pg_cluster.py), seeded."""
    from common import start_postgres

    cluster = start_postgres(root=None)
    url = cluster.url(cluster.create_database(name="notes_load"))
    cmd = [sys.executable, "app.py", "--db", url, "seed", "--count", str(notes - 1)]
    subprocess.run(cmd, cwd=APP_DIR, check=True)
    return url, cluster


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    proc: subprocess.Popen
    port: int
    log: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def cpu_s(self) -> float:
        return process_cpu_s(self.proc.pid)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def start_server(script: Path, env_db: dict, workdir: Path) -> Server:
    port = free_port()
    log = workdir / f"server-{port}.log"
    cmd = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(script),
        "--server.headless",
        "true",
        "--server.port",
        str(port),
        "--browser.gatherUsageStats",
        "false",
    ]
    env = {k: v for k, v in os.environ.items() if k not in ("NOTES_DB", "NOTES_DATABASE_URL")}
    env.update(env_db)
    proc = subprocess.Popen(
        cmd, cwd=script.parent, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT
    )
    server = Server(proc, port, log)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited: {log.read_text()[-2000:]}")
        try:
            if httpx.get(server.base + "_stcore/health", timeout=2).text == "ok":
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    server.stop()
    raise SystemExit("server did not answer /_stcore/health in 60 s")


# A tab over Streamlit's protocol ---------------------------------------------


class _LivePoll(HTMLParser):
    """Finds data-poll of an element with class notes-live in st.html's HTML."""

    def __init__(self) -> None:
        super().__init__()
        self.url: str | None = None

    def handle_starttag(self, tag: str, attrs: list) -> None:
        found = dict(attrs)
        if "notes-live" in (found.get("class") or "").split() and found.get("data-poll"):
            self.url = self.url or found["data-poll"]


def live_poll_url(html: str) -> str | None:
    if "notes-live" not in html:
        return None
    parser = _LivePoll()
    parser.feed(html)
    return parser.url


@dataclass
class Stats:
    """What the tabs of one kind did during the window (reset() at its start)."""

    sent: int = 0
    received: int = 0
    http: int = 0
    http_ms: list = field(default_factory=list)
    ticks_ms: list = field(default_factory=list)
    turns_ms: list = field(default_factory=list)
    errors: list = field(default_factory=list)
    failed: int = 0  # tabs that could not connect
    fragment_runs: int = 0  # script_finished of fragment runs
    runs_early: int = 0  # runs stopped for a newer request

    def reset(self) -> None:
        self.__init__()


class Tab:
    """One browser tab on the page at `query`, as Streamlit's front end behaves: see the
    module docstring. Counts what it sends and receives in `stats`."""

    def __init__(self, server: Server, query: str, stats: Stats, http: httpx.AsyncClient):
        self.server, self.query, self.stats, self.http = server, query, stats, http
        self.ws = None
        self.page_hash = ""
        self.widgets: dict[str, BackMsg] = {}  # id -> WidgetState the browser would send
        self.timers: dict[str, asyncio.Task] = {}
        self.poll_task: asyncio.Task | None = None
        self.poll_url: str | None = None
        self.pending_ticks: list[float] = []  # fragment reruns sent, not yet served
        self.ticks_sent = 0  # in the window (reset with the stats)
        self.run_started = 0.0  # when the server began the current run (its newSession)
        self.run_is_fragment = False
        self.full_done: asyncio.Queue = asyncio.Queue()  # (status, time) of full runs
        self.first_msg: dict | None = None
        self.elements = 0
        self.first_elements: int | None = None  # elements drawn by the first run
        self.exceptions: list[str] = []
        self.reader: asyncio.Task | None = None
        self.closed = False

    async def open(self) -> None:
        uri = f"ws://127.0.0.1:{self.server.port}/_stcore/stream"
        self.ws = await websockets.connect(
            uri,
            subprotocols=["streamlit"],
            max_size=None,
            origin=self.server.base.rstrip("/"),
            open_timeout=120,  # a busy server answers the handshake late
        )
        self.reader = asyncio.create_task(self._read())

    def _rerun_msg(self, query: str, fragment_id: str = "", auto: bool = False) -> BackMsg:
        msg = BackMsg()
        rerun = msg.rerun_script
        rerun.query_string = query
        rerun.page_script_hash = self.page_hash
        for state in self.widgets.values():
            rerun.widget_states.widgets.add().CopyFrom(state)
        if fragment_id:
            rerun.fragment_id = fragment_id
            rerun.is_auto_rerun = auto
        info = rerun.context_info
        for name, value in CONTEXT.items():
            setattr(info, name, value)
        info.url = self.server.base + (f"?{query}" if query else "")
        info.is_embedded = False
        return msg

    async def send(self, msg: BackMsg) -> None:
        if self.closed:
            return
        data = msg.SerializeToString()
        if self.first_msg is None:
            self.first_msg = MessageToDict(msg)
        self.stats.sent += 1
        try:
            await self.ws.send(data)
        except websockets.ConnectionClosed:
            self.closed = True

    async def rerun(self, query: str | None = None) -> float:
        """A full rerun of the page (query: turn to another page); returns when it was sent."""
        if query is not None:
            self.query = query
        sent = time.perf_counter()
        await self.send(self._rerun_msg(self.query))
        return sent

    async def wait_full(self, timeout: float) -> tuple[int | None, float]:
        try:
            return await asyncio.wait_for(self.full_done.get(), timeout)
        except TimeoutError:
            return None, time.perf_counter()

    async def _tick_every(self, fragment_id: str, interval: float) -> None:
        while True:  # setInterval: every interval, whether or not the last one finished
            await asyncio.sleep(interval)
            self.pending_ticks.append(time.perf_counter())
            self.ticks_sent += 1
            await self.send(self._rerun_msg(self.query, fragment_id, auto=True))

    async def _poll(self) -> None:
        last = None
        while True:
            await asyncio.sleep(3.0)
            url = urljoin(self.server.base, self.poll_url)
            started = time.perf_counter()
            try:
                answer = await self.http.get(url)
            except httpx.HTTPError as error:
                self.stats.errors.append(f"poll {url}: {error!r}")
                continue
            self.stats.http += 1
            self.stats.http_ms.append((time.perf_counter() - started) * 1000)
            if last is not None and answer.content != last:
                await self.rerun()  # something changed: the page's script asks for a rerun
            last = answer.content

    def _clear_timers(self) -> None:
        for task in self.timers.values():
            task.cancel()
        self.timers.clear()

    async def _read(self) -> None:
        try:
            async for data in self.ws:
                self._handle(data)
        except websockets.ConnectionClosed:
            pass
        finally:
            self.closed = True

    def _handle(self, data: bytes) -> None:
        now = time.perf_counter()
        self.stats.received += 1
        msg = ForwardMsg()
        msg.ParseFromString(data)
        kind = msg.WhichOneof("type")
        if kind == "new_session":  # sent at the start of every run
            self.run_started = now
            self.run_is_fragment = bool(msg.metadata.run.fragment_ids)
            self.page_hash = msg.new_session.page_script_hash or self.page_hash
            if not self.run_is_fragment:  # the front end drops its timers on a full run
                self._clear_timers()
        elif kind == "auto_rerun":
            fragment_id, interval = msg.auto_rerun.fragment_id, msg.auto_rerun.interval
            if fragment_id and fragment_id not in self.timers:
                self.timers[fragment_id] = asyncio.create_task(
                    self._tick_every(fragment_id, interval)
                )
        elif kind == "stop_auto_rerun":
            for fragment_id in msg.stop_auto_rerun.fragment_ids:
                task = self.timers.pop(fragment_id, None)
                if task:
                    task.cancel()
        elif kind == "delta":
            self._delta(msg.delta)
        elif kind == "script_finished":
            status = msg.script_finished
            if status == FINISHED_FRAGMENT:
                # the run that just ended served the ticks sent before it started (the server
                # merges a fragment's queued reruns into one); later ones wait for the next
                served = [t for t in self.pending_ticks if t <= self.run_started]
                self.pending_ticks = [t for t in self.pending_ticks if t > self.run_started]
                self.stats.ticks_ms += [(now - t) * 1000 for t in served]
                self.stats.fragment_runs += 1
            elif status == FINISHED_EARLY:  # stopped for a newer request, which serves them
                self.stats.runs_early += 1
            else:
                if self.first_elements is None:
                    self.first_elements = self.elements
                self.full_done.put_nowait((status, now))

    def _delta(self, delta) -> None:
        if delta.WhichOneof("type") != "new_element":
            return
        element = delta.new_element
        self.elements += 1
        kind = element.WhichOneof("type")
        if kind == "exception":
            self.exceptions.append(element.exception.message[:300])
        elif kind == "alert" and element.alert.format == element.alert.ERROR:
            self.exceptions.append(element.alert.body[:300])
        elif kind == "html":
            url = live_poll_url(element.html.body)
            if url and self.poll_task is None:
                self.poll_url = url
                self.poll_task = asyncio.create_task(self._poll())
        elif kind in ("text_input", "text_area"):
            widget = getattr(element, kind)
            state = BackMsg().rerun_script.widget_states.widgets.add()
            state.id = widget.id
            state.string_value = widget.value if widget.HasField("value") else widget.default
            self.widgets[widget.id] = state

    async def close(self) -> None:
        self._clear_timers()
        for task in (self.poll_task, self.reader):
            if task:
                task.cancel()
        if self.ws is not None:
            await self.ws.close()
        self.closed = True


async def open_tab(server, query, stats, http, timeout: float) -> Tab:
    """Open a tab and wait (up to timeout) for its first run to finish."""
    tab = Tab(server, query, stats, http)
    try:
        await tab.open()
    except (OSError, TimeoutError, websockets.WebSocketException) as error:
        stats.errors.append(f"a tab could not connect: {error!r}")
        stats.failed += 1
        tab.closed = True
        return tab
    await tab.rerun()
    status, _ = await tab.wait_full(timeout)
    if status is None:
        stats.errors.append("a first run did not finish in time")
    return tab


# The chromium tab we imitate -------------------------------------------------


def record_browser(script: Path, env_db: dict, seconds: float, workdir: Path) -> dict:
    """One real tab on `/` for `seconds`: its websocket messages and HTTP requests."""
    from playwright.sync_api import sync_playwright

    server = start_server(script, env_db, workdir)
    frames: list = []
    requests: list = []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            page = browser.new_page()

            def on_ws(ws) -> None:
                ws.on("framesent", lambda d: frames.append(("sent", time.perf_counter(), d)))
                ws.on("framereceived", lambda d: frames.append(("recv", time.perf_counter(), d)))

            page.on("websocket", on_ws)
            page.on("request", lambda r: requests.append((time.perf_counter(), r.url)))
            page.goto(server.base)
            page.wait_for_timeout(seconds * 1000)
            stopped = time.perf_counter()
            browser.close()
    finally:
        server.stop()
    first_finish = None
    sent_kinds: dict[str, int] = {}
    received_kinds: dict[str, int] = {}
    first_rerun = None
    decoded = []
    for direction, at, payload in frames:
        payload = payload.encode() if isinstance(payload, str) else payload
        if direction == "sent":
            msg = BackMsg()
            msg.ParseFromString(payload)
            kind = msg.WhichOneof("type")
            first_rerun = first_rerun or (MessageToDict(msg) if kind == "rerun_script" else None)
        else:
            msg = ForwardMsg()
            msg.ParseFromString(payload)
            kind = msg.WhichOneof("type")
            if kind == "script_finished" and first_finish is None:
                first_finish = at
        decoded.append((direction, at, kind, msg))
    if first_finish is None:
        return {"error": "the page's first run never finished", "frames": len(frames)}
    start = first_finish + 2.0  # loaded: the page's lazy chunks come in the next second
    end = stopped
    minutes = (end - start) / 60
    sent = received = 0
    for direction, at, kind, _msg in decoded:
        if at < start:
            continue
        if direction == "sent":
            sent += 1
            sent_kinds[kind] = sent_kinds.get(kind, 0) + 1
        else:
            received += 1
            received_kinds[kind] = received_kinds.get(kind, 0) + 1
    later = [url for at, url in requests if at >= start]
    return {
        "seconds_after_load": round(end - start, 1),
        "ws_sent_per_min": sent / minutes,
        "ws_received_per_min": received / minutes,
        "http_per_min": len(later) / minutes,
        "http_after_load": sorted(set(later)),
        "http_during_load": len(requests) - len(later),
        "sent_kinds": sent_kinds,
        "received_kinds": received_kinds,
        "first_rerun_script": first_rerun,
    }


# One row ---------------------------------------------------------------------

ACTIVE_PAGES = ["before={a}", "q=coffee", "before={b}", "", "before={c}"]


async def measure_row(servers: list[Server], args, idle: int, active: int) -> dict:
    limits = httpx.Limits(max_connections=50)
    async with httpx.AsyncClient(timeout=30, limits=limits) as http:
        idle_stats, active_stats, probe_stats = Stats(), Stats(), Stats()
        tabs: list[Tab] = []
        opened = time.perf_counter()
        gate = asyncio.Semaphore(args.open_concurrency)

        async def one(i: int, query: str, stats: Stats, count: int) -> Tab:
            # spread over a tick's period, as tabs opened at different moments would be
            await asyncio.sleep(i * args.spread_s / max(count, 1))
            async with gate:
                return await open_tab(servers[i % len(servers)], query, stats, http, 120)

        tabs += await asyncio.gather(*(one(i, "", idle_stats, idle) for i in range(idle)))
        n = args.notes
        pages = [p.format(a=n - 24, b=n - 49, c=n - 74) for p in ACTIVE_PAGES]
        actives = await asyncio.gather(
            *(one(i, pages[i % len(pages)], active_stats, active) for i in range(active))
        )
        tabs += actives
        open_s = time.perf_counter() - opened
        probe = await open_tab(servers[0], "", probe_stats, http, 120)
        await asyncio.sleep(args.settle_s)

        stop = asyncio.Event()

        async def turn_pages(tab: Tab, k: int) -> None:
            step = k
            while not stop.is_set():
                step += 1
                sent = await tab.rerun(pages[step % len(pages)])
                status, done = await tab.wait_full(120)
                if status is not None:
                    active_stats.turns_ms.append((done - sent) * 1000)
                await asyncio.sleep(max(0.0, sent + args.turn_s - time.perf_counter()))

        for stats in (idle_stats, active_stats, probe_stats):
            stats.reset()
        for tab in tabs:
            tab.ticks_sent = 0
        turners = [asyncio.create_task(turn_pages(tab, k)) for k, tab in enumerate(actives)]
        cpu0 = [s.cpu_s() for s in servers]
        pg0 = process_cpu_s(args.pg_pid) if args.pg_pid else 0.0
        own0 = sum(os.times()[:2])
        start = time.perf_counter()
        probes_ms: list[float] = []
        timeouts = 0
        for _ in range(args.probes):
            if time.perf_counter() - start > args.row_budget_s:
                break  # a saturated server: report the probes that finished in the budget
            while not probe.full_done.empty():
                probe.full_done.get_nowait()
            sent = await probe.rerun("")
            status, done = await probe.wait_full(args.probe_timeout_s)
            if status is None:
                timeouts += 1
            elif status == FINISHED_FULL:
                probes_ms.append((done - sent) * 1000)
            await asyncio.sleep(args.probe_gap_s)
        await asyncio.sleep(max(0.0, start + args.window_s - time.perf_counter()))
        window = time.perf_counter() - start
        cpu = [(s.cpu_s() - c) / window * 100 for s, c in zip(servers, cpu0, strict=True)]
        own = (sum(os.times()[:2]) - own0) / window * 100
        pg = (process_cpu_s(args.pg_pid) - pg0) / window * 100 if args.pg_pid else None
        ticks = list(idle_stats.ticks_ms) + list(active_stats.ticks_ms)
        idle_traffic = {
            "ws_sent_per_tab_min": idle_stats.sent / max(idle, 1) / window * 60,
            "ws_received_per_tab_min": idle_stats.received / max(idle, 1) / window * 60,
            "http_per_tab_min": idle_stats.http / max(idle, 1) / window * 60,
        }
        stop.set()
        for task in turners:
            task.cancel()
        await asyncio.gather(*(t.close() for t in [*tabs, probe]), return_exceptions=True)
        lagging = sum(len(t.pending_ticks) for t in tabs)
        return {
            "idle": idle,
            "active": active,
            "servers": len(servers),
            "open_s": round(open_s, 1),
            "window_s": round(window, 1),
            "probe_ms": probes_ms,
            "probe_timeouts": timeouts,
            "probes_run": len(probes_ms) + timeouts,
            "probe_p50": statistics.median(probes_ms) if probes_ms else None,
            "probe_p95": percentile(probes_ms, 95) if probes_ms else None,
            "tabs_failed": idle_stats.failed + active_stats.failed,
            "ticks": len(ticks),
            "tick_requests_sent": sum(t.ticks_sent for t in tabs),
            "fragment_runs": idle_stats.fragment_runs + active_stats.fragment_runs,
            "runs_stopped_early": idle_stats.runs_early + active_stats.runs_early,
            "ticks_unserved_at_end": lagging,
            "tick_p50": statistics.median(ticks) if ticks else None,
            "tick_p95": percentile(ticks, 95) if ticks else None,
            "turn_p50": statistics.median(active_stats.turns_ms) if active_stats.turns_ms else None,
            "turns": len(active_stats.turns_ms),
            "server_cpu_pct": [round(c, 1) for c in cpu],
            "client_cpu_pct": round(own, 1),
            "postgresql_cpu_pct": None if pg is None else round(pg, 1),
            "idle_traffic": idle_traffic if idle else None,
            "http_poll_ms_p50": statistics.median(idle_stats.http_ms)
            if idle_stats.http_ms
            else None,
            "page_elements": probe.first_elements,
            "page_errors": sorted(set(probe.exceptions))[:5],
            "client_errors": (idle_stats.errors + active_stats.errors + probe_stats.errors)[:5],
            "first_rerun_script": probe.first_msg,
            "polls_live": bool(probe.poll_url),
            "loadavg": Path("/proc/loadavg").read_text().split()[:3],
        }


def fmt(value, digits: int = 0) -> str:
    return "—" if value is None else f"{value:,.{digits}f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--script",
        default=str(APP_DIR / "app.py"),
        help="the Streamlit script: a path, or `original` (git 760c44e:app.py)"
        " or `minimal` (both written into bench/.data/); default this app.py",
    )
    parser.add_argument("--label", help="names the JSON (default: the script's name)")
    parser.add_argument("--idle", type=int, nargs="*", default=[0, 25, 50, 100])
    parser.add_argument("--active", type=int, nargs="*", default=[20])
    parser.add_argument("--notes", type=int, default=100)
    parser.add_argument("--probes", type=int, default=15)
    parser.add_argument("--probe-gap-s", type=float, default=0.5)
    parser.add_argument("--probe-timeout-s", type=float, default=60)
    parser.add_argument(
        "--row-budget-s",
        type=float,
        default=180,
        help="no new probe after this many seconds of a row's window",
    )
    parser.add_argument("--window-s", type=float, default=30, help="the least measuring time")
    parser.add_argument("--settle-s", type=float, default=6, help="after the tabs opened")
    parser.add_argument("--turn-s", type=float, default=2.0)
    parser.add_argument("--open-concurrency", type=int, default=10)
    parser.add_argument(
        "--spread-s",
        type=float,
        default=3.0,
        help="tabs start their first runs spread over this many seconds",
    )
    parser.add_argument(
        "--record-s",
        type=float,
        default=60,
        help="seconds of a real Chromium tab to compare with (0: none)",
    )
    parser.add_argument(
        "--database-url",
        help="a PostgreSQL URL with the notes, or `auto`:"
        " a throwaway server (tests/pg_cluster.py), seeded with --notes",
    )
    parser.add_argument("--servers", type=int, default=1, help="server processes (tabs shared)")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the finally: stop the servers

    script = resolve_script(args.script)
    label = args.label or script.stem
    loadavg = Path("/proc/loadavg").read_text().split()[:3]
    print(f"{script} ({label}); loadavg at start {' '.join(loadavg)}", flush=True)
    workdir = Path(tempfile.mkdtemp(prefix="bench-load-"))
    cluster = args.pg_pid = None
    if args.database_url == "auto":
        url, cluster = seeded_pg(args.notes)
        args.database_url, args.pg_pid = url, cluster.server_pid()
    seed = None if args.database_url else seeded_db(script, args.notes)

    def env_db() -> dict:
        if args.database_url:
            return {"NOTES_DATABASE_URL": args.database_url}
        copy = workdir / f"notes-{time.monotonic_ns()}.db"
        shutil.copy(seed, copy)
        return {"NOTES_DB": str(copy)}

    result = {
        "label": label,
        "script": str(script),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": subprocess.run(
            ["git", "log", "-1", "--format=%h"], cwd=APP_DIR, capture_output=True, text=True
        ).stdout.strip(),
        "loadavg_start": loadavg,
        "settings": {k: v for k, v in vars(args).items() if k != "database_url"},
        "database": "postgresql" if args.database_url else "sqlite",
        "rows": [],
    }
    try:
        if args.record_s > 0:
            print(f"recording a Chromium tab for {args.record_s:.0f} s...", flush=True)
            result["browser"] = record_browser(script, env_db(), args.record_s, workdir)
            print(
                json.dumps(
                    {k: v for k, v in result["browser"].items() if k != "first_rerun_script"}
                ),
                flush=True,
            )
        rows = [(k, 0) for k in args.idle] + [(0, k) for k in args.active]
        for idle, active in rows:
            print(f"-- {idle} idle tabs, {active} active sessions", flush=True)
            servers = [start_server(script, env_db(), workdir) for _ in range(args.servers)]
            try:
                row = asyncio.run(measure_row(servers, args, idle, active))
            finally:
                for server in servers:
                    server.stop()
            result["rows"].append(row)
            print(
                json.dumps(
                    {k: v for k, v in row.items() if k not in ("probe_ms", "first_rerun_script")}
                ),
                flush=True,
            )
    finally:
        if cluster is not None:
            cluster.remove()
        result["loadavg_end"] = Path("/proc/loadavg").read_text().split()[:3]
        RESULTS_DIR.mkdir(exist_ok=True)
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        out = RESULTS_DIR / f"load-{label}-{stamp}.json"
        out.write_text(json.dumps(result, indent=1))
        shutil.rmtree(workdir, ignore_errors=True)
        if seed is not None:
            shutil.rmtree(seed.parent, ignore_errors=True)
    print_table(result)
    print(f"\nJSON: {out}")


def print_table(result: dict) -> None:
    print(
        f"\n{result['label']} ({result['script']}), commit {result['commit']}, "
        f"{result['database']}, loadavg at start {' '.join(result['loadavg_start'])}\n"
    )
    print(
        "| tabs | probe p50 / p95 ms | tick p50 ms | server CPU % | idle tab: ws msgs sent /"
        " received a min | HTTP a min | client CPU % |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for row in result["rows"]:
        tabs = f"{row['idle']} idle" if not row["active"] else f"{row['active']} active"
        if row["servers"] > 1:
            tabs += f" ({row['servers']} servers)"
        probe = f"{fmt(row['probe_p50'])} / {fmt(row['probe_p95'])}"
        if row["probes_run"] < result["settings"]["probes"] or row["probe_timeouts"]:
            probe += f" ({row['probes_run']} probes, {row['probe_timeouts']} timed out)"
        cpu = " + ".join(fmt(c) for c in row["server_cpu_pct"])
        if row.get("postgresql_cpu_pct") is not None:
            cpu += f" (PostgreSQL {fmt(row['postgresql_cpu_pct'])})"
        traffic = row["idle_traffic"]
        ws = http = "—"
        if traffic:
            ws = f"{traffic['ws_sent_per_tab_min']:.1f} / {traffic['ws_received_per_tab_min']:.1f}"
            http = f"{traffic['http_per_tab_min']:.1f}"
        print(
            f"| {tabs} | {probe} | {fmt(row['tick_p50'])} | {cpu} | {ws} | {http} |"
            f" {fmt(row['client_cpu_pct'])} |"
        )
    browser = result.get("browser")
    if browser and "error" not in browser:
        print(
            f"| Chromium tab (recorded {browser['seconds_after_load']:.0f} s after load) | | | |"
            f" {browser['ws_sent_per_min']:.1f} / {browser['ws_received_per_min']:.1f} |"
            f" {browser['http_per_min']:.1f} | |"
        )
    for row in result["rows"]:
        if row["page_errors"] or row["client_errors"]:
            print(
                f"{row['idle']}/{row['active']}: page errors {row['page_errors']},"
                f" client {row['client_errors']}"
            )


if __name__ == "__main__":
    main()
