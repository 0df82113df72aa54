"""Real-browser fixtures: a Streamlit server on the demo database, and Debian's Chromium
driven by Playwright. Skipped locally when Chromium is missing; under CI=true they fail.

One server per test run, shared by the pytest-xdist workers and warmed up before the first
test: the first session on a fresh server runs in Streamlit's legacy pages-directory mode and
pays for the causal estimates (~15 s), so no single test carries that.
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from urllib.parse import urlencode

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = ROOT / "tests" / "artifacts"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
DESKTOP = {"width": 1440, "height": 900}
LAPTOP = {"width": 1280, "height": 720}
# Hang guards, not speed checks: a screenshot or a rerun took more than 30 s at load 20 on a
# 2-core CI box (test_screenshots, fresh-clone run of d2a3701), so nothing here waits less.
HANG_MS = 120_000
FIRST_LOAD_MS = (
    180_000  # the first Story view computes every innovation's estimate (slow on a busy CI box)
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive lock between the pytest-xdist workers of one run."""
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@pytest.fixture(scope="session")
def shared_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory all xdist workers of this run share (the run's own base temp dir)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@pytest.fixture(scope="session")
def demo_db_url(shared_dir: Path) -> str:
    """The demo account in a SQLite file, built once per run (workers share it, read-only)."""
    from data_loaders.db import make_engine, migrate
    from data_loaders.demo import load_demo

    path = shared_dir / "browser-demo.sqlite"
    url = f"sqlite:///{path}"
    prebuilt = os.environ.get("TNN_BROWSER_DEMO_DB")
    with _locked(shared_dir / "browser-demo.lock"):
        if not path.exists() and prebuilt:
            # a demo database built earlier, estimates stored (a quicker run on a busy box;
            # the server migrates it at start)
            with sqlite3.connect(prebuilt) as src, sqlite3.connect(path) as dst:
                src.backup(dst)  # with what its write-ahead log holds (a plain copy loses it)
        if not path.exists():
            eng = make_engine(url)
            migrate(eng)
            load_demo(eng)
            eng.dispose()
    return url


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import expect

    expect.set_options(timeout=HANG_MS)  # a rerun on a busy CI box can take more than 5 s
    if not Path(CHROMIUM).exists():
        if IN_CI:
            pytest.fail(f"CI=true but {CHROMIUM} is missing (apt-get install chromium)")
        pytest.skip("Chromium not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


def spawn_server(db_url: str, log_name: str = "browser-server.log") -> tuple[int, str]:
    """`streamlit run app.py` on a free port, answering its health check, nobody visited yet.
    Returns (pid, base URL); stop it with ``_stop(pid)``."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": db_url, "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false"}
    with open(ARTIFACTS / log_name, "w") as log:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "streamlit",
                "run",
                "app.py",
                "--server.headless",
                "true",
                "--server.port",
                str(port),
                "--server.address",
                "127.0.0.1",
                "--server.fileWatcherType",
                "none",
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{base}/_stcore/health", "Streamlit")
    except BaseException:
        _stop(proc.pid)
        raise
    return proc.pid, base


def _start_server(db_url: str, browser) -> tuple[int, str]:
    """A server (``spawn_server``) warmed up with one Story view: the first session runs in
    Streamlit's legacy pages-directory mode and pays for the causal estimates, so no test
    carries that. Returns (pid, base URL)."""
    pid, base = spawn_server(db_url)
    try:
        ctx = browser.new_context(viewport=DESKTOP)
        warm = ctx.new_page()
        open_app(warm, base, timeout=FIRST_LOAD_MS)
        warm.get_by_test_id("stMetric").first.wait_for(timeout=FIRST_LOAD_MS)
        ctx.close()
    except BaseException:
        _stop(pid)
        raise
    return pid, base


def wait_http(url: str, what: str, seconds: float = 300) -> None:
    """Wait until ``url`` answers 200: a hang guard (generous, a busy CI box starts slowly)."""
    deadline = time.time() + seconds
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            if time.time() > deadline:
                raise RuntimeError(f"{what} did not start within {seconds:.0f} s") from None
            time.sleep(0.3)


def _stop(pid: int) -> None:
    """Stop the server this run started (by its pid) and wait for it to go."""
    with suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.time() + 10
    while time.time() < deadline:
        with suppress(ChildProcessError):
            if os.waitpid(pid, os.WNOHANG)[0]:
                return  # our child, reaped
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.2)
    with suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


@pytest.fixture(scope="session")
def app_url(demo_db_url: str, shared_dir: Path, browser) -> Iterator[str]:
    """The Streamlit server of this run. Under pytest-xdist the workers share one server
    (started by the first worker that needs it, stopped by the last one to finish), so the
    warm-up is paid once."""
    lock, state = shared_dir / "browser-server.lock", shared_dir / "browser-server.json"
    with _locked(lock):
        if state.exists():
            info = json.loads(state.read_text())
        else:
            pid, base = _start_server(demo_db_url, browser)
            info = {"pid": pid, "base": base, "users": 0}
        info["users"] += 1
        state.write_text(json.dumps(info))
    try:
        yield str(info["base"])
    finally:
        with _locked(lock):
            info = json.loads(state.read_text())
            info["users"] -= 1
            if info["users"] <= 0:
                _stop(int(info["pid"]))
                state.unlink()
            else:
                state.write_text(json.dumps(info))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):
    """Keep each phase's report on the item, so the ``page`` fixture knows the test failed."""
    outcome = yield
    setattr(item, f"rep_{call.when}", outcome.get_result())


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """A failure that pytest-rerunfailures then retried leaves only its name in the summary:
    keep its traceback in ``tests/artifacts/reruns.txt`` (CI keeps the artifacts)."""
    if report.outcome == "rerun":  # seen by the worker that ran the test (xdist or not)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        with open(ARTIFACTS / "reruns.txt", "a") as fh:
            fh.write(
                f"{time.strftime('%H:%M:%S')} RERUN {report.nodeid}\n{report.longreprtext}\n\n"
            )


@pytest.fixture
def page(browser, app_url, request):
    """A fresh browser context (desktop 1440×900) with downloads enabled. When the test fails,
    what the browser showed is saved as ``tests/artifacts/failed-<test>.png``."""
    ctx = browser.new_context(viewport=DESKTOP, accept_downloads=True)
    pg = ctx.new_page()
    pg.set_default_timeout(HANG_MS)
    yield pg
    rep = getattr(request.node, "rep_call", None)
    if rep is not None and rep.failed:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        name = "".join(c if c.isalnum() or c in "-_" else "-" for c in request.node.name)
        with suppress(Exception):  # a page that crashed cannot be captured: keep the report
            pg.screenshot(path=str(ARTIFACTS / f"failed-{name}.png"), full_page=True)
    ctx.close()


def wait_for_app(pg, timeout: int = HANG_MS) -> None:
    """Streamlit is done when it is connected, its script is not running and no element is
    stale — twice in a row, 300 ms apart (a run can trigger another: switch_page, the URL
    mirror, a selection event)."""
    done = (
        "() => { const app = document.querySelector('[data-testid=\"stApp\"]');"
        " return !!app && app.dataset.testConnectionState === 'CONNECTED'"
        " && app.dataset.testScriptState === 'notRunning'"
        " && !document.querySelector('[data-stale=\"true\"]'); }"
    )
    for _ in range(2):
        pg.wait_for_function(done, timeout=timeout)
        pg.wait_for_timeout(300)


def open_app(
    pg,
    base: str,
    path: str = "",
    timeout: int = HANG_MS,
    **params: str,
) -> None:
    """Open ``base/path?params`` and wait until the app has finished its runs."""
    query = f"?{urlencode(params)}" if params else ""
    pg.goto(f"{base}/{path}{query}")
    wait_for_app(pg, timeout)


def snap(pg, name: str) -> list[Path]:
    """Save two screenshots under tests/artifacts/ (git-ignored; CI keeps them): ``name.png``,
    the viewport as a person sees it, and ``name-full.png``, the whole page at the same width
    (Streamlit scrolls inside its main block, so the viewport is stretched to its height)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    pg.wait_for_timeout(400)  # let Vega/Plotly finish drawing
    view = ARTIFACTS / f"{name}.png"
    pg.screenshot(path=str(view))
    size = pg.viewport_size
    height = pg.evaluate(
        "() => Math.max(...['stMain', 'stSidebarContent'].map(id => {"
        ' const el = document.querySelector(`[data-testid="${id}"]`);'
        " return el ? el.scrollHeight : 0; }))"
    )
    full = ARTIFACTS / f"{name}-full.png"
    pg.set_viewport_size({"width": size["width"], "height": max(int(height), size["height"])})
    pg.wait_for_timeout(400)
    pg.screenshot(path=str(full))
    pg.set_viewport_size(size)
    return [view, full]
