"""metrics.then_now on a hand-made table: volume-weighted rate KPIs (≠ the naive mean), a
higher-is-better KPI, a level KPI, a period without data, unit filters, the innovations that
went live in between and the default periods."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from metrics import then_now as tn

D = dt.date
THEN = (D(2024, 1, 1), D(2024, 2, 1))  # Jan–Feb 2024
NOW = (D(2024, 4, 1), D(2024, 5, 1))  # Apr–May 2024

KPIS = pd.DataFrame(
    {
        "key": ["cost", "csat", "fte"],
        "label": ["Cost per case", "Satisfaction", "Full-time equivalents"],
        "unit_of_measure": ["USD", "score", "FTE"],
        "direction": ["lower", "higher", "lower"],
        "kind": ["rate", "rate", "level"],
        "headline": [False, True, False],
    }
)


def _monthly() -> pd.DataFrame:
    rows = [
        # unit, kpi, month, value, volume
        (1, "cost", "2024-01-01", 10.0, 100.0),
        (1, "cost", "2024-02-01", 12.0, 300.0),
        (2, "cost", "2024-01-01", 20.0, 100.0),
        (2, "cost", "2024-02-01", 20.0, 100.0),
        (1, "cost", "2024-04-01", 9.0, 300.0),
        (1, "cost", "2024-05-01", 9.0, 300.0),
        (2, "cost", "2024-04-01", 18.0, 100.0),
        (2, "cost", "2024-05-01", 18.0, 100.0),
        (1, "csat", "2024-01-01", 80.0, 100.0),
        (1, "csat", "2024-02-01", 80.0, 100.0),
        (1, "csat", "2024-04-01", 84.0, 100.0),
        (1, "csat", "2024-05-01", 84.0, 100.0),
        (1, "fte", "2024-01-01", 10.0, np.nan),
        (1, "fte", "2024-02-01", 12.0, np.nan),
        (2, "fte", "2024-01-01", 5.0, np.nan),
        (2, "fte", "2024-02-01", 5.0, np.nan),
        (1, "fte", "2024-04-01", 10.0, np.nan),
        (1, "fte", "2024-05-01", 10.0, np.nan),
        (2, "fte", "2024-04-01", 6.0, np.nan),
        (2, "fte", "2024-05-01", 6.0, np.nan),
        (1, "cost", "2024-03-01", 11.0, 100.0),
    ]
    m = pd.DataFrame(rows, columns=["unit_id", "kpi_key", "month", "value", "volume"])
    m["month"] = pd.to_datetime(m["month"])
    return m


def test_rate_kpi_is_volume_weighted_not_the_mean_of_ratios() -> None:
    lv = tn.kpi_levels(_monthly(), KPIS, THEN).set_index("key")
    # then: (10·100 + 12·300 + 20·100 + 20·100) / (100 + 300 + 100 + 100) = 8600 / 600
    assert lv.loc["cost", "value"] == pytest.approx(8600 / 600)  # 14.333…
    assert lv.loc["cost", "value"] != pytest.approx((10 + 12 + 20 + 20) / 4)  # naive 15.5
    assert lv.loc["cost", "volume"] == 600.0 and lv.loc["cost", "months"] == 2
    # fte (level): Σ over units per month, mean over months: (10 + 5 + 12 + 5) / 2 = 16
    assert lv.loc["fte", "value"] == pytest.approx(16.0)


def test_scorecard_delta_pct_and_direction() -> None:
    card = tn.scorecard(_monthly(), KPIS, THEN, NOW)
    assert card["key"].tolist() == ["csat", "cost", "fte"]  # headline KPI first
    c = card.set_index("key")
    # cost now: (9·300·2 + 18·100·2) / 800 = 9000 / 800 = 11.25; change = 11.25 − 14.333…
    assert c.loc["cost", "now"] == pytest.approx(11.25)
    assert c.loc["cost", "change"] == pytest.approx(11.25 - 8600 / 600)
    assert c.loc["cost", "pct_change"] == pytest.approx((11.25 - 8600 / 600) / (8600 / 600))
    assert c.loc["cost", "better"] is True  # lower is better and it fell (−21.5 %)
    # csat, higher is better: 80 → 84 = +4, +5 %; s_k·change = −1·4 < 0 → better
    assert c.loc["csat", "change"] == pytest.approx(4.0)
    assert c.loc["csat", "pct_change"] == pytest.approx(0.05)
    assert c.loc["csat", "better"] is True
    # fte: then 16, now (10 + 6 + 10 + 6) / 2 = 16: unchanged → neither better nor worse
    assert c.loc["fte", "change"] == pytest.approx(0.0) and c.loc["fte", "better"] is None


def test_higher_is_better_kpi_getting_worse() -> None:
    m = _monthly()
    m.loc[(m["kpi_key"] == "csat") & (m["month"] >= "2024-04-01"), "value"] = 76.0
    c = tn.scorecard(m, KPIS, THEN, NOW).set_index("key")
    assert c.loc["csat", "pct_change"] == pytest.approx(-0.05)  # 80 → 76
    assert c.loc["csat", "better"] is False


def test_period_without_data() -> None:
    empty = (D(2023, 1, 1), D(2023, 3, 1))
    assert tn.kpi_levels(_monthly(), KPIS, empty).empty
    c = tn.scorecard(_monthly(), KPIS, empty, NOW).set_index("key")
    assert c["then"].isna().all() and c["change"].isna().all()
    assert c.loc["cost", "now"] == pytest.approx(11.25)  # the other period is still shown
    assert c["better"].tolist() == [None, None, None]


def test_unit_filter() -> None:
    c = tn.scorecard(_monthly(), KPIS, THEN, NOW, unit_ids=[2]).set_index("key")
    assert c.loc["cost", "then"] == pytest.approx(20.0)  # (20·100 + 20·100) / 200
    assert c.loc["cost", "now"] == pytest.approx(18.0)
    assert "csat" not in c.index  # unit 2 has no csat


ROLLOUTS = pd.DataFrame(
    {
        "innovation_id": [1, 2, 2, 3, 4, 5],
        "unit_id": [1, 1, 2, 2, 1, 2],
        "go_live": pd.to_datetime(
            ["2024-02-29", "2024-03-15", "2024-01-10", "2024-05-31", "2024-06-01", "2024-04-01"]
        ),
    }
)
INNOVATIONS = pd.DataFrame(
    {
        "innovation_id": [1, 2, 3, 4, 5],
        "code": ["I-1", "I-2", "I-3", "I-4", "I-5"],
        "title": ["A", "B", "C", "D", "E"],
        "category": ["ops", "ops", "strategic", "ops", "ops"],
    }
)


def test_went_live_between() -> None:
    # first go-live per innovation: 1 Feb 29 (= end of then: not after it), 2 Jan 10 (before),
    # 3 May 31 (= end of now: included), 4 Jun 1 (after), 5 Apr 1 (between)
    w = tn.went_live_between(ROLLOUTS, INNOVATIONS, THEN, NOW)
    assert w["code"].tolist() == ["I-5", "I-3"]  # in go-live order
    # unit 1 only: innovation 2 first went live there on Mar 15
    w1 = tn.went_live_between(ROLLOUTS, INNOVATIONS, THEN, NOW, unit_ids=[1])
    assert w1["code"].tolist() == ["I-2"]
    ops = INNOVATIONS[INNOVATIONS["category"] == "ops"]
    assert tn.went_live_between(ROLLOUTS, ops, THEN, NOW)["code"].tolist() == ["I-5"]


def test_default_periods() -> None:
    months = _monthly()["month"]  # Jan–May 2024
    then, now = tn.default_periods(months, (D(2024, 1, 1), D(2024, 2, 29)))
    assert then == (D(2024, 1, 1), D(2024, 2, 1))  # the baseline window, as months
    assert now == (D(2024, 1, 1), D(2024, 3, 1))  # May is no quarter end: Q1 is the last full
    # a quarter starting before the first month: the last three months instead
    _, now = tn.default_periods(months[months >= "2024-02-01"], (D(2024, 1, 1), D(2024, 2, 1)))
    assert now == (D(2024, 3, 1), D(2024, 5, 1))
    _, now = tn.default_periods(months, (D(2024, 1, 1), D(2024, 2, 1)), end=D(2024, 3, 15))
    assert now == (D(2024, 1, 1), D(2024, 3, 1))
    assert tn.default_periods([], (D(2024, 1, 1), D(2024, 2, 1)))[1] == (
        D(2024, 1, 1),
        D(2024, 2, 1),
    )


def test_period_labels() -> None:
    assert tn.period_label(D(2024, 1, 1), D(2024, 3, 1)) == "Q1 2024"
    assert tn.period_label(D(2024, 7, 1), D(2024, 12, 31)) == "H2 2024"
    assert tn.period_label(D(2024, 1, 1), D(2024, 12, 1)) == "2024"
    assert tn.period_label(D(2024, 5, 3), D(2024, 5, 30)) == "May 2024"
    assert tn.period_label(D(2024, 2, 1), D(2024, 4, 1)) == "Feb 2024 – Apr 2024"


def test_then_vs_now_on_an_account() -> None:
    from tests.metrics.test_views import tiny

    r = tn.then_vs_now(tiny())  # baseline Q1 2023 vs the last full quarter, Q4 2023
    assert (r.then_label, r.now_label) == ("Q1 2023", "Q4 2023")
    cost = r.complete.set_index("key").loc["cost"]
    # now: unit 1 at 9 for 3 months (vol 100 each), unit 2 at 10, 10, 9.5
    assert cost["now"] == pytest.approx((9 * 300 + 10 * 200 + 9.5 * 100) / 600)
    assert r.went_live["code"].tolist() == ["INN-A", "INN-B"]  # Apr 1 and Jun 15 2023
    only_b = tn.then_vs_now(tiny(), categories=["strategic impact"])
    assert only_b.went_live["code"].tolist() == ["INN-B"]
