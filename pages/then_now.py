"""Then & Now: the same KPI cards for two periods side by side, like two photographs a year
apart, with the innovations that went live in between. Defaults: the baseline window vs the
last full quarter; both periods can be chosen freely (and travel in the URL)."""

from __future__ import annotations

import streamlit as st

from ui import cached, sections
from ui.context import page_context
from ui.filters import period_picker
from ui.states import require_data

ctx = page_context(__file__)
require_data(ctx)
assert ctx.data is not None

st.title("Then & Now")
st.caption(
    f"{ctx.describe_filters()} · The same scorecard at two moments, side by side. "
    "Deltas are coloured by what is better for each KPI (blue) or worse (vermillion), "
    "not by the sign."
)
default_then, default_now = cached.default_periods(ctx)
# In a form: dragging a slider redraws nothing until Compare is pressed (a drag reran the
# page once per step — 45 steps took 23 s); the two periods change together.
with st.form("tn-periods", border=False):
    c1, c2 = st.columns(2, gap="large")
    with c1:
        then = period_picker(ctx.data, "Then", "then", default_then)
    with c2:
        now = period_picker(ctx.data, "Now", "now", default_now)
    st.form_submit_button("Compare these periods", icon=":material/compare:")
sections.then_now_photo(ctx, then=then, now=now)
