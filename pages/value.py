"""Value: value to date stacked by category or innovation, the baseline → now bridge with the
unattributed remainder, and claimed vs measured vs estimated per innovation with evidence
levels; every table shown can be downloaded as CSV."""

from __future__ import annotations

import streamlit as st

from metrics.impact import EVIDENCE_NOTES
from ui import view_blocks
from ui.downloads import download_csv
from ui.nav import sync_params
from ui.page_context import page_context
from ui.page_states import require_data

#: In the bridge's place when the selection's innovations are credited nothing: a heading
#: over an empty space read as a chart that failed to load.
NO_BRIDGE = (
    "No bridge to draw for this selection: its innovations are credited none of the "
    "measured value, so there is no step from the baseline to now (why: under "
    "*Value to date* above). Their claims are compared below."
)

ctx = page_context(__file__)
require_data(ctx)
assert ctx.data is not None
slug = ctx.data.account.name.lower().replace(" ", "-")

st.title("Value")
st.caption(f"Measured against the frozen baseline · {ctx.describe_filters()} · {ctx.currency}")

st.subheader("Value to date")
STACK_BY = ["category", "innovation"]
# the choice travels in the URL (?by=innovation; the default is left out), like the filters
if "value_by" not in st.session_state:
    wanted = st.query_params.get("by")
    st.session_state["value_by"] = wanted if wanted in STACK_BY else STACK_BY[0]
by = (
    st.segmented_control("Stack by", STACK_BY, key="value_by", format_func=str.capitalize)
    or STACK_BY[0]
)
sync_params({"by": by if by != STACK_BY[0] else None})
stacked = view_blocks.stacked_value(ctx, by=by)
download_csv(
    stacked,
    label="Download this chart's data (CSV)",
    file_name=f"{slug}-value-by-{by}.csv",
    key="dl_stacked",
    ctx=ctx,
)

st.subheader("From the baseline to now")
credited = not stacked.empty
if credited:
    st.caption(
        "Each bar is the value measured and credited to an innovation; its evidence level "
        "and causal estimate (see below) are shown beside it, never as the bar. What no live "
        "innovation explains stays unattributed."
    )
else:  # the stacked chart's place said why; here, in a line, what that means for the bridge
    st.markdown(NO_BRIDGE)
steps, labels = view_blocks.bridge_with_evidence(ctx, say_uncredited=credited)
if not steps.empty:
    view_blocks.bridge_others(ctx, steps)
    download_csv(
        steps,
        label="Download the bridge (CSV)",
        file_name=f"{slug}-bridge.csv",
        key="dl_bridge",
        ctx=ctx,
    )

st.subheader("Claimed, measured, estimated")
lines = view_blocks.evidence(ctx)
download_csv(
    lines,
    label="Download the table (CSV)",
    file_name=f"{slug}-evidence.csv",
    key="dl_lines",
    ctx=ctx,
)
with st.expander("How sure are we? The three evidence levels"):
    for level, note in EVIDENCE_NOTES.items():
        st.markdown(f"**{level.capitalize()}** — {note}")

view_blocks.finish(labels)  # the bridge's evidence labels, when the estimates were computed above
