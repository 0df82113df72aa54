"""Renewal pack vs browser printing, in the same run.

Builds the demo account's pack (data → story → PDF, the causal estimates already stored) cold
once and warm ``--repeat`` times, then prints the same views from the running app with
headless Chromium (``page.pdf`` of Story, Then & Now, Value, Innovations and Contract, each
after the page has finished drawing) and prints both times and the ratio. ``--all N``
also times ``pack --all`` over N copies of the demo account (not done by default).

    .venv/bin/python benchmarks/pack_vs_browser.py --db sqlite:///data/demo.sqlite
"""

from __future__ import annotations

import argparse
import time

from _common import CHROMIUM, CHROMIUM_ARGS, OUT, free_port, start_streamlit, stop_streamlit

VIEWS = ("", "then-and-now", "value", "innovations", "contract")


def build_once(url: str) -> tuple[float, float, float]:
    from data_loaders.access import Scope
    from data_loaders.db import make_engine
    from data_loaders.estimate_store import load_estimates
    from data_loaders.queries import list_accounts, load_account_data
    from metrics.filters import limit_to
    from metrics.versions import estimates_version
    from reports.pack import render_pack
    from services.pack import default_as_of
    from story import build_story

    eng = make_engine(url)
    scope = Scope.everything()
    aid = int(list_accounts(eng, scope)["account_id"].iloc[0])
    t0 = time.perf_counter()
    data = limit_to(load_account_data(eng, scope, aid), default_as_of())
    est = load_estimates(eng, aid, estimates_version(data))
    t1 = time.perf_counter()
    story = build_story(data, as_of=default_as_of(), estimates=est)
    t2 = time.perf_counter()
    render_pack(story)
    t3 = time.perf_counter()
    eng.dispose()
    return t1 - t0, t2 - t1, t3 - t2


def browser(url: str) -> float:
    from playwright.sync_api import sync_playwright

    port = free_port()
    proc = start_streamlit(url, port, OUT / "pack_vs_browser.log")
    try:
        with sync_playwright() as p:
            b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = b.new_page(viewport={"width": 1280, "height": 900})
            page.goto(f"http://127.0.0.1:{port}/", timeout=600_000)  # warm the server
            page.wait_for_selector("[data-testid='stMetricValue']", timeout=600_000)
            started = time.perf_counter()
            for view in VIEWS:
                page.goto(f"http://127.0.0.1:{port}/{view}", timeout=600_000)
                page.wait_for_load_state("networkidle", timeout=600_000)
                page.wait_for_function(
                    "!document.querySelector('[data-testid=\"stSpinner\"]')", timeout=600_000
                )
                page.pdf(path=str(OUT / f"browser_{view or 'story'}.pdf"), format="A4")
            took = time.perf_counter() - started
            b.close()
    finally:
        stop_streamlit(proc)
    return took


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", required=True)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-browser", action="store_true")
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    cold = build_once(args.db)
    print(f"pack cold: load {cold[0]:.2f} s, story {cold[1]:.2f} s, typeset {cold[2]:.2f} s")
    warm = [build_once(args.db) for _ in range(args.repeat)]
    best = min(warm, key=sum)
    print(
        f"pack warm (best of {args.repeat}): {sum(best):.2f} s = load {best[0]:.2f} + "
        f"story {best[1]:.2f} + typeset {best[2]:.2f}"
    )
    if args.no_browser:
        return
    took = browser(args.db)
    print(f"browser page.pdf of {len(VIEWS)} views (warm server): {took:.2f} s")
    print(f"ratio browser / pack warm: {took / sum(best):.1f}x")


if __name__ == "__main__":
    main()
