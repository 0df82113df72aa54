"""Shared helpers for the benchmark scripts (not a test module; no Streamlit imports).

* ``large_sqlite(scale, seed)``: a SQLite file under ``data/`` holding the generated account at
  ``scale`` (made once, reused while the generator's seed and scale are the same).
* ``demo_account(path)``: the demo account's data from a SQLite file at ``path`` (the demo is
  loaded into it the first time).
* ``rss_mb(pid)``: resident memory of a process, from /proc.
* ``summary(times)``: median / p95 / max of a list of seconds.
* ``start_streamlit`` / ``stop_streamlit``: run ``streamlit run app.py`` on a port of our own
  and stop exactly that process.
"""

from __future__ import annotations

import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
OUT = ROOT / "benchmarks" / "out"


def say(msg: str) -> None:
    print(msg, flush=True)


def demo_account(path: Path) -> Any:
    """The demo account's ``AccountData``, read from the SQLite file at ``path`` (migrated; the
    demo is loaded into it when the file does not exist yet)."""
    from data_loaders.access import Scope
    from data_loaders.db import make_engine, migrate
    from data_loaders.demo import load_demo
    from data_loaders.queries import list_accounts, load_account_data

    fresh = not path.exists()
    engine = make_engine(f"sqlite:///{path}")
    migrate(engine)
    if fresh:
        load_demo(engine)
    scope = Scope.everything()
    aid = int(list_accounts(engine, scope)["account_id"].iloc[0])
    return load_account_data(engine, scope, aid)


def large_sqlite(scale: int, seed: int = 7, *, fresh: bool = False) -> Path:
    """The generated account at ``scale`` in ``data/bench-s{scale}-seed{seed}.sqlite``.

    Built with the project's own importer (migrations, then ``load_demo``), so the file is what
    a real install would hold. A marker file records a finished build; a half-built file is
    rebuilt.
    """
    from data_loaders.db import make_engine, migrate
    from data_loaders.demo import load_demo

    path = ROOT / "data" / f"bench-s{scale}-seed{seed}.sqlite"
    done = path.with_suffix(".sqlite.done")
    if path.exists() and done.exists() and not fresh:
        engine = make_engine(f"sqlite:///{path}")
        migrate(engine)  # a file built before a newer migration (e.g. stored estimates)
        engine.dispose()
        return path
    for p in (path, done, Path(f"{path}-wal"), Path(f"{path}-shm")):
        p.unlink(missing_ok=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    say(f"building {path.relative_to(ROOT)} (demo generator, seed {seed}, scale {scale}) …")
    t0 = time.perf_counter()
    engine = make_engine(f"sqlite:///{path}")
    migrate(engine)
    result = load_demo(engine, seed=seed, scale=scale)
    engine.dispose()
    if not result.ok:
        raise SystemExit(f"demo import failed: {result.problems[:3]}")
    done.write_text(f"seed={seed} scale={scale}\n")
    say(f"  built in {time.perf_counter() - t0:.1f} s")
    return path


def rss_mb(pid: int) -> float:
    """Resident set size of ``pid`` in MiB (VmRSS from /proc/PID/status)."""
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of ``pid`` so far (from /proc/PID/stat)."""
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty list."""
    s = sorted(values)
    k = max(0, min(len(s) - 1, int(round(q / 100.0 * len(s) + 0.5)) - 1))
    return s[k]


def summary(values: list[float]) -> str:
    if not values:
        return "n=0"
    return (
        f"n={len(values)}  median {statistics.median(values):.3f} s  "
        f"p95 {percentile(values, 95):.3f} s  max {max(values):.3f} s"
    )


def require_chromium() -> None:
    """Exit non-zero with a readable message when Debian's Chromium is not installed."""
    if not Path(CHROMIUM).exists():
        print(
            f"error: {CHROMIUM} not found. Install Debian's Chromium (apt-get install "
            "chromium); the benchmarks never download a browser (no `playwright install`).",
            file=sys.stderr,
        )
        raise SystemExit(2)
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        print(
            "error: the playwright package is missing: pip install -r requirements-dev.txt",
            file=sys.stderr,
        )
        raise SystemExit(2) from None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_streamlit(db_url: str, port: int, log: Path) -> subprocess.Popen[bytes]:
    """``streamlit run app.py`` on ``port`` with ``DATABASE_URL=db_url``.

    The child ``exec``s Streamlit, so ``proc.pid`` is the server's own PID (what we measure and
    what we stop). Waits for the health endpoint (60 s).
    """
    streamlit = shutil.which("streamlit", path=str(Path(sys.executable).parent)) or "streamlit"
    env = {**os.environ, "DATABASE_URL": db_url, "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false"}
    log.parent.mkdir(parents=True, exist_ok=True)
    cmd = (
        f"exec {streamlit} run app.py --server.headless true --server.port {port} "
        f"--server.address 127.0.0.1 --server.fileWatcherType none"
    )
    proc = subprocess.Popen(
        ["/bin/sh", "-c", cmd], cwd=ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"error: streamlit exited with {proc.returncode}; see {log}")
        try:
            with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return proc
        except OSError:
            time.sleep(0.3)
    stop_streamlit(proc)
    raise SystemExit(f"error: streamlit did not answer on {base} within 60 s; see {log}")


def stop_streamlit(proc: subprocess.Popen[bytes]) -> None:
    """Stop exactly the server we started (by its PID)."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


# The app is "done" when Streamlit's running indicator is gone. Its status widget shows
# "Running..." while a script run is in progress; it is hidden (or absent) when idle.
IDLE_JS = """() => {
  const w = document.querySelector('[data-testid="stStatusWidget"]');
  return !w || !w.innerText.includes('Running');
}"""

# The Story page is rendered when the headline cards and the curve are on the page and no
# element is stale (Streamlit marks elements of the previous run stale while it re-runs).
STORY_DONE_JS = """() => {
  const w = document.querySelector('[data-testid="stStatusWidget"]');
  if (w && w.innerText.includes('Running')) return false;
  if (document.querySelector('[data-stale="true"]')) return false;
  if (document.querySelector('[data-testid="stSpinner"]')) return false;
  const metrics = document.querySelectorAll('[data-testid="stMetric"]');
  const plot = document.querySelector('.js-plotly-plot .main-svg');
  return metrics.length >= 4 && !!plot;
}"""
