"""The frozen baseline: what each unit's KPIs were before the innovations (docs/ARCHITECTURE.md, Notation).

Notation: u unit, m month, k KPI, B the account's baseline window (the months from
month(baseline_start) to month(baseline_end), inclusive). The baseline is computed once over B
and never rolled forward, so later value is always measured against the same photograph::

    rate KPIs   base[u,k] = Σ_{m∈B} value[u,k,m]·vol[u,k,m] / Σ_{m∈B} vol[u,k,m]
                (a volume-weighted ratio, NOT the mean of the monthly ratios; when the
                window has no volume at all, the plain mean of the monthly values)
    level KPIs  base[u,k] = (1/|B_uk|) Σ_{m∈B} value[u,k,m]   (mean level, e.g. FTE)

A unit with its own window (``unit.baseline_start``/``baseline_end``, e.g. a site opened after
the account's baseline) uses that window B_u instead of B, frozen the same way: a new site is
measured against its own first months. Only observed months count (B_uk = the months of B
(or B_u) with a value for u and k). A unit and KPI
with observations after B but none inside it has no baseline: ``baseline`` raises
``BaselineError`` naming the unit, the KPI and the window; ``frozen_baseline`` reports such
pairs in ``Baseline.missing`` instead, so a page can show them and measure everything else.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from data_loaders.queries import AccountData
from metrics.filters import month_of

__all__ = [
    "BASE_COLUMNS",
    "Baseline",
    "BaselineError",
    "account_baseline",
    "baseline",
    "frozen_baseline",
]

BASE_COLUMNS = ["unit_id", "kpi_key", "base", "volume", "months"]
MISSING_COLUMNS = ["unit_id", "kpi_key", "first_month"]


def _window_text(start: dt.date, end: dt.date) -> str:
    return f"{month_of(start):%b %Y} – {month_of(end):%b %Y}"


class BaselineError(ValueError):
    """The baseline window has no data for a unit and KPI that have data after it.

    ``missing`` has columns unit_id, kpi_key, first_month (the first month after the window
    with data); the message names each unit, KPI and the window.
    """

    def __init__(
        self,
        missing: pd.DataFrame,
        start: dt.date,
        end: dt.date,
        unit_names: Mapping[int, str] | None = None,
    ) -> None:
        self.missing = missing.reset_index(drop=True)
        self.start, self.end = start, end
        names = unit_names or {}
        head = self.missing.head(5)
        parts = [
            f"{names.get(int(u), f'unit {int(u)}')} × {k} (data from {pd.Timestamp(m):%b %Y})"
            for u, k, m in zip(
                head["unit_id"].tolist(),
                head["kpi_key"].tolist(),
                head["first_month"].tolist(),
                strict=True,
            )
        ]
        more = len(self.missing) - len(parts)
        super().__init__(
            f"No baseline for {'; '.join(parts)}{f' and {more} more' if more > 0 else ''}: "
            f"no observations in the baseline window {_window_text(start, end)}. "
            f"Import those months, or change the account's baseline window."
        )


@dataclass(frozen=True, eq=False)
class Baseline:
    """The frozen baseline of an account.

    ``base``: unit_id, kpi_key, base, volume (Σ_{m∈B} vol), months (|B_uk|);
    ``missing``: unit_id, kpi_key, first_month — pairs with data after B but none in B.
    """

    start: dt.date  # the window as given (B = its months)
    end: dt.date
    base: pd.DataFrame
    missing: pd.DataFrame
    unit_names: Mapping[int, str] = field(default_factory=dict)

    @property
    def window_text(self) -> str:
        """``Jan 2023 – Jun 2023``."""
        return _window_text(self.start, self.end)

    def error(self) -> BaselineError | None:
        """The ``BaselineError`` for ``missing`` (None when every pair has a baseline)."""
        if self.missing.empty:
            return None
        return BaselineError(self.missing, self.start, self.end, self.unit_names)

    def require(self) -> pd.DataFrame:
        """``base``, or raise ``BaselineError`` when any pair is missing its baseline."""
        err = self.error()
        if err is not None:
            raise err
        return self.base


def frozen_baseline(
    monthly: pd.DataFrame,
    kpis: pd.DataFrame,
    start: dt.date,
    end: dt.date,
    unit_names: Mapping[int, str] | None = None,
    unit_windows: Mapping[int, tuple[dt.date, dt.date]] | None = None,
) -> Baseline:
    """``base[u,k]`` over B = [month(start), month(end)] (formulas in the module doc) for
    every unit and KPI observed in B, and the pairs observed after B but not in it.

    ``monthly``: unit_id, kpi_key, month, value, volume; ``kpis``: key, kind;
    ``unit_windows``: unit_id → its own (start, end), used instead of B for that unit.
    Never raises for missing data (see ``Baseline.require`` / ``baseline``)."""
    lo, hi = month_of(start), month_of(end)
    observed = monthly["value"].notna().to_numpy()
    m = monthly if observed.all() else monthly[observed]  # no copy in the usual case
    month = m["month"].to_numpy()
    lo_row: np.ndarray | np.datetime64 = lo.to_datetime64()
    hi_row: np.ndarray | np.datetime64 = hi.to_datetime64()
    if unit_windows:  # per-unit override (new sites); the account's window otherwise
        uid = m["unit_id"].to_numpy()
        lo_row = np.full(len(m), lo.to_datetime64())
        hi_row = np.full(len(m), hi.to_datetime64())
        for u, (s0, s1) in unit_windows.items():
            sel = uid == u
            lo_row[sel] = month_of(s0).to_datetime64()
            hi_row[sel] = month_of(s1).to_datetime64()
    # unit × KPI pairs as integer codes in (unit_id, kpi_key) order: one integer group key
    # instead of two (one of them strings), and no merge to find the missing pairs
    ucode, units = pd.factorize(m["unit_id"], sort=True)
    kcode, keys = pd.factorize(m["kpi_key"], sort=True)
    pair = ucode.astype(np.int64) * max(len(keys), 1) + kcode
    in_win = (month >= lo_row) & (month <= hi_row)
    value = m["value"].to_numpy()[in_win].astype(float)
    vol = m["volume"].to_numpy()[in_win].astype(float)
    vol = np.where(np.isnan(vol), 0.0, vol)
    # pandas' grouped sum and mean (compensated summation, rows in their order): the same
    # floats as grouping by the two columns
    # (the same grouped kernels as .agg({...}) runs per column, without its dispatch)
    win_pair = pair[in_win]
    grouped = pd.DataFrame({"vw": value * vol, "volume": vol, "mean": value}).groupby(
        win_pair, sort=True
    )
    g = grouped[["vw", "volume"]].sum()
    gmean = grouped["mean"].mean().to_numpy()
    code = g.index.to_numpy()
    gmonths = np.bincount(win_pair, minlength=int(code.max()) + 1 if len(code) else 0)[code]
    kind_of = dict(zip(kpis["key"].tolist(), kpis["kind"].tolist(), strict=True))
    kind = np.array([kind_of.get(k) == "rate" for k in keys], dtype=bool)
    gvol, gvw = g["volume"].to_numpy(), g["vw"].to_numpy()
    is_rate = kind[code % max(len(keys), 1)] & (gvol > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = gvw / np.where(gvol > 0, gvol, np.nan)
    base = pd.DataFrame(
        {
            "unit_id": units.take(code // max(len(keys), 1)),
            "kpi_key": keys.take(code % max(len(keys), 1)),
            "base": np.where(is_rate, ratio, gmean),
            "volume": gvol,
            "months": gmonths,
        }
    )

    # pairs with data after B and none in B (rare): only their rows are grouped
    late = (month > hi_row) & ~np.isin(pair, code)
    if late.any():
        missing = (
            m[late]
            .groupby(["unit_id", "kpi_key"], as_index=False)
            .agg(first_month=("month", "min"))
        )
    else:  # the usual case; grouping no rows costs more than all of the above
        missing = pd.DataFrame(
            {
                "unit_id": m["unit_id"].iloc[:0],
                "kpi_key": m["kpi_key"].iloc[:0],
                "first_month": m["month"].iloc[:0],
            }
        )
    return Baseline(
        start=pd.Timestamp(start).date(),
        end=pd.Timestamp(end).date(),
        base=base,
        missing=missing[MISSING_COLUMNS].reset_index(drop=True),
        unit_names=dict(unit_names or {}),
    )


def baseline(
    monthly: pd.DataFrame,
    kpis: pd.DataFrame,
    start: dt.date,
    end: dt.date,
    unit_names: Mapping[int, str] | None = None,
) -> pd.DataFrame:
    """``unit_id, kpi_key, base, volume, months``: ``base[u,k]`` over B (module doc).

    Raises ``BaselineError`` when a unit and KPI have data after B but none in B."""
    return frozen_baseline(monthly, kpis, start, end, unit_names).require()


def account_baseline(data: AccountData) -> Baseline:
    """``frozen_baseline`` over the account's own window, with unit names for messages."""
    a = data.account
    names = (
        dict(zip(data.units["unit_id"].astype(int), data.units["name"].astype(str), strict=True))
        if not data.units.empty
        else {}
    )
    windows: dict[int, tuple[dt.date, dt.date]] = {}
    if {"baseline_start", "baseline_end"} <= set(data.units.columns):
        own = data.units[data.units["baseline_start"].notna() & data.units["baseline_end"].notna()]
        windows = {
            int(u): (pd.Timestamp(s0).date(), pd.Timestamp(s1).date())
            for u, s0, s1 in zip(
                own["unit_id"], own["baseline_start"], own["baseline_end"], strict=True
            )
        }
    return frozen_baseline(
        data.monthly, data.kpis, a.baseline_start, a.baseline_end, names, windows or None
    )
