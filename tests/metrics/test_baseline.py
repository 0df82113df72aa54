"""metrics.baseline: the frozen, volume-weighted baseline and its explicit errors."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from metrics import views
from metrics.baseline import BaselineError, account_baseline, baseline, frozen_baseline
from metrics.filters import Filters
from metrics.value import measured
from tests.metrics import tables as t

JAN, MAR = dt.date(2023, 1, 1), dt.date(2023, 3, 31)


def _base(frame: pd.DataFrame) -> pd.Series:
    return frame.set_index(["unit_id", "kpi_key"])["base"]


def test_rate_baseline_is_volume_weighted_not_the_mean_of_ratios() -> None:
    # cost at unit 1, Jan–Mar: 10 on 300 transactions, 12 on 100, 10 on 100.
    # weighted: (10·300 + 12·100 + 10·100) / 500 = 5200 / 500 = 10.4
    # naive mean of the monthly ratios: (10 + 12 + 10) / 3 = 10.667 — not the baseline.
    m = t.monthly(
        [
            (1, "cost", "2023-01", 10, 300),
            (1, "cost", "2023-02", 12, 100),
            (1, "cost", "2023-03", 10, 100),
            (1, "cost", "2023-04", 9, 100),
        ]
    )
    b = baseline(m, t.kpis(), JAN, MAR)
    assert _base(b)[(1, "cost")] == pytest.approx(10.4)
    assert _base(b)[(1, "cost")] != pytest.approx(32 / 3)
    row = b.iloc[0]
    assert row["volume"] == 500 and row["months"] == 3  # April is after the window


def test_higher_is_better_rate_and_level_kpi() -> None:
    # csat (a rate, higher is better) is weighted the same way: (80·100 + 86·300) / 400 = 84.5
    # fte (a level) is the mean of the months, volumes ignored: (50 + 52 + 54) / 3 = 52
    m = t.monthly(
        [
            (1, "csat", "2023-01", 80, 100),
            (1, "csat", "2023-02", 86, 300),
            (1, "fte", "2023-01", 50, 999),
            (1, "fte", "2023-02", 52, 1),
            (1, "fte", "2023-03", 54, 0),
        ]
    )
    b = _base(baseline(m, t.kpis(), JAN, MAR))
    assert b[(1, "csat")] == pytest.approx(84.5)
    assert b[(1, "fte")] == pytest.approx(52.0)


def test_window_without_volume_uses_the_plain_mean_and_skips_missing_values() -> None:
    # no transactions in the window: the weighted ratio is undefined → mean (10 + 11) / 2
    # a NaN value is not an observation: it does not drag the mean
    m = t.monthly(
        [
            (1, "cost", "2023-01", 10, 0),
            (1, "cost", "2023-02", 11, 0),
            (1, "cost", "2023-03", np.nan, 50),
        ]
    )
    assert _base(baseline(m, t.kpis(), JAN, MAR))[(1, "cost")] == pytest.approx(10.5)


def test_baseline_is_frozen_later_months_do_not_move_it() -> None:
    rows = [(1, "cost", "2023-01", 10, 100), (1, "cost", "2023-02", 10, 100)]
    before = baseline(t.monthly(rows), t.kpis(), JAN, MAR)
    after = baseline(
        t.monthly(rows + [(1, "cost", f"2023-{m:02d}", 5, 1000) for m in range(4, 13)]),
        t.kpis(),
        JAN,
        MAR,
    )
    assert _base(before)[(1, "cost")] == _base(after)[(1, "cost")] == pytest.approx(10.0)


def test_missing_window_raises_a_clear_error() -> None:
    # unit 2 (Nice) starts reporting cost in May: it has data after the window, none in it
    m = t.monthly(
        [
            (1, "cost", "2023-01", 10, 100),
            (1, "cost", "2023-05", 9, 100),
            (2, "cost", "2023-05", 8, 100),
            (2, "cost", "2023-06", 8, 100),
        ]
    )
    d = t.data(m)
    with pytest.raises(BaselineError) as err:
        account_baseline(d).require()
    msg = str(err.value)
    assert "Nice · Claims" in msg and "cost" in msg and "Jan 2023 – Mar 2023" in msg
    assert "May 2023" in msg  # when its data starts
    assert err.value.missing[["unit_id", "kpi_key"]].values.tolist() == [[2, "cost"]]
    with pytest.raises(BaselineError, match="unit 2 × cost"):  # without names: the id
        baseline(m, t.kpis(), JAN, MAR)


def test_missing_window_is_reported_not_fatal_for_the_pages() -> None:
    m = t.monthly(
        [
            (1, "cost", "2023-01", 10, 100),
            (1, "cost", "2023-05", 9, 100),
            (2, "cost", "2023-05", 8, 100),
        ]
    )
    d = t.data(m)
    fb = account_baseline(d)
    assert _base(fb.base).to_dict() == {(1, "cost"): 10.0}  # unit 1 is still measured
    assert fb.error() is not None and fb.window_text == "Jan 2023 – Mar 2023"
    # the view model measures unit 1 and names unit 2 instead of failing the page
    assert measured(d, Filters())["unit_id"].unique().tolist() == [1]
    gaps = views.baseline_gaps(d)
    assert gaps[["unit", "kpi"]].values.tolist() == [["Nice · Claims", "cost"]]
    h = views.headline_view(d, Filters())
    assert h is not None and h.baseline_missing == ("Nice · Claims × cost",)
    assert "no baseline for Nice · Claims × cost" in h.gaps_text
    assert views.baseline_gaps(d, Filters(unit_ids=(1,))).empty


def test_data_only_before_the_window_is_not_an_error() -> None:
    m = t.monthly([(1, "cost", "2022-11", 10, 100), (2, "cost", "2023-02", 9, 100)])
    fb = frozen_baseline(m, t.kpis(), JAN, MAR)
    assert fb.missing.empty and fb.error() is None
    assert _base(fb.base).to_dict() == {(2, "cost"): 9.0}


def test_demo_has_a_baseline_for_every_unit_and_kpi(demo_engine) -> None:
    from data_loaders.access import Scope
    from data_loaders.queries import load_account_data

    d = load_account_data(demo_engine, Scope.everything(), 1)
    b = account_baseline(d)
    assert b.missing.empty
    assert len(b.base) == len(d.units) * len(d.kpis)
    assert (b.base["months"] == 6).all()  # Jan–Jun 2023
