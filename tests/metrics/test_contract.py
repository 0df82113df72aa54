"""metrics.contract worked out by hand: contract years, the productivity path over 2.5 years,
gain-share with outperformance and with shortfall, innovation days per contract year."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from metrics import contract as c

D = dt.date
BASELINE = (D(2023, 1, 1), D(2023, 6, 30))  # Jan–Jun 2023


def test_contract_years_are_cut_at_the_contract_end() -> None:
    y = c.contract_years(D(2023, 1, 1), D(2025, 6, 30))
    assert y["contract_year"].tolist() == ["Year 1", "Year 2", "Year 3"]
    assert y["end"].tolist() == [
        pd.Timestamp("2023-12-31"),
        pd.Timestamp("2024-12-31"),
        pd.Timestamp("2025-06-30"),
    ]


def _cost() -> pd.DataFrame:
    rows = []
    for m in pd.date_range("2023-01-01", "2023-06-01", freq="MS"):  # the baseline window
        rows += [(1, "cost", m, 10.0, 100.0), (2, "cost", m, 6.0, 300.0)]
    rows += [
        (1, "cost", pd.Timestamp("2023-07-01"), 10.0, 100.0),
        (1, "cost", pd.Timestamp("2025-12-01"), 9.0, 100.0),
        (2, "cost", pd.Timestamp("2025-12-01"), 5.0, 300.0),
    ]
    return pd.DataFrame(rows, columns=["unit_id", "kpi_key", "month", "value", "volume"])


def test_productivity_path_over_two_and_a_half_years() -> None:
    path = c.productivity_path(_cost(), "cost", BASELINE, 4.0).set_index("month")
    # base = Σ value·vol / Σ vol over the window = (10·100 + 6·300)·6 / (400·6) = 7.0
    # (the mean of the two units' costs would be 8)
    assert path.loc["2023-03-01", "required"] == pytest.approx(7.0)  # in B: years = 0
    assert path.loc["2023-07-01", "years"] == pytest.approx(1 / 12)
    # Dec 2025 is 30 months after Jun 2023: 2.5 years; 0.96^2.5 = 0.9216·√0.96 ≈ 0.902980
    dec = path.loc["2025-12-01"]
    assert dec["years"] == pytest.approx(2.5)
    assert dec["required"] == pytest.approx(7.0 * 0.9216 * 0.96**0.5)  # ≈ 6.3209
    # actual = (9·100 + 5·300) / 400 = 6.0, below the path: gap = 6.0 − 6.3209 < 0 (ahead)
    assert dec["actual"] == pytest.approx(6.0)
    assert dec["gap"] == pytest.approx(6.0 - 7.0 * 0.96**2.5)
    # unit 1 alone: base 10, Dec 2025 actual 9
    one = c.productivity_path(_cost(), "cost", BASELINE, 4.0, unit_ids=[1]).set_index("month")
    assert one.loc["2025-12-01", "required"] == pytest.approx(10.0 * 0.96**2.5)
    assert c.productivity_path(_cost(), "nope", BASELINE, 4.0).empty


def test_gain_share_with_outperformance_and_shortfall() -> None:
    years = c.contract_years(D(2023, 1, 1), D(2025, 12, 31))
    savings = pd.Series(
        [300.0, 500.0, 400.0, 200.0, 300.0],
        index=pd.to_datetime(
            ["2023-02-01", "2023-06-01", "2023-11-01", "2024-01-01", "2024-02-01"]
        ),
    )
    g = c.gain_share(savings, years, goal=1000.0, gain_share_pct=40.0).set_index("contract_year")
    y1, y2, y3 = g.loc["Year 1"], g.loc["Year 2"], g.loc["Year 3"]
    # Year 1: S = 300 + 500 + 400 = 1200 ≥ G = 1000. Client (1 − 0.4)·1000 = 600;
    # provider 1200 − 600 = 600 = g·G (400) + outperformance (200)
    assert (y1["savings"], y1["client"], y1["provider"]) == pytest.approx((1200, 600, 600))
    assert (y1["outperformance"], y1["shortfall"]) == (200.0, 0.0)
    # Year 2 (two months so far): S = 500 < G. Client still 600; provider 500 − 600 = −100:
    # it absorbs the 500 shortfall (400 − 500)
    assert (y2["savings"], y2["client"], y2["provider"]) == pytest.approx((500, 600, -100))
    assert (y2["outperformance"], y2["shortfall"]) == (0.0, 500.0)
    assert y2["months"] == 2 and y2["last_month"] == pd.Timestamp("2024-02-01")
    # Year 1 is over (the data runs to Feb 2024): full goal; Year 2 runs: Jan–Feb = 2 of 12
    # months covered, pace 1000·2/12
    assert (y1["covered"], y1["year_months"], y1["goal_to_date"]) == (12, 12, 1000.0)
    assert (y2["covered"], y2["year_months"]) == (2, 12)
    assert y2["goal_to_date"] == pytest.approx(1000.0 * 2 / 12)
    assert y3["covered"] == 0 and np.isnan(y3["goal_to_date"])
    # no baseline given: no baseline months counted
    assert g["baseline_months"].tolist() == [0, 0, 0]
    # Year 3 has no measured month: nothing is guaranteed or owed yet
    assert y3["months"] == 0
    assert np.isnan([y3["savings"], y3["client"], y3["provider"], y3["shortfall"]]).all()


def test_gain_share_counts_the_baseline_months_and_a_short_last_year() -> None:
    """Baseline months inside a contract year are counted (their value is zero by
    construction); a last year cut at the contract end has fewer calendar months, and once the
    data covers them all its goal to date is the full goal (no proration asserted)."""
    years = c.contract_years(D(2023, 1, 1), D(2024, 6, 30))  # Year 2: Jan–Jun 2024
    savings = pd.Series(
        [0.0, 250.0, 900.0], index=pd.to_datetime(["2023-03-01", "2023-09-01", "2024-06-01"])
    )
    g = c.gain_share(savings, years, goal=1000.0, gain_share_pct=40.0, baseline=BASELINE).set_index(
        "contract_year"
    )
    assert g.loc["Year 1", "baseline_months"] == 6  # Jan–Jun 2023
    assert g.loc["Year 2", "baseline_months"] == 0
    assert (g.loc["Year 2", "year_months"], g.loc["Year 2", "covered"]) == (6, 6)
    assert g.loc["Year 2", "goal_to_date"] == 1000.0
    assert g.loc["Year 1", "savings"] == 250.0


def test_innovation_days_per_contract_year() -> None:
    years = c.contract_years(D(2023, 1, 1), D(2024, 12, 31))
    inn = pd.DataFrame(
        {
            "idea_date": pd.to_datetime(["2023-01-10", "2023-12-31", "2024-05-01", "2022-12-01"]),
            "innovation_days": [4.0, 3.5, 12.0, 9.0],
        }
    )
    d = c.innovation_days(inn, years, 10.0).set_index("contract_year")
    # Year 1: 4 + 3.5 (the idea before the contract counts in no year); Year 2: 12
    assert d["used"].tolist() == [7.5, 12.0]
    assert d["contracted"].tolist() == [10.0, 10.0]
    assert d["remaining"].tolist() == [2.5, -2.0]  # over the contract in Year 2


def test_unit_cost_kpi() -> None:
    kpis = pd.DataFrame(
        {
            "key": ["aht", "cost", "err"],
            "unit_of_measure": ["s", "EUR", "%"],
            "kind": ["rate", "rate", "rate"],
            "headline": [False, False, True],
        }
    )
    in_currency, headline = c.unit_cost_kpi(kpis, "EUR"), c.unit_cost_kpi(kpis, "USD")
    assert in_currency is not None and in_currency["key"] == "cost"  # measured in the currency
    assert headline is not None and headline["key"] == "err"  # else the first headline rate
    assert c.unit_cost_kpi(kpis.assign(headline=False), "USD") is None
