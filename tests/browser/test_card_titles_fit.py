"""What fits on a laptop (issue 14): the FTE-to-demand card's title is shown whole at
1280×720, in the Story strip and in present mode (element sizes compared in the page)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, ViewportSize

from tests.browser.conftest import LAPTOP, open_app

pytestmark = pytest.mark.browser

RATIO = "FTE per 1K transactions"
SIZE = ViewportSize(width=LAPTOP["width"], height=LAPTOP["height"])

# For every element under ``el`` holding text: is any of it cut (wider content than its box,
# or an ellipsis by CSS)? Returns the offenders' text and sizes, [] when all of it shows.
CUT = """el => {
  const out = [];
  for (const e of [el, ...el.querySelectorAll('*')]) {
    if (!e.textContent.trim()) continue;
    const cs = getComputedStyle(e);
    const wide = e.scrollWidth > e.clientWidth + 1 && cs.overflowX !== 'visible';
    const ellipsis = cs.textOverflow === 'ellipsis' && e.scrollWidth > e.clientWidth + 1;
    if (wide || ellipsis)
      out.push(`${e.tagName} "${e.textContent.trim().slice(0, 40)}" ${e.scrollWidth}>${e.clientWidth}`);
  }
  return out;
}"""


def test_the_ratio_card_title_shows_whole_at_1280_in_the_story_strip(
    page: Page, app_url: str
) -> None:
    """At 1280×720 the Story page's Then → Now strip shows the card titled "FTE per 1K
    transactions" with its title whole: no ellipsis, nothing wider than its box, and the
    title no wider than its card."""
    page.set_viewport_size(SIZE)
    open_app(page, app_url, timeout=120_000)
    card = page.get_by_test_id("stMetric").filter(has_text=RATIO)
    card.first.wait_for(timeout=120_000)
    assert card.count() == 1
    label = card.first.get_by_test_id("stMetricLabel")
    assert label.inner_text().strip() == RATIO
    assert label.evaluate(CUT) == []
    title, frame = label.bounding_box(), card.first.bounding_box()
    assert title is not None and frame is not None
    assert title["x"] >= frame["x"] and title["x"] + title["width"] <= frame["x"] + frame["width"]


def test_the_ratio_title_shows_whole_at_1280_in_present_mode(page: Page, app_url: str) -> None:
    """At 1280×720 present mode's Then and now screen names the ratio row "FTE per 1K
    transactions" whole, within its column (nothing cut, nothing wider than its box)."""
    page.set_viewport_size(SIZE)
    open_app(page, app_url, timeout=120_000, present="1", screen="then_now")
    screen = page.locator(".st-key-present-screen-then_now")
    cell = screen.get_by_test_id("stMarkdownContainer").filter(has_text=RATIO)
    cell.first.wait_for()
    assert cell.count() == 1
    assert cell.first.inner_text().strip() == RATIO
    column = cell.first.evaluate_handle("e => e.closest('[data-testid=\"stColumn\"]')")
    assert column.evaluate("e => e !== null")
    assert column.evaluate(CUT) == []
    text = cell.first.bounding_box()
    box = column.evaluate("e => { const r = e.getBoundingClientRect(); return [r.left, r.right]; }")
    assert text is not None and text["x"] >= box[0] - 1
    assert text["x"] + text["width"] <= box[1] + 1
