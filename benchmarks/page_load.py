"""Page load in Chromium on the demo account with a warm server (issue 14): the first visit of
every page in a fresh tab, a switch between pages through the sidebar, a step in present
mode (Next), and how many times the Then & Now page reruns while a period slider is dragged
over 45 mouse steps — the Then photo's (in a form: one run, on Compare) and the sidebar's
shared Period slider (a run on release, not per step) — ``--only-slider`` measures only
that, ``--only-switch`` only the page switches.

    .venv/bin/python benchmarks/page_load.py [--db URL] [--rounds 3] [--url http://…]
                                             [--only-slider] [--only-switch] [--script-cpu]

Without ``--db`` the demo account is built in a temporary SQLite file; without ``--url`` a
server of our own is started (and stopped by its PID) and warmed up with one Story view. No
page run computes the causal estimates (they are computed in a process of their own when
none are stored, ``services.estimates_background``): pass a ``--db`` that has them stored to
measure the pages with their evidence, as a server that has run a while has them. A first visit is measured twice per page: in a fresh tab of a browser that has opened the app
before (its HTTP cache holds the frontend's static files, which Streamlit serves as
immutable; every tab is a session of its own) and in a new browser profile (nothing cached:
the frontend is downloaded and compiled again). Each is split into the frontend's loading
(until the app's root element shows), connecting, the script run as the browser sees it
(first run started → last ended, the deltas streamed meanwhile) and drawing, and the
server's CPU seconds per fresh-tab visit are printed (a figure load changes less). Prints
median / p95 / max per measure and the load average next to them: on a shared machine the
same run can take twice as long, so compare figures of one run, never against a fixed
limit. A figure is the time
from the action until the app is idle (connected, no script running, nothing stale, twice
300 ms apart — the browser tests' definition) minus those 300 ms.

A page switch is clicked once the page before it is drawn (no change to the page for 300 ms:
the charts of a page go on drawing after it is idle, and a click during that waited for them
in Playwright's actionability checks, up to 0.65 s counted in the next page's switch), and
is timed from the click reaching the page (its ``pointerdown``), not from Playwright's call.
Its figure is printed per target page and for all, with where it went: click → script run
started (the message to the server), the run as the browser sees it, run end → idle (the
browser drawing what the run sent) and, not part of the figure, idle → drawn (the charts'
own drawing after the app is idle: until the last change to the page before 300 ms
without one).

``--script-cpu`` measures no browser: the CPU seconds (``time.process_time``, this process)
of each page's script run in AppTest, in-process — cold (every cache cleared), a new
session's first run with the caches warm (a fresh tab on a warm server) and a rerun in the
same session — medians over ``--rounds``. It is the server's share of a page load without
the websocket and the browser, and it moves little with the machine's load.
"""

from __future__ import annotations

import argparse
import os
import statistics
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
    ROOT,
    cpu_seconds,
    free_port,
    require_chromium,
    say,
    start_streamlit,
    stop_streamlit,
    summary,
)

PAGES = [  # URL path, extra query
    ("", ""),
    ("then_now", ""),
    ("value", ""),
    ("innovations", ""),
    ("innovation_detail", "innovation=INN-012"),
    ("contract", ""),
    ("data", ""),
]
SIDEBAR = ["Then & Now", "Value", "Innovations", "Contract", "Data", "Story"]
SWITCH_PHASES = ("to run", "run", "to idle", "drawn after idle")
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


# Installed before a page loads: when the app's root element appeared, when its websocket
# connected, and when its script runs started and ended as the browser saw them (ms since
# navigation). Splits a first visit into loading the frontend, connecting, the server's
# script run (with the deltas streamed while it runs) and drawing what it sent.
PHASES_JS = """(() => {
  const t = window.__tnPhases = {app: null, connected: null, runStart: null, runEnd: null,
                                 running: false};
  const look = () => {
    const app = document.querySelector('[data-testid="stApp"]');
    if (!app) return;
    const now = performance.now();
    if (t.app === null) t.app = now;
    if (t.connected === null && app.dataset.testConnectionState === 'CONNECTED')
      t.connected = now;
    if (app.dataset.testScriptState === 'running') {
      if (t.runStart === null) t.runStart = now;
      t.running = true;
    } else if (t.running) { t.runEnd = now; t.running = false; }
  };
  new MutationObserver(look).observe(document, {subtree: true, childList: true,
    attributes: true, attributeFilter: ['data-test-script-state',
                                        'data-test-connection-state']});
})()"""
PHASES = ("frontend", "connect", "script", "draw")

# Installed before a switch's click: when the click reached the page, when the script run it
# started began and ended, when the app was first idle after it (polled per frame) and the
# last change to the page (charts draw after the app is idle).
SWITCH_JS = """() => {
  const t = window.__tnSwitch = {down: null, runStart: null, runEnd: null, idle: null,
                                 last: null};
  const app = document.querySelector('[data-testid="stApp"]');
  document.addEventListener('pointerdown', () => { t.down = performance.now(); },
                            {capture: true, once: true});
  new MutationObserver(() => {
    const now = performance.now();
    if (t.down === null) return;
    t.last = now;
    const s = app.dataset.testScriptState;
    if (s === 'running' && t.runStart === null) t.runStart = now;
    if (t.runStart !== null && s !== 'running' && t.runEnd === null) t.runEnd = now;
  }).observe(document.body, {subtree: true, childList: true, attributes: true,
                             characterData: true});
  const idle = () => app.dataset.testConnectionState === 'CONNECTED'
    && app.dataset.testScriptState === 'notRunning'
    && !document.querySelector('[data-stale="true"]');
  const poll = () => {
    if (t.runEnd !== null && t.idle === null && idle()) t.idle = performance.now();
    if (t.idle === null) requestAnimationFrame(poll);
  };
  requestAnimationFrame(poll);
}"""
# Resolves once nothing on the page has changed for ``ms`` (every chart drawn).
DRAWN_JS = """(ms) => new Promise((done) => {
  let last = performance.now();
  const seen = new MutationObserver(() => { last = performance.now(); });
  seen.observe(document.body, {subtree: true, childList: true, attributes: true,
                               characterData: true});
  const look = () => {
    if (performance.now() - last >= ms) { seen.disconnect(); done(); }
    else setTimeout(look, 50);
  };
  look();
})"""
QUIET_MS = 300

# The Story page once the causal estimates are stored: no "being computed" note left.
ESTIMATED = "() => !document.body.innerText.includes('are being computed')"
ESTIMATES_WAIT_MS = 240_000

#: The sliders dragged on the Then & Now page: where, and the label of the slider.
SLIDERS = [("main", "Then"), ("sidebar", "Period")]


def _drag(pg, base: str, where: str, label: str) -> tuple[int, str]:
    """Drag the right thumb of a slider 45 mouse steps to the left (earlier months: never
    stuck at the end of the data), release, press Compare when the slider sits in a form;
    returns the script runs counted from the first step and "before → after"."""
    pg.goto(base + "/then_now")
    _idle(pg)
    pg.evaluate(COUNT_RUNS)
    area = pg.get_by_test_id("stMain" if where == "main" else "stSidebar")
    box_el = area.get_by_test_id("stSlider").filter(has_text=label).first
    thumb = box_el.get_by_role("slider").last
    # the role is a visually hidden range input inside the knob: its own box is not where
    # the knob is drawn (the drag at its centre moved nothing), so press its parent, the knob
    knob = thumb.locator("xpath=..")
    knob.scroll_into_view_if_needed()  # a thumb outside the viewport gets no mouse events
    before = thumb.get_attribute("aria-valuetext")
    box = knob.bounding_box()
    assert box is not None
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    pg.mouse.move(x, y)
    pg.mouse.down()
    for i in range(1, 46):
        pg.mouse.move(x - 4 * i, y)
        pg.wait_for_timeout(40)
    pg.mouse.up()
    pg.wait_for_timeout(500)
    _idle(pg)
    after = thumb.get_attribute("aria-valuetext")
    compare = pg.get_by_role("button", name="Compare these periods")
    if where == "main" and compare.count():  # the photo's sliders sit in a form
        compare.click()
        pg.wait_for_timeout(150)
        _idle(pg)
    # a drag that grabbed no thumb moves nothing and reruns nothing: say so, never report it
    # as "0 runs per drag"
    moved = "" if before != after else " (NOT MOVED: the drag missed the thumb, not measured)"
    return int(pg.evaluate("() => window.__tnRuns")), f"{label}: {before} → {after}{moved}"


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


def _drawn(pg) -> None:
    """Wait until the page is drawn: nothing on it changed for ``QUIET_MS``."""
    pg.evaluate(DRAWN_JS, QUIET_MS)


def _switch(pg, link) -> tuple[float, dict[str, float]]:
    """Click ``link`` (a sidebar page link) on a drawn page: seconds from the click reaching
    the page until the app is idle (``_timed``, less the time Playwright took before its
    click reached the page), and their split (``SWITCH_PHASES``)."""
    _drawn(pg)
    pg.evaluate(SWITCH_JS)
    started = time.perf_counter()
    total = _timed(pg, link.click)
    _drawn(pg)
    t = pg.evaluate("() => window.__tnSwitch")
    if None in (t["down"], t["runStart"], t["runEnd"], t["idle"]):
        return total, {}
    # the click's dispatch in wall time: Playwright's actionability checks are not the app's
    now = time.perf_counter()
    page_now = pg.evaluate("() => performance.now()")
    down = now - (page_now - t["down"]) / 1000
    total -= max(0.0, down - started)
    return total, {
        "to run": (t["runStart"] - t["down"]) / 1000,
        "run": (t["runEnd"] - t["runStart"]) / 1000,
        "to idle": (t["idle"] - t["runEnd"]) / 1000,
        "drawn after idle": max(0.0, (t["last"] - t["idle"]) / 1000),
    }


def _first_visit(pg, url: str, server: int | None) -> tuple[float, dict[str, float], float]:
    """A first visit of ``url`` in ``pg`` (a tab that has shown nothing): seconds until idle,
    their split (``PHASES``: root element shown, websocket connected, first script run
    started → last ended, idle) and the server's CPU seconds meanwhile (NaN without a server
    of our own)."""
    cpu0 = cpu_seconds(server) if server else float("nan")
    total = _timed(pg, partial(pg.goto, url))
    cpu = cpu_seconds(server) - cpu0 if server else float("nan")
    t = pg.evaluate("() => window.__tnPhases")
    split: dict[str, float] = {}
    if None not in (t["app"], t["connected"], t["runStart"], t["runEnd"]):
        split = {
            "frontend": t["app"] / 1000,
            "connect": (t["runStart"] - t["app"]) / 1000,
            "script": (t["runEnd"] - t["runStart"]) / 1000,
            "draw": max(0.0, total - t["runEnd"] / 1000),
        }
    return total, split, cpu


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


def _estimated_demo_db() -> str:
    """The demo in a temporary file with its causal estimates stored (no page run then starts
    the estimator's process of its own beside the measured runs)."""
    from data_loaders.access import Scope
    from data_loaders.db import make_engine
    from data_loaders.queries import list_accounts
    from services.estimates import ensure_estimates

    url = _demo_db()
    eng = make_engine(url)
    for account_id in list_accounts(eng, Scope.everything())["account_id"]:
        ensure_estimates(eng, Scope.everything(), int(account_id))
    eng.dispose()
    return url


def script_cpu(db_url: str, rounds: int) -> None:
    """Per page: the CPU seconds of a cold run, a new session's run on warm caches and a
    rerun, in AppTest (see the module's docstring)."""
    from streamlit.testing.v1 import AppTest

    from ui import card_and_chart
    from ui.page_context import clear_caches

    os.environ["DATABASE_URL"] = db_url
    os.chdir(ROOT)
    app = str(ROOT / "app.py")

    def session(path: str, query: str) -> AppTest:
        # AppTest runs once before it can switch page: present mode's cheapest screen
        at = AppTest.from_file(app, default_timeout=600)
        at.query_params["present"], at.query_params["screen"] = "1", "7"
        at.run()
        del at.query_params["present"], at.query_params["screen"]
        for pair in filter(None, query.split("&")):
            key, _, value = pair.partition("=")
            at.query_params[key] = value
        return at.switch_page(path)

    def cpu(at: AppTest) -> float:
        t = time.process_time()
        at.run()
        spent = time.process_time() - t
        assert not at.exception, at.exception
        return spent

    say(f"script CPU per page run (s, medians of {rounds}; load {os.getloadavg()[0]:.1f})")
    say(f"{'page':20s} {'cold':>7s} {'fresh':>7s} {'rerun':>7s}")
    for url_path, query in PAGES:
        path = f"pages/{url_path or 'story'}.py"
        cold, fresh, rerun = [], [], []
        for _ in range(rounds):
            at = session(path, query)
            clear_caches()  # the figures, the account's data and the charts
            card_and_chart._SPECS.clear()
            cold.append(cpu(at))
            rerun.append(cpu(at))
            fresh.append(cpu(session(path, query)))
        say(
            f"{url_path or 'story':20s} {statistics.median(cold):7.3f} "
            f"{statistics.median(fresh):7.3f} {statistics.median(rerun):7.3f}"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--db", help="database URL (default: the demo in a temporary file)")
    ap.add_argument("--url", help="an already running server to measure instead of our own")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument(
        "--only-slider", action="store_true", help="only the slider drags (no page loads)"
    )
    ap.add_argument(
        "--only-switch", action="store_true", help="only the page switches through the sidebar"
    )
    ap.add_argument(
        "--script-cpu",
        action="store_true",
        help="no browser: the CPU of each page's script run in AppTest",
    )
    args = ap.parse_args()
    if args.script_cpu:
        script_cpu(args.db or _estimated_demo_db(), args.rounds)
        return
    require_chromium()
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
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
            _idle(warm, 900_000)
            # the causal estimates are computed in a process of their own when none are
            # stored: measure after they are, never beside that process (bounded: the figures
            # are then taken with the note showing, and the output says so)
            try:
                warm.wait_for_function(ESTIMATED, timeout=ESTIMATES_WAIT_MS, polling=1000)
                estimated = "stored"
            except PlaywrightTimeout:
                estimated = f"NOT shown on the warm-up page after {ESTIMATES_WAIT_MS // 1000} s"
            _idle(warm)
            # without the first visits, the switches still find every page's figures cached
            for path, query in PAGES if args.only_switch else []:
                warm.goto(f"{base}/{path}" + (f"?{query}" if query else ""))
                _idle(warm)
            warm.close()
            server = proc.pid if proc is not None else None
            # fresh tabs of one browser: its HTTP cache holds the frontend's static files
            # (Streamlit serves them immutable), as for a person who has opened the app
            # before; every tab is a session of its own
            tabs = browser.new_context(viewport=viewport)
            seen = tabs.new_page()
            seen.goto(base + "/")
            _idle(seen)
            tabs.add_init_script(PHASES_JS)
            first: dict[str, list[float]] = {}
            tab_first: dict[str, list[float]] = {}
            splits: dict[str, list[float]] = {p: [] for p in PHASES}
            tab_splits: dict[str, list[float]] = {p: [] for p in PHASES}
            cpus: list[float] = []
            switch_cpus: list[float] = []
            switches: list[float] = []
            by_page: dict[str, list[float]] = {name: [] for name in SIDEBAR}
            switch_splits: dict[str, dict[str, list[float]]] = {
                name: {k: [] for k in SWITCH_PHASES} for name in SIDEBAR
            }
            steps: list[float] = []
            runs: dict[str, list[int]] = {}
            moved: list[str] = []
            for _ in range(args.rounds):
                if args.only_slider:
                    ctx = browser.new_context(viewport=viewport)
                    pg = ctx.new_page()
                    pg.set_default_timeout(300_000)
                    for where, label in SLIDERS:
                        n, what = _drag(pg, base, where, label)
                        runs.setdefault(f"{where} {label!r}", []).append(n)
                        moved.append(what)
                    ctx.close()
                    continue
                for path, query in [] if args.only_switch else PAGES:
                    url = f"{base}/{path}" + (f"?{query}" if query else "")
                    # a new browser profile: nothing cached, the frontend downloaded again
                    ctx = browser.new_context(viewport=viewport)
                    ctx.add_init_script(PHASES_JS)
                    pg = ctx.new_page()
                    total, split, _ = _first_visit(pg, url, server)
                    first.setdefault(path or "story", []).append(total)
                    for k, v in split.items():
                        splits[k].append(v)
                    ctx.close()
                    pg = tabs.new_page()
                    total, split, cpu = _first_visit(pg, url, server)
                    tab_first.setdefault(path or "story", []).append(total)
                    for k, v in split.items():
                        tab_splits[k].append(v)
                    cpus.append(cpu)
                    pg.close()
                ctx = browser.new_context(viewport=viewport)
                pg = ctx.new_page()
                pg.set_default_timeout(300_000)  # a hang guard on a loaded machine, not a limit
                _timed(pg, partial(pg.goto, base + "/"))
                for name in SIDEBAR:
                    link = pg.locator(".st-key-page-nav").get_by_role("link", name=name)
                    cpu0 = cpu_seconds(server) if server else float("nan")
                    took, split = _switch(pg, link)
                    switches.append(took)
                    by_page[name].append(took)
                    for k, v in split.items():
                        switch_splits[name][k].append(v)
                    if server:
                        switch_cpus.append(cpu_seconds(server) - cpu0)
                if args.only_switch:
                    ctx.close()
                    continue
                pg.goto(base + "/?present=1")
                _idle(pg)
                for _ in range(4):
                    steps.append(_timed(pg, partial(pg.keyboard.press, "ArrowRight")))
                for where, label in SLIDERS:
                    n, what = _drag(pg, base, where, label)
                    runs.setdefault(f"{where} {label!r}", []).append(n)
                    moved.append(what)
                ctx.close()
            tabs.close()
            browser.close()
    finally:
        if proc is not None:
            stop_streamlit(proc)
    load = os.getloadavg()[0]
    say(f"page load, demo account, warm server, {args.rounds} round(s), load average {load:.1f}")
    say(f"  causal estimates: {estimated}")
    say(
        "  (every figure is the time until the app is idle, minus the 300 ms idle check; "
        "compare figures of one run, never against a fixed limit)"
    )
    if tab_first:
        for name, times in tab_first.items():
            say(f"  first visit, fresh tab  {name:<14} {summary(times)}")
        say(f"    where it went (all pages): {_split(tab_splits)}")
        if cpus and cpus[0] == cpus[0]:
            say(f"    server CPU per first visit (s): {summary(cpus).replace(' s', '')}")
        for name, times in first.items():
            say(f"  first visit, new profile (nothing cached) {name:<14} {summary(times)}")
        say(f"    where it went (all pages): {_split(splits)}")
    say(f"  page switch (sidebar)   all            {summary(switches)}")
    for name, times in by_page.items():
        say(f"    to {name:<12} {summary(times)}")
        say(f"      where it went: {_split(switch_splits[name])}")
    if switch_cpus:
        say(f"    server CPU per switch (s): {summary(switch_cpus).replace(' s', '')}")
    if steps:
        say(f"  present mode, Next (→)  all            {summary(steps)}")
    for name, counts in runs.items():
        say(f"  drag over 45 steps, {name}: script runs per drag {counts}")
    if moved:
        say(f"  values before → after each drag: {moved}")


def _split(parts: dict[str, list[float]]) -> str:
    return (
        " · ".join(f"{k} median {statistics.median(v):.2f} s" for k, v in parts.items() if v)
        or "not measured"
    )


if __name__ == "__main__":
    main()
