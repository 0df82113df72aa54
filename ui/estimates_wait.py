"""While the causal estimates of the current data are computed outside the page run.

``note(ctx)`` says so in plain words at the end of a page whose sections left something
pending (``ui.view_blocks.finish``), and looks again every ``POLL_SECONDS`` in a fragment of
its own — a small re-run of the note, not of the page: one stored-or-not query — and re-runs
the page once the estimates are stored, so they appear without the reader doing anything.
The page run itself never waits for them.
"""

from __future__ import annotations

import streamlit as st

from services import estimates_background
from ui import cached
from ui.page_context import PageContext

#: Seconds between two looks for the stored estimates.
POLL_SECONDS = 3.0
BEING_COMPUTED = (
    "The causal estimates (how sure we are of each innovation's effect) are being computed "
    "for this data — once per data change, in the background. The figures above do not need "
    "them; the evidence fills in by itself when they are ready."
)


def _failed_text(reason: str) -> str:
    return (
        "The causal estimates could not be computed for this data, so the evidence shows "
        f"measured or claimed only. The estimator said: {reason}"
    )


def _failure(ctx: PageContext) -> str | None:
    assert ctx.account_id is not None
    return estimates_background.failure(ctx.url, ctx.account_id, ctx.version)


@st.fragment(run_every=POLL_SECONDS)
def _watch(ctx: PageContext) -> None:
    if cached.estimates_ready(ctx):
        st.rerun(scope="app")
    reason = _failure(ctx)
    st.caption(BEING_COMPUTED if reason is None else _failed_text(reason))


def note(ctx: PageContext) -> None:
    """The "being computed" note, watching for the stored estimates (nothing when they are
    stored; no watching once their computation failed: the note says why)."""
    if ctx.account_id is None or cached.estimates_ready(ctx):
        return
    reason = _failure(ctx)
    if reason is not None:
        st.caption(_failed_text(reason))
        return
    _watch(ctx)
