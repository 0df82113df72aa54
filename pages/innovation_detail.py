"""Innovation detail: the record, its rollouts, the target KPI per unit around go-live, the
event study and the estimated effect with its evidence level. Reads ?innovation=CODE."""

from __future__ import annotations

import streamlit as st

from ui import cached
from ui.innovation_blocks import (
    around_go_live_block,
    estimate_block,
    event_study_block,
    money,
    record_header,
    targets_and_rollouts,
    value_block,
)
from ui.page_context import page_context
from ui.safe import md
from ui.signoff_block import signoff_block


def _pick() -> None:
    st.query_params["innovation"] = st.session_state["detail_picker"] or ""


ctx = page_context(__file__)
if ctx.data is None or ctx.data.innovations.empty:
    st.info(
        "No innovations yet. Load the demo with `make demo`, or import a register "
        "on the **Data** page."
    )
    st.stop()
data, cur, loc = ctx.data, ctx.currency, ctx.locale
code = st.query_params.get("innovation", "")
detail = cached.innovation_detail(ctx, code)
labels, rec = detail.labels, detail.record
if rec is not None:
    st.session_state["detail_picker"] = rec.code
st.selectbox(
    "Innovation",
    list(labels),
    format_func=labels.__getitem__,
    key="detail_picker",
    index=None,
    placeholder="Choose an innovation…",
    on_change=_pick,
)
if code and rec is None:
    st.error(
        f"There is no innovation with code **{md(code)}** in {md(data.account.name)}. "
        "Choose one above, or open one from the Innovations page."
    )
    st.stop()
if rec is None or detail.units is None:
    st.info("Choose an innovation above, or click one on the **Innovations** page.")
    st.stop()

record_header(rec, cur, loc)
targets_and_rollouts(rec, detail.units)
if detail.units.empty or rec.main_kpi is None:
    st.info(
        "Nothing to estimate: the innovation has no rollout or no target KPI. Its value "
        f"is the claim only ({money(rec.estimated_annual_value, cur, loc)} per year)."
    )
    st.stop()

st.subheader("Value to date")
main = cached.innovation_effect(ctx, rec.code, rec.main_kpi)
line = cached.innovation_value(ctx, rec, None if isinstance(main, str) else main)
value_block(line, cur, loc, ctx.describe_filters(), rec.evidence_status)
signoff_block(ctx, rec.code, line.measured)

kpis = rec.target_labels
kpi_key = (
    st.radio("Target KPI", list(kpis), format_func=kpis.__getitem__, horizontal=True)
    if len(kpis) > 1
    else rec.main_kpi
)
kpi = rec.target(kpi_key)
around_go_live_block(cached.around_go_live(ctx, rec.innovation_id, kpi_key), rec, kpi)

st.subheader(f"Estimated effect on {md(kpi.label)}")
eff = main if kpi_key == rec.main_kpi else cached.innovation_effect(ctx, rec.code, kpi_key)
if isinstance(eff, str):
    st.info(f"The effect cannot be estimated: {eff}")
    st.stop()
estimate_block(eff, kpi, loc)
event_study_block(eff, kpi)
