"""The web addresses that `streamlit run app.py` serves beside its pages (issue 21), over HTTP,
at 100 and at 1,000,000 notes.

For each size this starts `streamlit run app.py` on its own port with NOTES_DB set to the
cached bench/.data/notes-N.db (seeded if missing, see common.prepare_db), waits for
/_stcore/health, and measures with httpx from this machine (127.0.0.1 is not rate-limited):

1. **addresses**: GET /feed.atom, /feed.atom?tag=python, /api/notes,
   /api/notes?limit=100&before=<N/2>, /api/notes?q=coffee, /api/notes/<N/2> and /healthz,
   and the feed's revalidation (If-None-Match with its ETag: a 304). Each address is warmed
   up, then timed `--requests` times per size, the sizes alternating request by request
   so that load on this shared machine hits both alike: median and p95 of the time from
   sending the request to the body's last byte, and the ratio largest / smallest size.
2. **export** (largest size): /export.csv and /export.json of every note streamed to
   /dev/null: total time, time to the first byte, notes/s and MB/s, the server's CPU time,
   and its resident memory (VmRSS of the streamlit process, read from /proc every 0.1 s):
   base, peak rise during the download, and after. The server first streams the exports
   of one author (a few thousand notes) in both formats, so that the first measured
   download does not pay for imports and caches.
3. **disconnect** (largest size): GET /export.csv, read --disconnect-mb (1 MB), close the
   connection; then the server's CPU time (utime + stime, /proc/<pid>/stat) every 0.25 s
   for --watch (10 s): when did it fall back to idle (under 5 % of a core over 0.5 s, and
   stay there)? Then two new exports must both start (200, not 503: the turns were given
   back); while they stream, a third must be refused (503, EXPORTS_AT_ONCE is 2). Done
   with gzip (as a browser asks) and then identity. Those two are closed half-read too,
   so before 4, an export of no note is tried once a second until it is let in: how long
   the turns of dropped downloads stay taken.
4. **two at once**: two exports read to the end side by side, same figures as 2.

Requests go to http://[::1]:P, not 127.0.0.1: Streamlit listens on the dual-stack "::",
so a client of 127.0.0.1 arrives as ::ffff:127.0.0.1, which app.py rate-limits (see
Server). "new" rows send `Connection: close` (a connection per request); "keep-alive"
rows reuse one, where Streamlit's server (no TCP_NODELAY) often adds ~40 ms.

The server's log is scanned for tracebacks. Targets are reported, never asserted: the
ratio of each address <= 1.25, an export's RSS rise < 50 MB, idle within 5 s of a
disconnect. Run: python bench/bench_routes.py [--sizes 100 1000000] [--requests 30].
Results: bench/results/routes-<timestamp>.json (and the servers' logs beside it).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from contextlib import ExitStack, suppress
from pathlib import Path
from typing import ClassVar

import httpx
from common import APP_DIR, RESULTS_DIR, app_version, percentile, prepare_db, server_cpu_s

SIZES = [100, 1_000_000]
REQUESTS = 30
WARMUP = 5
RATIO_TARGET = 1.25
RSS_TARGET_MB = 50
IDLE_TARGET_S = 5.0
IDLE_SHARE = 0.05  # of one core: "idle"
IDLE_WINDOW_S = 0.5
MB = 2**20
MODES = ("new", "keep-alive")  # a connection per request, or one kept (see time_addresses)


def free_port() -> int:
    """Return a TCP port that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def proc_status_kb(pid: int, field: str) -> int:
    """A field of /proc/<pid>/status in kB (VmRSS, VmHWM)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def machine_busy_s() -> float:
    """CPU seconds all cores of this machine spent busy so far (/proc/stat)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    idle = fields[3] + fields[4]  # idle, iowait
    return (sum(fields) - idle) / os.sysconf("SC_CLK_TCK")


def loadavg() -> str:
    return Path("/proc/loadavg").read_text().strip()


class Server:
    """`streamlit run app.py` on a free port over one database, stopped on exit."""

    def __init__(self, n: int, db: Path, log: Path) -> None:
        self.n = n
        self.port = free_port()
        # Requests go to [::1]: Streamlit listens on the dual-stack "::", where a client of
        # 127.0.0.1 shows as ::ffff:127.0.0.1, which app.py does not take for this machine's
        # own (it rate-limits it, and with it every IPv4 client: they all fall in ::/64).
        self.base = f"http://[::1]:{self.port}"
        self.health = f"http://127.0.0.1:{self.port}/_stcore/health"
        self.log = log
        cmd = [sys.executable, "-m", "streamlit", "run", "app.py"]
        cmd += ["--server.headless", "true", "--server.port", str(self.port)]
        cmd += ["--browser.gatherUsageStats", "false"]
        env = {**os.environ, "NOTES_DB": str(db)}
        env.pop("NOTES_DATABASE_URL", None)  # it would win over NOTES_DB
        with log.open("w") as out:
            self.proc = subprocess.Popen(cmd, cwd=APP_DIR, env=env, stdout=out, stderr=out)
        self.pid = self.proc.pid

    def wait_healthy(self, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"streamlit exited early:\n{self.log.read_text()}")
            with (
                suppress(OSError),
                urllib.request.urlopen(self.health, timeout=2) as response,
            ):
                if response.read().decode().strip() == "ok":
                    return
            time.sleep(0.1)
        raise SystemExit(f"streamlit not healthy after {timeout:g} s:\n{self.log.read_text()}")

    def check_process(self) -> dict:
        """Is pid the server itself (not a launcher), and does it have children?"""
        cmdline = Path(f"/proc/{self.pid}/cmdline").read_bytes().split(b"\0")
        children = [
            proc
            for proc in os.listdir("/proc")
            if proc.isdigit() and Path(f"/proc/{proc}/stat").exists() and _ppid(proc) == self.pid
        ]
        tables = Path("/proc/net/tcp").read_text() + Path("/proc/net/tcp6").read_text()
        listening = f":{self.port:04X} " in tables
        return {
            "pid": self.pid,
            "cmdline": b" ".join(cmdline).decode(errors="replace").strip(),
            "children": children,
            "port_listening": listening,
            "threads": proc_status_kb(self.pid, "Threads"),
        }

    def rss_mb(self) -> float:
        return proc_status_kb(self.pid, "VmRSS") / 1024

    def hwm_mb(self) -> float:
        return proc_status_kb(self.pid, "VmHWM") / 1024

    def cpu_s(self) -> float:
        return server_cpu_s(self.pid)

    def log_problems(self) -> dict:
        text = self.log.read_text(errors="replace")
        lines = text.splitlines()
        return {
            "tracebacks": text.count("Traceback (most recent call last)"),
            "error_lines": [line for line in lines if re.search(r"\bERROR\b|Exception", line)][:20],
        }

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def _ppid(proc: str) -> int | None:
    with suppress(OSError, ValueError, IndexError):
        text = Path(f"/proc/{proc}/stat").read_text()
        return int(text[text.rindex(")") + 2 :].split()[1])
    return None


# 1. addresses --------------------------------------------------------------------------


def addresses(n: int) -> dict[str, str]:
    """The timed addresses at size n (the middle note: n // 2)."""
    middle = n // 2
    return {
        "/feed.atom": "/feed.atom",
        "/feed.atom?tag=python": "/feed.atom?tag=python",
        "/feed.atom, 304 (If-None-Match)": "/feed.atom",
        "/api/notes": "/api/notes",
        "/api/notes?limit=100&before=N/2": f"/api/notes?limit=100&before={middle}",
        "/api/notes?q=coffee": "/api/notes?q=coffee",
        "/api/notes/N/2": f"/api/notes/{middle}",
        "/healthz": "/healthz",
    }


def items(response: httpx.Response) -> int | None:
    """How many notes a response holds (Atom entries, a page's notes, 1 note)."""
    kind = response.headers.get("content-type", "")
    if response.status_code != 200:
        return None
    if "atom" in kind:
        return response.content.count(b"<entry>")
    if "json" in kind:
        data = response.json()
        return len(data["notes"]) if "notes" in data else 1
    return None


def time_addresses(servers: dict[int, Server], requests: int, warmup: int) -> dict:
    """Median and p95 ms of each address at each size and in both connection modes, the
    sizes alternating request by request.

    "new": each request on a new connection (`Connection: close`), the app's own time;
    "keep-alive": requests on one kept connection, as a browser or feed reader sends them.
    Streamlit's server does not set TCP_NODELAY on its connections, so on a kept connection
    a response's body waits for the client's delayed ACK of its headers (~40 ms here)."""
    clients = {n: httpx.Client(base_url=s.base, timeout=60) for n, s in servers.items()}
    etags = {n: client.get("/feed.atom").headers["etag"] for n, client in clients.items()}
    out: dict = {}

    def get(n: int, url: str, label: str, mode: str) -> httpx.Response:
        headers = {"If-None-Match": etags[n]} if "304" in label else {}
        if mode == "new":
            headers["Connection"] = "close"
        return clients[n].get(url, headers=headers)

    try:
        for label in addresses(1):
            out[label] = {}
            for mode in MODES:
                per: dict[int, dict] = {}
                for n in clients:
                    url = addresses(n)[label]
                    first = get(n, url, label, mode)
                    per[n] = {
                        "url": url,
                        "status": first.status_code,
                        "bytes": len(first.content),
                        "encoding": first.headers.get("content-encoding"),
                        "notes": items(first),
                        "ms": [],
                        "unexpected": [],
                    }
                    for _ in range(warmup - 1):
                        get(n, url, label, mode)
                order = list(clients)
                expected = 304 if "304" in label else 200
                for i in range(requests):
                    for n in order if i % 2 == 0 else order[::-1]:
                        started = time.perf_counter()
                        response = get(n, per[n]["url"], label, mode)
                        _ = response.content
                        per[n]["ms"].append((time.perf_counter() - started) * 1000)
                        if response.status_code != expected:
                            per[n]["unexpected"].append(response.status_code)
                for r in per.values():
                    r["median_ms"] = statistics.median(r["ms"])
                    r["p95_ms"] = percentile(r["ms"], 95)
                low, high = min(per), max(per)
                out[label][mode] = {
                    "sizes": {str(n): r for n, r in per.items()},
                    "ratio": per[high]["median_ms"] / per[low]["median_ms"],
                }
                print(
                    f"  {label} ({mode}): "
                    + ", ".join(f"{n:,}: {r['median_ms']:.1f} ms" for n, r in per.items())
                    + f" ({out[label][mode]['ratio']:.2f}x)",
                    flush=True,
                )
    finally:
        for client in clients.values():
            client.close()
    return out


# 2-4. exports ---------------------------------------------------------------------------


class Sampler:
    """VmRSS of the server every `step` s, in a thread, until stopped."""

    def __init__(self, server: Server, step: float = 0.1) -> None:
        self.server, self.step = server, step
        self.samples: list[tuple[float, float]] = []
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        started = time.perf_counter()
        while not self.stop_event.is_set():
            self.samples.append((time.perf_counter() - started, self.server.rss_mb()))
            self.stop_event.wait(self.step)

    def __enter__(self) -> Sampler:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop_event.set()
        self.thread.join()

    def peak(self) -> float:
        return max(rss for _, rss in self.samples)


class Counter:
    """Counts the notes in a streamed export (csv: lines that start with a number; json:
    objects; md: headings), across chunk boundaries."""

    MARKS: ClassVar[dict[str, bytes]] = {"json": b'{"number":', "md": b"\n## Note "}

    def __init__(self, fmt: str) -> None:
        self.fmt, self.count, self.rest = fmt, 0, b""

    def feed(self, chunk: bytes) -> None:
        data = self.rest + chunk
        if self.fmt == "csv":
            end = data.rfind(b"\n") + 1
            self.count += len(re.findall(rb"(?m)^[0-9]+,", data[:end]))
            self.rest = data[end:]
        else:
            mark = self.MARKS[self.fmt]
            self.count += data.count(mark)
            self.rest = data[-(len(mark) - 1) :]


def stream(base: str, path: str, fmt: str, encoding: str, result: dict, started_event=None) -> None:
    """GET base+path with Accept-Encoding: encoding (gzip as a browser, identity as curl),
    the decoded file to /dev/null; fill result (status, bytes, notes, times)."""
    counter, size = Counter(fmt), 0
    started = time.perf_counter()
    headers = {"Accept-Encoding": encoding}
    with (
        httpx.Client(base_url=base, timeout=httpx.Timeout(120)) as client,
        open(os.devnull, "wb") as sink,
        client.stream("GET", path, headers=headers) as response,
    ):
        result["status"] = response.status_code
        result["content_encoding"] = response.headers.get("content-encoding", "identity")
        result["first_byte_s"] = time.perf_counter() - started
        if started_event is not None:
            started_event.set()
        for chunk in response.iter_bytes():
            sink.write(chunk)
            counter.feed(chunk)
            size += len(chunk)
        wire = response.num_bytes_downloaded
    result.update(
        total_s=time.perf_counter() - started,
        bytes=size,
        mb=size / MB,
        wire_mb=wire / MB,
        notes=counter.count,
    )
    result["notes_per_s"] = counter.count / result["total_s"]
    result["mb_per_s"] = result["mb"] / result["total_s"]


def wait_idle(server: Server, timeout: float = 30.0) -> float:
    """Wait until the server used < IDLE_SHARE of a core over 1 s; return the wait."""
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        before = server.cpu_s()
        time.sleep(1.0)
        if server.cpu_s() - before < IDLE_SHARE:
            break
    return time.perf_counter() - started


def measure_exports(server: Server, paths: list[tuple[str, str, str]]) -> dict:
    """Stream each (fmt, path, encoding) at once (one or more side by side); the server's
    memory and CPU meanwhile."""
    wait_idle(server)
    base_rss, hwm_before = server.rss_mb(), server.hwm_mb()
    cpu_before, busy_before, started = server.cpu_s(), machine_busy_s(), time.perf_counter()
    results = [{"format": fmt, "path": path} for fmt, path, _ in paths]
    with Sampler(server) as sampler:
        threads = [
            threading.Thread(target=stream, args=(server.base, path, fmt, encoding, result))
            for (fmt, path, encoding), result in zip(paths, results, strict=True)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    wall = time.perf_counter() - started
    time.sleep(2)  # what stays once the downloads ended
    return {
        "downloads": results,
        "wall_s": wall,
        "server_cpu_s": server.cpu_s() - cpu_before,
        "machine_busy_pct": 100 * (machine_busy_s() - busy_before) / wall,
        "rss_base_mb": base_rss,
        "rss_peak_mb": sampler.peak(),
        "rss_peak_rise_mb": sampler.peak() - base_rss,
        "rss_after_2s_mb": server.rss_mb(),
        "hwm_before_mb": hwm_before,
        "hwm_after_mb": server.hwm_mb(),
        "rss_samples": [(round(t, 2), round(rss, 1)) for t, rss in sampler.samples],
        "loadavg": loadavg(),
    }


def disconnect(server: Server, path: str, encoding: str, read_mb: float, watch: float) -> dict:
    """Read read_mb of path (as sent: compressed with gzip), close the connection, then
    watch the server's CPU."""
    idle_wait = wait_idle(server)
    cpu_start = server.cpu_s()
    got = 0
    started = time.perf_counter()
    client = httpx.Client(base_url=server.base, timeout=httpx.Timeout(120))
    with client.stream("GET", path, headers={"Accept-Encoding": encoding}) as response:
        status = response.status_code
        for chunk in response.iter_raw():
            got += len(chunk)
            if got >= read_mb * MB:
                break
    client.close()  # the unread response closed the connection; the pool goes too
    closed = time.perf_counter()
    cpu_closed, busy_closed = server.cpu_s(), machine_busy_s()
    samples = [(0.0, 0.0)]  # (s after close, server CPU s since close)
    step = 0.25
    while (now := time.perf_counter() - closed) < watch:
        time.sleep(step - (now % step))
        samples.append((time.perf_counter() - closed, server.cpu_s() - cpu_closed))
    busy = machine_busy_s() - busy_closed
    # Windows of IDLE_WINDOW_S: the end of the first one under IDLE_SHARE of a core after
    # which every window stays under it.
    span = round(IDLE_WINDOW_S / step)
    windows = []  # (end, share of a core)
    for i in range(span, len(samples)):
        (t0, c0), (t1, c1) = samples[i - span], samples[i]
        windows.append((t1, (c1 - c0) / (t1 - t0)))
    idle_at = None
    for i, (t, share) in enumerate(windows):
        if share < IDLE_SHARE and all(s < IDLE_SHARE for _, s in windows[i:]):
            idle_at = t
            break
    first_idle = next((t for t, share in windows if share < IDLE_SHARE), None)
    per_second = [
        round(
            next(c for t, c in samples if t >= s + 1 - 0.01)
            - next(c for t, c in samples if t >= s - 0.01),
            3,
        )
        for s in range(int(watch) - 1)
    ]
    return {
        "status": status,
        "encoding": encoding,
        "read_mb": got / MB,
        "read_s": closed - started,
        "cpu_while_reading_s": cpu_closed - cpu_start,
        "idle_wait_before_s": idle_wait,
        "idle_after_s": idle_at,
        "first_idle_window_after_s": first_idle,
        "cpu_in_watch_s": samples[-1][1],
        "cpu_per_second": per_second,
        "machine_busy_pct": 100 * busy / watch,
        "samples": [(round(t, 2), round(c, 3)) for t, c in samples],
        "loadavg": loadavg(),
    }


def quick_turns(server: Server, path: str, encoding: str) -> dict:
    """Right away (no wait): open two exports, then a third while both are open (expected:
    200, 200, then 503); close all three."""
    headers = {"Accept-Encoding": encoding}
    statuses, kept = [], []
    with ExitStack() as stack:
        for _ in range(3):
            client = stack.enter_context(httpx.Client(base_url=server.base, timeout=60))
            response = stack.enter_context(client.stream("GET", path, headers=headers))
            statuses.append(response.status_code)
            if response.status_code == 200:
                # Its first bytes (the export runs). The iterator is kept: one dropped
                # half-read closes its connection, which would give its turn back.
                kept.append(chunks := response.iter_raw())
                next(chunks, None)
    return {"statuses": statuses, "expected": [200, 200, 503], "ok": statuses == [200, 200, 503]}


def wait_turns(server: Server, timeout: float = 120.0) -> dict:
    """Until an export of no note (a tag none has) is let in, one try a second: how long."""
    started, tries = time.perf_counter(), []
    while time.perf_counter() - started < timeout:
        status = httpx.get(server.base + "/export.csv?tag=nosuchtagxyz", timeout=60).status_code
        tries.append(status)
        if status == 200:
            break
        time.sleep(1)
    return {"waited_s": time.perf_counter() - started, "statuses": tries}


def two_at_once(server: Server, path: str, encoding: str) -> tuple[dict, dict]:
    """Start two exports; while both stream, a third (expected 503). Read the two to the end
    (the two-at-once figures), and return both."""
    wait_idle(server)
    base_rss, hwm_before = server.rss_mb(), server.hwm_mb()
    cpu_before, busy_before = server.cpu_s(), machine_busy_s()
    results = [{"format": "csv", "path": path} for _ in range(2)]
    events = [threading.Event() for _ in range(2)]
    started = time.perf_counter()
    with Sampler(server) as sampler:
        threads = [
            threading.Thread(target=stream, args=(server.base, path, "csv", encoding, r, e))
            for r, e in zip(results, events, strict=True)
        ]
        for thread in threads:
            thread.start()
        for event in events:
            event.wait(60)
        with (
            httpx.Client(base_url=server.base, timeout=60) as client,
            client.stream("GET", path, headers={"Accept-Encoding": encoding}) as third,
        ):
            check = {  # the third is closed unread (a 503 is a few bytes)
                "two_new_statuses": [r.get("status") for r in results],
                "third_status": third.status_code,
            }
        for thread in threads:
            thread.join()
    wall = time.perf_counter() - started
    time.sleep(2)
    both = {
        "downloads": results,
        "wall_s": wall,
        "server_cpu_s": server.cpu_s() - cpu_before,
        "machine_busy_pct": 100 * (machine_busy_s() - busy_before) / wall,
        "rss_base_mb": base_rss,
        "rss_peak_mb": sampler.peak(),
        "rss_peak_rise_mb": sampler.peak() - base_rss,
        "rss_after_2s_mb": server.rss_mb(),
        "hwm_before_mb": hwm_before,
        "hwm_after_mb": server.hwm_mb(),
        "rss_samples": [(round(t, 2), round(rss, 1)) for t, rss in sampler.samples],
        "loadavg": loadavg(),
    }
    return check, both


# report --------------------------------------------------------------------------------


def print_tables(results: dict) -> None:
    sizes = results["sizes"]
    low, high = sizes[0], sizes[-1]
    print(f"\n### Addresses (median / p95 ms of {results['requests']} requests)\n")
    print(
        f"| address | {low:,} notes | {high:,} notes | ratio | keep-alive {low:,} |"
        f" keep-alive {high:,} | ratio | notes returned |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for label, modes in results["addresses"].items():
        cells = []
        for mode in MODES:
            r = modes[mode]
            a, b = r["sizes"][str(low)], r["sizes"][str(high)]
            flag = "" if r["ratio"] <= RATIO_TARGET else " (> 1.25)"
            cells += [
                f"{a['median_ms']:.1f} / {a['p95_ms']:.1f}",
                f"{b['median_ms']:.1f} / {b['p95_ms']:.1f}",
                f"{r['ratio']:.2f}x{flag}",
            ]
        a, b = modes["new"]["sizes"][str(low)], modes["new"]["sizes"][str(high)]
        notes = f"{'-' if a['notes'] is None else a['notes']} / "
        notes += f"{'-' if b['notes'] is None else b['notes']}"
        bad = [x for m in MODES for r in modes[m]["sizes"].values() for x in r["unexpected"]]
        notes += f" (unexpected statuses: {sorted(set(bad))})" if bad else ""
        print(f"| `{label}` | {' | '.join(cells)} | {notes} |")

    def export_rows(title: str, runs: list[dict]) -> None:
        print(f"\n### {title}\n")
        print(
            "| download | encoding | notes | MB (on the wire) | total s | first byte s | notes/s |"
            " MB/s | server CPU s | RSS base MB | peak rise MB | after MB |"
        )
        print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for run in runs:
            for d in run["downloads"]:
                print(
                    f"| `{d['path']}` ({d['status']}) | {d['content_encoding']} | {d['notes']:,} |"
                    f" {d['mb']:.1f} ({d['wire_mb']:.1f}) | {d['total_s']:.1f} |"
                    f" {d['first_byte_s']:.2f} | {d['notes_per_s']:,.0f} | {d['mb_per_s']:.1f} |"
                    f" {run['server_cpu_s']:.1f} | {run['rss_base_mb']:.0f} |"
                    f" {run['rss_peak_rise_mb']:.1f} | {run['rss_after_2s_mb']:.0f} |"
                )

    if results.get("export"):
        export_rows(f"Export of all {high:,} notes, one at a time", results["export"])
    if results.get("disconnect"):
        print("\n### Disconnect: read, then close the connection\n")
        print(
            "| download | read MB | idle (< 5 % of a core over 0.5 s) after |"
            " server CPU s in the watch | per second | then 3 exports (200, 200, 503?) |"
        )
        print("|---|---:|---:|---:|---|---|")
        for d in results["disconnect"]:
            idle = "never" if d["idle_after_s"] is None else f"{d['idle_after_s']:.2f} s"
            seconds = " ".join(f"{c:.2f}" for c in d["cpu_per_second"])
            print(
                f"| `/export.csv` ({d['status']}, {d['encoding']}) | {d['read_mb']:.1f} |"
                f" {idle} | {d['cpu_in_watch_s']:.2f} | {seconds} |"
                f" {d['turns_right_after']['statuses']} |"
            )
    if c := results.get("turns"):
        print(
            f"\nTwo exports at once: {c['two_new_statuses']}, a third while they"
            f" stream {c['third_status']}."
        )
    if results.get("two_at_once"):
        export_rows("Two exports at once (the same CSV)", [results["two_at_once"]])
    for n, problems in results["server_logs"].items():
        if problems["tracebacks"] or problems["error_lines"]:
            print(f"\nserver {n}: {problems['tracebacks']} tracebacks; {problems['error_lines']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=SIZES, help="note counts")
    parser.add_argument("--requests", type=int, default=REQUESTS, help="timed per address")
    parser.add_argument("--warmup", type=int, default=WARMUP, help="untimed per address")
    formats = ["csv", "json", "md"]
    parser.add_argument("--formats", nargs="+", default=formats[:2], choices=formats)
    parser.add_argument("--disconnect-mb", type=float, default=1.0)
    parser.add_argument("--watch", type=float, default=10.0, help="s of CPU watch after it")
    parser.add_argument("--no-exports", action="store_true", help="addresses only")
    parser.add_argument("--no-two", action="store_true", help="skip the two exports at once")
    args = parser.parse_args()
    sizes = sorted(set(args.sizes))
    stamp = time.strftime("%Y%m%d-%H%M%S")
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    results: dict = {
        "app": app_version(),
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "sizes": sizes,
        "requests": args.requests,
        "warmup": args.warmup,
        "loadavg_start": loadavg(),
        "cpus": os.cpu_count(),
    }
    with ExitStack() as stack:
        servers: dict[int, Server] = {}
        for n in sizes:
            db = prepare_db(n)
            server = Server(n, db, RESULTS_DIR / f"routes-{stamp}-streamlit-{n}.log")
            stack.callback(server.stop)
            servers[n] = server
        for server in servers.values():
            server.wait_healthy()
        results["servers"] = {str(n): s.check_process() for n, s in servers.items()}
        print(f"servers: {results['servers']}", flush=True)
        print("addresses...", flush=True)
        results["addresses"] = time_addresses(servers, args.requests, args.warmup)
        results["loadavg_after_addresses"] = loadavg()
        if not args.no_exports:
            big = servers[sizes[-1]]
            author = httpx.get(big.base + "/api/notes?limit=1", timeout=60).json()["notes"][0]
            by = urllib.parse.quote(author["author"])
            warm = [(f, f"/export.{f}?author={by}", "gzip") for f in args.formats]
            results["warmup_exports"] = [measure_exports(big, [w]) for w in warm]
            for run in results["warmup_exports"]:
                run.pop("rss_samples")
            runs = [(f, f"/export.{f}", "gzip") for f in args.formats]
            runs += [("csv", "/export.csv", "identity")]
            results["export"] = []
            for run in runs:
                print(f"export {run}...", flush=True)
                results["export"].append(measure_exports(big, [run]))
            results["disconnect"] = []
            for encoding in ("gzip", "identity"):
                print(f"disconnect ({encoding})...", flush=True)
                run = disconnect(big, "/export.csv", encoding, args.disconnect_mb, args.watch)
                run["turns_right_after"] = quick_turns(big, "/export.csv", encoding)
                results["disconnect"].append(run)
            results["turns_free"] = wait_turns(big)
            print(f"turns free: {results['turns_free']}", flush=True)
            if not args.no_two:
                print("two exports at once...", flush=True)
                check, both = two_at_once(big, "/export.csv", "gzip")
                results["turns"] = check
                results["two_at_once"] = both
        results["server_rss_mb"] = {str(n): s.rss_mb() for n, s in servers.items()}
        results["server_hwm_mb"] = {str(n): s.hwm_mb() for n, s in servers.items()}
        results["server_logs"] = {str(n): s.log_problems() for n, s in servers.items()}
    results["loadavg_end"] = loadavg()
    print_tables(results)
    print(f"\nload average: start {results['loadavg_start']}, end {results['loadavg_end']}")
    out = RESULTS_DIR / f"routes-{stamp}.json"
    out.write_text(json.dumps(results, indent=1))
    print(f"wrote {out.relative_to(APP_DIR)}")


if __name__ == "__main__":
    main()
