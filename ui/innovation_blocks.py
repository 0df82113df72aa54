"""Rendering pieces of the Innovation-detail page (Streamlit calls only; figures come from
``metrics``), kept out of the page script so it stays a short read → compute → show."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from metrics.format import counted
from metrics.format import money as _money
from metrics.format import pct as fmt_pct
from metrics.impact import EVIDENCE_NOTES, InnovationEffect
from metrics.innovation_views import InnovationRecord, InnovationValue, TargetKpi
from metrics.rules import EVIDENCE_LABELS
from ui.card_and_chart import altair
from ui.safe import md

__all__ = [
    "effect_sentence",
    "around_go_live_block",
    "estimate_block",
    "event_study_block",
    "evidence_line",
    "money",
    "record_header",
    "targets_and_rollouts",
    "value_block",
    "warnings_that_matter",
]

#: What the register's evidence / sign-off column adds to the evidence line ("none": nothing).
REGISTER_STATUS = {
    "none": "",
    "evidence": "supporting evidence on file in the register",
    "signed off": "signed off in the register",
}
#: The estimated level in plain words (the method, with its authors, is in the expander).
PROVEN_NOTE = (
    "The units where it went live are compared with comparable units where it had not (yet), "
    "and the 95 % range of its effect excludes zero."
)
#: An estimator warning that only says the estimator adapted (it used permutation inference
#: because there are few units) changes nothing for the reader: it goes in the expander only.
HANDLED = "was used instead"


def money(x: float | None, currency: str, locale: str = "en_US") -> str:
    """Exact money in the account's currency and locale (``$276,767``; "—" for none)."""
    return _money(x, currency, locale, compact=False)


def record_header(rec: InnovationRecord, currency: str, locale: str) -> None:
    """Title, classification, description, key facts and stage dates."""
    st.title(f"{md(rec.code)} · {md(rec.title)}")
    st.caption(
        f"**{md(rec.stage)}** · {md(rec.category)} · {md(rec.scale)} · {md(rec.origin)} origin · "
        f"owner {md(rec.owner or '—')} · "
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
        st.subheader(f"Rollouts ({counted(len(units), 'unit')})")
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


def evidence_line(level: str, register_status: str) -> str:
    """One line: the evidence level by its one name, the register's evidence / sign-off
    status when it says anything, and what the level means in plain words."""
    extra = REGISTER_STATUS.get(register_status, md(register_status))
    note = PROVEN_NOTE if level == "estimated" else EVIDENCE_NOTES[level]
    return (
        f"**Evidence: {EVIDENCE_LABELS[level]}**" + (f" · {extra}" if extra else "") + (f". {note}")
    )


def value_block(
    value: InnovationValue,
    currency: str,
    locale: str,
    selection: str,
    register_status: str = "none",
) -> None:
    """Claimed, measured (attributed) and estimated value to date, with the evidence level
    and the register's evidence / sign-off status on one line."""
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
    st.markdown(evidence_line(value.evidence, register_status))
    st.caption(f"Claimed and measured: {selection}. Estimated: all units and months.")


def _range(lo: float, hi: float, locale: str) -> str:
    """Two effects in % (−13.8 = −13.8 %) as the app writes a change: ``−13.8% to −9.9%``."""
    return f"{fmt_pct(lo / 100, locale)} to {fmt_pct(hi / 100, locale)}"


def _signed(x: float) -> str:
    return f"{x:+,.3g}".replace("-", "−")


def effect_sentence(eff: InnovationEffect, kpi: TargetKpi, locale: str = "en_US") -> str:
    """The estimate in plain words: "Cost per transaction fell 3.4% at the 6 units where it
    went live, against comparable units (95 % range −4.1% to −2.7%)." and what the range
    says."""
    est, pct = eff.estimate, eff.effect_pct
    moved = "did not change" if round(pct, 1) == 0 else ("fell" if pct < 0 else "rose")
    size = "" if moved == "did not change" else f" {fmt_pct(abs(pct) / 100, locale, signed=False)}"
    better = (pct < 0) == (kpi.direction == "lower")
    units = f"the {est.n_treated_units} units" if est.n_treated_units != 1 else "the unit"
    verdict = (
        f"The range excludes zero, so the {'improvement' if better else 'worsening'} is very "
        "unlikely to be chance."
        if est.excludes_zero
        else "The range includes zero, so a zero effect cannot be ruled out."
    )
    return (
        f"{kpi.label}{' ' if moved else ''}{moved}{size} at {units} where it went live, "
        f"against comparable units (95 % range "
        f"{_range(eff.effect_pct_ci_low, eff.effect_pct_ci_high, locale)}). {verdict}"
    )


def warnings_that_matter(eff: InnovationEffect) -> list[str]:
    """The estimator's warnings a reader should see beside the figure (the rest are in the
    method expander): not the ones saying the estimator adapted by itself (``HANDLED``)."""
    return [w for w in eff.estimate.warnings if HANDLED not in w]


def _level_unit(uom: str) -> str:
    return "percentage points" if uom == "%" else (uom or "the KPI's unit")


def estimate_block(eff: InnovationEffect, kpi: TargetKpi, locale: str = "en_US") -> None:
    """The estimated effect in plain words first, then in % and in the KPI's own unit with
    95 % ranges; the method, its authors, the inference, the controls and every estimator
    warning one click away (an expander); a quiet note beside the figures only for a warning
    that matters (``warnings_that_matter``)."""
    est, uom = eff.estimate, kpi.unit_of_measure
    st.markdown(effect_sentence(eff, kpi, locale))
    m = st.columns(3)
    m[0].metric(
        f"Effect on {kpi.label}",
        fmt_pct(eff.effect_pct / 100, locale),
        delta=f"95 % range {_range(eff.effect_pct_ci_low, eff.effect_pct_ci_high, locale)}",
        delta_color="off",
        delta_arrow="off",
        help="Actual versus what the live units would have done without it (estimated from "
        "comparable units), in %, over the live unit-months (volume-weighted).",
    )
    m[1].metric(
        f"In {_level_unit(uom)}",
        _signed(eff.effect_level),
        delta=f"95 % range {_signed(eff.effect_level_ci_low)} to "
        f"{_signed(eff.effect_level_ci_high)}",
        delta_color="off",
        delta_arrow="off",
        help=f"The same effect in {kpi.label.lower()}'s own unit.",
    )
    m[2].metric(
        "Units live / all units",
        f"{est.n_treated_units} / {est.n_units}",
        delta=f"{est.n_treated_obs} live unit-months",
        delta_color="off",
        delta_arrow="off",
    )
    for w in warnings_that_matter(eff):
        st.caption(f":material/info: {md(w)}")
    controls = (
        f"Controlled for {len(eff.controls)} other innovation(s) on this KPI: "
        f"{', '.join(eff.controls)}."
        if eff.controls
        else "No other innovation on this KPI to control for."
    )
    scale = "the log of the KPI (effects in %)" if eff.scale == "log" else "the KPI's own level"
    with st.expander("How this was estimated: method, checks and authors"):
        st.markdown(
            f"**Method:** {md(est.method)}, on {scale}. All units of the account are used "
            f"(units not live yet are the comparison), whatever the unit filter. {controls}"
        )
        st.markdown(
            f"**For analysts:** effect {est.att:+.4f} on the {eff.scale} scale (95 % CI "
            f"{est.ci_low:+.4f} to {est.ci_high:+.4f}), p = {est.p_value:.3f}, "
            f"{est.inference} inference; {est.n_treated_obs} live unit-months at "
            f"{est.n_treated_units} of {est.n_units} units."
        )
        for w in est.warnings:
            st.markdown(f"- {md(w)}")
        st.caption("The full method, with its formula, is on the Data page: How we compute value.")


def around_go_live_block(series: pd.DataFrame, rec: InnovationRecord, kpi: TargetKpi) -> None:
    """The KPI per rollout unit around go-live, with the dashed path of the units not live."""
    from charts.detail import kpi_by_unit_chart

    st.subheader(f"{md(kpi.label)} per unit around go-live")
    if series.empty:
        st.caption("No observations of this KPI for the rollout units.")
        return
    closed = rec.stage_dates.get("closed")
    retired = closed if rec.stage == "retired" and closed is not None else None
    altair(
        kpi_by_unit_chart,
        series,
        kpi_label=kpi.label,
        unit_of_measure=kpi.unit_of_measure,
        retired=retired,
        theme="streamlit",
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


def event_study_block(eff: InnovationEffect, kpi: TargetKpi) -> None:
    """The effect per month since go-live, with the placebo months before it."""
    from charts.detail import event_study_chart
    from metrics.innovation_views import event_study_frame

    horizons, unit = event_study_frame(eff)
    altair(
        event_study_chart,
        horizons,
        kpi_label=kpi.label,
        unit_of_measure=unit or kpi.unit_of_measure,
        att=eff.effect_pct if unit == "%" else eff.estimate.att,
        y_title="effect (%)" if unit == "%" else None,
        theme="streamlit",
    )
    st.caption(
        "Each dot is the average effect that many months after go-live (in % of the "
        "estimated no-innovation path), with its 95 % interval. Grey dots before go-live are "
        "placebo checks: they should sit on zero."
    )
