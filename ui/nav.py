"""Pages, URL parameters and moving between pages without losing the view.

URL parameters (all optional; a copied link reopens the same account, filters and page):

    account=NAME          units=NAME,NAME      cat=CATEGORY,CATEGORY
    from=YYYY-MM          to=YYYY-MM           innovation=CODE (detail page)
    present=1             screen=N (present mode)

The frame re-writes the filter parameters on every run from the widgets' state, because a
click in the navigation menu starts the next page with a bare URL (Streamlit 1.67 keeps only
widget-bound parameters). Links to the default page (Story) are ``/?…``: the default page has
no URL path of its own.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import streamlit as st

FILTER_PARAMS = ("account", "units", "cat", "from", "to")


@dataclass(frozen=True)
class PageSpec:
    path: str
    title: str
    icon: str
    url_path: str
    default: bool = False


# Each URL path is its script's file name: in a server's first session Streamlit is still in its
# legacy pages/ mode (docs/ARCHITECTURE.md), where only /<file stem> finds the page; any other
# path showed a "Page not found" dialog and dropped the requested page.
PAGE_SPECS: tuple[PageSpec, ...] = (
    PageSpec("pages/story.py", "Story", ":material/auto_stories:", "story", default=True),
    PageSpec("pages/then_now.py", "Then & Now", ":material/compare:", "then_now"),
    PageSpec("pages/value.py", "Value", ":material/savings:", "value"),
    PageSpec("pages/innovations.py", "Innovations", ":material/lightbulb:", "innovations"),
    PageSpec(
        "pages/innovation_detail.py", "Innovation detail", ":material/search:", "innovation_detail"
    ),
    PageSpec("pages/contract.py", "Contract", ":material/handshake:", "contract"),
    PageSpec("pages/pack.py", "Renewal pack", ":material/picture_as_pdf:", "pack"),
    PageSpec("pages/data.py", "Data", ":material/database:", "data"),
)
DETAIL_PAGE = "pages/innovation_detail.py"


def split_list(raw: str | None) -> list[str]:
    """``"a,b"`` → ``["a", "b"]`` (empty items dropped)."""
    return [p.strip() for p in (raw or "").split(",") if p.strip()]


def sync_params(wanted: Mapping[str, str | None]) -> None:
    """Make ``st.query_params`` hold exactly ``wanted`` for these keys (None/"" = absent).

    Only changed keys are written, so an unchanged view sends nothing to the browser.
    """
    for key, value in wanted.items():
        current = st.query_params.get(key)
        if value:
            if current != value:
                st.query_params[key] = value
        elif key in st.query_params:
            del st.query_params[key]


def page_links(box: Any, pages: Sequence[Any]) -> None:
    """The page list, drawn by the frame in ``box`` (a container at the top of the sidebar)
    once the caller's scope is known: Streamlit's own list is switched off
    (``client.showSidebarNavigation = false``) because it would name the pages/ directory
    before sign-in. Each link carries the account and filters, so a link opened in a new
    tab shows the same view."""
    params = {k: v for k, v in current_params().items() if k in FILTER_PARAMS and v}
    with box:
        for page in pages:
            st.page_link(page, query_params=params)


def current_params(*, drop: tuple[str, ...] = ()) -> dict[str, str]:
    """The URL's parameters as a plain dict (last value wins), without ``drop``."""
    return {k: st.query_params.get(k, "") for k in st.query_params if k not in drop}


def open_detail(code: str) -> None:
    """Open the innovation detail page for ``code``, keeping account and filters in the URL."""
    params = current_params(drop=("innovation", "present", "screen"))
    params["innovation"] = code
    st.switch_page(DETAIL_PAGE, query_params=params)
