"""Page load in Chromium on the demo account with a warm server (issue 14): the first visit of
every page in a fresh tab, a switch between pages through the sidebar, a step in present
mode (Next), and how many times the Then & Now page reruns while its period slider is
dragged (it should rerun once per release, not once per step).

    .venv/bin/python benchmarks/page_load.py [--db URL] [--rounds 3] [--url http://…]

Without ``--db`` the demo account is built in a temporary SQLite file; without ``--url`` a
server of our own is started (and stopped by its PID) and warmed up with one Story view, so
no figure includes the causal estimates' first computation. Prints median / p95 / max per
measure and the load average next to them: on a shared machine the same run can take twice
as long, so compare figures of one run, never against a fixed limit. A figure is the time
from the action until the app is idle (connected, no script running, nothing stale, twice
300 ms apart — the browser tests' definition) minus those 300 ms.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (  # noqa: E402
    CHROMIUM,
    CHROMIUM_ARGS,
    OUT,
    free_port,
    require_chromium,
    say,
    start_streamlit,
    stop_streamlit,
    summary,
)

PAGES = [  # URL path, extra query
    ("", ""),
    ("then-and-now", ""),
    ("value", ""),
    ("innovations", ""),
    ("detail", "innovation=INN-012"),
    ("contract", ""),
    ("data", ""),
]
SIDEBAR = ["Then & Now", "Value", "Innovations", "Contract", "Data", "Story"]
IDLE = (
    "() => { const app = document.querySelector('[data-testid=\"stApp\"]');"
    " return !!app && app.dataset.testConnectionState === 'CONNECTED'"
    " && app.dataset.testScriptState === 'notRunning'"
    " && !document.querySelector('[data-stale=\"true\"]'); }"
)
# counts the script runs the page starts (stApp's script state turning to "running")
COUNT_RUNS = """() => {
  window.__tnRuns = 0;
  const app = document.querySelector('[data-testid="stApp"]');
  new MutationObserver(() => {
    if (app.dataset.testScriptState === 'running' && window.__tnLast !== 'running')
      window.__tnRuns += 1;
    window.__tnLast = app.dataset.testScriptState;
  }).observe(app, {attributes: true, attributeFilter: ['data-test-script-state']});
}"""


def _idle(pg, timeout: int = 300_000) -> None:
    for _ in range(2):
        pg.wait_for_function(IDLE, timeout=timeout)
        pg.wait_for_timeout(300)


def _timed(pg, action) -> float:
    started = time.perf_counter()
    action()
    pg.wait_for_timeout(150)  # let the rerun begin before asking whether the app is idle
    _idle(pg)
    return time.perf_counter() - started - 0.6


def _demo_db() -> str:
    from data_loaders.db import make_engine, migrate
    from data_loaders.demo import load_demo

    path = Path(tempfile.mkdtemp(prefix="tn-bench-")) / "demo.sqlite"
    url = f"sqlite:///{path}"
    eng = make_engine(url)
    migrate(eng)
    load_demo(eng)
    eng.dispose()
    return url


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--db", help="database URL (default: the demo in a temporary file)")
    ap.add_argument("--url", help="an already running server to measure instead of our own")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    require_chromium()
    from playwright.sync_api import ViewportSize, sync_playwright

    proc = None
    base = args.url
    if base is None:
        port = free_port()
        proc = start_streamlit(args.db or _demo_db(), port, OUT / "page_load-server.log")
        base = f"http://127.0.0.1:{port}"
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            viewport: ViewportSize = {"width": 1440, "height": 900}
            warm = browser.new_page(viewport=viewport)
            warm.goto(base + "/")
            _idle(warm, 900_000)  # the causal estimates, once
            warm.close()
            first: dict[str, list[float]] = {}
            switches: list[float] = []
            steps: list[float] = []
            runs: list[int] = []
            moved: list[str] = []
            for _ in range(args.rounds):
                for path, query in PAGES:
                    ctx = browser.new_context(viewport=viewport)
                    pg = ctx.new_page()
                    url = f"{base}/{path}" + (f"?{query}" if query else "")
                    first.setdefault(path or "story", []).append(_timed(pg, partial(pg.goto, url)))
                    ctx.close()
                ctx = browser.new_context(viewport=viewport)
                pg = ctx.new_page()
                pg.set_default_timeout(300_000)  # a hang guard on a loaded machine, not a limit
                _timed(pg, partial(pg.goto, base + "/"))
                for name in SIDEBAR:
                    link = pg.locator(".st-key-page-nav").get_by_role("link", name=name)
                    switches.append(_timed(pg, link.click))
                pg.goto(base + "/?present=1")
                _idle(pg)
                for _ in range(4):
                    steps.append(_timed(pg, partial(pg.keyboard.press, "ArrowRight")))
                # drag the Then slider's right thumb over 45 mouse steps, then release
                pg.goto(base + "/then-and-now")
                _idle(pg)
                pg.evaluate(COUNT_RUNS)
                thumb = pg.get_by_test_id("stSlider").first.get_by_role("slider").last
                before = thumb.get_attribute("aria-valuetext")
                box = thumb.bounding_box()
                assert box is not None
                x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
                pg.mouse.move(x, y)
                pg.mouse.down()
                for i in range(1, 46):
                    pg.mouse.move(x + 6 * i, y)
                    pg.wait_for_timeout(40)
                pg.mouse.up()
                pg.wait_for_timeout(500)
                _idle(pg)
                moved.append(f"{before} → {thumb.get_attribute('aria-valuetext')}")
                compare = pg.get_by_role("button", name="Compare these periods")
                if compare.count():  # the sliders sit in a form: one run for the release
                    compare.click()
                    pg.wait_for_timeout(150)
                    _idle(pg)
                runs.append(int(pg.evaluate("() => window.__tnRuns")))
                ctx.close()
            browser.close()
    finally:
        if proc is not None:
            stop_streamlit(proc)
    load = os.getloadavg()[0]
    say(f"page load, demo account, warm server, {args.rounds} round(s), load average {load:.1f}")
    for name, times in first.items():
        say(f"  first visit, fresh tab  {name:<14} {summary(times)}")
    say(f"  page switch (sidebar)   all            {summary(switches)}")
    say(f"  present mode, Next (→)  all            {summary(steps)}")
    say(f"  Then & Now slider drag (45 steps, then Compare): script runs {runs}, {moved}")


if __name__ == "__main__":
    main()
