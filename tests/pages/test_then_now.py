"""Then & Now on the demo account: two photographs with the same cards, the figures of
metrics.views.photo, the innovations that went live in between, periods from the URL."""

from __future__ import annotations

import datetime as dt

from metrics import views
from metrics.filters import Filters
from metrics.scorecard import card_label
from tests.pages.conftest import chart_frames, no_exception, texts

PAGE = "pages/then_now.py"
ALL = Filters()


def _cards(at):
    return [(m.label, m.value, m.delta) for m in at.metric]


def test_default_photo_is_baseline_vs_last_full_quarter(make_app, demo_bundle) -> None:
    data, _ = demo_bundle
    at = make_app(PAGE)
    no_exception(at)
    photo = views.photo(data, ALL)
    assert photo is not None
    assert photo.then_label == "H1 2023" and photo.now_label == "Q3 2026"
    heads = [h.value for h in at.subheader]
    assert f"Then · {photo.then_label}" in heads and f"Now · {photo.now_label}" in heads
    cards = _cards(at)
    n = len(photo.cards)
    assert len(cards) == 2 * n
    # the period is said once, in each photo's title, never on every card (#14)
    then_cards = [c for c in cards if not c[2]]
    now_cards = [c for c in cards if c[2]]
    assert not [c for c in cards if photo.then_label in str(c[2])]
    rows = photo.cards.to_dict("records")
    # cards sit in a two-column grid, so compare by KPI rather than by reading order; a
    # title carries the unit its figure lacks
    assert {c[0]: c[1] for c in then_cards} == {card_label(r): r["then_text"] for r in rows}
    assert {c[0]: (c[1], c[2]) for c in now_cards} == {
        card_label(r): (r["now_text"], r["delta_text"]) for r in rows
    }
    labels = [c[0] for c in now_cards]
    assert (
        "Transactions a month (client demand)" in labels
        and "Customer satisfaction (score)" in labels
    )
    assert "FTE per 1K transactions" in labels
    assert photo.between_sentence in texts(at)
    [table] = at.dataframe
    assert list(table.value["code"]) == list(photo.between["code"])
    assert len(table.value) > 0


def test_periods_come_from_the_url(make_app, demo_bundle) -> None:
    data, _ = demo_bundle
    at = make_app(PAGE, then="2024-01:2024-03", now="2025-04:2025-06")
    no_exception(at)
    heads = [h.value for h in at.subheader]
    assert "Then · Q1 2024" in heads and "Now · Q2 2025" in heads
    photo = views.photo(
        data,
        ALL,
        (dt.date(2024, 1, 1), dt.date(2024, 3, 1)),
        (dt.date(2025, 4, 1), dt.date(2025, 6, 1)),
    )
    assert photo is not None
    assert at.metric[0].value == photo.cards["then_text"].iloc[0]
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
    neutral; FTE (+11.4 %, worse) comes with FTE per 1,000 transactions (about −9 %)."""
    data, _ = demo_bundle
    photo = views.photo(data, ALL)
    assert photo is not None
    by = photo.cards.set_index("key")
    assert by.loc["volume", "better"] is None and bool(by.loc["volume", "demand"])
    assert by.loc["fte", "better"] is False
    # FTE per 1,000 transactions, by hand from the two KPIs' levels
    fte = by.loc["fte", ["then", "now"]].to_numpy(dtype=float)
    txn = by.loc["volume", ["then", "now"]].to_numpy(dtype=float)
    then, now = fte / (txn / 1000)
    assert by.loc["fte_per_1000_txn", "then"] == then and by.loc["fte_per_1000_txn", "now"] == now
    assert -0.10 < now / then - 1 < -0.08 and by.loc["fte_per_1000_txn", "better"] is True
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
