"""A server's very first visitor arrives by a shared link, not by the front page."""

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

    # Known exception: with the path "pack" the Renewal pack page's form submit was lost in
    # AppTest (tests/reports/test_pack_page.py), cause not found yet; a first visit by a link
    # to /renewal-pack still meets the dialog.
    exceptions = {"pages/pack.py": "renewal-pack"}
    for spec in PAGE_SPECS:
        if not spec.default:
            want = exceptions.get(spec.path, PurePosixPath(spec.path).stem)
            assert spec.url_path == want, spec
