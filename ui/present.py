"""Present mode (``?present=1``): the story for screen-sharing, one idea per screen.

No sidebar and no filter widgets (the filters come from the URL the presenter opened), large
type (CSS injected once by the frame), and previous/next buttons. The screens reuse the
pages' sections and chart builders, so what is presented equals what the pages show.
``?screen=N`` (1-based) names the screen, so a link can open on any of them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st

from metrics import views
from ui import cached, sections
from ui.context import PageContext
from ui.nav import current_params

SCALE = 1.35  # chart type scale for the projector

SCREENS: tuple[tuple[str, str, Callable[[PageContext], object]], ...] = (
    # Neither waits for the causal estimates: shown at once, the evidence filled in after.
    (
        "headline",
        "Where we are",
        lambda ctx: sections.finish(sections.headline_cards(ctx, big=True, defer=True)),
    ),
    (
        "narrative",
        "The story so far",
        lambda ctx: sections.finish(sections.narrative(ctx, big=True, defer=True)),
    ),
    (
        "curve",
        "Value, month after month",
        lambda ctx: sections.cumulative_curve(ctx, interactive=False, scale=SCALE, height=270),
    ),
    ("then_now", "Then and now", lambda ctx: sections.then_now_photo(ctx, compact=True)),
    # with evidence levels once the estimates are stored (never waits for them)
    (
        "bridge",
        "What drove it",
        lambda ctx: sections.bridge(ctx, scale=SCALE, evidence=cached.estimates_ready(ctx)),
    ),
    ("contract", "What the contract says", lambda ctx: sections.contract_summary(ctx, scale=SCALE)),
    ("next", "What's next", lambda ctx: sections.whats_next(ctx, scale=SCALE)),
)


def screen_index() -> int:
    """The 0-based screen asked for in the URL, kept within range."""
    try:
        n = int(st.query_params.get("screen", "1"))
    except ValueError:
        n = 1
    return min(max(n, 1), len(SCREENS)) - 1


def _go(index: int) -> None:
    st.query_params["screen"] = str(index + 1)


def run(ctx: PageContext, page: Any) -> None:
    i = screen_index()
    key, title, render = SCREENS[i]
    name = ctx.data.account.name if ctx.data is not None else "Then & Now"
    st.caption(f"{name} · {ctx.describe_filters()}" if ctx.data is not None else name)
    st.title(title)
    body = st.container()  # filled last, so a "no data" stop keeps the buttons below
    # The controls sit in a bar pinned to the bottom of the window (CSS in ui.states), so
    # Next is on screen whatever the screen's height.
    with st.container(key="present-nav"):
        prev_col, mid, next_col = st.columns([1, 3, 1], vertical_alignment="center")
        prev_col.button(
            "Previous",
            icon=":material/arrow_back:",
            disabled=i == 0,
            on_click=_go,
            args=(i - 1,),
            width="stretch",
            key="present-prev",
        )
        upcoming = f" · next: {SCREENS[i + 1][1]}" if i + 1 < len(SCREENS) else ""
        with mid:
            st.markdown(
                f"<div style='text-align:center;color:#52606D'>{i + 1} / "
                f"{len(SCREENS)}{upcoming}</div>",
                unsafe_allow_html=True,
            )
            params = current_params(drop=("present", "screen"))
            st.page_link(
                page, label="Leave present mode", icon=":material/close:", query_params=params
            )
        next_col.button(
            "Next",
            icon=":material/arrow_forward:",
            disabled=i == len(SCREENS) - 1,
            on_click=_go,
            args=(i + 1,),
            width="stretch",
            key="present-next",
        )
    with body:
        if ctx.data is None or not views.has_data(ctx.data, ctx.filters):
            st.info(
                "There is no data to present for this selection. Load the demo with "
                "`python cli.py demo`, import files on the Data page, or widen the filters."
            )
        else:
            with st.container(key=f"present-screen-{key}"):
                render(ctx)
