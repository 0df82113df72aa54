"""The screen's Altair charts (issue 14, Fast): ``ui.card_and_chart.altair`` sends the spec
``st.altair_chart`` would — the same JSON and the same Arrow data sets — and builds a chart
once per distinct input, for every session of the server process."""

from __future__ import annotations

import pickle
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from story.model import build_story
from ui import card_and_chart


def _draw_both(path: str) -> None:
    """An app that draws one chart through ``st.altair_chart`` and through ``altair``."""
    import pickle

    import streamlit as st

    from charts.then_now import then_now_chart
    from ui.card_and_chart import altair

    with open(path, "rb") as fh:
        cards, then_label, now_label = pickle.load(fh)
    chart: Any = then_now_chart(cards, then_label=then_label, now_label=now_label)
    st.altair_chart(chart, theme=None, width="stretch")
    altair(then_now_chart, cards, then_label=then_label, now_label=now_label)


def _photo(bundle: Any) -> Any:
    data, est = bundle
    told = build_story(data, estimates=est)
    assert told.parts is not None and told.parts.photo is not None
    return told.parts.photo


def test_the_memoised_spec_is_what_st_altair_chart_sends(
    demo_story_bundle: Any, tmp_path: Path
) -> None:
    """The Then & Now chart of the demo drawn both ways: equal spec text and data sets."""
    photo = _photo(demo_story_bundle)
    path = tmp_path / "photo.pickle"
    path.write_bytes(pickle.dumps((photo.cards, photo.then_label, photo.now_label)))
    card_and_chart._SPECS.clear()
    at = AppTest.from_function(_draw_both, args=(str(path),), default_timeout=120).run()
    assert not at.exception
    via_altair, via_memo = at.get("vega_lite_chart")
    assert via_memo.proto.spec == via_altair.proto.spec
    assert via_memo.proto.theme == via_altair.proto.theme == ""
    assert [(d.name, d.data.data) for d in via_memo.proto.datasets] == [
        (d.name, d.data.data) for d in via_altair.proto.datasets
    ]
    assert via_memo.proto.datasets and via_memo.proto.datasets[0].data.data
    assert via_memo.proto.use_container_width == via_altair.proto.use_container_width


def test_a_chart_is_built_once_per_distinct_input(
    demo_story_bundle: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same builder and inputs: one build; another label or another frame: a new one."""
    from charts.then_now import then_now_chart

    photo = _photo(demo_story_bundle)
    calls: Counter[str] = Counter()

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls[kwargs["then_label"]] += 1
        return then_now_chart(*args, **kwargs)

    counted.__qualname__ = "counted_then_now"
    card_and_chart._SPECS.clear()
    drawn = []
    monkeypatch.setattr(card_and_chart.st, "vega_lite_chart", lambda spec, **_: drawn.append(spec))
    for _ in range(3):
        card_and_chart.altair(counted, photo.cards, then_label="A", now_label="B")
    assert calls == Counter({"A": 1}) and len(drawn) == 3
    assert drawn[0] is drawn[2]  # the one spec, read three times
    card_and_chart.altair(counted, photo.cards, then_label="C", now_label="B")
    other = photo.cards.assign(now_text="changed")
    card_and_chart.altair(counted, other, then_label="A", now_label="B")
    assert calls == Counter({"A": 2, "C": 1})
    assert drawn[3] != drawn[0] and drawn[4] != drawn[0]
