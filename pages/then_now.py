"""Then & Now: the same KPI cards for two periods side by side, like two photographs a year
apart, with the innovations that went live in between. Defaults: the baseline window vs the
last full quarter; presets compare the last quarter with the same quarter a year earlier or
with the quarter of the last renewal pack edition; both periods can be chosen freely (and
travel in the URL)."""

from __future__ import annotations

import streamlit as st

from ui import cached, view_blocks
from ui.filters import period_picker
from ui.page_context import page_context
from ui.page_states import require_data

ctx = page_context(__file__)
require_data(ctx)
assert ctx.data is not None

st.title("Then & Now")
st.caption(
    f"{ctx.describe_filters()} · The same scorecard at two moments, side by side. "
    "Deltas are coloured by what is better for each KPI (blue) or worse (vermillion), "
    "not by the sign; transactions are the client's demand, shown neutral (grey)."
)
default_then, default_now = cached.default_periods(ctx)
data = ctx.data
presets, last_edition = cached.then_now_presets(ctx)


def _use_preset() -> None:
    """Set both sliders to the chosen pair of periods (they re-read their value)."""
    chosen = presets.get(st.session_state.get("tn_preset") or "")
    if chosen is None:
        return
    for param, (a, b) in (("then", chosen[0]), ("now", chosen[1])):
        st.session_state[f"_tn_photo_{param}"] = (f"{a:%Y-%m}", f"{b:%Y-%m}")
        st.session_state.pop(f"w_photo_{param}_{data.account.id}", None)


st.segmented_control(
    "Compare",
    list(presets),
    key="tn_preset",
    on_change=_use_preset,
    help="Now is the last full quarter; Then is the baseline, the same quarter a year "
    "earlier, or the quarter of the last renewal pack edition"
    + (f" (as of {last_edition:%d %b %Y})" if last_edition else " (none archived yet)"),
)
# In a form: dragging a slider redraws nothing until Compare is pressed (a drag reran the
# page once per step — 45 steps took 23 s); the two periods change together.
with st.form("tn-periods", border=False):
    c1, c2 = st.columns(2, gap="large")
    with c1:
        then = period_picker(ctx.data, "Then", "then", default_then)
    with c2:
        now = period_picker(ctx.data, "Now", "now", default_now)
    st.form_submit_button("Compare these periods", icon=":material/compare:")
view_blocks.then_now_photo(ctx, then=then, now=now)
