"""The headline figures of an account: the numbers on the Story cards, the renewal pack's
cover and ``thenandnow metrics``.

Notation as in docs/ARCHITECTURE.md, Notation and ``metrics.value`` / ``metrics.attribution``; U, M, C the filters::

    cumulative_value   = Σ_{u∈U, k headline, m∈M} benefit[u,k,m]        (in cents, exact)
                         with a category filter C: Σ_{i∈C} attributed[i] instead
    run_rate           = mean of the last 3 months' value × 12, months after the baseline
                         window only (``run_rate_months`` says how many, ≤ 3)
    innovations_live   = #{i ∈ C : state_i = live at the end of the last month, go-lives at
                         u ∈ U} (``metrics.rules.innovation_states``: a retired innovation
                         is not live after its retirement date)
    innovations_live_account = the same over every unit (so a unit count is never set
                         against the whole register)
    claimed_value      = Σ_{i∈C} claimed[i]         (to each one's retirement date)
    attributed_value   = Σ_{i∈C} attributed[i]      (measured share, never capped)
    unattributed_value = Σ_c unattributed_c (0 with a category filter: it has no category)
                         so cumulative_value = attributed_value + unattributed_value, to the cent
    realisation        = attributed_value / claimed_value
    evidence_mix       = live innovations per evidence level: ``estimated`` (causal estimate
                         whose 95 % CI excludes 0, when estimates are given), ``measured``
                         (a non-zero attributed value), ``claimed`` (the claim alone)
    as_of              = the last day of the last month with measured value
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Any

import pandas as pd

from data_loaders.queries import AccountData
from metrics.attribution import UNATTRIBUTED_ID, attribution, selected_value
from metrics.baseline import Baseline, account_baseline
from metrics.filters import FilterLike, Filters, in_categories, in_units, limit_to
from metrics.rules import (
    EVIDENCE_KEYS,
    LIVE,
    innovation_states,
    last_complete_month_end,
    month_end,
    month_start,
)
from metrics.value import claimed, cumulative, measured, missing_months, run_rate, value_kpis

__all__ = ["EVIDENCE_LEVELS", "Headline", "evidence_levels", "headline", "live_innovations"]

#: Evidence level keys, strongest first (``metrics.rules.EVIDENCE_KEYS``).
EVIDENCE_LEVELS = EVIDENCE_KEYS
ALL = Filters()


@dataclass(frozen=True)
class Headline:
    """The headline figures (formulas in the module doc). Money in the account's currency;
    dates are first-of-month except ``as_of`` (the last day of the last month measured)."""

    account: str
    currency: str
    as_of: dt.date
    baseline_start: dt.date
    baseline_end: dt.date
    first_month: dt.date
    cumulative_value: float
    run_rate: float
    innovations_live: int
    innovations_total: int
    claimed_value: float
    attributed_value: float
    unattributed_value: float
    realisation: float | None
    evidence_mix: dict[str, int] = field(default_factory=dict)
    innovations_live_account: int = 0
    run_rate_months: int = 0  # post-baseline months the run-rate averages (≤ 3)
    as_of_note: str = ""  # says so when the requested as-of date was rounded down
    missing_months: int = 0  # unit × KPI × months of the headline KPIs without data
    baseline_missing: tuple[str, ...] = ()  # "unit × KPI" pairs left out: no baseline

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: dates as ISO strings, money rounded to the cent."""
        out = asdict(self)
        for k, v in out.items():
            if isinstance(v, dt.date):
                out[k] = v.isoformat()
            elif isinstance(v, float):
                out[k] = round(v, 2) if k != "realisation" else round(v, 4)
            elif isinstance(v, tuple):
                out[k] = list(v)
        return out


def _on_months(per_month: pd.DataFrame, months: pd.Series) -> pd.DataFrame:
    """``per_month`` (``metrics.value.cumulative``) on exactly ``months``, zero where it has
    no row, so a category's run-rate is over the same last months as the account's."""
    cents = (
        per_month.set_index("month")["cents"]
        .reindex(months.to_numpy(), fill_value=0)
        .astype("int64")
        if not per_month.empty
        else pd.Series(0, index=months.to_numpy(), dtype="int64")
    )
    return pd.DataFrame(
        {
            "month": cents.index,
            "benefit": cents.to_numpy() / 100.0,
            "cents": cents.to_numpy(),
            "cumulative": cents.cumsum().to_numpy() / 100.0,
        }
    )


def live_innovations(data: AccountData, f: FilterLike, as_of: pd.Timestamp) -> pd.DataFrame:
    """The innovations in C live at the end of ``as_of``'s month, by go-lives at units in U
    (``metrics.rules.innovation_states``: not rejected, not retired by then)."""
    inn = in_categories(data.innovations, f)
    states = innovation_states(inn, data.rollouts, as_of=month_end(as_of), unit_ids=f.unit_ids)
    return inn[states == LIVE]


def evidence_levels(
    live: pd.DataFrame, attr: pd.DataFrame, evidence: pd.DataFrame | None = None
) -> pd.Series:
    """Evidence level per live innovation (aligned with ``live``): from ``evidence``
    (innovation_id, evidence — e.g. ``metrics.views.evidence_of``) when given, missing ones
    ``claimed``; otherwise ``measured`` when its attributed value is non-zero, else
    ``claimed``."""
    if evidence is not None and not evidence.empty:
        lv = live["innovation_id"].map(evidence.set_index("innovation_id")["evidence"])
        return lv.fillna("claimed")
    hit = set(attr.loc[attr["cents"] != 0, "innovation_id"])
    return live["innovation_id"].map(lambda i: "measured" if i in hit else "claimed")


def headline(
    data: AccountData,
    f: FilterLike = ALL,
    *,
    as_of: dt.date | None = None,
    evidence: pd.DataFrame | None = None,
    base: Baseline | None = None,
    attr: pd.DataFrame | None = None,
) -> Headline | None:
    """The headline of ``data`` for the filters ``f``, with the data limited to months
    ≤ ``as_of`` (``metrics.filters.limit_to``); None when the selection has no measured value.

    ``evidence`` (innovation_id, evidence) comes from the causal estimates (see
    ``metrics.views.value_lines``); without it no innovation counts as ``estimated``.
    Unit-KPI pairs without a baseline are left out of the value and listed in
    ``baseline_missing``.

    ``base``/``attr``: the account's ``Baseline`` and ``attribution(data, f, base)`` when
    already computed (used only without ``as_of``, which changes the data)."""
    note = ""
    if as_of is not None and last_complete_month_end(as_of) != pd.Timestamp(as_of):
        cut = last_complete_month_end(as_of)
        note = (
            f"As of {pd.Timestamp(as_of):%d %b %Y} rounds down to the last complete month, "
            f"{cut:%b %Y} (a month is never half counted)."
        )
    data = limit_to(data, as_of)
    b = base if base is not None and as_of is None else account_baseline(data)
    a = attr if attr is not None and as_of is None else None
    v = selected_value(data, f, b, a)
    # the months come from the measured value of the units and period, whatever the
    # categories: a category filter selects credited value, it never moves the period
    span = v if not f.categories else measured(data, Filters(f.unit_ids, f.start, f.end), b)
    if span.empty:
        return None
    months = cumulative(span)["month"]
    per_month = _on_months(cumulative(v), months)
    last = pd.Timestamp(months.max())
    # the run-rate averages months after the baseline window only (a baseline month is zero
    # by construction, so early in a contract it would drag the rate down)
    post = per_month[per_month["month"] > month_start(b.end)]
    total_cents = int(per_month["cents"].sum())
    attr = a if a is not None else attribution(data, f, b)
    live = live_innovations(data, f, last)
    levels = evidence_levels(live, attr, evidence)
    mix = {lvl: int((levels == lvl).sum()) for lvl in EVIDENCE_LEVELS}
    attributed_cents = int(attr.loc[attr["innovation_id"] != UNATTRIBUTED_ID, "cents"].sum())
    un_cents = (
        0
        if f.categories
        else int(attr.loc[attr["innovation_id"] == UNATTRIBUTED_ID, "cents"].sum())
    )
    cl = claimed(data, f)
    claimed_value = float(cl["claimed"].sum())
    n_account = (
        len(live)
        if f.unit_ids is None
        else len(live_innovations(data, Filters(None, f.start, f.end, f.categories), last))
    )
    gaps = missing_months(data.monthly, f, list(value_kpis(data.kpis)["key"]))
    gaps = gaps[gaps["month"] <= last]
    miss = in_units(b.missing, f)
    names = b.unit_names
    return Headline(
        account=data.account.name,
        currency=data.account.currency,
        as_of=(last + pd.offsets.MonthEnd(0)).date(),
        baseline_start=b.start,
        baseline_end=b.end,
        first_month=pd.Timestamp(months.min()).date(),
        cumulative_value=total_cents / 100.0,
        run_rate=run_rate(post),
        run_rate_months=int(min(3, len(post))),
        as_of_note=note,
        innovations_live=len(live),
        innovations_total=len(in_categories(data.innovations, f)),
        claimed_value=claimed_value,
        attributed_value=attributed_cents / 100.0,
        unattributed_value=un_cents / 100.0,
        realisation=(attributed_cents / 100.0 / claimed_value) if claimed_value > 0 else None,
        evidence_mix=mix,
        innovations_live_account=n_account,
        missing_months=len(gaps),
        baseline_missing=tuple(
            f"{names.get(int(u), f'unit {int(u)}')} × {k}"
            for u, k in zip(miss["unit_id"].tolist(), miss["kpi_key"].tolist(), strict=True)
        ),
    )
