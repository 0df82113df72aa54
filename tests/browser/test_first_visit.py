"""A server's very first visitor arrives by a shared link, not by the front page: Streamlit runs
the linked page without app.py (its legacy pages/ mode), and the page runs the frame itself."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import DESKTOP, FIRST_LOAD_MS, _stop, open_app, spawn_server
from ui.nav import PAGE_SPECS

pytestmark = pytest.mark.browser


def test_a_link_to_a_page_opens_that_page_as_a_fresh_servers_first_visit(
    browser, demo_db_url: str
) -> None:
    """A link to Then & Now opened on a server nobody has visited since it started shows the
    Then & Now page, with no "Page not found" dialog: that first session runs in
    Streamlit's legacy pages/ mode, which finds a page only under its file name (the
    URL path was once ``then-and-now``, and the link fell back to the Story page behind the
    dialog)."""
    spec = next(p for p in PAGE_SPECS if p.path == "pages/then_now.py")
    pid, base = spawn_server(demo_db_url, log_name="first-visit-server.log")
    try:
        ctx = browser.new_context(viewport=DESKTOP)
        page = ctx.new_page()
        open_app(page, base, spec.url_path, timeout=FIRST_LOAD_MS)
        expect(page.get_by_role("heading", name="Then & Now", level=1)).to_be_visible(
            timeout=FIRST_LOAD_MS
        )
        expect(page.get_by_text("Page not found")).to_have_count(0)
        assert page.url.split("?")[0].rstrip("/").endswith("/" + spec.url_path)
        ctx.close()
    finally:
        _stop(pid)


def test_every_pages_url_path_is_its_file_name() -> None:
    """Every page but the default one is reached at ``/<file name>``, the only path
    Streamlit's legacy pages/ mode (a server's first session) resolves."""
    from pathlib import PurePosixPath

    for spec in PAGE_SPECS:
        if not spec.default:
            assert spec.url_path == PurePosixPath(spec.path).stem, spec


def test_the_first_visitors_filter_choice_on_a_linked_page_holds(browser, demo_db_url: str) -> None:
    """A fresh server's first visitor, arrived by a link to a page, picks a unit in the sidebar:
    the pick holds at the first try (the frame drew the filters in the same run that Streamlit
    started without app.py, and the next run, through app.py, keeps them)."""
    import warnings

    from tests.browser.test_flows import UNIT, _pick

    pid, base = spawn_server(demo_db_url, log_name="first-visit-filter-server.log")
    try:
        ctx = browser.new_context(viewport=DESKTOP)
        page = ctx.new_page()
        open_app(page, base, "contract", timeout=FIRST_LOAD_MS)
        expect(page.get_by_role("heading", name="Contract", level=1)).to_be_visible(
            timeout=FIRST_LOAD_MS
        )
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # a retried (lost) pick fails this test
            _pick(page, "Units", UNIT)
        expect(
            page.get_by_test_id("stSidebar")
            .get_by_test_id("stMultiSelect")
            .filter(has_text="Units")
        ).to_contain_text(UNIT)
        expect(page.get_by_role("heading", name="Contract", level=1)).to_be_visible()
        ctx.close()
    finally:
        _stop(pid)
