"""A retired innovation stops earning at its retirement date (issue #11 §2).

Hand-worked: cost (rate, lower is better, 1 €/txn), unit 1, baseline Jan–Mar 2023 at 10 on
100 transactions a month; from April the cost is 9 (benefit 100 a month). R targets cost
(−10 %), goes live on 1 Apr, claims 1,200 a year and is retired on 1 Jul 2023.

    credited to R   Apr, May, Jun: 3 × 100 = 300 (not Jul–Dec)
    claimed for R   3 × 1,200 / 12 = 300
    unattributed    Jul–Dec: 6 × 100 = 600 (the benefit stays measured)
    live            at 30 Jun 2023 (the history before stays); retired at 1 Jul 2023 and after
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import cast

import pandas as pd
import pytest

from metrics import attribution as attr_metrics
from metrics import rules
from metrics.headline import headline
from metrics.value import claimed, live_months
from tests.metrics.tables import data, monthly

R = 1


def account():
    rows = [(1, "cost", f"2023-{m:02d}", 10.0 if m <= 3 else 9.0, 100) for m in range(1, 13)]
    d = data(
        monthly(rows),
        kpi_keys=["cost"],
        inn=[(R, "operational efficiency", 1200.0)],
        targets=[(R, "cost", -10.0)],
        rollouts=[(R, 1, "2023-04-01")],
    )
    inn = d.innovations.assign(
        stage="retired", closed_date=pd.Series([pd.Timestamp("2023-07-01")], dtype="datetime64[ns]")
    )
    return replace(d, innovations=inn)


def test_live_months_end_at_the_retirement_month() -> None:
    d = account()
    lm = live_months(d.rollouts, d.innovations)
    assert lm["live_from"].tolist() == [pd.Timestamp("2023-04-01")]
    assert lm["live_to"].tolist() == [pd.Timestamp("2023-07-01")]


def test_credit_and_claim_stop_at_retirement_history_stays() -> None:
    d = account()
    a = attr_metrics.attribution(d)
    r = a[a["innovation_id"] == R]
    credited = r[r["amount"] != 0].sort_values("month")
    assert credited["month"].dt.month.tolist() == [4, 5, 6]
    assert credited["amount"].sum() == pytest.approx(300.0)
    un = a[a["innovation_id"] == attr_metrics.UNATTRIBUTED_ID]["amount"].sum()
    assert un == pytest.approx(600.0)
    assert claimed(d).set_index("innovation_id")["claimed"][R] == pytest.approx(300.0)
    h = headline(d)
    assert h is not None
    assert h.cumulative_value == pytest.approx(900.0)  # the measured value is unchanged
    assert h.realisation == pytest.approx(1.0)


def test_live_state_stops_at_retirement() -> None:
    d = account()
    before = rules.innovation_states(d.innovations, d.rollouts, as_of=dt.date(2023, 6, 30))
    after = rules.innovation_states(d.innovations, d.rollouts, as_of=dt.date(2023, 7, 1))
    assert before.tolist() == ["live"] and after.tolist() == ["retired"]
    h = headline(d)
    assert h is not None and h.innovations_live == 0
    early = headline(d, as_of=dt.date(2023, 6, 30))
    assert early is not None and early.innovations_live == 1


def test_demo_retired_innovation_earns_nothing_after_1_may_2025(demo_engine) -> None:
    """INN-037 (retired 1 May 2025) keeps its value up to April 2025 and no more."""
    from data_loaders.access import Scope
    from data_loaders.queries import list_accounts, load_account_data

    scope = Scope.everything()
    aid = int(list_accounts(demo_engine, scope)["account_id"].iloc[0])
    d = load_account_data(demo_engine, scope, aid)
    inn = cast(pd.Series, d.innovations.set_index("code").loc["INN-037"])  # codes are unique
    assert inn["stage"] == "retired"
    assert pd.Timestamp(inn["closed_date"]) == pd.Timestamp("2025-05-01")
    iid = int(inn["innovation_id"])
    a = attr_metrics.attribution(d)
    mine = a[a["innovation_id"] == iid]
    assert not mine.empty
    assert (mine.loc[mine["amount"] != 0, "month"] < pd.Timestamp("2025-05-01")).all()
    lm = live_months(d.rollouts, d.innovations)
    assert (lm.loc[lm["innovation_id"] == iid, "live_to"] == pd.Timestamp("2025-05-01")).all()


def test_charts_mark_the_retirement() -> None:
    """The value curve, its clickable twin and the detail chart mark R's retirement on
    1 Jul 2023, labelled; the curve's mark sits on July's value to date, 900 − 5 × 100 = 400
    (Apr–Jul 4 × 100)."""
    import json

    import vl_convert as vlc

    from charts.detail import kpi_by_unit_chart
    from charts.story import cumulative_value_chart, cumulative_value_figure
    from metrics import views
    from metrics.filters import Filters
    from metrics.innovation_views import kpi_around_go_live

    d = account()
    c = views.curve_view(d, Filters())
    assert c is not None
    assert c.retirements.to_dict("records") == [
        {"date": pd.Timestamp("2023-07-01"), "code": "INN-1", "title": "Innovation 1"}
    ]
    spec = cumulative_value_chart(
        c.curve, c.golives, c.events, currency="EUR", retirements=c.retirements
    )
    assert "INN-1 retired" in vlc.vegalite_to_svg(json.dumps(spec.to_dict()))
    fig = cumulative_value_figure(
        c.curve, c.golives, c.events, currency="EUR", retirements=c.retirements
    )
    gone = next(t for t in fig.data if t.name == "Retired")
    assert list(gone.text) == ["INN-1 retired"] and list(gone.y) == [pytest.approx(400.0)]
    series = kpi_around_go_live(d.monthly, d.rollouts, d.units, R, "cost")
    detail = kpi_by_unit_chart(series, kpi_label="Cost", retired=pd.Timestamp("2023-07-01"))
    assert "retired" in vlc.vegalite_to_svg(json.dumps(detail.to_dict()))
    # an innovation not retired gets no mark
    live = replace(d, innovations=d.innovations.assign(stage="scaled", closed_date=pd.NaT))
    c2 = views.curve_view(live, Filters())
    assert c2 is not None and c2.retirements.empty
