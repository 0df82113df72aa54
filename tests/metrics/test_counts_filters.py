"""Counts that add up and filters that keep their meaning (issue #11 §3, §4).

Hand-worked on ``tables.two_innovations`` (cost, 1 €/txn, baseline Jan–Mar 2023, units 1 and
2 at 10 on 100 transactions): A (operational efficiency, −10 %) live at unit 1 from April; B
(strategic impact, −5 %) at units 1 and 2 from July (go-live 15 Jun). Measured 1,600 in all,
unit 2 alone 600 (Jul–Dec, 100 a month).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pandas as pd
import pytest

from metrics import rules, views
from metrics.filters import Filters
from metrics.headline import headline
from metrics.then_now import then_vs_now, unit_golives_between
from tests.metrics import tables as t


def test_contract_figures_are_the_accounts_whatever_the_unit_filter() -> None:
    d = t.two_innovations()
    whole = views.contract_view(d, Filters())
    unit2 = views.contract_view(d, Filters(unit_ids=(2,)))
    assert whole is not None and unit2 is not None
    # contract year 1 = 2023: the account saved 1,600 (unit 2 alone: 600 — never used here)
    assert whole.gain_share["savings"].iloc[0] == pytest.approx(1600.0)
    assert unit2.gain_share["savings"].iloc[0] == pytest.approx(1600.0)
    # productivity path: the account's volume-weighted unit cost, e.g. Dec (10.5 + 9) / 2
    dec = unit2.productivity.set_index("month").loc[pd.Timestamp("2023-12-01"), "actual"]
    assert dec == pytest.approx(9.75)
    assert whole.scope_note == ""
    assert unit2.scope_note == (
        "The contract is per account: these figures are the whole account's; the unit "
        "filter does not apply here."
    )
    cat = views.contract_view(d, Filters(categories=("strategic impact",)))
    assert cat is not None and "category filter does not apply" in cat.scope_note
    assert cat.gain_share["savings"].iloc[0] == pytest.approx(1600.0)


def test_category_filter_selects_credited_value_and_keeps_the_period() -> None:
    # B's credited value (measured share): unit 1 Jul–Nov 5 × 50, Dec −16.67; unit 2 Jul–Dec
    # 6 × 100 → 833.33. Run-rate over the account's last three months Oct–Dec:
    # (150 + 150 + 83.33) / 3 × 12 = 1,533.33. The period still starts in January.
    h = headline(t.two_innovations(), Filters(categories=("strategic impact",)))
    assert h is not None
    assert h.cumulative_value == pytest.approx(833.33)
    assert h.run_rate == pytest.approx(1533.32, abs=0.01)
    assert h.first_month == dt.date(2023, 1, 1)
    assert h.as_of == dt.date(2023, 12, 31)


def test_a_category_credited_nothing_still_has_a_headline() -> None:
    d = t.two_innovations()
    # a third category, whose one innovation targets no headline KPI
    inn = pd.concat(
        [d.innovations, t.innovations([(3, "process effectiveness", 100.0)])], ignore_index=True
    )
    d = replace(d, innovations=inn)
    h = headline(d, Filters(categories=("process effectiveness",)))
    assert h is not None
    assert h.cumulative_value == 0.0 and h.run_rate == 0.0
    assert h.first_month == dt.date(2023, 1, 1)
    curve = views.curve_view(d, Filters(categories=("process effectiveness",)))
    assert curve is not None and curve.curve["cumulative"].eq(0.0).all()
    assert len(curve.curve) == 12


def test_state_counts_partition_the_register_and_next_up_is_never_live() -> None:
    d = t.two_innovations()
    inn = pd.concat(
        [
            d.innovations,
            t.innovations([(3, "strategic impact", 100.0), (4, "strategic impact", 50.0)]),
        ],
        ignore_index=True,
    )
    inn.loc[inn["innovation_id"] == 1, "stage"] = "pilot"  # a pilot live at unit 1
    inn.loc[inn["innovation_id"] == 3, "stage"] = "pilot"  # a pilot not live anywhere
    inn.loc[inn["innovation_id"] == 4, "stage"] = "rejected"
    d = replace(d, innovations=inn)
    pipe = views.pipeline_view(d, Filters())
    c = pipe.counts
    assert (c["live"], c["in pipeline"], c["rejected"], c["retired"]) == (2, 1, 1, 0)
    assert sum(c[s] for s in rules.STATES) == len(inn)
    assert pipe.upcoming["code"].tolist() == ["INN-3"]  # the live pilot INN-1 is not next up
    h = headline(d)
    assert h is not None and h.innovations_live == c["live"]


def test_a_unit_count_is_set_against_the_accounts_live_innovations() -> None:
    d = t.two_innovations()
    hv = views.headline_view(d, Filters(unit_ids=(2,)))
    assert hv is not None
    # at unit 2 only B is live; across the account A and B
    assert hv.innovations_live == 1
    assert hv.live_text == "1 of 2 live"
    assert views.headline_view(d, Filters()).live_text == "2 of 2"  # type: ignore[union-attr]  # headline_view() is None only for an account without data; this one has data


def test_went_live_counts_innovations_and_says_unit_go_lives_apart() -> None:
    d = t.two_innovations()
    then, now = (
        (dt.date(2023, 1, 1), dt.date(2023, 3, 1)),
        (dt.date(2023, 10, 1), dt.date(2023, 12, 1)),
    )
    tn = then_vs_now(d, then, now)
    assert len(tn.went_live) == 2  # A and B, each going live for the first time
    assert tn.unit_golives == 3  # A at unit 1; B at units 1 and 2
    # after June nothing goes live: B's go-lives (15 Jun) fall inside Q2
    q2 = (dt.date(2023, 4, 1), dt.date(2023, 6, 1))
    assert unit_golives_between(d.rollouts, d.innovations, q2, now) == 0
    pic = views.photo(d, Filters(), then, now)
    assert pic is not None
    assert "**2** innovations went live for the first time" in pic.between_sentence
    assert "3 unit go-lives in all" in pic.between_sentence
