"""Contract page on the demo account: productivity path, gain-share per contract year and
innovation days, all as metrics.views.contract_view computes them."""

from __future__ import annotations

import pytest

from metrics import views
from metrics.filters import Filters
from tests.pages.conftest import chart_frames, no_exception, texts

PAGE = "pages/contract.py"


def test_contract_figures(make_app, demo_bundle) -> None:
    data, _ = demo_bundle
    k = views.contract_view(data, Filters())
    assert k is not None
    at = make_app(PAGE)
    no_exception(at)
    body = texts(at)
    assert k.productivity_sentence in body
    assert k.gain_share_sentence in body
    assert k.days_sentence in body
    # the rule said in words (#14): the client's 60 % of the goal, the provider the rest and why
    assert (
        "The client is guaranteed 60 % of the goal, $270K; the provider keeps the rest, $2.3M: "
        "its 40 % of the goal plus the $2.1M by which savings beat it."
    ) in k.gain_share_sentence
    assert "under-used" in k.days_sentence and "Year 3 (10 of 100 days)" in k.days_sentence
    [table] = at.dataframe
    assert list(table.value["contract_year"]) == list(k.gain_share["contract_year"])
    assert list(table.value["goal"]) == pytest.approx(list(k.gain_share["goal"].round(0)))
    # the demo's Year 1 holds the baseline (Jan–Jun 2023) and its last year runs to Oct 2026
    assert list(table.value["baseline_months"]) == list(k.gain_share["baseline_months"])
    assert list(table.value["baseline_months"])[0] == 6
    assert k.gain_share_note.startswith("Year 1 holds the 6 months of the frozen baseline")
    assert "Year 4 is still running (10 of 12 months)" in k.gain_share_note
    assert k.gain_share_note in body
    assert "Pro rata for the 10 of 12 months so far the goal is $375K: ahead by" in (
        k.gain_share_sentence
    )
    gain = next(f for f in chart_frames(at) if "goal_to_date" in f.columns)
    assert gain["goal_to_date"].dropna().min() == pytest.approx(450_000 * 10 / 12)
    frames = chart_frames(at)
    days = next(f for f in frames if {"used", "contracted"} <= set(f.columns))
    assert list(days["used"]) == list(k.innovation_days["used"])
    path = next(f for f in frames if {"line", "cost"} <= set(f.columns))
    assert set(path["line"]) == {"Required by the clause", "Actual"}
    # gain-share rule: client (1 − g)·G, provider S − (1 − g)·G
    g = data.account.gain_share_pct / 100
    row = k.gain_share.dropna().iloc[0]
    assert row["client"] == pytest.approx((1 - g) * row["goal"])
    assert row["provider"] == pytest.approx(row["savings"] - (1 - g) * row["goal"])


def test_a_unit_or_category_filter_keeps_the_accounts_contract(make_app, demo_bundle) -> None:
    """The contract is per account: with one unit and a category selected the page shows the
    whole account's gain-share (Year 4: $2,529,428 saved against the $450,000 goal, $375,000
    pro rata for 10 months) and says the filters do not apply — never a unit's savings
    against the account's goal."""
    data, _ = demo_bundle
    unit = str(data.units.iloc[0]["name"])
    at = make_app(PAGE, units=unit, cat="strategic impact")
    no_exception(at)
    body = texts(at)
    assert (
        "The contract is per account: these figures are the whole account's; the unit and "
        "category filter does not apply here."
    ) in body
    [table] = at.dataframe
    whole = views.contract_view(data, Filters())
    assert whole is not None
    assert list(table.value["savings"]) == pytest.approx(list(whole.gain_share["savings"].round(0)))
    year4 = table.value.set_index("contract_year").loc["Year 4"]
    assert year4["savings"] == pytest.approx(2_529_428, abs=1)
    assert year4["goal"] == pytest.approx(450_000)
    assert "Pro rata for the 10 of 12 months so far the goal is $375K" in body
