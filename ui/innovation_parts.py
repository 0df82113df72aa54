"""Rendering pieces of the Innovation-detail page (Streamlit calls only; figures come from
``metrics``), kept out of the page script so it stays a short read → compute → show."""

from __future__ import annotations

import streamlit as st

from metrics.impact import EVIDENCE_NOTES, InnovationEffect
from metrics.innovation_views import InnovationRecord, TargetKpi

__all__ = ["estimate_block", "money", "record_header"]


def money(x: float | None, currency: str) -> str:
    """``USD 276,767`` (whole units; "—" when there is no figure)."""
    return "—" if x is None else f"{currency} {x:,.0f}"


def record_header(rec: InnovationRecord, currency: str) -> None:
    """Title, classification, description, key facts and stage dates."""
    st.title(f"{rec.code} · {rec.title}")
    st.caption(f"**{rec.stage}** · {rec.category} · {rec.scale} · {rec.origin} origin · "
               f"owner {rec.owner or '—'} · evidence / sign-off: **{rec.evidence_status}** · "
               + ("gain-share eligible" if rec.gain_share_eligible else "not gain-share eligible"))
    if rec.description:
        st.write(rec.description)
    c = st.columns(3)
    c[0].metric("Claimed value per year", money(rec.estimated_annual_value, currency),
                help="The register's estimate of annual value at full rollout (the claim).")
    c[1].metric("Innovation days", f"{rec.innovation_days:g}")
    c[2].metric("Idea → live", "—" if rec.idea_to_live_days is None
                else f"{rec.idea_to_live_days} days")
    st.markdown("**Stages** · " + " → ".join(
        f"{name} {d:%d %b %Y}" for name, d in rec.stage_dates.items() if d is not None))


def estimate_block(eff: InnovationEffect, kpi: TargetKpi, currency: str, level: str) -> None:
    """The estimate's figures with their 95 % intervals, evidence level, method and warnings."""
    est, uom = eff.estimate, kpi.unit_of_measure
    m = st.columns(3)
    m[0].metric(f"Effect on {kpi.label}", f"{est.att:+,.3g} {uom}".strip(),
                delta=f"95 % CI {est.ci_low:+,.3g} to {est.ci_high:+,.3g}", delta_color="off",
                delta_arrow="off", help="Actual minus the estimated no-innovation path, per "
                "transaction, averaged over live unit-months (volume-weighted).")
    if eff.money_total is not None:
        m[1].metric("Money since go-live (estimated)", money(eff.money_total, currency),
                    delta=f"95 % CI {money(eff.money_ci_low, currency)} to "
                          f"{money(eff.money_ci_high, currency)}",
                    delta_color="off", delta_arrow="off",
                    help=f"{money(eff.money_per_month, currency)} a month over "
                         f"{eff.treated_months} live months.")
    else:
        m[1].metric("Money", "—", help="This KPI has no money value.")
    m[2].metric("Units live / all units", f"{est.n_treated_units} / {est.n_units}",
                delta=f"p = {est.p_value:.3f} · {est.inference} inference", delta_color="off",
                delta_arrow="off")
    st.markdown(f"**Evidence level: {level}.** {EVIDENCE_NOTES[level]}")
    st.caption(f"{est.summary()} Method: {est.method}. All units of the account are used "
               "(units not live yet are the comparison), whatever the unit filter.")
    for w in est.warnings:
        st.warning(w)
