"""20 concurrent browser sessions on the Story page (issue 5).

    python benchmarks/concurrent_sessions.py [--sessions 20] [--scale 1] [--cold]

Starts ``streamlit run app.py`` (its own PID, stopped at the end) on a SQLite file with the
generated account (scale 1: the demo account, monthly data; scale 14: 1,058,400 daily rows),
then opens the Story page in N browser contexts of one Debian Chromium at the same moment
(Playwright's async API: N independent Streamlit sessions, each with its own websocket).

Each session's time-to-render runs from its navigation start to the Story page being rendered
(the script not running, nothing stale, no spinner, the four headline metrics and the Plotly
curve on the page). Reported: every session rendered or not, p50 / p95 / max time-to-render.

Memory: the server's RSS (VmRSS of its PID, from /proc) when idle before the sessions, the
peak while they load (sampled every 50 ms), with all N sessions open, and after they close;
memory per session = (RSS with N open − RSS before) / N.

By default one session opens the page first and closes (the account's data and the causal
estimates are then cached, as on a server that has been up for a while); ``--cold`` skips that,
so the N sessions also wait for the first computation (Streamlit computes a cached function
once per key; the others wait for it).

Both the browser and the server share this machine's 2 cores, so the times include the
browser's own rendering of N pages. Needs /usr/bin/chromium (exits 2 with a message
otherwise); never downloads a browser.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (  # noqa: E402
    CHROMIUM,
    CHROMIUM_ARGS,
    OUT,
    STORY_DONE_JS,
    cpu_seconds,
    free_port,
    large_sqlite,
    percentile,
    require_chromium,
    rss_mb,
    say,
    start_streamlit,
    stop_streamlit,
)


async def open_story(browser: Any, url: str, timeout_s: float) -> tuple[Any, float | None, str]:
    """(context, seconds to render or None, error) for one session."""
    ctx = await browser.new_context(viewport={"width": 1440, "height": 900})
    page = await ctx.new_page()
    t0 = time.perf_counter()
    try:
        await page.goto(url, wait_until="domcontentloaded", timeout=timeout_s * 1000)
        await page.wait_for_function(STORY_DONE_JS, timeout=timeout_s * 1000, polling=50)
        done = time.perf_counter() - t0
        # settled: still rendered 500 ms later (a first run may trigger another)
        await page.wait_for_timeout(500)
        await page.wait_for_function(STORY_DONE_JS, timeout=timeout_s * 1000, polling=50)
        return ctx, done, ""
    except Exception as exc:  # noqa: BLE001 - a session that fails is counted, not fatal
        return ctx, None, str(exc).splitlines()[0]


async def sample_rss(pid: int, stop: asyncio.Event, peak: list[float]) -> None:
    while not stop.is_set():
        peak[0] = max(peak[0], rss_mb(pid))
        await asyncio.sleep(0.05)


def browser_cpu_seconds() -> float:
    """CPU seconds of this process's descendants (Playwright's driver and Chromium)."""
    import psutil

    total = 0.0
    for child in psutil.Process().children(recursive=True):
        try:
            t = child.cpu_times()
            total += t.user + t.system
        except psutil.Error:
            pass
    return total


async def run(args: argparse.Namespace, base: str, pid: int) -> int:
    from playwright.async_api import async_playwright

    url = f"{base}/?account=Northwind+Insurance"
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        if not args.cold:
            ctx, secs, err = await open_story(browser, url, args.timeout)
            await ctx.close()
            if secs is None:
                say(f"warm-up session failed: {err}")
                return 1
            say(f"warm-up session (computes and caches the account's figures): {secs:.2f} s")
            await asyncio.sleep(2)
        before = rss_mb(pid)
        say(f"server RSS before: {before:.0f} MiB; opening {args.sessions} sessions at once …")
        stop, peak = asyncio.Event(), [before]
        sampler = asyncio.create_task(sample_rss(pid, stop, peak))
        cpu0, bcpu0 = cpu_seconds(pid), browser_cpu_seconds()
        t0 = time.perf_counter()
        results = await asyncio.gather(
            *(open_story(browser, url, args.timeout) for _ in range(args.sessions))
        )
        wall = time.perf_counter() - t0
        server_cpu, browser_cpu = cpu_seconds(pid) - cpu0, browser_cpu_seconds() - bcpu0
        await asyncio.sleep(1)
        with_open = rss_mb(pid)
        stop.set()
        await sampler
        OUT.mkdir(parents=True, exist_ok=True)
        last_ctx = results[-1][0]
        if last_ctx.pages:
            await last_ctx.pages[0].screenshot(path=str(OUT / "concurrent-last.png"))
        for ctx, _, _ in results:
            await ctx.close()
        await browser.close()
    await asyncio.sleep(3)
    after = rss_mb(pid)

    times = [s for _, s, _ in results if s is not None]
    failed = [e for _, s, e in results if s is None]
    say(
        f"\n{len(times)} of {args.sessions} sessions rendered the Story page "
        f"(all within {wall:.1f} s of the first navigation)"
    )
    for e in failed[:5]:
        say(f"  failed: {e}")
    if times:
        say(
            f"time-to-render: p50 {statistics.median(times):.2f} s   p95 "
            f"{percentile(times, 95):.2f} s   max {max(times):.2f} s   min {min(times):.2f} s"
        )
    say(
        f"CPU while they loaded: server {server_cpu:.1f} s ({server_cpu / args.sessions:.2f} s "
        f"per session; its script runs share one core: Python's GIL), browser "
        f"{browser_cpu:.1f} s — on {os.cpu_count()} cores in {wall:.1f} s of wall time"
    )
    per = (with_open - before) / args.sessions
    say(
        f"server RSS: before {before:.0f} MiB · peak {peak[0]:.0f} MiB · with "
        f"{args.sessions} open {with_open:.0f} MiB · after they closed {after:.0f} MiB"
    )
    say(
        f"memory per session: {per:.1f} MiB ((with open − before) / {args.sessions}); "
        f"peak growth per session {(peak[0] - before) / args.sessions:.1f} MiB"
    )
    return 0 if not failed else 1


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sessions", type=int, default=20)
    p.add_argument("--scale", type=int, default=1, help="1: the demo account; 14: ≥ 1M rows")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--cold", action="store_true", help="no warm-up session first")
    p.add_argument("--timeout", type=float, default=900, help="seconds per session")
    p.add_argument("--fresh", action="store_true", help="rebuild the SQLite file")
    args = p.parse_args(argv)

    require_chromium()
    db = large_sqlite(args.scale, args.seed, fresh=args.fresh)
    say(
        f"load average before: {' '.join(f'{x:.1f}' for x in os.getloadavg())} "
        f"({os.cpu_count()} cores)"
    )
    port = free_port()
    proc = start_streamlit(f"sqlite:///{db}", port, OUT / "concurrent-server.log")
    say(f"streamlit PID {proc.pid} on http://127.0.0.1:{port} (scale {args.scale})")
    try:
        code = asyncio.run(run(args, f"http://127.0.0.1:{port}", proc.pid))
    finally:
        stop_streamlit(proc)
    say(f"load average after: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    return code


if __name__ == "__main__":
    raise SystemExit(main())
