"""metrics.value on hand-computed tables: measured benefit (direction-aware, rate vs level),
cumulative value, run-rate, headline KPIs only, missing months, claimed value and realisation;
daily observations give the monthly answer (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import Engine

from metrics.baseline import account_baseline
from metrics.filters import Filters
from metrics.value import (
    benefit,
    claimed,
    cumulative,
    headline_total,
    live_months,
    measured,
    missing_months,
    realisation,
    run_rate,
    to_cents,
)
from tests.metrics import tables as t

ALL = Filters()


def _account() -> t.AccountData:
    """Baseline Jan–Mar 2023 (unit 1), then April and May.

    cost  (rate, lower better, 1 €/txn):  4.0 ×1000 txn in Jan–Mar → base 4.0
          Apr 3.5 ×1000 → +(4 − 3.5)·1000·1   = +500
          May 4.2 ×500  → +(4 − 4.2)·500·1    = −100
    csat  (rate, HIGHER better, 0.5 €/pt/txn): 80 ×100 → base 80
          Apr 82 ×100   → −(80 − 82)·100·0.5  = +100
          May 79 ×200   → −(80 − 79)·200·0.5  = −100
    fte   (level, lower better, 100 €/FTE-month; volumes ignored): 50 → base 50
          Apr 48        → (50 − 48)·100       = +200
          May 47        → (50 − 47)·100       = +300
    aht   (money 0.01 but NOT headline): 300 → 290 in April: +100, left out by default
    Headline value: Jan–Mar 0, Apr 800, May 100 → cumulative 900.
    """
    rows = []
    for mo in ("2023-01", "2023-02", "2023-03"):
        rows += [
            (1, "cost", mo, 4.0, 1000),
            (1, "csat", mo, 80, 100),
            (1, "fte", mo, 50, 1000),
            (1, "aht", mo, 300, 1000),
            (1, "volume", mo, 1000, 0),
        ]
    rows += [
        (1, "cost", "2023-04", 3.5, 1000),
        (1, "csat", "2023-04", 82, 100),
        (1, "fte", "2023-04", 48, 1000),
        (1, "aht", "2023-04", 290, 1000),
        (1, "cost", "2023-05", 4.2, 500),
        (1, "csat", "2023-05", 79, 200),
        (1, "fte", "2023-05", 47, 1),
    ]
    return t.data(t.monthly(rows))


def _by(frame: pd.DataFrame) -> dict[tuple[str, str], float]:
    return {
        (k, f"{m:%m}"): v
        for k, m, v in zip(frame["kpi_key"], frame["month"], frame["benefit"], strict=True)
    }


def test_benefit_is_direction_aware_and_rate_vs_level() -> None:
    d = _account()
    b = measured(d)
    got = _by(b)
    assert got[("cost", "04")] == pytest.approx(500.0)
    assert got[("cost", "05")] == pytest.approx(-100.0)
    assert got[("csat", "04")] == pytest.approx(100.0)  # a higher score is a saving
    assert got[("csat", "05")] == pytest.approx(-100.0)
    assert got[("fte", "04")] == pytest.approx(200.0)  # a level: no volume
    assert got[("fte", "05")] == pytest.approx(300.0)
    assert ("aht", "04") not in got  # not a headline KPI
    assert not (b["kpi_key"] == "volume").any()  # no money value
    assert b["cents"].dtype == np.int64
    assert (np.rint(b["benefit"] * 100) == b["cents"]).all()


def test_cumulative_run_rate_and_headline_total() -> None:
    d = _account()
    c = cumulative(measured(d))
    assert c["month"].dt.month.tolist() == [1, 2, 3, 4, 5]
    assert c["benefit"].tolist() == pytest.approx([0, 0, 0, 800, 100])
    assert c["cumulative"].tolist() == pytest.approx([0, 0, 0, 800, 900])
    # last 3 months: Mar 0, Apr 800, May 100 → (900 / 3) × 12 = 3600
    assert run_rate(measured(d)) == pytest.approx(3600.0)
    assert run_rate(c) == pytest.approx(3600.0)  # from the monthly series too
    # all money KPIs (aht included): the headline still sums only the headline KPIs
    every = measured(d, headline_only=False)
    assert _by(every)[("aht", "04")] == pytest.approx(10 * 1000 * 0.01)
    assert every["benefit"].sum() == pytest.approx(1000.0)
    assert headline_total(every, d.kpis) == pytest.approx(900.0)


def test_run_rate_with_fewer_months_and_none() -> None:
    d = _account()
    one = measured(d, Filters(start=dt.date(2023, 4, 1), end=dt.date(2023, 4, 1)))
    assert run_rate(one) == pytest.approx(800.0 * 12)  # one month: that month × 12
    assert run_rate(measured(d, Filters(start=dt.date(2030, 1, 1)))) == 0.0
    assert cumulative(measured(d, Filters(start=dt.date(2030, 1, 1)))).empty


def test_filters_on_units_and_period() -> None:
    d = _account()
    may = measured(d, Filters(start=dt.date(2023, 5, 10)))
    assert may["benefit"].sum() == pytest.approx(100.0)
    assert measured(d, Filters(unit_ids=(2,))).empty


def test_missing_months_are_flagged_not_zero_filled() -> None:
    # unit 1 reports Jan–May; unit 2 misses April; unit 3 starts in March (nothing before
    # it existed is "missing"), and misses May.
    rows = [(1, "cost", f"2023-0{m}", 4.0 if m < 4 else 3.0, 100) for m in range(1, 6)]
    rows += [(2, "cost", f"2023-0{m}", 5.0 if m < 4 else 4.0, 100) for m in (1, 2, 3, 5)]
    rows += [(3, "cost", "2023-03", 6.0, 100), (3, "cost", "2023-04", 5.0, 100)]
    d = t.data(t.monthly(rows))
    miss = missing_months(d.monthly, ALL, ["cost"])
    got = [(u, f"{m:%Y-%m}") for u, m in zip(miss["unit_id"], miss["month"], strict=True)]
    assert got == [(2, "2023-04"), (3, "2023-05")]
    # inside a selected period only, and per selected unit
    assert len(missing_months(d.monthly, Filters(end=dt.date(2023, 4, 30)), ["cost"])) == 1
    assert missing_months(d.monthly, Filters(unit_ids=(1,)), ["cost"]).empty
    assert missing_months(d.monthly, ALL, ["csat"]).empty  # a KPI nobody reports
    # unit 2's April is absent from the value (not a zero row); May counts (5 − 4)·100 = 100
    b = measured(d, Filters(unit_ids=(2,)))
    assert b["month"].dt.month.tolist() == [1, 2, 3, 5]
    assert b.loc[b["month"].dt.month == 5, "benefit"].item() == pytest.approx(100.0)


def test_benefit_skips_units_without_a_baseline() -> None:
    rows = [
        (1, "cost", "2023-01", 4.0, 100),
        (1, "cost", "2023-05", 3.0, 100),
        (2, "cost", "2023-05", 3.0, 100),
    ]
    d = t.data(t.monthly(rows))
    b = benefit(d.monthly, d.kpis, account_baseline(d).base)
    assert b["unit_id"].tolist() == [1, 1]


def test_live_from_first_full_month() -> None:
    r = pd.DataFrame(
        {
            "innovation_id": [1, 1, 2],
            "unit_id": [1, 1, 1],
            "go_live": pd.to_datetime(["2023-04-01", "2023-09-01", "2023-06-15"]),
        }
    )
    lm = live_months(r).set_index("innovation_id")
    assert lm.loc[1, "live_from"] == pd.Timestamp("2023-04-01")  # on the 1st: that month
    assert lm.loc[1, "go_live"] == pd.Timestamp("2023-04-01")  # earliest go-live per unit
    assert lm.loc[2, "live_from"] == pd.Timestamp("2023-07-01")  # mid-month: the next one


def _claims_account() -> t.AccountData:
    """Units 1 (300 txn/month), 2 (100) and 3 (200), Jan–Dec 2023. Innovation 1 claims
    1,200 a year and is live at units 1 (from Apr) and 2 (go-live Jun 15 → from Jul) only;
    innovation 2 has no rollout."""
    rows = [
        (u, "cost", f"2023-{m:02d}", 4.0, v)
        for u, v in ((1, 300), (2, 100), (3, 200))
        for m in range(1, 13)
    ]
    return t.data(
        t.monthly(rows),
        inn=[(1, "operational efficiency", 1200.0), (2, "strategic impact", 600.0)],
        targets=[(1, "cost", -5.0), (2, "cost", -5.0)],
        rollouts=[(1, 1, "2023-04-01"), (1, 2, "2023-06-15")],
    )


def test_claimed_is_shared_by_volume_from_each_go_live() -> None:
    # share by volume among ITS units: 300 / 400 = 0.75 and 100 / 400 = 0.25 (unit 3 is not
    # live and takes no share). 1200 / 12 = 100 a month:
    # 100·(0.75·9 months Apr–Dec + 0.25·6 months Jul–Dec) = 675 + 150 = 825
    d = _claims_account()
    c = claimed(d).set_index("innovation_id")["claimed"]
    assert c.to_dict() == {1: pytest.approx(825.0)}  # innovation 2 never went live
    assert claimed(d, Filters(unit_ids=(2,)))["claimed"].item() == pytest.approx(150.0)
    q4 = claimed(d, Filters(start=dt.date(2023, 10, 1)))["claimed"].item()
    assert q4 == pytest.approx(100 * (0.75 * 3 + 0.25 * 3))
    assert claimed(d, Filters(unit_ids=(3,))).empty
    assert claimed(d, Filters(categories=("strategic impact",))).empty


def test_realisation_is_attributed_over_claimed() -> None:
    r = realisation(pd.Series({1: 412.5, 2: 10.0}), pd.Series({1: 825.0, 2: 0.0, 3: 5.0}))
    assert r[1] == pytest.approx(0.5)
    assert np.isnan(r[2])  # nothing claimed: undefined, not infinite
    assert np.isnan(r[3])  # claimed, nothing attributed


def test_cents_round_half_to_even() -> None:
    assert to_cents(np.array([0.125, 0.135, -0.125, 1.0])).tolist() == [12, 14, -12, 100]


# --------------------------------------------------------------------------------------
# Daily observations through SQL give the same answer as monthly ones (both databases)


def _seed_daily_and_monthly(engine: Engine) -> tuple[int, int]:
    """Two accounts with the same operation, one reporting days, one months.

    cost (rate, 1 €/txn), two days a month (value, volume):
      Jan (10,100) (12,100) → 11.0 on 200     Feb (11,300) (9,100) → 10.5 on 400
      Mar (9,200) (10,200)  → 9.5 on 400      Apr (8,100) (10,300) → 9.5 on 400
      baseline Jan–Feb = (11·200 + 10.5·400) / 600 = 32/3 = 10.667 (mean of months: 10.75)
      Mar and Apr: (32/3 − 9.5)·400 = 466.666… → 466.67 each; Jan −66.67, Feb +66.67
    fte (level, 100 €/FTE-month): Jan (50,52) → 51, Feb (49,51) → 50, Mar (48,48) → 48,
      Apr (46,48) → 47; base 50.5; Jan −50, Feb +50, Mar +250, Apr +350
    Value to date: 933.34 + 600 = 1,533.34. Run-rate: Feb 116.67 + Mar 716.67 + Apr 816.67
      = 1,650.01 / 3 × 12 = 6,600.04.
    """
    from data_loaders.db import session_scope
    from data_loaders.schema import Account, Kpi, KpiObservation, Unit

    cost = {
        1: [(10, 100), (12, 100)],
        2: [(11, 300), (9, 100)],
        3: [(9, 200), (10, 200)],
        4: [(8, 100), (10, 300)],
    }
    fte = {1: [50, 52], 2: [49, 51], 3: [48, 48], 4: [46, 48]}
    ids = []
    with session_scope(engine) as s:
        for name in ("Daily", "Monthly"):
            a = Account(
                name=name,
                currency="EUR",
                locale="en_US",
                contract_start=dt.date(2024, 1, 1),
                contract_end=dt.date(2025, 12, 31),
                baseline_start=dt.date(2024, 1, 1),
                baseline_end=dt.date(2024, 2, 29),
            )
            s.add(a)
            s.flush()
            u = Unit(account_id=a.id, site="Porto", process="Claims")
            kc = Kpi(
                account_id=a.id,
                key="cost",
                label="Cost",
                direction="lower",
                kind="rate",
                money_value=1.0,
                headline=True,
            )
            kf = Kpi(
                account_id=a.id,
                key="fte",
                label="FTE",
                direction="lower",
                kind="level",
                money_value=100.0,
                headline=True,
            )
            s.add_all([u, kc, kf])
            s.flush()
            for mo in range(1, 5):
                first = dt.date(2024, mo, 1)
                if name == "Daily":
                    for day, ((v, vol), f) in enumerate(zip(cost[mo], fte[mo], strict=True)):
                        d = dt.date(2024, mo, 3 + day)
                        s.add(
                            KpiObservation(
                                account_id=a.id,
                                unit_id=u.id,
                                kpi_id=kc.id,
                                period=d,
                                month=first,
                                grain="day",
                                value=v,
                                volume=vol,
                            )
                        )
                        s.add(
                            KpiObservation(
                                account_id=a.id,
                                unit_id=u.id,
                                kpi_id=kf.id,
                                period=d,
                                month=first,
                                grain="day",
                                value=f,
                                volume=None,
                            )
                        )
                else:
                    vol = sum(x[1] for x in cost[mo])
                    mean = sum(x[0] * x[1] for x in cost[mo]) / vol
                    s.add(
                        KpiObservation(
                            account_id=a.id,
                            unit_id=u.id,
                            kpi_id=kc.id,
                            period=first,
                            month=first,
                            grain="month",
                            value=mean,
                            volume=vol,
                        )
                    )
                    s.add(
                        KpiObservation(
                            account_id=a.id,
                            unit_id=u.id,
                            kpi_id=kf.id,
                            period=first,
                            month=first,
                            grain="month",
                            value=sum(fte[mo]) / 2,
                            volume=None,
                        )
                    )
            ids.append(a.id)
    from data_loaders import rollup

    with engine.begin() as conn:  # rows written by hand, not by an import: build the rollup
        rollup.rebuild(conn)
    return ids[0], ids[1]


def test_daily_observations_give_the_monthly_answer(engine: Engine) -> None:
    from data_loaders.access import Scope
    from data_loaders.queries import load_account_data
    from metrics.headline import headline

    daily_id, monthly_id = _seed_daily_and_monthly(engine)
    scope = Scope.everything()
    daily, monthly = (load_account_data(engine, scope, i) for i in (daily_id, monthly_id))
    base = account_baseline(daily).base.set_index("kpi_key")["base"]
    assert base["cost"] == pytest.approx(32 / 3)  # weighted, not the mean of months (10.75)
    assert base["fte"] == pytest.approx(50.5)
    bd, bm = measured(daily), measured(monthly)
    assert bd["cents"].tolist() == bm["cents"].tolist()
    assert bd["cents"].sum() == 153334
    hd, hm = headline(daily), headline(monthly)
    assert hd is not None and hm is not None
    assert hd.cumulative_value == hm.cumulative_value == 1533.34
    # run-rate over post-baseline months only (#11 §7): the 2 months after the baseline hold
    # all 1,533.34 of value, so 1,533.34 / 2 × 12 = 9,200.04 (it used to average in a baseline month)
    assert hd.run_rate == pytest.approx(9200.04) and hm.run_rate == pytest.approx(9200.04)
    assert hd.as_of == hm.as_of == dt.date(2024, 4, 30)


def test_missing_months_match_a_plain_reading_on_a_random_table() -> None:
    rng = np.random.default_rng(3)
    rows = []
    for u in range(1, 6):
        for k in ("cost", "csat"):
            start = int(rng.integers(1, 6))
            for m in range(start, 25):
                if rng.random() > 0.2:  # about one month in five is missing
                    rows.append((u, k, f"{2023 + (m - 1) // 12}-{(m - 1) % 12 + 1:02d}", 1.0, 1.0))
    table = t.monthly(rows)
    chosen = (1, 2, 4)
    f = Filters(unit_ids=chosen, start=dt.date(2023, 4, 1), end=dt.date(2024, 9, 30))
    got = {(u, k, mo) for u, k, mo in missing_months(table, f).itertuples(index=False)}
    want = set()
    for (unit, kpi), g in table[table["unit_id"].isin(chosen)].groupby(["unit_id", "kpi_key"]):
        lo = max(g["month"].min(), pd.Timestamp("2023-04-01"))
        for mo in pd.date_range(lo, "2024-09-01", freq="MS"):
            if mo not in set(g["month"]):
                want.add((unit, kpi, mo))
    assert want and got == want


def test_innovations_phrase_names_retired_lines() -> None:
    """A count of the value lines never calls an innovation retired since 'live'."""
    from metrics.value import innovations_phrase

    assert innovations_phrase(["live"] * 19) == "the 19 live innovations"
    assert innovations_phrase(["live"]) == "the 1 live innovation"
    assert innovations_phrase(["live"] * 35 + ["retired"] * 2) == (
        "the 37 innovations live in the period (35 live now, 2 retired)"
    )
    assert innovations_phrase(["retired"]) == ("the 1 innovation live in the period (1 retired)")
