"""Contract page on the demo account: productivity path, gain-share per contract year and
innovation days. Expected figures come from the demo's contract terms (1 Jan 2023 – 31 Dec
2026, baseline H1 2023, goal $450,000 a year, 40 % gain-share, 4 % productivity clause, 100
innovation days a year), from the loaded rows by hand with pandas, and, for each contract
year's savings, from another output of the product: the value to date that ``thenandnow
metrics --json --as-of`` prints at each year's end (the difference of two is the year's
measured value). Never from ``metrics.views.contract_view``, which the page renders."""

from __future__ import annotations

import contextlib
import io
import json

import pandas as pd
import pytest

from metrics.format import kpi_value
from tests.pages.conftest import chart_frames, no_exception, texts

PAGE = "pages/contract.py"
YEARS = ["Year 1", "Year 2", "Year 3", "Year 4"]
YEAR_ENDS = ["2023-12-31", "2024-12-31", "2025-12-31", "2026-12-31"]
GOAL, CLIENT_SHARE = 450_000.0, 0.60  # G, and 1 − g with the provider's g = 40 %


@pytest.fixture(scope="module")
def cli_savings(demo_url: str) -> list[float]:
    """Each contract year's measured savings, from the CLI: the value to date as of the
    year's end minus the value to date as of the year before's."""
    import cli

    cumulative = []
    for end in YEAR_ENDS:
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            args = ["--db", demo_url, "metrics", "--account", "Northwind Insurance"]
            assert cli.main([*args, "--as-of", end, "--json"]) == 0
        cumulative.append(float(json.loads(out.getvalue())["cumulative_value"]))
    # the years add up to the demo's planted value to date, $6,456,512
    assert cumulative[-1] == pytest.approx(6_456_512, abs=1)
    return [b - a for a, b in zip([0.0, *cumulative[:-1]], cumulative, strict=True)]


def _unit_cost(monthly: pd.DataFrame) -> pd.Series:
    """Cost per transaction a month over all units, by hand: Σ value·volume / Σ volume."""
    c = monthly[(monthly["kpi_key"] == "cost_per_txn") & monthly["value"].notna()]
    return (c["value"] * c["volume"]).groupby(c["month"]).sum() / c.groupby("month")["volume"].sum()


def test_productivity_path_and_sentence(make_app, demo_bundle) -> None:
    """The clause's path: the baseline's volume-weighted cost per transaction (H1 2023),
    4 % lower each year counted in whole months from June 2023 (Oct 2026: 40 months, $3.95);
    the actual line the month's volume-weighted cost ($3.90 in Oct 2026), ahead of the path."""
    data, _ = demo_bundle
    at = make_app(PAGE)
    no_exception(at)
    actual = _unit_cost(data.monthly)
    c = data.monthly[(data.monthly["kpi_key"] == "cost_per_txn") & data.monthly["value"].notna()]
    base_rows = c[c["month"] <= pd.Timestamp("2023-06-01")]
    base = float((base_rows["value"] * base_rows["volume"]).sum() / base_rows["volume"].sum())
    months = pd.to_datetime(pd.Series(actual.index))
    after = ((months.dt.year - 2023) * 12 + months.dt.month - 6).clip(lower=0)
    required = base * 0.96 ** (after / 12)
    path = next(f for f in chart_frames(at) if {"line", "cost"} <= set(f.columns))
    assert set(path["line"]) == {"Required by the clause", "Actual"}
    drawn = path[path["line"] == "Required by the clause"]["cost"].tolist()
    assert drawn == pytest.approx(required.tolist())
    assert path[path["line"] == "Actual"]["cost"].tolist() == pytest.approx(actual.tolist())
    oct26 = pd.Timestamp("2026-10-01")
    req, act = float(required.iloc[-1]), float(actual.loc[oct26])
    assert months.iloc[-1] == oct26 and act <= req
    assert (
        "Cost per transaction: the clause asks for 4.0 % lower cost per transaction each year: "
        f"{kpi_value(req, 'USD', 'USD')} by Oct 2026; actual {kpi_value(act, 'USD', 'USD')} "
        "in Oct 2026 (that month alone), ahead of the path."
    ) in texts(at)
    assert (kpi_value(req, "USD", "USD"), kpi_value(act, "USD", "USD")) == ("$3.95", "$3.90")


def test_gain_share_per_contract_year(make_app, cli_savings) -> None:
    """Each contract year's row: its goal ($450,000), the baseline months it holds (Year 1
    the six of H1 2023), its savings (the CLI's value to date at the year's end less the one
    a year before), the client's guaranteed 60 % of the goal and the provider's savings minus
    that; Year 4, still running to Oct 2026, has a goal to date of 10/12 of $450,000."""
    at = make_app(PAGE)
    no_exception(at)
    [table] = at.dataframe
    t = table.value
    assert list(t["contract_year"]) == YEARS
    assert list(t["goal"]) == [GOAL] * 4
    assert list(t["baseline_months"]) == [6, 0, 0, 0]
    assert list(t["savings"]) == pytest.approx(cli_savings, abs=1)
    assert list(t["client"]) == [CLIENT_SHARE * GOAL] * 4
    want = [s - CLIENT_SHARE * GOAL for s in cli_savings]
    assert list(t["provider"]) == pytest.approx(want, abs=1)
    assert list(t["goal_to_date"]) == pytest.approx([GOAL, GOAL, GOAL, GOAL * 10 / 12])
    gain = next(f for f in chart_frames(at) if "goal_to_date" in f.columns)
    assert gain["goal_to_date"].dropna().min() == pytest.approx(GOAL * 10 / 12)


def test_gain_share_sentence_and_note(make_app, cli_savings) -> None:
    """The latest year said in words (#14): Year 4's $2.5M beat the $450K goal by $2.1M; the
    client's 60 % of the goal, $270K, the provider the rest, $2.3M; pro rata $375K, ahead by
    $2.2M; the note names the baseline months in Year 1 and the running Year 4."""
    y4 = cli_savings[-1]
    assert round(y4 / 1e5) / 10 == 2.5  # $2.5M
    assert round((y4 - GOAL) / 1e5) / 10 == 2.1  # beats the goal by $2.1M
    assert round((y4 - CLIENT_SHARE * GOAL) / 1e5) / 10 == 2.3  # the provider's share
    assert round((y4 - GOAL * 10 / 12) / 1e5) / 10 == 2.2  # ahead of the pro-rata goal
    at = make_app(PAGE)
    no_exception(at)
    body = texts(at)
    assert (
        "Year 4 (Jan 2026 – Dec 2026, to Oct 2026): measured savings of $2.5M beat the agreed "
        "goal of $450K by $2.1M. The client is guaranteed 60 % of the goal, $270K; the "
        "provider keeps the rest, $2.3M: its 40 % of the goal plus the $2.1M by which savings "
        "beat it. Pro rata for the 10 of 12 months so far the goal is $375K: ahead by $2.2M."
    ) in body
    assert (
        "Note: Year 1 holds the 6 months of the frozen baseline (Jan 2023 – Jun 2023); their "
        "value is zero by construction, so it can only save in its other 6; Year 4 is still "
        "running (10 of 12 months): goal to date = goal × 10 / 12."
    ) in body


def test_innovation_days_per_contract_year(make_app, demo_bundle) -> None:
    """Days used per contract year: the innovation days of the innovations whose idea date
    falls in that year, summed by hand (195.5 in all; Year 3 uses 10 of its 100, under half:
    under-used)."""
    data, _ = demo_bundle
    inn = data.innovations
    year = pd.to_datetime(inn["idea_date"]).dt.year
    days = inn["innovation_days"].fillna(0.0)
    used = [float(days[year == y].sum()) for y in (2023, 2024, 2025, 2026)]
    assert sum(used) == 195.5 and used[2] == 10.0
    at = make_app(PAGE)
    no_exception(at)
    shown = next(f for f in chart_frames(at) if {"used", "contracted"} <= set(f.columns))
    assert list(shown["contract_year"]) == YEARS
    assert list(shown["used"]) == used
    assert list(shown["contracted"]) == [100.0] * 4
    assert (
        "195.5 innovation days used across 4 contract years; under-used (under 50 % of the "
        "contracted days) in Year 3 (10 of 100 days)."
    ) in texts(at)


def test_a_unit_or_category_filter_keeps_the_accounts_contract(
    make_app, demo_bundle, cli_savings
) -> None:
    """The contract is per account: with one unit and a category selected the page shows the
    whole account's gain-share (the CLI's unfiltered yearly savings; Year 4: $2,529,428 saved
    against the $450,000 goal, $375,000 pro rata for 10 months) and says the filters do not
    apply — never a unit's savings against the account's goal."""
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
    assert list(table.value["savings"]) == pytest.approx(cli_savings, abs=1)
    year4 = table.value.set_index("contract_year").loc["Year 4"]
    assert year4["savings"] == pytest.approx(2_529_428, abs=1)
    assert year4["goal"] == pytest.approx(GOAL)
    assert "Pro rata for the 10 of 12 months so far the goal is $375K" in body
