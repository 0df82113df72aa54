"""Innovation detail: the record, its rollouts, the target KPI per unit around go-live, the
event study and the estimated effect with its evidence level. Reads ?innovation=CODE."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from charts.detail import event_study_chart, kpi_by_unit_chart
from metrics.filters import Filters
from metrics.impact import EstimationError, InnovationEffect
from metrics.innovation_views import (
    estimate_innovation,
    event_study_frame,
    innovation_labels,
    innovation_record,
    innovation_value,
    kpi_around_go_live,
    rollout_units,
)
from metrics.views import value_lines
from ui.innovation_blocks import (
    estimate_block,
    money,
    record_header,
    targets_and_rollouts,
    value_block,
)
from ui.page_context import CACHE_TTL, cached_account_data, page_context
from ui.safe import md
from ui.signoff_block import signoff_block


@st.cache_data(ttl=CACHE_TTL, show_spinner=False)
def cached_value_lines(url, scope, account_id: int, version: str, sel: Filters) -> pd.DataFrame:
    """Claimed and measured (attributed) value per innovation (no estimates: see below)."""
    return value_lines(cached_account_data(url, scope, account_id, version), sel, None)


@st.cache_data(ttl=CACHE_TTL, show_spinner="Estimating the effect…")
def cached_effect(
    url, scope, account_id: int, version: str, code: str, kpi_key: str
) -> InnovationEffect | str:
    """The innovation's estimated effect on one KPI, or why it cannot be estimated."""
    data = cached_account_data(url, scope, account_id, version)
    rec = innovation_record(data.innovations, data.targets, data.kpis, data.rollouts, code)
    if rec is None:
        return f"there is no innovation {code}."
    try:
        return estimate_innovation(
            data.monthly, data.rollouts, data.targets, data.innovations, rec, kpi_key
        )
    except EstimationError as exc:
        return str(exc)


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
labels = innovation_labels(data.innovations)
code = st.query_params.get("innovation", "")
rec = (
    innovation_record(data.innovations, data.targets, data.kpis, data.rollouts, code)
    if code
    else None
)
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
if rec is None:
    st.info("Choose an innovation above, or click one on the **Innovations** page.")
    st.stop()

record_header(rec, cur, loc)
units = rollout_units(data.rollouts, data.units, rec.innovation_id)
targets_and_rollouts(rec, units)
if units.empty or rec.main_kpi is None:
    st.info(
        "Nothing to estimate: the innovation has no rollout or no target KPI. Its value "
        f"is the claim only ({money(rec.estimated_annual_value, cur, loc)} per year)."
    )
    st.stop()

st.subheader("Value to date")
main = cached_effect(ctx.url, ctx.scope, data.account.id, ctx.version, rec.code, rec.main_kpi)
sel = Filters(ctx.unit_ids, ctx.start, ctx.end, None)
line = innovation_value(
    cached_value_lines(ctx.url, ctx.scope, data.account.id, ctx.version, sel),
    rec.innovation_id,
    None if isinstance(main, str) else main,
)
value_block(line, cur, loc, ctx.describe_filters(), rec.evidence_status)
signoff_block(ctx, rec.code, line.measured)

kpis = rec.target_labels
kpi_key = (
    st.radio("Target KPI", list(kpis), format_func=kpis.__getitem__, horizontal=True)
    if len(kpis) > 1
    else rec.main_kpi
)
kpi = rec.target(kpi_key)
st.subheader(f"{md(kpi.label)} per unit around go-live")
series = kpi_around_go_live(data.monthly, data.rollouts, data.units, rec.innovation_id, kpi_key)
if series.empty:
    st.caption("No observations of this KPI for the rollout units.")
else:
    closed = rec.stage_dates.get("closed")
    retired = closed if rec.stage == "retired" and closed is not None else None
    st.altair_chart(
        kpi_by_unit_chart(
            series, kpi_label=kpi.label, unit_of_measure=kpi.unit_of_measure, retired=retired
        ),
        width="stretch",
    )
    if retired is not None:
        st.caption(
            f"Retired on {retired:%d %b %Y} (dotted end line): its credit and claim stop "
            "there; the value measured before stays."
        )
    st.caption(
        "Dashed: how the units not live with this innovation moved (month to month, "
        "volume-weighted), started from this unit's level before go-live — the path it "
        "would have followed had it moved like them."
    )

st.subheader(f"Estimated effect on {md(kpi.label)}")
eff = (
    main
    if kpi_key == rec.main_kpi
    else cached_effect(ctx.url, ctx.scope, data.account.id, ctx.version, rec.code, kpi_key)
)
if isinstance(eff, str):
    st.info(f"The effect cannot be estimated: {eff}")
    st.stop()
estimate_block(eff, kpi, loc)
horizons, unit = event_study_frame(eff)
st.altair_chart(
    event_study_chart(
        horizons,
        kpi_label=kpi.label,
        unit_of_measure=unit or kpi.unit_of_measure,
        att=eff.effect_pct if unit == "%" else eff.estimate.att,
        y_title="effect (%)" if unit == "%" else None,
    ),
    width="stretch",
)
st.caption(
    "Each dot is the average effect that many months after go-live (in % of the "
    "estimated no-innovation path), with its 95 % interval. Grey dots before go-live are "
    "placebo checks: they should sit on zero."
)
