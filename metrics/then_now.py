"""Then vs now ("the photo", docs/ARCHITECTURE.md, Notation): the same KPI scorecard at two periods side by side —
value, delta, % change, better/worse by direction — and the innovations that went live in
between; default periods (the baseline window vs the last full quarter).

Pure functions over the frames of ``data_loaders.queries.AccountData`` (``monthly``: unit_id,
kpi_key, month, value, volume; ``kpis``: key, label, unit_of_measure, direction, kind,
headline; ``rollouts``: innovation_id, unit_id, go_live; ``innovations``: innovation_id, code,
title, category). No Streamlit, no database.

Notation as in docs/ARCHITECTURE.md, Notation: u unit, m month, k KPI, P a period (a closed range of months),
s_k = +1 when lower is better and −1 otherwise. A period is given as ``(first, last)`` dates;
both are taken to their month, so ``(2024-01-01, 2024-03-01)`` is Q1 2024.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from data_loaders.queries import AccountData
from metrics.rules import direction_sign, month_end, month_start, weighted_mean

__all__ = [
    "Period",
    "ThenNow",
    "default_periods",
    "kpi_levels",
    "month_start",
    "period_label",
    "scorecard",
    "then_vs_now",
    "unit_golives_between",
    "went_live_between",
]

Period = tuple[dt.date, dt.date]

SCORECARD_COLUMNS = [
    "key",
    "label",
    "unit_of_measure",
    "direction",
    "kind",
    "headline",
    "then",
    "now",
    "change",
    "pct_change",
    "better",
]


def period_label(start: Any, end: Any) -> str:
    """A short name for a period: "Mar 2024", "Q1 2024", "H2 2024", "2024", else
    "Jan 2024 – Apr 2024"."""
    a, b = month_start(start), month_start(end)
    if a == b:
        return f"{a:%b %Y}"
    if a.year == b.year and (a.month, b.month) in ((1, 6), (7, 12), (1, 12)):
        return {(1, 6): "H1 ", (7, 12): "H2 ", (1, 12): ""}[(a.month, b.month)] + f"{a:%Y}"
    if a.month in (1, 4, 7, 10) and b.year == a.year and b.month == a.month + 2:
        return f"Q{(a.month - 1) // 3 + 1} {a:%Y}"
    return f"{a:%b %Y} – {b:%b %Y}"


def default_periods(
    months: Iterable[Any], baseline: Period, *, start: Any = None, end: Any = None
) -> tuple[Period, Period]:
    """Then = the baseline window B; now = the last full calendar quarter among ``months``
    (the observed months, limited to ``start``…``end`` when given): the quarter ending at the
    latest month if that month closes a quarter, else the quarter before it. When that quarter
    starts before the first month, now = the last three months (fewer if there are fewer).
    Without months both are B. Returned as first-of-month dates."""
    s = pd.Series(sorted({month_start(m) for m in months}), dtype="datetime64[ns]")
    if end is not None:
        s = s[s <= month_start(end)]
    if start is not None:
        s = s[s >= month_start(start)]
    then = (month_start(baseline[0]).date(), month_start(baseline[1]).date())
    if s.empty:
        return then, then
    last = pd.Timestamp(s.max())
    q_end = last if last.month in (3, 6, 9, 12) else month_start(last - pd.offsets.QuarterEnd(1))
    q_start = q_end - pd.DateOffset(months=2)
    if q_start < s.min():
        q_start, q_end = max(pd.Timestamp(s.min()), last - pd.DateOffset(months=2)), last
    return then, (q_start.date(), q_end.date())


def _in(monthly: pd.DataFrame, period: Period, unit_ids: Sequence[int] | None) -> pd.DataFrame:
    m = monthly if unit_ids is None else monthly[monthly["unit_id"].isin(list(unit_ids))]
    m = m[(m["month"] >= month_start(period[0])) & (m["month"] <= month_start(period[1]))]
    return m[m["value"].notna()]


def kpi_levels(
    monthly: pd.DataFrame, kpis: pd.DataFrame, period: Period, unit_ids: Sequence[int] | None = None
) -> pd.DataFrame:
    """Each KPI's value over one period P (selected units only).

    * rate KPIs, volume-weighted over units and months:
      ``level[k] = Σ_{u, m∈P} value[u,k,m]·vol[u,k,m] / Σ_{u, m∈P} vol[u,k,m]``
      (the plain mean of the values when P has no volume);
    * level KPIs (e.g. FTE), summed over units and averaged over months:
      ``level[k] = mean_{m∈P} Σ_u value[u,k,m]``.

    Rows with a missing value are ignored. Columns: key, value, volume (Σ vol), months (number
    of months observed); only KPIs with data in P.
    """
    m = _in(monthly, period, unit_ids)
    kind = kpis.set_index("key")["kind"]
    rows = []
    for key, g in m.groupby("kpi_key"):
        vol = float(g["volume"].fillna(0.0).sum())
        if kind.get(key) == "rate":
            val = weighted_mean(g["value"].to_numpy(), g["volume"].to_numpy())
        else:
            val = float(g.groupby("month")["value"].sum().mean())
        rows.append((str(key), val, vol, int(g["month"].nunique())))
    return pd.DataFrame(rows, columns=["key", "value", "volume", "months"])


def scorecard(
    monthly: pd.DataFrame,
    kpis: pd.DataFrame,
    then: Period,
    now: Period,
    unit_ids: Sequence[int] | None = None,
) -> pd.DataFrame:
    """The same KPI scorecard at two periods (``kpi_levels`` of each).

    ``change = now − then``; ``pct_change = change / then`` (NaN when then = 0);
    ``better = s_k·change < 0`` — True when the KPI moved in its good direction, False when
    it moved the wrong way, None when unchanged or when a period has no data (then or now NaN).

    One row per KPI with data in either period, headline KPIs first, otherwise in the order
    of ``kpis``. Columns: key, label, unit_of_measure, direction, kind, headline, then, now,
    change, pct_change, better.
    """
    a = kpi_levels(monthly, kpis, then, unit_ids)[["key", "value"]].rename(
        columns={"value": "then"}
    )
    b = kpi_levels(monthly, kpis, now, unit_ids)[["key", "value"]].rename(columns={"value": "now"})
    both = a.merge(b, on="key", how="outer")
    cards = kpis[["key", "label", "unit_of_measure", "direction", "kind", "headline"]].merge(
        both, on="key", how="inner"
    )
    cards["then"] = cards["then"].astype("float64")
    cards["now"] = cards["now"].astype("float64")
    cards["change"] = cards["now"] - cards["then"]
    cards["pct_change"] = cards["change"] / cards["then"].where(cards["then"] != 0)
    s = cards["direction"].map(direction_sign).astype("float64")
    cards["better"] = pd.Series(
        [
            None if pd.isna(c) or c == 0 else bool(sk * c < 0)
            for c, sk in zip(cards["change"], s, strict=True)
        ],
        index=cards.index,
        dtype=object,
    )
    cards["headline"] = cards["headline"].fillna(False).astype(bool)
    cards = cards.sort_values("headline", ascending=False, kind="stable")
    return cards[SCORECARD_COLUMNS].reset_index(drop=True)


def went_live_between(
    rollouts: pd.DataFrame,
    innovations: pd.DataFrame,
    then: Period,
    now: Period,
    unit_ids: Sequence[int] | None = None,
) -> pd.DataFrame:
    """The innovations that went live between the two periods.

    ``first_i = min_u go_live[i,u]`` over the selected units u; i went live in between when
    ``end(then) < first_i ≤ end(now)``, end(P) = the last day of P's last month. Only the
    innovations in ``innovations`` count (pass it filtered by category). Columns:
    innovation_id, code, title, category, went_live; in go-live order.
    """
    r = rollouts.dropna(subset=["go_live"])
    if unit_ids is not None:
        r = r[r["unit_id"].isin(list(unit_ids))]
    first = r.groupby("innovation_id", as_index=False)["go_live"].min()
    first["go_live"] = pd.to_datetime(first["go_live"])
    lo, hi = month_end(then[1]), month_end(now[1])
    first = first[(first["go_live"] > lo) & (first["go_live"] <= hi)]
    out = first.merge(
        innovations[["innovation_id", "code", "title", "category"]], on="innovation_id"
    ).rename(columns={"go_live": "went_live"})
    out = out.sort_values(["went_live", "code"])
    return out[["innovation_id", "code", "title", "category", "went_live"]].reset_index(drop=True)


def unit_golives_between(
    rollouts: pd.DataFrame,
    innovations: pd.DataFrame,
    then: Period,
    now: Period,
    unit_ids: Sequence[int] | None = None,
) -> int:
    """Unit go-lives between the two periods: ``#{(i, u) : end(then) < go_live[i,u] ≤
    end(now)}`` over the selected units and the innovations in ``innovations`` — rollouts,
    including those of innovations already live elsewhere (``went_live_between`` counts
    innovations going live for the first time)."""
    r = rollouts.dropna(subset=["go_live"])
    if unit_ids is not None:
        r = r[r["unit_id"].isin(list(unit_ids))]
    r = r[r["innovation_id"].isin(set(innovations["innovation_id"]))]
    go = pd.to_datetime(r["go_live"])
    return int(((go > month_end(then[1])) & (go <= month_end(now[1]))).sum())


@dataclass(frozen=True, eq=False)
class ThenNow:
    """Two periods, their scorecard (``scorecard``) and the innovations that went live in
    between (``went_live_between``)."""

    then: Period
    now: Period
    then_label: str
    now_label: str
    scorecard: pd.DataFrame
    went_live: pd.DataFrame
    unit_golives: int = 0  # rollouts in between (``unit_golives_between``)

    @property
    def complete(self) -> pd.DataFrame:
        """The scorecard rows with data in both periods."""
        return self.scorecard.dropna(subset=["then", "now"]).reset_index(drop=True)


def then_vs_now(
    data: AccountData,
    then: Period | None = None,
    now: Period | None = None,
    *,
    unit_ids: Sequence[int] | None = None,
    start: Any = None,
    end: Any = None,
    categories: Sequence[str] | None = None,
) -> ThenNow:
    """``scorecard`` and ``went_live_between`` for an account; missing periods default to
    ``default_periods`` (baseline vs the last full quarter within ``start``…``end``).
    ``categories`` limits the innovations that went live (the KPIs are the units' KPIs)."""
    a = data.account
    d_then, d_now = default_periods(
        data.monthly["month"].unique(), (a.baseline_start, a.baseline_end), start=start, end=end
    )
    then, now = then or d_then, now or d_now
    inn = data.innovations
    if categories:
        inn = inn[inn["category"].isin(list(categories))]
    cards = scorecard(data.monthly, data.kpis, then, now, unit_ids)
    between = went_live_between(data.rollouts, inn, then, now, unit_ids)
    return ThenNow(
        then=then,
        now=now,
        then_label=period_label(*then),
        now_label=period_label(*now),
        scorecard=cards,
        went_live=between,
        unit_golives=unit_golives_between(data.rollouts, inn, then, now, unit_ids),
    )
