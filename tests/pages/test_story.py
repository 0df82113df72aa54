"""Story page on the demo account: the cards, the narrative, the curve and the strip. The
expected figures are the demo's planted ones (value to date $6,456,512; 35 of 60 live; 37
go-lives on 15 months), another output of the product (``thenandnow metrics --json`` run
in-process: its numbers, and the story sentences it prints), the stored estimate rows read
with SQL, and the monthly rows and rollouts by hand with pandas — never the view or story
builder the page itself renders."""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import io
import json
import sqlite3

import numpy as np
import pandas as pd
import pytest

from metrics.format import kpi_value, money, pct
from story.model import plain
from tests.pages.conftest import hand_level, metric, no_exception, texts

BASELINE = (dt.date(2023, 1, 1), dt.date(2023, 6, 1))  # the demo's frozen window, H1 2023
LAST_QUARTER = (dt.date(2026, 7, 1), dt.date(2026, 9, 1))  # the strip's Now, Q3 2026
#: Live innovations (gone live at a unit, not retired) whose stored estimate of the latest
#: run is in money and excludes zero: the "proven" of the Causal estimates card.
PROVEN_SQL = (
    "SELECT COUNT(*) FROM estimate_result e JOIN innovation i ON i.id = e.innovation_id "
    "WHERE e.run_id = (SELECT MAX(id) FROM estimate_run WHERE account_id = 1) "
    "AND e.estimated IS NOT NULL AND e.excludes_zero AND i.stage <> 'retired' "
    "AND EXISTS (SELECT 1 FROM rollout r WHERE r.innovation_id = i.id AND r.go_live IS NOT NULL)"
)


@pytest.fixture
def story(make_app):
    at = make_app()
    no_exception(at)
    return at


def _cli_json(url: str, *extra: str) -> dict:
    """``thenandnow metrics --account 'Northwind Insurance' --json`` on ``url``, in-process."""
    import cli

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        args = ["--db", url, "metrics", "--account", "Northwind Insurance", "--json"]
        assert cli.main([*args, *extra]) == 0
    return json.loads(out.getvalue())


@pytest.fixture(scope="module")
def printed(demo_url: str) -> dict:
    """What the CLI prints for the demo account (a different output of the product)."""
    return _cli_json(demo_url)


def _sentences(printed: dict) -> list[str]:
    """The narrative the CLI printed: its story's "narrative" section (plain text)."""
    [narrative] = [x for x in printed["story"]["sections"] if x["key"] == "narrative"]
    return list(narrative["sentences"])


def _proven(url: str) -> int:
    with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
        return int(conn.execute(PROVEN_SQL).fetchone()[0])


def _kpi(data, key: str, value: float) -> str:
    return kpi_value(value, str(data.kpis.set_index("key").loc[key, "unit_of_measure"]), "USD")


def test_headline_cards_show_the_demos_planted_figures(story) -> None:
    """Facts of the demo account known without the code that computes them (README,
    docs/ARCHITECTURE.md): value to date $6,456,512, shown on the card to a tenth of a
    million; 35 of its 60 innovations live (35 live + 17 in the pipeline + 6 rejected + 2
    retired = 60)."""
    assert metric(story, "Value to date").value == "$6.5M"
    assert metric(story, "Innovations live").value == "35 of 60"
    assert metric(story, "Run-rate per year").value.startswith("$")


def test_headline_cards_agree_with_the_cli_and_the_stored_estimates(
    story, printed, demo_url
) -> None:
    """The value and run-rate cards are the CLI's numbers ($6,456,512 exactly, in the help;
    $3.3M a year) in the card format; the causal-estimates card counts the live innovations
    whose stored estimate excludes zero (19 of the 35, read with SQL)."""
    value, run_rate = printed["cumulative_value"], printed["run_rate"]
    assert value == pytest.approx(6_456_512, abs=1)
    assert metric(story, "Value to date").value == money(value, "USD") == "$6.5M"
    assert metric(story, "Value to date").help.startswith("Exactly $6,456,512: ")
    assert metric(story, "Run-rate per year").value == money(run_rate, "USD") == "$3.3M"
    proven = _proven(demo_url)
    assert proven == 19
    assert metric(story, "Causal estimates").value == f"{proven} of 35"


def test_narrative_is_the_one_the_cli_prints_and_says_the_demos_figures(
    story, printed, demo_bundle, demo_url
) -> None:
    """Every sentence of the narrative ``thenandnow metrics --json`` prints is on the page
    (7 on the demo), and they say
    the demo's figures: 37 innovations live since H1 2023, cost per transaction from its H1
    2023 to its Q3 2026 volume-weighted level (by hand), $6.5M of measured value and $3.3M
    a year, 19 proven by a stored estimate, 17 in the pipeline."""
    data, _ = demo_bundle
    body = texts(story)
    sentences = _sentences(printed)
    assert len(sentences) == 7
    for sentence in sentences:  # the CLI prints them without Markdown emphasis
        assert sentence in plain(body)
    then, now = (
        hand_level(data, "cost_per_txn", BASELINE),
        hand_level(data, "cost_per_txn", LAST_QUARTER),
    )
    assert (
        "Since the baseline (H1 2023), **37** innovations went live; cost per transaction fell "
        f"from {_kpi(data, 'cost_per_txn', then)} (H1 2023 average) to "
        f"{_kpi(data, 'cost_per_txn', now)} (Q3 2026 average), {pct(now / then - 1, 'en_US')}"
    ) in body
    assert "the operation has delivered **$6.5M** of measured value by October 2026" in body
    assert "**$3.3M** a year at today's run-rate" in body
    proven = _proven(demo_url)
    assert (
        f"Of the live innovations, {proven} have a causal estimate whose 95 % interval excludes "
        "zero, "
    ) in body
    assert "**17** innovations are in the pipeline, not yet live anywhere" in body


def test_curve_has_every_go_live_clickable(story, printed, demo_bundle) -> None:
    """The curve ends at the value to date (the CLI's, $6,456,512); one go-live marker per
    month with first go-lives, its customdata that month's codes: the 37 innovations whose
    first go-live the rollouts record, on 15 months (by hand), none hidden."""
    data, _ = demo_bundle
    [chart] = story.get("plotly_chart")
    fig = json.loads(chart.proto.spec)
    line = next(t for t in fig["data"] if t.get("name") == "Value to date")
    y = line["y"]
    if isinstance(y, dict):  # plotly ships numeric arrays base64-encoded
        y = np.frombuffer(base64.b64decode(y["bdata"]), dtype=y["dtype"])
    assert y[-1] == pytest.approx(printed["cumulative_value"])
    assert y[-1] == pytest.approx(6_456_512, abs=1)
    first = data.rollouts.dropna(subset=["go_live"]).groupby("innovation_id")["go_live"].min()
    first = pd.to_datetime(first)
    code = data.innovations.set_index("innovation_id")["code"]
    by_month = {
        str(p): sorted(code.loc[ids.index]) for p, ids in first.groupby(first.dt.to_period("M"))
    }
    golive = next(t for t in fig["data"] if t.get("name") == "Go-live")
    months = [sorted(str(row[0]).split(",")) for row in golive["customdata"]]
    codes = [c for month in months for c in month]
    assert sorted(codes) == sorted(code.loc[first.index])  # every go-live, none hidden
    assert sorted(months) == sorted(by_month.values())  # grouped by their month
    assert (len(codes), len(months)) == (37, 15)
    assert chart.proto.selection_mode  # a click selects a point → opens the detail page


def test_then_now_strip(story, demo_bundle) -> None:
    """The strip's cards: each KPI's Q3 2026 level and its change against H1 2023 (by hand
    from the monthly rows); FTE, which got worse (+11.4 %), with FTE per 1,000 transactions
    beside it, which fell: headcount followed demand."""
    data, _ = demo_bundle

    def levels(key: str) -> tuple[float, float]:
        return hand_level(data, key, BASELINE), hand_level(data, key, LAST_QUARTER)

    then, now = levels("cost_per_txn")
    card = metric(story, "Cost per transaction")
    assert card.value == _kpi(data, "cost_per_txn", now) == "$3.86"
    assert card.delta == f"{pct(now / then - 1, 'en_US')} vs {_kpi(data, 'cost_per_txn', then)}"
    fte_then, fte_now = levels("fte")
    assert fte_now > fte_then  # worse: more FTE
    assert metric(story, "Full-time equivalents").value == _kpi(data, "fte", fte_now)
    vol_then, vol_now = levels("volume")
    r_then, r_now = fte_then / (vol_then / 1000), fte_now / (vol_now / 1000)
    assert r_now < r_then  # fewer FTE per transaction
    shown = metric(story, "FTE per 1K transactions")
    assert shown.value == f"{r_now:.1f} FTE"
    assert shown.delta == f"{pct(r_now / r_then - 1, 'en_US')} vs {r_then:.1f} FTE"


def test_one_unit_changes_the_figures(make_app, demo_bundle, demo_url) -> None:
    """One unit selected: the value card is that unit's value to date as the CLI prints it
    with ``--unit`` (Bogotá · Billing support, $641,584 on the demo), and the unit is
    named."""
    data, _ = demo_bundle
    unit = str(data.units.iloc[0]["name"])
    at = make_app(units=unit)
    no_exception(at)
    value = _cli_json(demo_url, "--unit", unit)["cumulative_value"]
    assert value < 6_456_512
    assert metric(at, "Value to date").value == money(value, "USD")
    assert metric(at, "Value to date").help.startswith(
        f"Exactly {money(value, 'USD', compact=False)}: "
    )
    assert unit in texts(at)


def test_data_gaps_are_named_next_to_the_headline(demo_url, tmp_path, monkeypatch) -> None:
    """A unit with no data in the baseline window and a month missing elsewhere: the Story
    page says what the headline leaves out (unit, KPI, unit-months) instead of hiding it."""
    import shutil

    from sqlalchemy import text
    from streamlit.testing.v1 import AppTest

    from data_loaders import rollup
    from data_loaders.db import make_engine
    from tests.pages.conftest import APP, ROOT

    src = demo_url.removeprefix("sqlite:///")
    copy = tmp_path / "gaps.sqlite"
    shutil.copy(src, copy)
    eng = make_engine(f"sqlite:///{copy}")
    with eng.begin() as conn:
        unit = conn.execute(text("SELECT id, site, process FROM unit ORDER BY id")).first()
        assert unit is not None
        conn.execute(
            text("DELETE FROM kpi_observation WHERE unit_id = :u AND month < :m"),
            {"u": unit.id, "m": "2023-07-01"},
        )
        conn.execute(
            text("DELETE FROM kpi_observation WHERE unit_id <> :u AND month = :m"),
            {"u": unit.id, "m": "2025-03-01"},
        )
        rollup.rebuild(conn)  # writes by hand, outside any import
    eng.dispose()
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{copy}")
    monkeypatch.chdir(ROOT)
    at = AppTest.from_file(APP, default_timeout=600).run()
    no_exception(at)
    warning = " ".join(str(w.value) for w in at.warning)
    assert "Not counted" in warning
    assert f"no baseline for {unit.site} · {unit.process}" in warning
    assert "unit-months of the headline KPIs have no data" in warning


def test_story_does_not_wait_for_the_estimates(
    unestimated_url, demo_bundle, printed, monkeypatch
) -> None:
    """Estimates not stored: the page run shows the cards and the story without them (the
    evidence card "…", no evidence sentence, a note that they are being computed) and never
    computes them itself — a process of its own does; once it has stored them, the next run
    shows the card counting the proven ones among them (SQL over the rows it stored) and the
    whole story, every narrative sentence the CLI prints for the demo with its estimates."""
    from streamlit.testing.v1 import AppTest

    import services.estimates
    from data_loaders.db import make_engine
    from data_loaders.estimate_store import load_estimates
    from metrics.versions import estimates_version
    from services import estimates_background
    from tests.pages.conftest import APP, ROOT
    from ui.estimates_wait import BEING_COMPUTED

    def no_estimating_here(*args, **kwargs):
        raise AssertionError("a page run computed the causal estimates")

    # the page runs in this process: computing here would fail; the background process is
    # another interpreter, untouched by the patch
    monkeypatch.setattr(services.estimates, "compute", no_estimating_here)
    monkeypatch.setenv("DATABASE_URL", unestimated_url)
    monkeypatch.chdir(ROOT)
    data, est = demo_bundle
    at = AppTest.from_file(APP, default_timeout=600).run()
    no_exception(at)
    assert metric(at, "Causal estimates").value == "…"
    assert metric(at, "Value to date").value == "$6.5M"
    body = texts(at)
    assert "Since the baseline (" in body and "have a causal estimate" not in body
    assert BEING_COMPUTED in [str(c.value) for c in at.caption]
    assert estimates_background.running(unestimated_url, 1, at.session_state["ctx"].version)

    estimates_background.wait(timeout=900)  # a hang guard, not a timing
    eng = make_engine(unestimated_url)
    stored = load_estimates(eng, 1, estimates_version(data))
    eng.dispose()
    assert stored is not None and stored.equals(est)
    at.run()
    no_exception(at)
    assert metric(at, "Causal estimates").value == f"{_proven(unestimated_url)} of 35"
    for sentence in _sentences(printed):
        assert sentence in plain(texts(at))
    assert BEING_COMPUTED not in [str(c.value) for c in at.caption]
