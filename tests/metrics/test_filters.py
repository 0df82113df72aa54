"""metrics.filters: the shared filters and how every metric applies them."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from metrics.filters import (
    Filters,
    in_categories,
    in_period,
    in_units,
    limit_to,
    month_of,
)
from tests.metrics import tables as t


def test_filters_are_hashable_and_drop_categories() -> None:
    f = Filters((1, 2), dt.date(2023, 2, 15), dt.date(2023, 5, 1), ("a",))
    assert f == Filters(
        unit_ids=(1, 2), start=dt.date(2023, 2, 15), end=dt.date(2023, 5, 1), categories=("a",)
    )
    assert hash(f) == hash(Filters((1, 2), dt.date(2023, 2, 15), dt.date(2023, 5, 1), ("a",)))
    assert f.without_categories().categories is None


def test_units_period_categories() -> None:
    m = t.monthly([(u, "cost", f"2023-0{i}", 1.0, 1.0) for u in (1, 2) for i in range(1, 7)])
    # any day inside a month selects the whole month: Feb 15 … May 1 = Feb, Mar, Apr, May
    f = Filters(unit_ids=(2,), start=dt.date(2023, 2, 15), end=dt.date(2023, 5, 1))
    got = in_period(in_units(m, f), f)
    assert set(got["unit_id"]) == {2}
    assert got["month"].dt.month.tolist() == [2, 3, 4, 5]
    assert len(in_period(in_units(m, Filters()), Filters())) == 12  # None = everything
    inn = t.innovations([(1, "a", 0.0), (2, "b", 0.0)])
    assert in_categories(inn, Filters(categories=("b",)))["innovation_id"].tolist() == [2]
    assert len(in_categories(inn, Filters(categories=()))) == 2  # empty = all
    assert month_of(dt.date(2023, 2, 28)) == pd.Timestamp("2023-02-01")


def test_limit_to_as_of() -> None:
    m = t.monthly([(1, "cost", f"2023-0{i}", 1.0, 1.0) for i in range(1, 7)])
    d = t.data(
        m,
        inn=[(1, "a", 0.0), (2, "a", 0.0)],
        targets=[(1, "cost", -5), (2, "cost", -5)],
        rollouts=[(1, 1, "2023-02-10"), (2, 1, "2023-05-02")],
    )
    cut = limit_to(d, dt.date(2023, 4, 15))
    # mid-April rounds down to the last complete month: months ≤ March
    assert cut.monthly["month"].max() == pd.Timestamp("2023-03-01")
    assert cut.rollouts["innovation_id"].tolist() == [1]  # go-live after the date: not yet
    assert limit_to(d, dt.date(2023, 4, 30)).monthly["month"].max() == pd.Timestamp("2023-04-01")
    assert len(cut.innovations) == 2  # both ideas existed (idea date Dec 2022)
    assert limit_to(d, None) is d
