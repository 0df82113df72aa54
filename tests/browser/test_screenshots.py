"""Every page, and every present-mode screen, renders without an error in Chromium at desktop
(1440×900) and laptop (1280×720) size; each is saved as a screenshot under tests/artifacts/
(``<page>-<size>.png`` as seen, ``<page>-<size>-full.png`` the whole page) for a person to
look at — CI keeps them as artifacts.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from metrics.filters import Filters
from tests.browser.conftest import DESKTOP, HANG_MS, LAPTOP, open_app, snap, wait_for_app

pytestmark = pytest.mark.browser

SIZES = {"desktop": DESKTOP, "laptop": LAPTOP}
# name, URL path, extra parameters, the page's <h1>
PAGES = [
    ("story", "", {}, "Northwind Insurance"),
    ("then_now", "then_now", {}, "Then & Now"),
    ("value", "value", {}, "Value"),
    ("innovations", "innovations", {}, "Innovations"),
    (
        "detail",
        "innovation_detail",
        {"innovation": "INN-012"},
        "INN-012 · Rules engine for coverage checks",
    ),
    ("contract", "contract", {}, "Contract"),
    ("data", "data", {}, "Data"),
]


def present_screens(demo_db_url: str) -> list[tuple[str, str]]:
    """(key, title) of every present-mode screen of the demo, in order, from the product:
    ``ui.present``'s opening and closing screens around the story, which takes as many
    screens as ``ui.present.story_plan`` makes of the demo's narrative."""
    from data_loaders.access import Scope
    from data_loaders.db import make_engine
    from data_loaders.queries import list_accounts, load_account_data
    from metrics import narrative, views
    from ui import present

    eng = make_engine(demo_db_url)
    account_id = int(list_accounts(eng, Scope.everything())["account_id"].iloc[0])
    data = load_account_data(eng, Scope.everything(), account_id)
    eng.dispose()
    sel = Filters()
    told = views.narrative(data, sel)
    head = views.headline_view(data, sel)
    assert head is not None
    a = data.account
    evidence = narrative.render(
        [narrative.evidence_beat(head.evidence_mix)], a.currency, a.locale, markdown=True
    )
    rest = [s for s in told if s not in evidence]
    at = next(i for i, s in enumerate(told) if s in evidence)
    n = len(present.story_plan(rest, at, present.evidence_reserve(a.currency, a.locale)))
    assert n >= 2  # the demo's story does not fit one screen
    story = [(f"narrative-{i}", f"The story so far ({i} of {n})") for i in range(1, n + 1)]
    return [
        *((s.key, s.title) for s in present.OPENING),
        *story,
        *((s.key, s.title) for s in present.CLOSING),
    ]


@pytest.fixture(params=list(SIZES))
def sized_page(request, browser, app_url):
    ctx = browser.new_context(viewport=SIZES[request.param])
    pg = ctx.new_page()
    pg.set_default_timeout(HANG_MS)
    yield request.param, pg
    ctx.close()


def _no_error(pg) -> None:
    expect(pg.get_by_test_id("stException")).to_have_count(0)
    expect(pg.get_by_test_id("stAlertContentError")).to_have_count(0)


@pytest.mark.parametrize(("name", "path", "params", "title"), PAGES, ids=[p[0] for p in PAGES])
def test_page_renders_and_is_captured(
    sized_page,
    app_url: str,
    name: str,
    path: str,
    params: dict[str, str],
    title: str,
) -> None:
    """The page opens on the demo account with its title, its charts drawn and no error."""
    size, pg = sized_page
    open_app(pg, app_url, path, HANG_MS, **params)
    expect(pg.get_by_role("heading", level=1)).to_have_text(title)
    _no_error(pg)
    for chart in pg.get_by_test_id("stVegaLiteChart").all():
        expect(chart.locator("canvas, svg").first).to_be_attached()
    snap(pg, f"{name}-{size}")
    if name == "data":
        pg.get_by_role("tab", name="Freshness").click()
        wait_for_app(pg)
        expect(pg.get_by_role("heading", name="Last import per entity")).to_be_visible()
        snap(pg, f"data-freshness-{size}")


@pytest.mark.parametrize("size", list(SIZES))
def test_every_present_screen_renders_and_is_captured(
    browser,
    app_url: str,
    demo_db_url: str,
    size: str,
) -> None:
    """Each present-mode screen opens from its URL (``?screen=KEY``) with its title, without
    sidebar and without an error."""
    ctx = browser.new_context(viewport=SIZES[size])
    pg = ctx.new_page()
    pg.set_default_timeout(HANG_MS)
    try:
        for key, title in present_screens(demo_db_url):
            open_app(pg, app_url, present="1", screen=key)
            expect(pg.get_by_role("heading", level=1)).to_have_text(title)
            expect(pg.get_by_test_id("stSidebar")).to_be_hidden()
            _no_error(pg)
            snap(pg, f"present-{key}-{size}")
    finally:
        ctx.close()
