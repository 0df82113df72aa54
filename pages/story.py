"""Story: the headline numbers, the narrative, the cumulative value curve (click a go-live to
open the innovation) and a then-vs-now strip — the QBR in one page. Nothing waits for the
causal estimates: when they are not stored yet, the evidence card and sentence follow on a
later run (a note at the end of the page says they are being computed)."""

from __future__ import annotations

import streamlit as st

from ui import view_blocks
from ui.page_context import page_context
from ui.page_states import require_data
from ui.safe import md

ctx = page_context(__file__)
require_data(ctx)
assert ctx.data is not None

st.title(md(ctx.data.account.name))
st.caption(f"The story so far · {ctx.describe_filters()}")
cards = view_blocks.headline_cards(ctx)

st.subheader("The story so far")
story = view_blocks.narrative(ctx)

st.subheader("Value, month after month")
view_blocks.cumulative_curve(ctx, interactive=True)

st.subheader("Then and now")
view_blocks.then_now_strip(ctx)
st.page_link(
    "pages/then_now.py",
    label="Compare any two periods",
    icon=":material/compare:",
    query_params={k: v for k, v in st.query_params.items() if k != "innovation"},
)

view_blocks.finish(cards, story)
