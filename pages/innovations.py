"""Innovations: pipeline funnel and portfolio figures, portfolio mix, go-lives per quarter,
the timeline and the searchable register. A timeline bar or a register row opens the detail
page; a funnel stage filters the register."""

from __future__ import annotations

import streamlit as st

from charts.innovations import funnel_chart, golives_chart, mix_chart, timeline_chart
from metrics.innovation_views import (
    data_as_of,
    in_categories,
    register_table,
    search_register,
    timeline_frame,
)
from metrics.pipeline import golives_by_quarter, pipeline_summary, portfolio_mix, stage_funnel
from metrics.rules import STAGES
from ui.context import page_context
from ui.nav import open_detail
from ui.states import new_install

ctx = page_context()
if ctx.data is None:
    new_install()
    st.stop()
data, scale = ctx.data, 1.3 if ctx.present else 1.0
register = in_categories(data.innovations, ctx.categories)
st.title("Innovations")
if register.empty:
    st.info(
        "No innovations in this selection. Import a register on the **Data** page, or "
        "widen the category filter."
    )
    st.stop()

summary = pipeline_summary(register, data.rollouts)
m = st.columns(4)
m[0].metric(
    "Innovations",
    f"{summary.innovations}",
    help="In the register, all stages (after the category filter).",
)
m[1].metric(
    "Reached pilot",
    "—" if summary.share_to_pilot is None else f"{summary.share_to_pilot:.0%}",
    delta=f"{summary.reached_pilot} innovations",
    delta_color="off",
    delta_arrow="off",
)
m[2].metric(
    "Median idea → live",
    "—"
    if summary.median_idea_to_live_days is None
    else f"{summary.median_idea_to_live_days:.0f} days",
    delta=f"over {summary.n_live} live",
    delta_color="off",
    delta_arrow="off",
)
m[3].metric(
    "Kill rate",
    "—" if summary.kill_rate is None else f"{summary.kill_rate:.0%}",
    delta=f"{summary.rejected} rejected",
    delta_color="off",
    delta_arrow="off",
    help="Rejected ÷ (rejected + reached pilot): of the ideas decided either way, the "
    "share stopped before a pilot.",
)

left, right = st.columns([5, 4], gap="large")
with left:
    st.subheader("Pipeline")
    funnel = st.altair_chart(
        funnel_chart(stage_funnel(register), scale=scale),
        on_select="rerun",
        key="funnel",
        width="stretch",
    )
    st.caption(
        "How many innovations reached each stage, and the share of the previous "
        "stage that got there. Click a stage to list its innovations below."
    )
with right:
    st.subheader("Go-lives per quarter")
    st.altair_chart(
        golives_chart(golives_by_quarter(data.rollouts, ctx.unit_ids), scale=scale), width="stretch"
    )
st.subheader("Portfolio mix")
st.altair_chart(mix_chart(portfolio_mix(register), scale=scale))

picked_stage = [p["stage"] for p in (funnel["selection"].get("stage") or [])] if funnel else []
if picked_stage != st.session_state.get("_funnel_stage", []):  # a new click on the funnel
    st.session_state["_funnel_stage"] = picked_stage
    st.session_state["register_stages"] = picked_stage

st.subheader("Timeline: idea → live")
as_of = data_as_of(data.monthly)
timeline = st.plotly_chart(
    timeline_chart(timeline_frame(register, as_of=as_of), as_of=as_of, scale=scale),
    on_select="rerun",
    selection_mode="points",
    key="timeline",
    config={"displayModeBar": False},
)
points = timeline["selection"]["points"] if timeline else []
if points and points[0].get("customdata"):
    open_detail(str(points[0]["customdata"][0]))

st.subheader("Register")
c1, c2 = st.columns([2, 3])
text = c1.text_input(
    "Search code, title, owner or description",
    key="register_search",
    placeholder="e.g. claims, Ana, INN-012",
)
stages = c2.multiselect("Stage", list(STAGES), key="register_stages", placeholder="All stages")
table = search_register(
    register_table(register, data.targets, data.kpis, data.rollouts), text, stages
)
st.caption(f"{len(table)} innovation(s). Select a row to open its detail.")
picked = st.dataframe(
    table,
    hide_index=True,
    on_select="rerun",
    selection_mode="single-row",
    key="register",
    column_order=[
        "code",
        "title",
        "stage",
        "category",
        "scale",
        "origin",
        "owner",
        "target_kpi",
        "expected_effect_pct",
        "estimated_annual_value",
        "units_live",
        "first_go_live",
        "evidence_status",
    ],
    column_config={
        "target_kpi": "target KPI",
        "expected_effect_pct": st.column_config.NumberColumn("expected", format="%+.1f %%"),
        "estimated_annual_value": st.column_config.NumberColumn(
            f"claim / year ({data.account.currency})", format="localized"
        ),
        "units_live": "units",
        "evidence_status": "evidence",
        "first_go_live": st.column_config.DateColumn("first go-live", format="D MMM YYYY"),
    },
)
rows = picked["selection"]["rows"] if picked else []
if rows:
    open_detail(str(table["code"].iloc[rows[0]]))
