"""Then & Now on the demo account: two photographs with the same cards, the innovations that
went live in between, periods from the URL and the presets. The expected figures are computed
here from the loaded monthly rows and rollouts with pandas (the docstring formulas of
``metrics.then_now`` by hand), never by the photo the page renders."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from metrics.format import kpi_value, pct
from tests.pages.conftest import chart_frames, hand_level, no_exception, texts

PAGE = "pages/then_now.py"
BASELINE = (dt.date(2023, 1, 1), dt.date(2023, 6, 1))  # the demo's frozen window, H1 2023
LAST_QUARTER = (dt.date(2026, 7, 1), dt.date(2026, 9, 1))  # the last full quarter, Q3 2026
#: The demo's card titles by KPI: demand is a month's level, a score says so.
TITLES = {
    "cost_per_txn": "Cost per transaction",
    "error_rate": "Error rate",
    "aht": "Average handle time",
    "csat": "Customer satisfaction (score)",
    "fte": "Full-time equivalents",
    "volume": "Transactions a month (client demand)",
}
RATIO = "FTE per 1K transactions"


def _cards(at):
    return [(m.label, m.value, m.delta) for m in at.metric]


def _text(data, key: str, value: float) -> str:
    kpi = data.kpis.set_index("key").loc[key]
    return kpi_value(value, str(kpi["unit_of_measure"]), "USD", "en_US")


def _ratio(data, period: tuple[dt.date, dt.date]) -> float:
    """FTE per 1,000 transactions of a period, from the two KPIs' levels."""
    return hand_level(data, "fte", period) / (hand_level(data, "volume", period) / 1000)


def test_default_photo_shows_every_kpi_at_the_baseline_and_the_last_quarter(
    make_app, demo_bundle
) -> None:
    """By default Then is the baseline window (H1 2023) and Now the last full quarter
    (Q3 2026); each KPI's two cards show its level over that period, the Now card the change
    in per cent, and the period is said once in each photo's title, never on a card."""
    data, _ = demo_bundle
    at = make_app(PAGE)
    no_exception(at)
    heads = [h.value for h in at.subheader]
    assert "Then · H1 2023" in heads and "Now · Q3 2026" in heads
    cards = _cards(at)
    then_cards = {c[0]: c[1] for c in cards if not c[2]}
    now_cards = {c[0]: (c[1], c[2]) for c in cards if c[2]}
    assert len(cards) == 2 * (len(TITLES) + 1)
    assert not [c for c in cards if "H1 2023" in str(c[2]) or "Q3 2026" in str(c[2])]
    for key, title in TITLES.items():
        then, now = hand_level(data, key, BASELINE), hand_level(data, key, LAST_QUARTER)
        assert then_cards[title] == _text(data, key, then), title
        assert now_cards[title] == (_text(data, key, now), pct(now / then - 1, "en_US")), title
    then, now = _ratio(data, BASELINE), _ratio(data, LAST_QUARTER)
    assert then_cards[RATIO] == f"{then:.1f} FTE"
    assert now_cards[RATIO] == (f"{now:.1f} FTE", pct(now / then - 1, "en_US"))


def test_the_innovations_that_went_live_in_between_are_listed(make_app, demo_bundle) -> None:
    """Between the photos: the 37 innovations whose first go-live (over all units) falls after
    the baseline and by the end of Q3 2026, in go-live order, and the sentence counting them
    with the 155 unit go-lives of the demo."""
    data, _ = demo_bundle
    at = make_app(PAGE)
    no_exception(at)
    first = data.rollouts.dropna(subset=["go_live"]).groupby("innovation_id")["go_live"].min()
    first = pd.to_datetime(first)
    first = first[(first > pd.Timestamp("2023-06-30")) & (first <= pd.Timestamp("2026-09-30"))]
    named = data.innovations.set_index("innovation_id").loc[first.index, "code"]
    expected = (
        pd.DataFrame({"code": named.to_numpy(), "when": first.to_numpy()})
        .sort_values(["when", "code"])["code"]
        .tolist()
    )
    assert len(expected) == 37
    [table] = at.dataframe
    assert list(table.value["code"]) == expected
    assert (
        "Between H1 2023 and Q3 2026, **37** innovations went live for the first time "
        "(155 unit go-lives in all"
    ) in texts(at)


def test_periods_come_from_the_url(make_app, demo_bundle) -> None:
    """``?then=2024-01:2024-03&now=2025-04:2025-06`` opens Q1 2024 against Q2 2025: the first
    card is the cost per transaction of Q1 2024, and the link keeps the periods."""
    data, _ = demo_bundle
    at = make_app(PAGE, then="2024-01:2024-03", now="2025-04:2025-06")
    no_exception(at)
    heads = [h.value for h in at.subheader]
    assert "Then · Q1 2024" in heads and "Now · Q2 2025" in heads
    q1 = hand_level(data, "cost_per_txn", (dt.date(2024, 1, 1), dt.date(2024, 3, 1)))
    assert at.metric[0].label == TITLES["cost_per_txn"]
    assert at.metric[0].value == _text(data, "cost_per_txn", q1)
    assert at.query_params["then"] == "2024-01:2024-03"


def test_moving_a_slider_updates_the_photo(make_app) -> None:
    at = make_app(PAGE)
    now = next(s for s in at.select_slider if s.label == "Now")
    now.set_value(("2025-01", "2025-03"))
    # the sliders sit in a form: the photo changes when Compare is pressed, once
    next(b for b in at.button if b.label.startswith("Compare")).click().run()
    no_exception(at)
    assert "Now · Q1 2025" in [h.value for h in at.subheader]
    assert at.query_params["now"] == "2025-01:2025-03"


def test_transactions_are_client_demand_and_fte_has_its_ratio(make_app, demo_bundle) -> None:
    """Transactions (+22.7 %) are the client's demand: neither better nor worse, drawn
    neutral; FTE (+11.4 %, worse) comes with FTE per 1,000 transactions (about −9 %,
    better)."""
    data, _ = demo_bundle
    fte = hand_level(data, "fte", LAST_QUARTER) / hand_level(data, "fte", BASELINE) - 1
    txn = hand_level(data, "volume", LAST_QUARTER) / hand_level(data, "volume", BASELINE) - 1
    ratio = _ratio(data, LAST_QUARTER) / _ratio(data, BASELINE) - 1
    assert round(txn, 3) == 0.227 and round(fte, 3) == 0.114 and -0.10 < ratio < -0.08
    at = make_app(PAGE)
    no_exception(at)
    chart = next(f for f in chart_frames(at) if "verdict" in f.columns)
    verdict = dict(zip(chart["label"], chart["verdict"], strict=True))
    assert verdict["Transactions"] == "client demand"
    assert verdict["Full-time equivalents"] == "worse"
    assert verdict["FTE per 1K transactions"] == "better"


def test_a_preset_sets_both_periods(make_app) -> None:
    """'Same quarter a year earlier' compares the last full quarter with the one a year
    before (Q3 2026 vs Q3 2025 on the demo); the baseline preset is the default."""
    at = make_app(PAGE)
    [preset] = [b for b in at.button_group if b.label == "Compare"]
    assert preset.options[0] == "Baseline vs last quarter"
    preset.set_value("Same quarter a year earlier").run()
    no_exception(at)
    heads = [h.value for h in at.subheader]
    assert "Then · Q3 2025" in heads and "Now · Q3 2026" in heads
    assert at.query_params["then"] == "2025-07:2025-09"


def test_an_edition_archived_after_the_first_run_adds_its_preset(writable_url) -> None:
    """A pack build archives an edition without moving the data version: the next run of
    the same server offers "Since the last edition" (the quarter ending with the edition's
    month, Q1 2026 for an edition as of 15 Mar 2026) and names the edition's date."""
    from streamlit.testing.v1 import AppTest

    from data_loaders import snapshots
    from data_loaders.access import Scope
    from data_loaders.db import data_version, make_engine
    from tests.pages.conftest import APP

    at = AppTest.from_file(APP, default_timeout=600)
    at.switch_page(PAGE).run()
    no_exception(at)
    [preset] = [b for b in at.button_group if b.label == "Compare"]
    assert "Since the last edition" not in preset.options
    assert preset.help.endswith("(none archived yet)")
    eng = make_engine(writable_url)
    version = data_version(eng)
    snapshots.save_edition(
        eng,
        Scope.everything(),
        account_id=1,
        edition_no=1,
        as_of=dt.date(2026, 3, 15),
        pdf=b"%PDF-1.7 test",
        sha256="0" * 64,
        content_sha256="1" * 64,
        data_version=version,
        built_by="test",
        paper="A4",
        figures={},
    )
    assert data_version(eng) == version  # so a cache keyed by the data version alone is stale
    eng.dispose()
    at.run()
    no_exception(at)
    [preset] = [b for b in at.button_group if b.label == "Compare"]
    assert preset.options[-1] == "Since the last edition"
    assert preset.help.endswith("(as of 15 Mar 2026)")
    preset.set_value("Since the last edition").run()
    no_exception(at)
    heads = [h.value for h in at.subheader]
    assert "Then · Q1 2026" in heads and "Now · Q3 2026" in heads
