"""Rendering pieces of the Innovation-detail page (Streamlit calls only; figures come from
``metrics``), kept out of the page script so it stays a short read → compute → show."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from metrics.impact import EVIDENCE_NOTES, InnovationEffect
from metrics.innovation_views import InnovationRecord, InnovationValue, TargetKpi
from metrics.views import money as _money
from ui.safe import md

__all__ = ["estimate_block", "money", "record_header", "targets_and_rollouts", "value_block"]


def money(x: float | None, currency: str, locale: str = "en_US") -> str:
    """Exact money in the account's currency and locale (``$276,767``; "—" for none)."""
    return _money(x, currency, locale, compact=False)


def record_header(rec: InnovationRecord, currency: str, locale: str) -> None:
    """Title, classification, description, key facts and stage dates."""
    st.title(f"{md(rec.code)} · {md(rec.title)}")
    st.caption(
        f"**{md(rec.stage)}** · {md(rec.category)} · {md(rec.scale)} · {md(rec.origin)} origin · "
        f"owner {md(rec.owner or '—')} · evidence / sign-off: **{md(rec.evidence_status)}** · "
        + ("gain-share eligible" if rec.gain_share_eligible else "not gain-share eligible")
    )
    if rec.description:
        st.markdown(md(rec.description))
    c = st.columns(3)
    c[0].metric(
        "Claimed value per year",
        money(rec.estimated_annual_value, currency, locale),
        help="The register's estimate of annual value at full rollout (the claim).",
    )
    c[1].metric("Innovation days", f"{rec.innovation_days:g}")
    c[2].metric(
        "Idea → live", "—" if rec.idea_to_live_days is None else f"{rec.idea_to_live_days} days"
    )
    st.markdown(
        "**Stages** · "
        + " → ".join(f"{name} {d:%d %b %Y}" for name, d in rec.stage_dates.items() if d is not None)
    )


def targets_and_rollouts(rec: InnovationRecord, units: pd.DataFrame) -> None:
    """The target KPIs with their expected effect, and the rollout units in go-live order
    (``units``: ``metrics.innovation_views.rollout_units``)."""
    left, right = st.columns([2, 3])
    with left:
        st.subheader("Targets")
        st.dataframe(
            rec.targets[["label", "expected_effect_pct", "direction"]],
            hide_index=True,
            column_config={
                "label": "KPI",
                "direction": "better when",
                "expected_effect_pct": st.column_config.NumberColumn(
                    "expected effect", format="%+.1f %%"
                ),
            },
        )
    with right:
        st.subheader(f"Rollouts ({len(units)} units)")
        if units.empty:
            st.caption("Not live anywhere yet.")
        else:
            st.dataframe(
                units[["order", "unit", "region", "go_live"]],
                hide_index=True,
                column_config={
                    "go_live": st.column_config.DateColumn("go-live", format="D MMM YYYY")
                },
            )


def value_block(value: InnovationValue, currency: str, locale: str, selection: str) -> None:
    """Claimed, measured (attributed) and estimated value to date, with the evidence level."""
    m = st.columns(4)
    m[0].metric(
        "Claimed to date",
        money(value.claimed, currency, locale),
        help="The claim, 1/12 a month from each unit's go-live, shared by volume.",
    )
    m[1].metric(
        "Measured (attributed)",
        money(value.measured, currency, locale),
        help="Its share of the measured benefit against the frozen baseline, split "
        "among the innovations live there by expected effect.",
    )
    m[2].metric(
        "Realisation",
        "—" if value.realisation is None else f"{value.realisation:.0%}",
        help="Measured ÷ claimed.",
    )
    m[3].metric(
        "Estimated (causal)",
        money(value.estimated, currency, locale),
        delta=None
        if value.estimated_low is None
        else f"95 % CI {money(value.estimated_low, currency, locale)} to "
        f"{money(value.estimated_high, currency, locale)}",
        delta_color="off",
        delta_arrow="off",
        help="Actual minus the estimated no-innovation path, times the treated volume "
        "and the KPI's money value, since go-live (all units and months).",
    )
    st.markdown(f"**Evidence level: {value.evidence}.** {EVIDENCE_NOTES[value.evidence]}")
    st.caption(f"Claimed and measured: {selection}. Estimated: all units and months.")


def estimate_block(eff: InnovationEffect, kpi: TargetKpi) -> None:
    """The estimated effect in % and in the KPI's unit with 95 % intervals, the method, the
    other innovations controlled for, and the estimator's warnings."""
    est, uom = eff.estimate, kpi.unit_of_measure
    m = st.columns(4)
    m[0].metric(
        f"Effect on {kpi.label}",
        f"{eff.effect_pct:+.1f} %",
        delta=f"95 % CI {eff.effect_pct_ci_low:+.1f} to {eff.effect_pct_ci_high:+.1f} %",
        delta_color="off",
        delta_arrow="off",
        help="Actual versus the estimated no-innovation path, in % of that path, "
        "over the live unit-months (volume-weighted).",
    )
    m[1].metric(
        f"In {uom or 'KPI units'} per transaction",
        f"{eff.effect_level:+,.3g} {uom}".strip(),
        delta=f"95 % CI {eff.effect_level_ci_low:+,.3g} to {eff.effect_level_ci_high:+,.3g}",
        delta_color="off",
        delta_arrow="off",
    )
    m[2].metric(
        "Units live / all units",
        f"{est.n_treated_units} / {est.n_units}",
        delta=f"{est.n_treated_obs} live unit-months",
        delta_color="off",
        delta_arrow="off",
    )
    m[3].metric(
        "p-value",
        f"{est.p_value:.3f}",
        delta=f"{est.inference} inference",
        delta_color="off",
        delta_arrow="off",
    )
    controls = (
        f" Controlled for {len(eff.controls)} other innovation(s) on this KPI: "
        f"{', '.join(eff.controls)}."
        if eff.controls
        else ""
    )
    st.caption(
        f"{est.summary()} Method: {est.method}, {eff.scale} scale. All units of the "
        f"account are used (units not live yet are the comparison), whatever the unit "
        f"filter.{controls}"
    )
    for w in est.warnings:
        st.warning(w)
