"""Designed states shared by the frame and the pages: new install, database down, account
without data, a selection with no data, the local-mode banner, and the page CSS."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, NoReturn

import streamlit as st

from ui.page_context import PageContext

LOCAL_MODE = (
    "Local mode — sign-in is not configured; everyone who can open this URL sees all accounts"
)
NO_SELECTION = "No data for this selection"

_BASE_CSS = """
<style>
[data-testid="stMetricValue"] { font-variant-numeric: tabular-nums; }
[data-testid="stMetricLabel"] p { font-size: 0.95rem; }
.tn-muted { color: #52606D; font-size: 0.9rem; }
.tn-then-now h3 { margin-bottom: 0.2rem; }
.st-key-tn-photo [data-testid="stMetricValue"],
.st-key-tn-photo [data-testid="stMetricValue"] * { font-size: clamp(1.45rem, 2.1vw, 2.4rem); }
.st-key-tn-photo [data-testid="stMetricLabel"] * {
  white-space: normal !important; overflow: visible !important; }
</style>
"""

_PRESENT_CSS = """
<style>
[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"],
[data-testid="stHeader"], [data-testid="stToolbar"], [data-testid="stDecoration"],
[data-testid="stStatusWidget"], .st-key-present-keys { display: none !important; }
/* Type follows the window's height, so a screen that fits 1280×720 fits 1440×900 too. */
.block-container, [data-testid="stMainBlockContainer"] {
  padding-top: clamp(0.75rem, 2.5vh, 2rem) !important; max-width: 1400px; }
[data-testid="stMarkdownContainer"] p, [data-testid="stMarkdownContainer"] li {
  font-size: clamp(18px, 3.25vh, 26px) !important; line-height: 1.45; }
h1 { font-size: clamp(32px, 5.6vh, 48px) !important; padding: 0.1rem 0 0.5rem !important; }
h2 { font-size: clamp(26px, 4vh, 36px) !important; }
h3 { font-size: clamp(22px, 3.4vh, 30px) !important; padding: 0.2rem 0 !important; }
[data-testid="stMetric"] [data-testid="stMetricValue"],
[data-testid="stMetric"] [data-testid="stMetricValue"] * {
  font-size: clamp(32px, 6.4vh, 56px) !important; line-height: 1.15 !important;
  font-variant-numeric: tabular-nums; }
[data-testid="stMetric"] [data-testid="stMetricLabel"] p {
  font-size: clamp(18px, 2.8vh, 24px) !important; }
[data-testid="stMetric"] [data-testid="stMetricDelta"],
[data-testid="stMetric"] [data-testid="stMetricDelta"] * { font-size: 18px !important; }
[data-testid="stCaptionContainer"], [data-testid="stCaptionContainer"] p {
  font-size: clamp(15px, 2.3vh, 18px) !important; }
[data-testid="stDataFrame"] { font-size: 18px; }
[data-testid="stMainBlockContainer"] { padding-bottom: 5.5rem !important; }
.st-key-present-nav {
  position: fixed; left: 0; right: 0; bottom: 0; z-index: 999990; background: #FFFFFF;
  border-top: 1px solid #D9DEE3; gap: 0.25rem;
  padding: 0.4rem max(6rem, calc((100vw - 1400px) / 2 + 6rem)); }
.st-key-present-nav [data-testid="stMarkdownContainer"] p,
.st-key-present-nav [data-testid="stPageLink"] p { font-size: 16px !important; }
.st-key-present-nav [data-testid="stElementContainer"]:has([data-testid="stPageLink"]) {
  align-self: center; }
</style>
"""


def inject_css(*, present: bool) -> None:
    """Once per run, from the frame: the house tweaks, plus large type in present mode."""
    st.html(_BASE_CSS + (_PRESENT_CSS if present else ""))


def local_mode_banner() -> None:
    st.caption(f":material/lock_open: {LOCAL_MODE}")


def sidebar_footer(*, present_params: Mapping[str, str], page: Any, local_mode: bool) -> None:
    """Present-mode link and the discreet local-mode banner at the foot of the sidebar."""
    st.divider()
    st.page_link(
        page,
        label="Present",
        icon=":material/slideshow:",
        query_params=dict(present_params),
        help="Full-screen story for screen-sharing: one idea per screen.",
    )
    if local_mode:
        local_mode_banner()


def new_install() -> None:
    """A database without any account: say how to load data."""
    st.title("Welcome to Then & Now")
    st.info(
        "There is no data yet. Import your first files on the **Data** page (templates are "
        "in its Templates tab), or load the demo account with `make demo` "
        "(`.venv/bin/thenandnow import FILE…` imports from the command line).",
        icon=":material/inventory_2:",
    )


def unreachable_message(exc: BaseException, url: str) -> str:
    """The words for a database failure: the ``DatabaseUnavailable`` message as written, or
    the driver's first line for a raw SQLAlchemy error (password hidden)."""
    from data_loaders.db import DatabaseUnavailable, redact

    if isinstance(exc, DatabaseUnavailable):
        return str(exc)
    orig = getattr(exc, "orig", None)
    detail = str(orig if orig is not None else exc).strip().splitlines()
    return f"The database at {redact(url)} cannot be reached: {detail[0] if detail else ''}"


def database_down(message: str) -> None:
    """The designed state for a database that cannot be asked (any page, any action)."""
    st.title("Then & Now")
    st.error(
        f"**The database is not reachable right now.**\n\n{message}", icon=":material/cloud_off:"
    )
    st.caption(
        "Nothing is lost: the page asks again when you retry, and works as soon as "
        "the database is back."
    )
    if st.button("Try again", icon=":material/refresh:", key="retry_database"):
        st.rerun()


@contextmanager
def database_guard(url: str, *, key: str) -> Iterator[None]:
    """Around one action or section of a page (an import, a rollback, the history): a
    database that cannot be asked — or is busy with another import for longer than the
    wait — shows the designed message with "Try again" in its place, and the rest of the
    page still renders."""
    from sqlalchemy.exc import OperationalError

    from data_loaders.db import DatabaseUnavailable

    try:
        yield
    except (DatabaseUnavailable, OperationalError) as exc:
        st.error(
            f"**The database is not reachable right now.**\n\n{unreachable_message(exc, url)}",
            icon=":material/cloud_off:",
        )
        if st.button("Try again", icon=":material/refresh:", key=f"retry_{key}"):
            st.rerun()


def figures_as_of(when: dt.datetime) -> None:
    """The database stopped answering after this server had read the data: the page shows
    the figures of the last data version it read, and says from when."""
    with st.container(horizontal=True, vertical_alignment="center"):
        st.warning(
            f"**Figures as of {when:%H:%M}, database not reachable.** They are the figures "
            "of the data read then; imports or rollbacks since are not shown.",
            icon=":material/cloud_off:",
        )
        if st.button("Try again", icon=":material/refresh:", key="retry_as_of"):
            st.rerun()


def migration_failed(message: str) -> None:
    """The database answers but its tables could not be created or updated."""
    st.title("Then & Now")
    st.error(f"**The database is not ready.**\n\n{message}", icon=":material/build:")
    if st.button("Try again", icon=":material/refresh:", key="retry_migrate"):
        st.rerun()


def require_account(ctx: PageContext) -> None:
    """Stop the page with a helpful message when there is no account or no KPI data."""
    if ctx.data is None:
        new_install()
        st.page_link("pages/data.py", label="Open the Data page", icon=":material/database:")
        st.stop()
    if ctx.data.monthly.empty:
        st.info(
            f"**{ctx.data.account.name}** has no KPI observations yet. Import them on "
            "the Data page (or load the demo with `make demo`).",
            icon=":material/inventory_2:",
        )
        st.page_link("pages/data.py", label="Open the Data page", icon=":material/database:")
        st.stop()


def require_data(ctx: PageContext) -> None:
    """``require_account``, then stop with the no-data message when the selected units have
    no observations in the selected period."""
    from metrics.views import has_data

    require_account(ctx)
    assert ctx.data is not None
    if not has_data(ctx.data, ctx.filters):
        no_data(ctx, "no KPI observations")


def no_data(ctx: PageContext, what: str = "") -> NoReturn:
    """Stop with the 'no data for this selection' message naming the selection."""
    detail = f" ({what})" if what else ""
    st.info(
        f"**{NO_SELECTION}**{detail}: {ctx.describe_filters()}. Widen the period or "
        "choose other units or categories in the sidebar.",
        icon=":material/filter_alt_off:",
    )
    st.stop()
    raise AssertionError("unreachable")  # pragma: no cover - st.stop raises
