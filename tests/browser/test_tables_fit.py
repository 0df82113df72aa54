"""No table is cut off: at 1440×900 and 1280×720 (sidebar open) every column of the tables on
the Innovations, Value, Contract and Data pages is visible without scrolling the table
sideways (the grid's content is no wider than the grid)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from tests.browser.conftest import DESKTOP, HANG_MS, LAPTOP, open_app, wait_for_app

pytestmark = pytest.mark.browser

SIZES = {"desktop": DESKTOP, "laptop": LAPTOP}
# page path, tab to open first (None: the page as it opens)
TABLES = [
    ("innovations", None),
    ("value", None),
    ("contract", None),
    ("data", "Import history"),
    ("data", "Freshness"),
]
# How much wider a data grid's content is than the part shown (0 when it fits).
_OVERFLOW = """g => { const s = g.querySelector('.dvn-scroller');
  return s ? s.scrollWidth - s.clientWidth : -1; }"""


def overflow(page: Page) -> list[int]:
    """Each visible grid's overflow, measured once it has been scrolled into view (a grid
    draws its columns when it is on screen)."""
    out = []
    # grids mount after their data; a grid of another tab is there but hidden
    page.locator('[data-testid="stDataFrame"]:visible').first.wait_for()
    page.wait_for_timeout(500)
    for grid in page.get_by_test_id("stDataFrame").all():
        if not grid.is_visible():
            continue
        grid.scroll_into_view_if_needed()
        page.wait_for_timeout(400)
        out.append(int(grid.evaluate(_OVERFLOW)))
    return out


@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize(
    ("path", "tab"),
    TABLES,
    ids=[p if t in (None, "Import history") else f"{p}-{t.lower()}" for p, t in TABLES],
)
def test_every_column_of_every_table_is_visible(
    browser,
    app_url: str,
    path: str,
    tab: str | None,
    size: str,
) -> None:
    """Each visible table's columns fit its width: nothing hidden behind a sideways scroll."""
    ctx = browser.new_context(viewport=SIZES[size])
    page: Page = ctx.new_page()
    page.set_default_timeout(HANG_MS)
    try:
        open_app(page, app_url, path)
        if tab is not None:
            page.get_by_role("tab", name=tab).click()
            wait_for_app(page)
        widths = overflow(page)
        assert widths and min(widths) >= 0, f"no table drawn on {path}"
        assert all(o <= 1 for o in widths), (path, size, widths)
    finally:
        ctx.close()
