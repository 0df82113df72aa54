"""What a person does with the dashboard, in Debian's Chromium against a live Streamlit server
on the demo database: read the Story, narrow the view, share a link, drill down to an
innovation, download a table, present. Expected figures come from the metrics layer.

Run alone with ``.venv/bin/python -m pytest tests/browser -q``.
"""

from __future__ import annotations

import io
import re
import warnings
from concurrent.futures import Future, ThreadPoolExecutor
from urllib.parse import parse_qs, urlparse

import pandas as pd
import pytest
from playwright.sync_api import Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from metrics import views
from metrics.filters import Filters
from metrics.innovation_views import in_categories
from services.export import export_csv
from tests.browser.conftest import ARTIFACTS, DESKTOP, HANG_MS, open_app, wait_for_app

pytestmark = pytest.mark.browser

ALL = Filters()
UNIT = "Manila · Claims intake"
CATEGORY = "strategic impact"


@pytest.fixture(scope="session", autouse=True)
def demo_bundle(demo_db_url: str) -> Future:
    """(data, estimates) of the demo account, computed in a thread while the server warms up
    (the estimates take ~15 s either side)."""
    from data_loaders.access import Scope
    from data_loaders.db import make_engine
    from data_loaders.queries import list_accounts, load_account_data
    from services.estimates import estimate_innovations

    def compute():
        eng = make_engine(demo_db_url)
        scope = Scope.everything()
        data = load_account_data(eng, scope, int(list_accounts(eng, scope)["account_id"].iloc[0]))
        eng.dispose()
        return data, estimate_innovations(data)

    pool = ThreadPoolExecutor(max_workers=1)
    future = pool.submit(compute)
    pool.shutdown(wait=False)
    return future


def _headline(bundle: Future, sel: Filters = ALL) -> views.HeadlineView:
    data, est = bundle.result()
    h = views.headline_view(data, sel, views.evidence_of(views.value_lines(data, sel, est)))
    assert h is not None
    return h


def _metric_value(page: Page, label: str) -> str:
    card = page.get_by_test_id("stMetric").filter(
        has=page.get_by_test_id("stMetricLabel").get_by_text(label, exact=True)
    )
    return card.get_by_test_id("stMetricValue").inner_text().strip()


def _pick(page: Page, label: str, option: str) -> None:
    """Choose ``option`` in the sidebar multiselect called ``label`` and wait until the app
    has taken it in (it mirrors the filter into the URL), so a fast second pick cannot land
    before the first one's run.

    As a person finds a unit among many, the first word of its name is typed into the box
    (typing opens the list), so the list is short, then the option is clicked. Two ways of
    losing a pick were seen and are avoided so:

    * clicking an option far down the long Units list raced its scrolling (a CI screenshot:
      the option hovered, the list open, nothing chosen);
    * clicking the box to open it sometimes chose "Select all" (Streamlit 1.67's multiselect;
      every category chosen in one run, the typed word left in the box): 4 in 35 loaded
      tries with a click, 0 in 40 without.

    The chip must show before Escape closes the list (an Escape sent before the browser had
    committed the click closed the list with the old value).
    """
    key = {"Units": "units", "Category": "cat"}[label]
    box = page.get_by_test_id("stSidebar").get_by_test_id("stMultiSelect").filter(has_text=label)
    chip = box.get_by_text(option, exact=True)
    for attempt in range(3):
        # A pick that is still lost is retried, as a person would, and reported as a warning.
        try:
            wait_for_app(page)
            # typing opens the list; no click on the box (see above)
            box.locator("input").fill(option.split(" ")[0])
            wanted = page.get_by_role("option", name=option, exact=True)
            expect(wanted).to_be_visible(timeout=HANG_MS)
            wanted.click(timeout=HANG_MS)
            expect(chip).to_be_visible(timeout=HANG_MS)
            break
        except (AssertionError, PlaywrightTimeout):
            if attempt == 2:
                raise
            # a person's second try; recorded, so CI shows how often it is needed
            warnings.warn(
                f"pick retried: {label} = {option} (attempt {attempt + 1} lost)", stacklevel=1
            )
            page.screenshot(path=str(ARTIFACTS / f"pick-retry-{key}-{attempt + 1}.png"))
            page.keyboard.press("Escape")
    page.keyboard.press("Escape")
    wait_for_app(page)
    page.wait_for_function(
        "([key, option]) => (new URLSearchParams(location.search).get(key) || '').includes(option)",
        arg=[key, option],
        timeout=HANG_MS,
    )
    wait_for_app(page)


def _plain(text: str) -> str:
    """Markdown → the text a reader sees: no emphasis marks or escapes, single spaces."""
    text = re.sub(r"\\(.)", r"\1", text.replace("**", ""))
    return re.sub(r"\s+", " ", text).strip()


def _params(url: str) -> dict[str, str]:
    return {k: v[-1] for k, v in parse_qs(urlparse(url).query).items()}


def test_story_shows_the_headline_figures_of_the_metrics_layer(
    page: Page, app_url: str, demo_bundle
) -> None:
    """The Story page's four cards show exactly what metrics.views computes for the demo."""
    open_app(page, app_url)
    h = _headline(demo_bundle)
    expect(page.get_by_role("heading", level=1)).to_have_text("Northwind Insurance")
    assert _metric_value(page, "Value to date") == h.value_text
    assert _metric_value(page, "Run-rate per year") == h.run_rate_text
    assert _metric_value(page, "Innovations live") == h.live_text
    assert _metric_value(page, "Causal estimates") == h.evidence_text


def test_story_tells_the_generated_narrative(page: Page, app_url: str, demo_bundle) -> None:
    """Every sentence of metrics.views.narrative is on the Story page, as plain text."""
    open_app(page, app_url)
    data, _ = demo_bundle.result()
    sentences = views.narrative(data, ALL, head=_headline(demo_bundle))
    assert sentences
    shown = _plain(page.get_by_test_id("stMain").inner_text())
    for sentence in sentences:
        assert _plain(sentence) in shown


# Sidebar picks race Streamlit's follow-up runs on a loaded CI machine: one rerun.
@pytest.mark.flaky(reruns=1)
def test_choosing_one_unit_changes_the_figures(page: Page, app_url: str, demo_bundle) -> None:
    """Picking one unit in the sidebar re-renders the cards with that unit's figures, names
    the unit in the caption and writes it to the URL."""
    open_app(page, app_url)
    before = _metric_value(page, "Value to date")
    _pick(page, "Units", UNIT)
    data, _ = demo_bundle.result()
    unit_id = int(data.units.loc[data.units["name"] == UNIT, "unit_id"].iloc[0])
    h = _headline(demo_bundle, Filters(unit_ids=(unit_id,)))
    expect(page.get_by_test_id("stMetric").first.get_by_test_id("stMetricValue")).to_have_text(
        h.value_text
    )
    assert h.value_text != before
    assert _metric_value(page, "Run-rate per year") == h.run_rate_text
    assert _metric_value(page, "Innovations live") == h.live_text
    expect(
        page.get_by_test_id("stCaptionContainer").filter(has_text="The story so far")
    ).to_contain_text(UNIT)
    assert _params(page.url)["units"] == UNIT


# Sidebar picks race Streamlit's follow-up runs on a loaded CI machine: one rerun.
@pytest.mark.flaky(reruns=1)
def test_choosing_a_category_narrows_the_innovations(page: Page, app_url: str, demo_bundle) -> None:
    """On the Innovations page a category in the sidebar leaves only that category's
    innovations in the count and the register."""
    open_app(page, app_url, "innovations")
    data, _ = demo_bundle.result()
    assert _metric_value(page, "Innovations") == str(len(data.innovations))
    _pick(page, "Category", CATEGORY)
    n = len(in_categories(data.innovations, [CATEGORY]))
    assert 0 < n < len(data.innovations)
    expect(page.get_by_test_id("stMetric").first.get_by_test_id("stMetricValue")).to_have_text(
        str(n)
    )
    expect(page.get_by_text(re.compile(r"innovation\(s\)\. Select a row"))).to_have_text(
        f"{n} innovation(s). Select a row to open its detail."
    )
    assert _params(page.url)["cat"] == CATEGORY


# Sidebar picks race Streamlit's follow-up runs on a loaded CI machine: one rerun.
@pytest.mark.flaky(reruns=1)
def test_a_copied_link_reopens_the_same_view(page: Page, app_url: str, browser) -> None:
    """Filters chosen on one page, a move to another page, then the address bar's URL opened
    in a new browser session: same account, filters and page."""
    open_app(page, app_url, "contract")
    _pick(page, "Units", UNIT)
    _pick(page, "Category", CATEGORY)
    page.locator(".st-key-page-nav").get_by_role("link", name="Value").click()
    wait_for_app(page)
    expect(page.get_by_role("heading", level=1)).to_have_text("Value")
    link = page.url
    assert urlparse(link).path == "/value"
    assert _params(link) | {"units": UNIT, "cat": CATEGORY} == _params(link)

    other = browser.new_context(viewport=DESKTOP)  # a colleague's browser: a new session
    try:
        fresh = other.new_page()
        fresh.goto(link)
        wait_for_app(fresh)
        expect(fresh.get_by_role("heading", level=1)).to_have_text("Value")
        sidebar = fresh.get_by_test_id("stSidebar")
        expect(sidebar).to_contain_text("Northwind Insurance")
        expect(sidebar.get_by_test_id("stMultiSelect").filter(has_text="Units")).to_contain_text(
            UNIT
        )
        expect(sidebar.get_by_test_id("stMultiSelect").filter(has_text="Category")).to_contain_text(
            CATEGORY
        )
        expect(
            fresh.get_by_test_id("stMain").get_by_test_id("stCaptionContainer").first
        ).to_contain_text(f"{UNIT} · {CATEGORY}")
        assert _params(fresh.url) == _params(link)
    finally:
        other.close()


def test_clicking_a_go_live_marker_opens_that_innovation(page: Page, app_url: str) -> None:
    """A go-live triangle on the Story curve names its innovations on hover; a click opens
    the innovation detail page, through a list of the month's innovations when several went
    live that month."""
    open_app(page, app_url)
    chart = page.get_by_test_id("stPlotlyChart")
    chart.scroll_into_view_if_needed()
    markers = chart.locator(".scatterlayer .trace").nth(1).locator("path.point")
    assert markers.count() > 10
    marker = markers.nth(markers.count() // 2)
    marker.scroll_into_view_if_needed()
    box = marker.bounding_box()
    assert box is not None
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    hover = chart.locator(".hoverlayer .hovertext")
    expect(hover).to_contain_text("went live")
    named = re.findall(r"INN-\d+", hover.first.text_content() or "")
    assert named, "hover does not name the innovation"
    page.mouse.click(x, y)
    if len(set(named)) > 1:
        expect(
            page.get_by_text(f"{len(set(named))} innovations went live that month")
        ).to_be_visible()
        page.get_by_role("button", name=re.compile(rf"^{named[0]} · ")).click()
    expect(page).to_have_url(re.compile(rf"/innovation_detail\?.*innovation={named[0]}"))
    wait_for_app(page)
    expect(page.get_by_role("heading", level=1)).to_contain_text(named[0])


def test_selecting_a_register_row_opens_that_innovation(page: Page, app_url: str) -> None:
    """Searching the Innovations register and selecting the row opens its detail page."""
    open_app(page, app_url, "innovations")
    page.get_by_label("Search code, title, owner or description").fill("INN-012")
    page.keyboard.press("Enter")
    wait_for_app(page)
    expect(page.get_by_text(re.compile(r"innovation\(s\)\. Select a row"))).to_have_text(
        "1 innovation(s). Select a row to open its detail."
    )
    grid = page.get_by_test_id("stDataFrame").last
    grid.scroll_into_view_if_needed()
    box = grid.bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + 15, box["y"] + 35 + 17)  # the first row's selection box
    expect(page).to_have_url(re.compile(r"/innovation_detail\?.*innovation=INN-012"))
    wait_for_app(page)
    expect(page.get_by_role("heading", level=1)).to_contain_text(
        "INN-012 · Rules engine for coverage checks"
    )
    expect(page.get_by_role("heading", name="Value to date")).to_be_visible()


def test_clicking_a_timeline_bar_opens_that_innovation(page: Page, app_url: str) -> None:
    """A bar of the Innovations timeline names its innovation on hover; a click opens that
    innovation's detail page."""
    open_app(page, app_url, "innovations")
    bar = page.locator("g.mark-rect path[aria-label*='innovation: INN-012']").first
    bar.scroll_into_view_if_needed()
    bar.hover()
    expect(page.locator("#vg-tooltip-element")).to_contain_text("INN-012")
    bar.click()
    expect(page).to_have_url(re.compile(r"/innovation_detail\?.*innovation=INN-012"))
    wait_for_app(page)
    expect(page.get_by_role("heading", level=1)).to_contain_text(
        "INN-012 · Rules engine for coverage checks"
    )


def test_value_table_downloads_as_csv(page: Page, app_url: str, demo_bundle) -> None:
    """The Value page's claimed / measured / estimated table downloads as a CSV holding the
    metrics layer's value lines for the demo account."""
    open_app(page, app_url, "value")
    with page.expect_download() as info:
        page.get_by_role("button", name="Download the table (CSV)").click()
    download = info.value
    assert download.suggested_filename == "northwind-insurance-evidence.csv"
    text = download.path().read_text(encoding="utf-8")
    assert text.startswith("# Northwind Insurance · all units · ")  # the view it holds
    got = pd.read_csv(io.StringIO(text), skiprows=1)
    data, est = demo_bundle.result()
    lines = views.value_lines(data, ALL, est)
    want = pd.read_csv(io.StringIO(export_csv(lines, header="-").decode("utf-8")), skiprows=1)
    assert list(got.columns) == list(want.columns)
    assert {"code", "claimed", "measured", "estimated", "evidence"} <= set(got.columns)
    assert "innovation_id" not in got.columns
    pd.testing.assert_frame_equal(got, want)


def test_present_mode_hides_the_sidebar_and_steps_through_screens(page: Page, app_url: str) -> None:
    """``?present=1`` shows no sidebar or filter widgets; Next and Previous move one screen at a
    time and keep the screen in the URL."""
    open_app(page, app_url, present="1")
    expect(page.get_by_role("heading", level=1)).to_have_text("Where we are")
    expect(page.get_by_test_id("stSidebar")).to_be_hidden()
    expect(page.get_by_test_id("stMultiSelect")).to_have_count(0)
    expect(page.get_by_test_id("stMetric")).to_have_count(4)
    page.get_by_role("button", name="Next").click()
    wait_for_app(page)
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile("^The story so far"))
    assert _params(page.url)["screen"] == "2"
    page.get_by_role("button", name="Next").click()
    wait_for_app(page)
    assert _params(page.url)["screen"] == "3"
    page.get_by_role("button", name="Previous").click()
    wait_for_app(page)
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile("^The story so far"))
    assert _params(page.url)["screen"] == "2"
    assert _params(page.url)["present"] == "1"
