"""Then & Now on the demo account: two photographs with the same cards, the figures of
metrics.views.photo, the innovations that went live in between, periods from the URL."""

from __future__ import annotations

import datetime as dt

from metrics import views
from tests.pages.conftest import no_exception, texts

PAGE = "pages/then_now.py"
ALL = views.Selection()


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
    then_cards = [c for c in cards if c[2] == photo.then_label]
    now_cards = [c for c in cards if c[2] != photo.then_label]
    # cards sit in a two-column grid, so compare by KPI rather than by reading order
    assert {c[0]: c[1] for c in then_cards} == dict(
        zip(photo.cards["label"], photo.cards["then_text"], strict=True)
    )
    assert {c[0]: (c[1], c[2]) for c in now_cards} == dict(
        zip(
            photo.cards["label"],
            zip(photo.cards["now_text"], photo.cards["delta_text"], strict=True),
            strict=True,
        )
    )
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
