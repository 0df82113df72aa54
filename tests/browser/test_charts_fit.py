"""No chart is cut off: at 1440×900 and 1280×720 (sidebar open) every chart on the Story,
Then & Now, Value, Innovations and Contract pages is drawn inside the page's main column
(a chart of a fixed width wider than its column runs past the page's edge, where its labels
are cut)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from tests.browser.conftest import DESKTOP, HANG_MS, LAPTOP, open_app

pytestmark = pytest.mark.browser

SIZES = {"desktop": DESKTOP, "laptop": LAPTOP}
PAGES = ["", "then_now", "value", "innovations", "contract"]
# Per drawn chart (Vega-Lite's svg, Plotly's main svg): how far it reaches past the main
# column on the left and on the right (<= 0 when inside), and its width.
_PAST_EDGES = """() => {
  const block = document.querySelector('[data-testid="stMainBlockContainer"]');
  const box = block.getBoundingClientRect(), cs = getComputedStyle(block);
  const main = {left: box.left + parseFloat(cs.paddingLeft),
                right: box.right - parseFloat(cs.paddingRight)};  // its content box
  return [...document.querySelectorAll(
      '[data-testid="stVegaLiteChart"] svg.marks, [data-testid="stPlotlyChart"] svg.main-svg')]
    .map(s => s.getBoundingClientRect())
    .filter(r => r.width > 0)
    .map(r => [Math.round(main.left - r.left), Math.round(r.right - main.right),
               Math.round(r.width)]);
}"""


def drawn_charts(page: Page) -> list[list[int]]:
    """Every chart of the page, each scrolled into view and drawn."""
    charts = page.locator('[data-testid="stVegaLiteChart"], [data-testid="stPlotlyChart"]')
    charts.first.wait_for()
    for chart in charts.all():
        chart.scroll_into_view_if_needed()
        chart.locator("svg").first.wait_for()
    page.wait_for_timeout(500)
    return page.evaluate(_PAST_EDGES)


@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("path", PAGES, ids=[p or "story" for p in PAGES])
def test_every_chart_is_inside_the_main_column(browser, app_url: str, path: str, size: str) -> None:
    """Each drawn chart starts and ends inside the main column: no label runs off the page."""
    ctx = browser.new_context(viewport=SIZES[size])
    page: Page = ctx.new_page()
    page.set_default_timeout(HANG_MS)
    try:
        open_app(page, app_url, path)
        charts = drawn_charts(page)
        assert charts, f"no chart drawn on {path or 'story'}"
        past = [c for c in charts if c[0] > 1 or c[1] > 1]
        assert not past, (path, size, past)
    finally:
        ctx.close()
