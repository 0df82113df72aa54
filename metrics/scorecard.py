"""The then-vs-now scorecard as a reader should weigh it.

* **Client demand is neutral.** A KPI in ``rules.DEMAND_UNITS`` (transactions) measures how
  much work the client sends, not how well it is done: ``better`` is None and ``demand`` True
  (the +22.7 % of the demo was coloured "better").
* **Staffing beside demand.** With a staffing KPI (unit ``rules.STAFFING_UNIT``, FTE) and a
  demand KPI, one more card: FTE per 1,000 transactions (titled "FTE per 1K transactions"),
  ``ratio(P) = level_FTE(P) / (level_demand(P) / 1000)`` for each period P (both are the
  period's monthly levels, ``metrics.then_now.kpi_levels``), lower is better. The demo's FTE
  rose 11.4 % while the ratio fell about 9 %: headcount followed demand, each person handles
  more.
* **The strip.** Where only four cards fit (the Story page, present mode): the headline KPIs,
  then every KPI that got worse, each worse staffing KPI followed by its ratio, then the
  rest in order (``strip``) — the one KPI that got worse is never the one left out.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import pandas as pd

from metrics import rules
from metrics.format import kpi_value, pct
from metrics.rules import add_months, month_start
from metrics.then_now import default_periods

__all__ = ["PER", "PRESETS", "RATIO_KEY", "card_label", "preset_periods", "strip", "weigh"]

Period = tuple[dt.date, dt.date]

PER = 1000
RATIO_KEY = "fte_per_1000_txn"


def weigh(cards: pd.DataFrame, currency: str, locale: str) -> pd.DataFrame:
    """``cards`` (``metrics.views.photo``'s, with ``*_text``) with demand made neutral and,
    after the staffing KPI, its ratio to demand. Adds the column ``demand``."""
    out = cards.copy()
    demand = out["unit_of_measure"].map(rules.is_client_demand).astype(bool)
    out["demand"] = demand
    out["better"] = pd.Series(
        [None if d or b is None else bool(b) for d, b in zip(demand, out["better"], strict=True)],
        index=out.index,
        dtype=object,
    )
    staff = out[out["unit_of_measure"].astype(str) == rules.STAFFING_UNIT]
    if staff.empty or not demand.any():
        return out
    s, v = staff.iloc[0], out[demand].iloc[0]
    if not (v["then"] > 0 and v["now"] > 0):
        return out
    then, now = s["then"] / (v["then"] / PER), s["now"] / (v["now"] / PER)
    unit = rules.STAFFING_UNIT
    row = {
        "key": RATIO_KEY,
        # "1K", not "1,000": "FTE per 1,000 transactions" was cut to "…transacti…" on a card
        # at 1280 px; the one label of the strip, present mode, Then & Now and the pack
        "label": f"{unit} per 1K {str(v['label']).lower()}",
        "unit_of_measure": unit,
        "direction": "lower",
        "kind": "ratio",
        "headline": False,
        "then": then,
        "now": now,
        "change": now - then,
        "pct_change": now / then - 1,
        "better": None if now == then else bool(now < then),
        "then_text": kpi_value(then, unit, currency, locale),
        "now_text": kpi_value(now, unit, currency, locale),
        "delta_text": pct(now / then - 1, locale),
        "demand": False,
    }
    at = list(out.index).index(staff.index[0]) + 1
    ratio = pd.DataFrame([{c: row.get(c) for c in out.columns}])
    return pd.concat([out.iloc[:at], ratio, out.iloc[at:]], ignore_index=True)


def strip(cards: pd.DataFrame, n: int = 4) -> pd.DataFrame:
    """The ``n`` cards of a strip, in the order of ``cards``: headline KPIs, every KPI that
    got worse (a worse staffing KPI brings its ratio), then the rest."""
    keys = list(cards["key"])
    chosen: list[str] = []

    def take(key: str) -> None:
        if key not in chosen:
            chosen.append(key)

    for r in cards.to_dict("records"):
        if r.get("headline") is True:
            take(str(r["key"]))
    for r in cards.to_dict("records"):
        if r.get("better") is False:
            take(str(r["key"]))
            if str(r["unit_of_measure"]) == rules.STAFFING_UNIT and RATIO_KEY in keys:
                take(RATIO_KEY)
    for k in keys:
        take(str(k))
    picked = set(chosen[:n])
    return cards[cards["key"].isin(picked)].reset_index(drop=True)


def card_label(row: Mapping[Any, Any]) -> str:
    """A card's title carrying the unit its figure lacks: demand counts are a month's level
    ("Transactions a month (client demand)"), scores say so; figures with a unit ("$3.86", "2.05 %",
    "392 s", "1,243 FTE") keep the KPI's name."""
    label = str(row["label"])
    if row.get("demand"):
        return f"{label} a month (client demand)"
    if str(row.get("unit_of_measure", "")) == "score":
        return f"{label} (score)"
    return label


PRESETS: tuple[str, ...] = (
    "Baseline vs last quarter",
    "Same quarter a year earlier",
    "Since the last edition",
)


def preset_periods(
    months: list[Any], baseline: Period, last_edition: Any = None
) -> dict[str, tuple[Period, Period]]:
    """Named pairs of periods (then, now), first-of-month dates; now is always the last full
    quarter (``metrics.then_now.default_periods``):

    * "Baseline vs last quarter": then = the frozen baseline window;
    * "Same quarter a year earlier": then = now moved back 12 months (when the data has it);
    * "Since the last edition": then = the quarter ending with the month of the last renewal
      pack edition's as-of date (when there is one and it ends before now starts)."""
    then, now = default_periods(months, baseline)
    have = {month_start(m) for m in months}
    out: dict[str, tuple[Period, Period]] = {PRESETS[0]: (then, now)}
    year = (add_months(now[0], -12).date(), add_months(now[1], -12).date())
    if month_start(year[0]) in have:
        out[PRESETS[1]] = (year, now)
    if last_edition is not None:
        end = month_start(last_edition)
        if end not in have:  # an edition part-way through a month: that month's data
            end = max((m for m in have if m <= end), default=end)
        start = add_months(end, -2)
        if end < month_start(now[0]) and start in have:
            out[PRESETS[2]] = ((start.date(), end.date()), now)
    return out
