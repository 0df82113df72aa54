"""Contract (docs/ARCHITECTURE.md, Notation): the productivity clause's required unit-cost path vs actual, gain-share
per contract year, and innovation days used vs contracted per contract year.

Pure functions over the frames of ``data_loaders.queries.AccountData`` and the account's
contract terms. No Streamlit, no database.

Notation as in docs/ARCHITECTURE.md, Notation: u unit, m month, B the frozen baseline window, y a contract year
(12 months from the contract start, the last one cut at the contract end), p the productivity
clause's % per year, G the agreed savings goal per contract year, g the provider's gain-share,
S_y the measured savings of year y.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import numpy as np
import pandas as pd

from metrics.rules import month_start

__all__ = [
    "contract_years",
    "gain_share",
    "innovation_days",
    "productivity_path",
    "unit_cost",
    "unit_cost_kpi",
]


def contract_years(contract_start: dt.date, contract_end: dt.date) -> pd.DataFrame:
    """Contract year y = [start + (y−1) years, start + y years − 1 day], cut at the contract
    end. Columns: contract_year ("Year 1", …), start, end (Timestamps)."""
    start, end = pd.Timestamp(contract_start), pd.Timestamp(contract_end)
    rows, i = [], 1
    while start <= end:
        nxt = start + pd.DateOffset(years=1)
        rows.append((f"Year {i}", start, min(nxt - pd.Timedelta(days=1), end)))
        start, i = nxt, i + 1
    return pd.DataFrame(rows, columns=["contract_year", "start", "end"])


def unit_cost_kpi(kpis: pd.DataFrame, currency: str) -> pd.Series | None:
    """The KPI the productivity clause binds: the first rate KPI measured in the account's
    currency (cost per transaction), else the first headline rate KPI, else None."""
    hit = kpis[(kpis["unit_of_measure"] == currency) & (kpis["kind"] == "rate")]
    if hit.empty:
        hit = kpis[kpis["headline"].astype(bool) & (kpis["kind"] == "rate")]
    return None if hit.empty else hit.iloc[0]


def unit_cost(
    monthly: pd.DataFrame, kpi_key: str, unit_ids: Sequence[int] | None = None
) -> pd.Series:
    """Volume-weighted unit cost per month over the selected units:
    ``actual[m] = Σ_u value[u,m]·vol[u,m] / Σ_u vol[u,m]`` (NaN when Σ vol = 0). Indexed by
    month, sorted."""
    c = monthly[(monthly["kpi_key"] == kpi_key) & monthly["value"].notna()]
    if unit_ids is not None:
        c = c[c["unit_id"].isin(list(unit_ids))]
    vol = c.groupby("month")["volume"].sum()
    out = (c["value"] * c["volume"]).groupby(c["month"]).sum() / vol.where(vol > 0)
    return out.sort_index().rename("actual")


def productivity_path(
    monthly: pd.DataFrame,
    kpi_key: str,
    baseline: tuple[dt.date, dt.date],
    pct_per_year: float,
    unit_ids: Sequence[int] | None = None,
) -> pd.DataFrame:
    """The unit cost the productivity clause requires vs the actual one, per observed month.

    ``base = Σ_{u, m∈B} value·vol / Σ_{u, m∈B} vol`` (selected units);
    ``years[m] = max(0, months from B's last month to m) / 12`` (whole months, so 30 months
    after the baseline is exactly 2.5 years);
    ``required[m] = base·(1 − p)^{years[m]}``, p = pct_per_year / 100;
    ``actual[m]`` = ``unit_cost``; ``gap = actual − required`` (≤ 0: on or ahead of the path).

    Columns: month, years, required, actual, gap. Empty when the KPI has no data;
    ``required`` is NaN when the baseline window has no volume.
    """
    cols = ["month", "years", "required", "actual", "gap"]
    actual = unit_cost(monthly, kpi_key, unit_ids)
    if actual.empty:
        return pd.DataFrame(columns=cols)
    c = monthly[(monthly["kpi_key"] == kpi_key) & monthly["value"].notna()]
    if unit_ids is not None:
        c = c[c["unit_id"].isin(list(unit_ids))]
    b_lo, b_hi = month_start(baseline[0]), month_start(baseline[1])
    win = c[(c["month"] >= b_lo) & (c["month"] <= b_hi)]
    vol = float(win["volume"].sum())
    base = float((win["value"] * win["volume"]).sum()) / vol if vol > 0 else np.nan
    months = pd.to_datetime(pd.Series(actual.index))
    n = (months.dt.year - b_hi.year) * 12 + (months.dt.month - b_hi.month)
    years = np.maximum(0, n.to_numpy(dtype="float64")) / 12.0
    p = pct_per_year / 100.0
    out = pd.DataFrame(
        {
            "month": months.to_numpy(),
            "years": years,
            "required": base * (1.0 - p) ** years,
            "actual": actual.to_numpy(),
        }
    )
    out["gap"] = out["actual"] - out["required"]
    return out[cols]


def gain_share(
    savings: pd.Series,
    years: pd.DataFrame,
    goal: float,
    gain_share_pct: float,
    *,
    baseline: tuple[dt.date, dt.date] | None = None,
) -> pd.DataFrame:
    """Gain-share per contract year y.

    ``S_y = Σ_{m∈y} savings[m]`` (``savings``: measured value per month, indexed by
    first-of-month Timestamps; a month belongs to the year that contains its first day); the
    client is guaranteed ``client = (1 − g)·G``; the provider gets ``provider = S_y − (1 − g)·G``
    (= g·G + outperformance − shortfall: it keeps outperformance and absorbs shortfall);
    ``outperformance = max(S_y − G, 0)``, ``shortfall = max(G − S_y, 0)``; g = gain_share_pct
    / 100.

    Years without any measured month get NaN for savings and everything derived from it.
    ``months`` counts the months with data in y and ``last_month`` is the latest of them.

    What a reader needs to judge a year, without changing the rule above:

    * ``year_months``: calendar months in y (12; fewer for a last year cut at the contract end);
    * ``covered``: months of y up to the data's last month L = max(savings.index), so a year
      still running (``covered < year_months``) can be told from a full one;
    * ``goal_to_date = G · covered / 12`` for a running year (G for a finished one): the pace
      the goal asks for so far — shown beside the full-year figures, never instead of them;
    * ``baseline_months``: months of y inside the frozen baseline window B (``baseline``).
      Their value is zero by construction (B is what the savings are measured against), so a
      year holding B can only save in its other months.

    Columns: contract_year, start, end, months, last_month, year_months, covered,
    baseline_months, goal, goal_to_date, savings, client, provider, outperformance, shortfall.
    """
    g = gain_share_pct / 100.0
    s = savings.copy()
    s.index = pd.to_datetime(s.index)
    data_last = pd.Timestamp(s.index.max()) if not s.empty else pd.Timestamp.min
    rows = []
    for label, start, end in zip(
        years["contract_year"],
        pd.to_datetime(years["start"]),
        pd.to_datetime(years["end"]),
        strict=True,
    ):
        lo, hi = pd.Timestamp(start), pd.Timestamp(end)
        in_year = s[(s.index >= lo) & (s.index <= hi)]
        has = not in_year.empty
        months = pd.period_range(lo, hi, freq="M").to_timestamp()
        covered = int((months <= data_last).sum()) if has else 0
        in_base = (
            0
            if baseline is None
            else int(
                ((months >= month_start(baseline[0])) & (months <= month_start(baseline[1]))).sum()
            )
        )
        to_date = (
            (goal * covered / 12.0 if covered < len(months) else float(goal)) if has else np.nan
        )
        S = float(in_year.sum()) if has else np.nan
        client = (1 - g) * goal if has else np.nan
        rows.append(
            (
                label,
                lo.date(),
                hi.date(),
                int(in_year.index.nunique()),
                in_year.index.max() if has else pd.NaT,
                len(months),
                covered,
                in_base,
                float(goal),
                to_date,
                S,
                client,
                S - client if has else np.nan,
                max(S - goal, 0.0) if has else np.nan,
                max(goal - S, 0.0) if has else np.nan,
            )
        )
    return pd.DataFrame(
        rows,
        columns=[
            "contract_year",
            "start",
            "end",
            "months",
            "last_month",
            "year_months",
            "covered",
            "baseline_months",
            "goal",
            "goal_to_date",
            "savings",
            "client",
            "provider",
            "outperformance",
            "shortfall",
        ],
    )


def innovation_days(
    innovations: pd.DataFrame, years: pd.DataFrame, contracted_per_year: float
) -> pd.DataFrame:
    """Innovation days used vs contracted per contract year y.

    ``used_y = Σ innovation_days_i`` over the innovations whose idea date falls in y;
    ``contracted_y`` = the contract's days per year; ``remaining = contracted − used``
    (negative: over the contract). Columns: contract_year, used, contracted, remaining.
    """
    idea = pd.to_datetime(innovations["idea_date"])
    days = innovations["innovation_days"].fillna(0.0).astype("float64")
    rows = []
    for label, start, end in zip(
        years["contract_year"],
        pd.to_datetime(years["start"]),
        pd.to_datetime(years["end"]),
        strict=True,
    ):
        used = float(days[(idea >= start) & (idea <= end)].sum())
        rows.append((label, used, float(contracted_per_year), float(contracted_per_year) - used))
    return pd.DataFrame(rows, columns=["contract_year", "used", "contracted", "remaining"])
