"""Browser tests of Littlest Notes: a real `streamlit run` server and headless Chromium.

Each test module gets its own server on a free port with its own fresh database
file (NOTES_DB), so modules never see each other's notes. The tests drive the
pages as a person would and then read the SQLite file directly to check what
was stored. The PostgreSQL tests start their own servers (start_servers) on a
database of the session's throwaway PostgreSQL cluster (tests/conftest.py).

NOTES_APP (optional) points the server at another copy of app.py; the suite
uses it to prove that it fails against a deliberately broken app.

run_streamlit(..., secrets=...) runs a server with a .streamlit/secrets.toml (the
sign-in tests give it an [auth] section; see oidc.py).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from notes_e2e import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, REPO_ROOT, Server, StartServers
from playwright.sync_api import Browser, BrowserContext, Page, expect

INSTALL_HINT = "apt-get update && apt-get install -y chromium"
SERVER_START_TIMEOUT_S = 30.0

# Streamlit's first page load and a rerun after a click each take well under a
# second here; 15 s leaves room for a busy 2-core CI machine without hiding a hang.
expect.set_options(timeout=15_000)

ARTIFACTS.mkdir(parents=True, exist_ok=True)
for _old in ARTIFACTS.glob("failed-*.png"):  # keep only this run's failure screenshots
    _old.unlink()


###############################################################################
# Browser ######################################################################
###############################################################################


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    """Launch Debian's Chromium (Playwright cannot download its own browser here)."""
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing; the browser tests need it. Install it: {INSTALL_HINT}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message, pytrace=False)
        pytest.exit(message, returncode=1)
    return {
        **browser_type_launch_args,
        "executable_path": str(CHROMIUM),
        "args": CHROMIUM_ARGS,
    }


@pytest.fixture(scope="module")
def context(browser: Browser, browser_context_args: dict) -> Iterator[BrowserContext]:
    """One browser context for the module's `page`s (pytest-playwright makes one per test).

    Its pages share the HTTP cache, so only the module's first page load fetches and
    compiles Streamlit's scripts; each later first load in a test is about a second
    quicker. They share cookies too: a test that needs a browser of its own (a second
    person, a sign-in, another client address) makes a new context, as those do.
    """
    context = browser.new_context(**browser_context_args)
    yield context
    context.close()


@pytest.fixture
def page(context: BrowserContext) -> Iterator[Page]:
    """A new tab of the module's context, closed after the test (its session ends)."""
    page = context.new_page()
    yield page
    page.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """When a test that uses a page fails, save what it showed (artifacts/failed-*.png):
    `page` as failed-<test>.png, any other Page argument (alice, bob) as
    failed-<test>-<argument>.png."""
    report = yield
    if report.when == "call" and report.failed:
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", item.name)
        for argument, page in getattr(item, "funcargs", {}).items():
            if not isinstance(page, Page):
                continue
            suffix = "" if argument == "page" else f"-{argument}"
            with contextlib.suppress(Exception):  # the page may be gone; the error says why
                page.screenshot(path=ARTIFACTS / f"failed-{name}{suffix}.png")
    return report


###############################################################################
# Server #######################################################################
###############################################################################


def _free_port() -> int:
    """Return a TCP port that was free a moment ago (bind to port 0 and ask)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_healthy(base_url: str, process: subprocess.Popen, log_path: Path) -> None:
    """Poll /_stcore/health until it answers "ok"; fail with the log if it never does."""
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(
                f"streamlit exited with code {process.returncode} before it was healthy:\n"
                + log_path.read_text(errors="replace"),
                pytrace=False,
            )
        try:
            with urllib.request.urlopen(base_url + "/_stcore/health", timeout=2) as response:
                if response.read().decode().strip() == "ok":
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.1)  # polling a server that is starting, not waiting in a test
    pytest.fail(
        f"streamlit did not answer 'ok' on /_stcore/health within {SERVER_START_TIMEOUT_S:g} s:\n"
        + log_path.read_text(errors="replace"),
        pytrace=False,
    )


def _app_path() -> Path:
    """The app.py the servers run: NOTES_APP, else the repository's."""
    return Path(os.environ.get("NOTES_APP") or REPO_ROOT / "app.py").resolve()


@contextlib.contextmanager
def _working_folder(port: int, secrets: str | Callable[[str], str] | None) -> Iterator[Path]:
    """The server's working folder: the repository, or, given secrets, a temporary folder
    with .streamlit/secrets.toml and a copy of the repository's .streamlit/config.toml."""
    if secrets is None:
        yield REPO_ROOT
        return
    with tempfile.TemporaryDirectory(prefix="notes-cwd-") as folder:
        settings = Path(folder) / ".streamlit"
        settings.mkdir()
        shutil.copy(REPO_ROOT / ".streamlit" / "config.toml", settings / "config.toml")
        text = secrets(f"http://127.0.0.1:{port}") if callable(secrets) else secrets
        (settings / "secrets.toml").write_text(text)
        yield Path(folder)


@contextlib.contextmanager
def run_streamlit(
    log_path: Path,
    *,
    db_path: Path | None = None,
    database_url: str | None = None,
    secrets: str | Callable[[str], str] | None = None,
) -> Iterator[Server]:
    """Run `streamlit run app.py` on a free port until the block ends; yield it when healthy.

    The server uses the SQLite file db_path, or the PostgreSQL database at database_url
    (NOTES_DATABASE_URL, which the app prefers). Its output goes to log_path.

    secrets (optional) is the text of the server's .streamlit/secrets.toml, or a function
    that makes it from the server's base URL (http://127.0.0.1:PORT, for a redirect_uri).
    With it the server runs in a temporary folder holding that file and a copy of the
    repository's .streamlit/config.toml (Streamlit reads both from its working folder);
    without it, in the repository, as always.
    """
    if (db_path is None) == (database_url is None):
        raise ValueError("give the server one database: db_path or database_url")
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("NOTES_DATABASE_URL", None)  # the caller's shell must not choose the database
    if database_url is not None:
        env["NOTES_DATABASE_URL"] = database_url
        # Never the repository's notes.db, should the app ever fall back to a file.
        env["NOTES_DB"] = str(log_path.with_suffix(".unused.db"))
    else:
        env["NOTES_DB"] = str(db_path)
    port = _free_port()
    command = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(_app_path()),
        "--server.headless",
        "true",
        "--server.port",
        str(port),
        "--browser.gatherUsageStats",
        "false",
        # The tests never edit the app. Watching would mean an inotify watch on every
        # folder of the repository (.venv included) per server, a warning the size of
        # that list in the log, and a "File change" banner whenever someone saves a file.
        "--server.fileWatcherType",
        "none",
    ]
    with log_path.open("w") as log, _working_folder(port, secrets) as cwd:
        process = subprocess.Popen(
            command,
            cwd=cwd,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        try:
            base_url = f"http://127.0.0.1:{port}"
            _wait_healthy(base_url, process, log_path)
            yield Server(
                base_url=base_url, db_path=db_path, log_path=log_path, database_url=database_url
            )
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


@pytest.fixture(scope="module")
def server_secrets() -> str | Callable[[str], str] | None:
    """The secrets.toml of the module's server (run_streamlit's secrets): none, unless
    the test module overrides this fixture (the sign-in tests give it an [auth] section)."""
    return None


@pytest.fixture(scope="module")
def server(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    server_secrets: str | Callable[[str], str] | None,
) -> Iterator[Server]:
    """Run `streamlit run app.py` for this test module on a free port with a fresh database
    (and the module's server_secrets, if it has any)."""
    db_path = tmp_path_factory.mktemp("notes-db") / "notes.db"
    log_path = ARTIFACTS / f"server-{request.module.__name__.rsplit('.', 1)[-1]}.log"
    with run_streamlit(log_path, db_path=db_path, secrets=server_secrets) as running:
        yield running


@pytest.fixture
def start_servers(request: pytest.FixtureRequest) -> Iterator[StartServers]:
    """A factory: start_servers(database_url, count=1) starts that many `streamlit run`
    servers on one PostgreSQL database and returns them; all stop when the test ends.

    Each writes artifacts/server-<test>-<letter>.log (a, b, ... in the order started).
    """
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
    letters = iter("abcdefghijklmnopqrstuvwxyz")
    with contextlib.ExitStack() as running:

        def start(database_url: str, count: int = 1) -> list[Server]:
            return [
                running.enter_context(
                    run_streamlit(
                        ARTIFACTS / f"server-{name}-{next(letters)}.log",
                        database_url=database_url,
                    )
                )
                for _ in range(count)
            ]

        yield start
