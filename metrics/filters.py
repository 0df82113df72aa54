"""The shared filters (docs/ARCHITECTURE.md, Notation: units, period, category) and how every metric applies them.

Notation as in docs/ARCHITECTURE.md, Notation: u unit, m month, k KPI. A ``Filters`` value selects

    U = unit_ids (None = every unit of the account),
    M = {m : month(start) ≤ m ≤ month(end)} (an open end when start / end is None),
    C = categories (None or empty = every innovation category).

Months are first-of-month timestamps; ``start`` and ``end`` may be any date inside their month.
The functions here are pure: they take frames with the columns documented on
``data_loaders.queries.AccountData`` and return filtered copies, never touching a database.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from typing import Protocol

import pandas as pd

from data_loaders.queries import AccountData
from metrics.rules import last_complete_month_end, month_start

__all__ = [
    "FilterLike",
    "Filters",
    "in_categories",
    "in_period",
    "in_units",
    "limit_to",
    "month_of",
]


class FilterLike(Protocol):
    """Anything with the four filter fields (``Filters``; ``ui.page_context.PageContext`` too)."""

    @property
    def unit_ids(self) -> tuple[int, ...] | None: ...
    @property
    def start(self) -> dt.date | None: ...
    @property
    def end(self) -> dt.date | None: ...
    @property
    def categories(self) -> tuple[str, ...] | None: ...


@dataclass(frozen=True)
class Filters:
    """The shared filters: ``unit_ids`` (U), ``start``/``end`` (the months M, inclusive) and
    ``categories`` (C). ``None`` means "no restriction". Frozen and hashable, so it can key
    a cache; the field order is the positional order used across the app."""

    unit_ids: tuple[int, ...] | None = None
    start: dt.date | None = None
    end: dt.date | None = None
    categories: tuple[str, ...] | None = None

    def without_categories(self) -> Filters:
        """The same units and period for every category (measured value belongs to no
        category; only its attribution does)."""
        return replace(self, categories=None)


#: ``month(d)``: the first day of d's month (``metrics.rules.month_start``).
month_of = month_start


def in_units(frame: pd.DataFrame, f: FilterLike, col: str = "unit_id") -> pd.DataFrame:
    """Rows with ``col ∈ U`` (all rows when U is None)."""
    return frame if f.unit_ids is None else frame[frame[col].isin(f.unit_ids)]


def in_period(frame: pd.DataFrame, f: FilterLike, col: str = "month") -> pd.DataFrame:
    """Rows with ``month(start) ≤ col ≤ month(end)`` (``col`` holds first-of-month dates)."""
    out = frame
    if f.start is not None:
        out = out[out[col] >= month_of(f.start)]
    if f.end is not None:
        out = out[out[col] <= month_of(f.end)]
    return out


def in_categories(innovations: pd.DataFrame, f: FilterLike) -> pd.DataFrame:
    """Innovations with ``category ∈ C`` (all when C is None or empty)."""
    if not f.categories:
        return innovations
    return innovations[innovations["category"].isin(f.categories)]


def limit_to(data: AccountData, as_of: dt.date | None) -> AccountData:
    """The account as it stood at the end of the last month complete at ``as_of``
    (``metrics.rules.last_complete_month_end``: 15 Jun 2025 → 31 May 2025, so a month is
    never half counted): observations of months up to it, rollouts with ``go_live ≤`` it,
    innovations with ``idea_date ≤`` it (or no idea date) and their targets, events dated
    ``≤`` it. Stage fields are kept as they are now (the register keeps no stage history).
    ``None`` returns ``data`` unchanged."""
    if as_of is None:
        return data
    cut = last_complete_month_end(as_of)
    m = data.monthly
    monthly = m[m["month"] <= month_of(cut)].reset_index(drop=True)
    r = data.rollouts
    rollouts = r[r["go_live"].isna() | (pd.to_datetime(r["go_live"]) <= cut)]
    inn = data.innovations
    idea = pd.to_datetime(inn["idea_date"])
    innovations = inn[idea.isna() | (idea <= cut)].reset_index(drop=True)
    keep = set(innovations["innovation_id"])
    rollouts = rollouts[rollouts["innovation_id"].isin(keep)].reset_index(drop=True)
    targets = data.targets[data.targets["innovation_id"].isin(keep)].reset_index(drop=True)
    ev = data.events
    events = ev[pd.to_datetime(ev["date"]) <= cut].reset_index(drop=True)
    return replace(
        data,
        monthly=monthly,
        rollouts=rollouts,
        innovations=innovations,
        targets=targets,
        events=events,
    )
