"""What a rerun of the feed costs outside main(): the work Streamlit does by executing
app.py again on every rerun, before the page is drawn.

Streamlit executes the main script anew on every rerun. This bench executes app.py's
compiled code as a rerun does (as `__main__`, under a Streamlit runtime) and stops it at
main()'s first statement (st.set_page_config, made to raise), so the time measured is
what every rerun pays outside main(): imports (cached after the first), and whatever
definitions the rerun executes again. It also times whole feed reruns through AppTest.

    .venv/bin/python bench/rerun_cost.py            # 200 executions, 20 feed reruns

Prints medians (CPU time per execution, in ms) and writes bench/results/rerun-cost-*.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from unittest import mock

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import streamlit as st  # noqa: E402
from common import RESULTS_DIR, app_version  # noqa: E402
from streamlit.testing.v1 import AppTest  # noqa: E402

import app  # noqa: E402, F401  (imported once, as `streamlit run` does on the first run)


class _MainStarted(Exception):
    """Raised by main()'s first statement: everything before it ran outside main()."""


def _main_started(*args: object, **kwargs: object) -> None:
    raise _MainStarted


def outside_main(runs: int) -> list[float]:
    """CPU ms of executing app.py as a rerun does, up to main()'s first statement."""
    code = compile((ROOT / "app.py").read_text(), str(ROOT / "app.py"), "exec")
    times = []
    with (
        mock.patch.object(st.runtime, "exists", return_value=True),
        mock.patch.object(st, "set_page_config", _main_started),
    ):
        for _ in range(runs):
            namespace = {"__name__": "__main__", "__file__": str(ROOT / "app.py")}
            start = time.process_time()
            try:
                exec(code, namespace)
            except _MainStarted:
                times.append((time.process_time() - start) * 1000)
            else:
                raise AssertionError("app.py did not call main()")
    return times


def feed_reruns(runs: int) -> list[float]:
    """Wall ms of whole feed reruns through AppTest (a script run, no websocket)."""
    with tempfile.TemporaryDirectory() as folder:
        os.environ["NOTES_DB"] = str(Path(folder) / "notes.db")
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            at.run()
            times.append((time.perf_counter() - start) * 1000)
        assert not at.exception
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--feed-runs", type=int, default=20)
    args = parser.parse_args()
    outside = outside_main(args.runs)
    feed = feed_reruns(args.feed_runs)
    result = {
        **app_version(),
        "outside_main_cpu_ms_median": statistics.median(outside[1:]),
        "outside_main_cpu_ms_p90": statistics.quantiles(outside[1:], n=10)[-1],
        "feed_rerun_wall_ms_median": statistics.median(feed),
    }
    print("| measure | median |\n|---|---:|")
    print(f"| a rerun outside main() (CPU) | {result['outside_main_cpu_ms_median']:.2f} ms |")
    print(f"| a whole feed rerun, AppTest (wall) | {result['feed_rerun_wall_ms_median']:.1f} ms |")
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    out = RESULTS_DIR / f"rerun-cost-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps(result, indent=2))
    print(f"written to {out}")


if __name__ == "__main__":
    main()
