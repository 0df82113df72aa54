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


def _same_chart(old: Any, new: Any, *, theme: str) -> None:
    """Two drawn Vega-Lite elements carry the same spec, theme, data sets and width rule, and
    the data is not empty (equal because both are empty would prove nothing)."""
    assert new.proto.spec == old.proto.spec
    assert new.proto.theme == old.proto.theme == theme
    assert [(d.name, d.data.data) for d in new.proto.datasets] == [
        (d.name, d.data.data) for d in old.proto.datasets
    ]
    assert new.proto.datasets and new.proto.datasets[0].data.data
    assert new.proto.use_container_width == old.proto.use_container_width


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
    _same_chart(via_altair, via_memo, theme="")


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


def _draw_innovation_charts(path: str) -> None:
    """An app that draws the Innovations page's funnel and timeline (clickable) and portfolio
    mix (side by side) as ``st.altair_chart`` draws them and as the page does (``altair``)."""
    import pickle

    import streamlit as st

    from charts.innovations import funnel_chart, mix_panel, timeline_chart
    from ui.card_and_chart import altair

    with open(path, "rb") as fh:
        funnel, mix, timeline, as_of = pickle.load(fh)
    st.altair_chart(funnel_chart(funnel), on_select="rerun", key="old", width="stretch")
    altair(funnel_chart, funnel, on_select="rerun", key="new", theme="streamlit")
    st.altair_chart(mix_panel(mix, "origin"))
    altair(mix_panel, mix, "origin", theme="streamlit")
    st.altair_chart(
        timeline_chart(timeline, as_of=as_of), on_select="rerun", key="old-tl", width="stretch"
    )
    altair(timeline_chart, timeline, as_of=as_of, on_select="rerun", key="tl", theme="streamlit")


def test_the_innovations_charts_memoised_are_what_the_page_sent_before(
    demo_story_bundle: Any, tmp_path: Path
) -> None:
    """The demo's funnel, mix and timeline: the same spec, data sets, Streamlit theme and
    (funnel, timeline) the same click selection as ``st.altair_chart`` with the page's
    arguments."""
    from metrics.filters import Filters
    from metrics.views import innovations_view

    view = innovations_view(demo_story_bundle[0], Filters())
    path = tmp_path / "innovations.pickle"
    path.write_bytes(pickle.dumps((view.funnel, view.mix, view.timeline, view.as_of)))
    card_and_chart._SPECS.clear()
    at = AppTest.from_function(_draw_innovation_charts, args=(str(path),), default_timeout=120)
    at.run()
    assert not at.exception
    old_funnel, new_funnel, old_mix, new_mix, old_tl, new_tl = at.get("vega_lite_chart")
    for old, new in ((old_funnel, new_funnel), (old_mix, new_mix), (old_tl, new_tl)):
        _same_chart(old, new, theme="streamlit")
    assert '"stage"' in new_funnel.proto.spec  # the click's selection parameter
    assert list(new_funnel.proto.selection_mode) == list(old_funnel.proto.selection_mode) != []
    assert new_funnel.key == "new" and old_funnel.key == "old"
    assert list(old_mix.proto.selection_mode) == list(new_mix.proto.selection_mode) == []
    assert list(new_tl.proto.selection_mode) == list(old_tl.proto.selection_mode) == ["innovation"]
