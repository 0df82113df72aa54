"""Present mode as a presenter uses it, in Chromium on the demo: entered from the sidebar's
Present link, driven by the keys a presentation clicker sends, ending on the closing screen,
and every screen fitting the window (1440×900 and 1280×720) without scrolling."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlparse

import pytest
from playwright.sync_api import Page, expect

from metrics.filters import Filters
from tests.browser.conftest import DESKTOP, HANG_MS, LAPTOP, open_app, wait_for_app

pytestmark = pytest.mark.browser

SIZES = {"desktop": DESKTOP, "laptop": LAPTOP}


def _params(url: str) -> dict[str, str]:
    return {k: v[-1] for k, v in parse_qs(urlparse(url).query).items()}


def _heading(page: Page) -> str:
    return str(page.get_by_role("heading", level=1).inner_text())


def _press(page: Page, key: str, screen: str | None = None) -> None:
    """Press ``key``; with ``screen``, wait until the URL names that screen (the rerun a key
    starts may not have begun when the app looks idle right after the press)."""
    page.keyboard.press(key)
    if screen is not None:
        page.wait_for_url(re.compile(rf"[?&]screen={screen}(&|$)"))
    wait_for_app(page)


def test_the_sidebar_link_opens_present_mode_and_next_stays_in_it(page: Page, app_url: str) -> None:
    """Present, clicked in the sidebar of the Value page, opens present mode; its first Next
    moves to the second screen, still in present mode (the URL keeps ``present=1``)."""
    open_app(page, app_url, "value")
    page.get_by_role("link", name="Present").click()
    wait_for_app(page)
    expect(page.get_by_role("heading", level=1)).to_have_text("Where we are")
    page.get_by_role("button", name="Next").click()
    wait_for_app(page)
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile("^The story so far"))
    expect(page.get_by_test_id("stSidebar")).to_be_hidden()
    assert _params(page.url)["present"] == "1"
    assert _params(page.url)["screen"] == "2"


def test_clicker_and_arrow_keys_move_between_screens(page: Page, app_url: str) -> None:
    """→, PageDown and Space go to the next screen; ← and PageUp go back (a presentation
    clicker sends PageDown / PageUp)."""
    open_app(page, app_url, present="1")
    page.wait_for_function("() => window.__tnPresentKeys === true")  # the listener's iframe
    titles = {"1": _heading(page)}  # screen → its title, as seen on the way forward
    for key, screen in (("ArrowRight", "2"), ("PageDown", "3"), ("Space", "4")):
        _press(page, key, screen)
        assert _params(page.url)["screen"] == screen, key
        titles[screen] = _heading(page)
    # four different screens (how many the story takes depends on its length)
    assert len(set(titles.values())) == 4, titles
    for key, screen in (("ArrowLeft", "3"), ("PageUp", "2")):
        _press(page, key, screen)
        assert _params(page.url)["screen"] == screen, key
        expect(page.get_by_role("heading", level=1)).to_have_text(titles[screen])
    assert _params(page.url)["present"] == "1"


def test_the_last_screen_is_what_is_next_with_the_renewal_ask(
    page: Page, app_url: str, demo_db_url: str
) -> None:
    """The presentation ends on "What's next": the pipeline's claim weighed by this account's
    realisation so far (the figure of ``metrics.outlook``) and the next go-lives; Next is
    disabled there."""
    from data_loaders.access import Scope
    from data_loaders.db import make_engine
    from data_loaders.queries import list_accounts, load_account_data
    from metrics import views

    eng = make_engine(demo_db_url)
    account_id = int(list_accounts(eng, Scope.everything())["account_id"].iloc[0])
    data = load_account_data(eng, Scope.everything(), account_id)
    eng.dispose()
    o, sentence = views.outlook_view(data, Filters())
    open_app(page, app_url, present="1", screen="99")  # past the end: the last screen
    expect(page.get_by_role("heading", level=1)).to_have_text("What's next")
    expect(page.get_by_text(sentence)).to_be_visible()
    expect(page.get_by_role("button", name="Next")).to_be_disabled()
    grid = page.get_by_test_id("stDataFrame")  # drawn on a canvas; its cells mirror the text
    for code in o.next_up["code"]:
        expect(grid.get_by_text(code, exact=True).first).to_be_attached()


# The screen's content must end above the pinned bar, and the main area must not scroll.
_FITS = """() => {
  const main = document.querySelector('[data-testid="stMain"]');
  const bar = document.querySelector('.st-key-present-nav');
  const screen = document.querySelector('[class*="st-key-present-screen-"]');
  const barTop = bar.getBoundingClientRect().top;
  let bottom = 0;
  for (const el of screen.querySelectorAll('[data-testid="stElementContainer"]')) {
    const r = el.getBoundingClientRect();
    if (r.height > 0) bottom = Math.max(bottom, r.bottom);
  }
  return {scroll: main.scrollHeight - main.clientHeight, bottom, barTop,
          wide: document.documentElement.scrollWidth - window.innerWidth};
}"""


@pytest.mark.parametrize("size", list(SIZES))
def test_every_present_screen_fits_the_window(browser, app_url: str, size: str) -> None:
    """At 1440×900 and 1280×720 no present screen scrolls, and every element of the screen
    (caption, chart, table) ends above the bar with the buttons."""
    ctx = browser.new_context(viewport=SIZES[size])
    page = ctx.new_page()
    page.set_default_timeout(HANG_MS)
    try:
        open_app(page, app_url, present="1")
        seen = []
        while True:
            page.wait_for_timeout(300)  # let Vega finish sizing its chart
            fit = page.evaluate(_FITS)
            title = _heading(page)
            seen.append(title)
            assert fit["scroll"] <= 1, (title, fit)
            assert fit["bottom"] <= fit["barTop"] + 1, (title, fit)
            assert fit["wide"] <= 0, (title, fit)
            if page.get_by_role("button", name="Next").is_disabled():
                break
            _press(page, "ArrowRight", str(len(seen) + 1))
        assert seen[-1] == "What's next" and len(seen) >= 8
    finally:
        ctx.close()
