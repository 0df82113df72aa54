"""Outlook (the closing screen and the pack's last page): what is next and the renewal ask.

The pipeline's claim is what its owners say the open innovations will be worth a year; a
sceptical reader discounts it by how well this account's claims have held up so far. Pure
functions over ``metrics.pipeline.open_pipeline`` and the value lines of ``metrics.views``
(claimed and measured value to date per live innovation). No Streamlit, no database.

Notation: P the open pipeline (stage ∈ idea, evaluation, prototype, pilot), L the live
innovations of the selection.

    claimed_per_year  = Σ_{p ∈ P} estimated_annual_value_p            (missing claims count 0)
    claimed_to_date   = Σ_{i ∈ L} claimed_i
    measured_to_date  = Σ_{i ∈ L} measured_i                           (none measured counts 0)
    realisation       = measured_to_date / claimed_to_date             (undefined when ≤ 0 claimed)
    adjusted_per_year = claimed_per_year × max(realisation, 0)

``realisation`` may exceed 1 (the claims were modest); a negative realisation adjusts the
pipeline to zero rather than to a negative ask.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from babel.numbers import format_percent

from metrics.format import DEFAULT_LOCALE, money, plural

__all__ = ["Outlook", "outlook", "outlook_sentence"]


@dataclass(frozen=True, eq=False)
class Outlook:
    in_pipeline: int
    claimed_per_year: float
    claimed_to_date: float
    measured_to_date: float
    realisation: float | None
    adjusted_per_year: float | None
    #: the open pipeline closest to live first (pilot → idea, then by claim), first ``next_n``
    next_up: pd.DataFrame
    #: the state of each innovation summed in L (live now, or retired since), so a count of
    #: L names both (``metrics.value.innovations_phrase``)
    line_states: tuple[str, ...] = ()


def outlook(pipeline: pd.DataFrame, lines: pd.DataFrame, *, next_n: int = 5) -> Outlook:
    """The figures above. ``pipeline``: ``open_pipeline`` columns (code, title, stage,
    estimated_annual_value …), already in its order; ``lines``: claimed and measured value to
    date per live innovation."""
    claimed_per_year = float(pipeline["estimated_annual_value"].fillna(0).sum())
    claimed_to_date = float(lines["claimed"].fillna(0).sum()) if len(lines) else 0.0
    measured_to_date = float(lines["measured"].fillna(0).sum()) if len(lines) else 0.0
    realisation = measured_to_date / claimed_to_date if claimed_to_date > 0 else None
    adjusted = None if realisation is None else claimed_per_year * max(realisation, 0.0)
    return Outlook(
        in_pipeline=len(pipeline),
        claimed_per_year=claimed_per_year,
        claimed_to_date=claimed_to_date,
        measured_to_date=measured_to_date,
        realisation=realisation,
        adjusted_per_year=adjusted,
        next_up=pipeline.head(next_n).reset_index(drop=True),
        line_states=tuple(lines["state"]) if "state" in lines.columns else (),
    )


def _about(value: float) -> float:
    """Two significant figures: an adjusted claim is an order of magnitude, not a figure."""
    if value == 0:
        return 0.0
    return float(f"{value:.2g}")


def outlook_sentence(o: Outlook, currency: str, locale: str) -> str:
    """The renewal ask in one sentence, e.g. "26 innovations in the pipeline claim $791.2K a
    year; at the 66 % of its claims this account has realised so far, about $520K."."""
    if o.in_pipeline == 0:
        return "No innovation is in the pipeline yet."
    head = (
        f"{o.in_pipeline} {plural(o.in_pipeline, 'innovation')} in the pipeline "
        f"{plural(o.in_pipeline, 'claims', 'claim')} "
        f"{money(o.claimed_per_year, currency, locale)} a year"
    )
    if o.realisation is None or o.adjusted_per_year is None:
        return head + "; nothing has been claimed for the live ones yet to weigh that against."
    share = format_percent(o.realisation, format="#,##0%", locale=locale or DEFAULT_LOCALE)
    return (
        f"{head}; at the {share} of its claims this account has realised so far, "
        f"about {money(_about(o.adjusted_per_year), currency, locale)}."
    )
