"""Innovations: pipeline funnel and portfolio figures, portfolio mix, go-lives per quarter,
the timeline and the searchable register. A timeline bar or a register row opens the detail
page; a funnel stage filters the register."""

from __future__ import annotations

import streamlit as st

from charts.innovations import funnel_chart, golives_chart, mix_panel, timeline_chart
from metrics.format import counted
from metrics.rules import FORWARD_STAGES, STAGES
from ui import cached
from ui.card_and_chart import altair
from ui.nav import open_detail, split_list, sync_params
from ui.page_context import page_context
from ui.page_states import new_install

ctx = page_context(__file__)
if ctx.data is None:
    new_install()
    st.stop()
data, scale = ctx.data, 1.3 if ctx.present else 1.0
view = cached.innovations(ctx)
st.title("Innovations")
if view.register.empty:
    st.info(
        "No innovations in this selection. Import a register on the **Data** page, or "
        "widen the category filter."
    )
    st.stop()

summary = view.summary
m = st.columns(4)
m[0].metric(
    "Innovations",
    f"{summary.innovations}",
    help="In the register, all stages (after the category filter).",
)
m[1].metric(
    "Reached pilot",
    "—" if summary.share_to_pilot is None else f"{summary.share_to_pilot:.0%}",
    delta=counted(summary.reached_pilot, "innovation"),
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
    funnel = altair(
        funnel_chart, view.funnel, scale=scale, on_select="rerun", key="funnel", theme="streamlit"
    )
    st.caption(
        "How many innovations reached each stage (a retired one reached scaled), and the "
        "share of the previous stage that got there. Click a stage to list below exactly "
        "the innovations it counts."
    )
with right:
    st.subheader("Unit go-lives per quarter")
    per_quarter = view.go_lives
    altair(golives_chart, per_quarter, scale=scale, theme="streamlit")
    st.caption(
        f"Each bar counts rollouts (an innovation going live at a unit): "
        f"{counted(view.unit_go_lives, 'unit go-live')} of "
        f"{counted(view.innovations_gone_live, 'innovation')}."
    )
st.subheader("Portfolio mix")
dimensions = list(dict.fromkeys(view.mix["dimension"]))
for column, dimension in zip(st.columns(max(len(dimensions), 1)), dimensions, strict=False):
    with column:
        altair(mix_panel, view.mix, dimension, scale=scale, theme="streamlit")

picked_stage = [p["stage"] for p in (funnel["selection"].get("stage") or [])] if funnel else []
if picked_stage != st.session_state.get("_funnel_stage", []):  # a new click on the funnel
    st.session_state["_funnel_stage"] = picked_stage
    # the funnel counts innovations that *reached* a stage, so its click lists those (one
    # rule, metrics.rules.furthest_stage), not the ones in that stage now
    st.session_state["register_reached"] = picked_stage[0] if picked_stage else None

st.subheader("Timeline: idea → live")
timeline = altair(
    timeline_chart,
    view.timeline,
    as_of=view.as_of,
    scale=scale,
    on_select="rerun",
    key="timeline",
    theme="streamlit",
)
picked_code = (timeline["selection"].get("innovation") or []) if timeline else []
if picked_code and picked_code[0].get("code"):
    open_detail(str(picked_code[0]["code"]))

st.subheader("Register")
c1, c2, c3 = st.columns([4, 4, 2])
# the search and the stage filter travel in the URL (?q=…&stage=pilot,idea), like the filters
if "register_search" not in st.session_state:
    st.session_state["register_search"] = st.query_params.get("q", "")
if "register_stages" not in st.session_state:
    st.session_state["register_stages"] = [
        name for name in split_list(st.query_params.get("stage")) if name in STAGES
    ]
text = c1.text_input(
    "Search code, title, owner or description",
    key="register_search",
    placeholder="e.g. claims, Ana, INN-012",
)
if "register_reached" not in st.session_state:
    got = st.query_params.get("reached")
    st.session_state["register_reached"] = got if got in FORWARD_STAGES else None
stages = c2.multiselect("Stage now", list(STAGES), key="register_stages", placeholder="All stages")
reached = c3.selectbox(
    "Reached (funnel)",
    list(FORWARD_STAGES),
    key="register_reached",
    index=None,
    placeholder="Any",
    help="The innovations a funnel bar counts: those that reached this stage, whatever "
    "their stage now (a retired innovation reached scaled).",
)
sync_params({"q": text.strip(), "stage": ",".join(stages), "reached": reached or ""})
table = view.search(text, stages, reached)
st.caption(
    f"{len(table)} innovation(s)"
    + (f" that reached {reached}" if reached else "")
    + ". Select a row to open its detail."
)
picked = st.dataframe(
    table,
    hide_index=True,
    on_select="rerun",
    selection_mode="single-row",
    key="register",
    # key columns first, widths that fit a 1280 px laptop with the sidebar open; the rest of
    # an innovation's record is one click away on its detail page
    column_order=[
        "code",
        "title",
        "stage",
        "estimated_annual_value",
        "first_go_live",
        "units_live",
        "evidence_status",
        "target_kpi",
    ],
    column_config={
        "code": st.column_config.TextColumn("code", width=72),
        "title": st.column_config.TextColumn("innovation", width=205),
        "stage": st.column_config.TextColumn("stage", width=78),
        "estimated_annual_value": st.column_config.NumberColumn(
            f"claim/yr ({data.account.currency})", format="localized", width=96
        ),
        "first_go_live": st.column_config.DateColumn("first live", format="MMM YYYY", width=82),
        "units_live": st.column_config.NumberColumn("units", width=52),
        "evidence_status": st.column_config.TextColumn("sign-off", width=82),
        "target_kpi": st.column_config.TextColumn("target KPI", width=110),
    },
)
rows = picked["selection"]["rows"] if picked else []
if rows:
    open_detail(str(table["code"].iloc[rows[0]]))
