"""Sign-off of a value line, as a rule: how a figure computed now stands against the figure
a client executive agreed for the same innovation and period.

A line is **agreed** when an agreement exists for (innovation, period) and the figure
computed now equals the agreed one within ``TOLERANCE`` (half a currency unit, the
precision figures are shown in); it is **changed since agreed** when the figure computed
now differs by ``TOLERANCE`` or more, or no longer exists (new data, a changed rule). A
changed figure is never shown as agreed; the label names both: "changed since agreed:
old → new".

The period of a line is its first and last month (first-of-month dates), as the innovation
detail page and the renewal pack show it (``data_period``: all the months with data).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

__all__ = ["TOLERANCE", "Agreement", "Status", "data_period"]

#: Figures are shown in whole currency units; a difference below half a unit is no change.
TOLERANCE = 0.5


@dataclass(frozen=True)
class Agreement:
    code: str
    period_start: dt.date
    period_end: dt.date
    figure: float
    currency: str
    signed_by: str
    signed_by_name: str
    signed_at: dt.datetime


def _whole(v: float) -> str:
    return f"{v:,.0f}"


@dataclass(frozen=True)
class Status:
    """How a value line stands against its sign-off for the same period."""

    agreement: Agreement | None
    current: float | None

    @property
    def agreed(self) -> bool:
        return self.agreement is not None

    @property
    def changed(self) -> bool:
        if self.agreement is None or self.current is None:
            return self.agreement is not None and self.current is None
        return abs(self.current - self.agreement.figure) >= TOLERANCE

    def label(self, fmt: Callable[[float], str] = _whole) -> str:
        """ "agreed by NAME on D MMM YYYY", "changed since agreed: old → new", or ""."""
        a = self.agreement
        if a is None:
            return ""
        if self.changed:
            new = "no figure" if self.current is None else fmt(self.current)
            return f"changed since agreed: {fmt(a.figure)} → {new}"
        return f"agreed by {a.signed_by_name or a.signed_by} on {a.signed_at:%-d %b %Y}"


def data_period(months: pd.Series) -> tuple[dt.date, dt.date] | None:
    """(first month, last month) of ``months`` as first-of-month dates; None when empty."""
    if months.empty:
        return None
    m = pd.to_datetime(months)
    return m.min().date(), m.max().date()
