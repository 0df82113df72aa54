"""Every page of app.py's navigation × the filter edges: no exception anywhere, and a clear
"no data for this selection" message (not a traceback) where the selection has no data."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.pages.conftest import no_exception, texts
from ui.nav import PAGE_SPECS
from ui.page_states import NO_SELECTION

ROOT = Path(__file__).resolve().parents[2]
MINE = {"pages/story.py", "pages/then_now.py", "pages/value.py", "pages/contract.py"}
EDGES: dict[str, dict[str, str]] = {
    "all": {},
    "one unit": {"units": "Kraków · Billing support"},
    "one month": {"from": "2026-10", "to": "2026-10"},
    "period without data": {"from": "2031-01", "to": "2031-06"},
    "category only": {"cat": "strategic impact"},
    "unknown unit (empty selection)": {"units": "Atlantis · Nothing"},
}


def test_the_navigation_lists_every_page_script_and_only_those() -> None:
    """Every script in pages/ is a page of the frame's navigation (``ui.nav.PAGE_SPECS``):
    in Streamlit's legacy pages/ mode a script left out would still be reachable by URL."""
    scripts = {f"pages/{p.name}" for p in (ROOT / "pages").glob("*.py") if p.name != "__init__.py"}
    assert {p.path for p in PAGE_SPECS} == scripts
    assert scripts >= MINE


@pytest.mark.parametrize("edge", list(EDGES))
@pytest.mark.parametrize("page", [p.path for p in PAGE_SPECS])
def test_page_survives_filter_edge(make_app, page: str, edge: str) -> None:
    at = make_app(page, **EDGES[edge])
    no_exception(at)
    assert at.title or at.info or at.header, "the page rendered nothing"
    if page in MINE and edge == "period without data":
        assert NO_SELECTION in texts(at)
