"""metrics.headline: the headline figures on a hand-computed account, as of a date, by
category; exact reconciliation and the same figures on SQLite and PostgreSQL for the demo."""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import pytest
from sqlalchemy import Engine

from metrics import views
from metrics.filters import Filters
from metrics.headline import Headline, headline
from tests.metrics import tables as t


def test_headline_of_a_hand_computed_account() -> None:
    # tables.two_innovations, measured share: A 766.67, B 833.33, unattributed 0, measured
    # 1,600 (capped policy: A 800, B 550, unattributed 250).
    # run-rate: Oct 250, Nov 250, Dec (−50 + 100) = 50 → 550 / 3 × 12 = 2,200
    # claimed: A 1,200/yr at unit 1 only (share 1), Apr–Dec: 100·9 = 900;
    #          B 600/yr at units 1 and 2 (100 txn each: share ½), Jul–Dec: 50·½·6·2 = 300
    h = headline(t.two_innovations())
    assert h is not None
    assert h.account == "Tiny" and h.currency == "EUR"
    assert h.as_of == dt.date(2023, 12, 31) and h.first_month == dt.date(2023, 1, 1)
    assert (h.baseline_start, h.baseline_end) == (dt.date(2023, 1, 1), dt.date(2023, 3, 31))
    assert h.cumulative_value == 1600.0
    assert h.run_rate == pytest.approx(2200.0)
    assert (h.innovations_live, h.innovations_total) == (2, 2)
    assert h.claimed_value == pytest.approx(1200.0)
    assert h.attributed_value == 1600.0 and h.unattributed_value == 0.0
    assert h.realisation == pytest.approx(1600 / 1200)
    assert h.evidence_mix == {"estimated": 0, "measured": 2, "claimed": 0}
    assert h.missing_months == 0 and h.baseline_missing == ()


def test_evidence_from_the_estimates() -> None:
    ev = pd.DataFrame({"innovation_id": [1], "evidence": ["estimated"]})
    h = headline(t.two_innovations(), evidence=ev)
    assert h is not None and h.evidence_mix == {"estimated": 1, "measured": 0, "claimed": 1}


def test_as_of_limits_the_data() -> None:
    # to June: A 100 a month Apr–Jun = 300 (run-rate 100 × 12); B went live on Jun 15, so it
    # is live but has no full month yet: nothing attributed, nothing claimed, evidence claimed
    h = headline(t.two_innovations(), as_of=dt.date(2023, 6, 30))
    assert h is not None
    assert h.as_of == dt.date(2023, 6, 30)
    assert h.cumulative_value == 300.0 and h.run_rate == pytest.approx(1200.0)
    assert h.innovations_live == 2 and h.claimed_value == pytest.approx(300.0)
    assert h.evidence_mix == {"estimated": 0, "measured": 1, "claimed": 1}
    assert headline(t.two_innovations(), as_of=dt.date(2022, 12, 31)) is None


def test_category_filter_counts_what_is_attributed_to_it() -> None:
    h = headline(t.two_innovations(), Filters(categories=("strategic impact",)))
    assert h is not None
    assert h.cumulative_value == h.attributed_value == 833.33
    assert h.unattributed_value == 0.0  # the remainder belongs to no category
    assert (h.innovations_live, h.innovations_total) == (1, 1)
    assert h.claimed_value == pytest.approx(300.0)


def test_missing_months_are_counted() -> None:
    d = t.two_innovations()
    m = d.monthly
    d = t.data(
        m[~((m["unit_id"] == 2) & (m["month"] == pd.Timestamp("2023-08-01")))], kpi_keys=["cost"]
    )
    h = headline(d)
    assert h is not None and h.missing_months == 1
    assert h.cumulative_value == 1500.0  # unit 2's August (100) is not there, not zero-filled
    hv = views.headline_view(d, Filters())
    assert hv is not None and "1 unit-months" in hv.gaps_text


def test_as_dict_is_json_ready() -> None:
    h = headline(t.two_innovations())
    assert h is not None
    out = json.loads(json.dumps(h.as_dict()))
    for key in (
        "account",
        "currency",
        "as_of",
        "baseline_start",
        "baseline_end",
        "cumulative_value",
        "run_rate",
        "innovations_live",
        "claimed_value",
        "unattributed_value",
        "evidence_mix",
    ):
        assert key in out
    assert out["as_of"] == "2023-12-31" and out["cumulative_value"] == 1600.0


def _demo_headline(engine: Engine) -> Headline:
    from data_loaders.access import Scope
    from data_loaders.queries import account_id_by_name, load_account_data

    scope = Scope.everything()
    data = load_account_data(
        engine, scope, account_id_by_name(engine, scope, "Northwind Insurance")
    )
    h = headline(data)
    assert h is not None
    return h


def test_demo_reconciles_and_matches_the_views(demo_engine) -> None:
    from data_loaders.access import Scope
    from data_loaders.queries import load_account_data

    h = _demo_headline(demo_engine)
    cents = round(h.cumulative_value * 100)
    assert cents == round(h.attributed_value * 100) + round(h.unattributed_value * 100)
    assert h.innovations_live > 20 and h.missing_months == 0
    data = load_account_data(demo_engine, Scope.everything(), 1)
    hv = views.headline_view(data, Filters())
    assert hv is not None and hv.value_to_date == h.cumulative_value
    assert hv.run_rate == h.run_rate and hv.innovations_live == h.innovations_live
    bridge = views.bridge_steps(data, Filters())
    assert bridge["value"].iloc[-1] == h.cumulative_value  # the bridge ends at the headline


def test_same_headline_on_sqlite_and_postgresql(engine: Engine, demo_engine: Engine) -> None:
    """The demo loaded into a fresh database of each kind gives the figures of the shared
    SQLite demo, to the cent (monthly aggregation pushed down to SQL on both)."""
    from data_loaders.demo import load_demo

    load_demo(engine)
    assert _demo_headline(engine).as_dict() == _demo_headline(demo_engine).as_dict()
