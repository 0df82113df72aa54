"""One selection is computed once (issue 14, Fast): the story makes its chart specs only when
they are read, carries the view models the screen draws from (``Story.parts``), and the
Story page and present mode take the curve, the strip and the narrative from that one story
instead of computing them again."""

from __future__ import annotations

import json
import pickle
from collections import Counter
from collections.abc import Callable
from typing import Any

import pandas as pd
import pytest

import story.model as model
from metrics import views
from metrics.attribution import attribution, of_categories
from metrics.filters import Filters
from metrics.rules import CATEGORIES
from story.model import build_story
from tests.pages.conftest import no_exception


def _counting(real: Callable[..., Any], name: str, calls: Counter[str]) -> Callable[..., Any]:
    def counted(*args: Any, **kwargs: Any) -> Any:
        calls[name] += 1
        return real(*args, **kwargs)

    return counted


def test_a_chart_spec_is_made_when_first_read(
    demo_story_bundle: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Building a story renders no chart; reading a spec renders that chart once, and the
    spec survives the pickling ``st.cache_data`` does."""
    data, est = demo_story_bundle
    calls: Counter[str] = Counter()
    real = model.then_now_chart
    monkeypatch.setattr(model, "then_now_chart", _counting(real, "then_now", calls))
    model.clear_caches()
    s = build_story(data, estimates=est)
    assert calls["then_now"] == 0
    (chart,) = s.section("scorecard").charts
    spec = chart.spec
    assert calls["then_now"] == 1
    assert chart.spec == spec and calls["then_now"] == 1  # made once
    pic = s.parts.photo if s.parts is not None else None
    assert pic is not None
    by_hand = real(pic.cards, then_label=pic.then_label, now_label=pic.now_label)
    assert json.loads(spec) == json.loads(json.dumps(by_hand.to_dict(validate=False)))
    monkeypatch.undo()  # the story below holds the real builder, which pickles by name
    model.clear_caches()
    copy = pickle.loads(pickle.dumps(build_story(data, estimates=est)))
    assert copy.section("scorecard").charts[0].spec == spec


def test_the_parts_are_the_views_of_the_selection(demo_story_bundle: Any) -> None:
    """``Story.parts`` holds the view models of the story's own selection: the same curve,
    photo, bridge and contract as the metric views give for it, and the headline card."""
    data, est = demo_story_bundle
    sel = Filters(categories=("operational efficiency",))
    s = build_story(data, sel, estimates=est)
    p = s.parts
    assert p is not None
    assert p.headline.value_text == s.section("headline").figure("value_to_date").text
    curve = views.curve_view(data, sel)
    assert p.curve is not None and curve is not None
    pd.testing.assert_frame_equal(p.curve.curve, curve.curve)
    pd.testing.assert_frame_equal(p.curve.golives, curve.golives)
    photo = views.photo(data, sel)
    assert p.photo is not None and photo is not None
    pd.testing.assert_frame_equal(p.photo.cards, photo.cards)
    lines = views.value_lines(data, sel, est)
    pd.testing.assert_frame_equal(p.lines, lines)
    bridge = views.bridge_steps(data, sel, evidence=views.evidence_of(lines))
    pd.testing.assert_frame_equal(p.bridge, bridge)
    contract = views.contract_view(data, sel)
    assert p.contract is not None and contract is not None
    assert p.contract.gain_share_sentence == contract.gain_share_sentence
    pd.testing.assert_frame_equal(p.contract.gain_share, contract.gain_share)


def test_the_story_apart_from_its_evidence_sentence_needs_no_estimates(
    demo_story_bundle: Any,
) -> None:
    """Present mode splits the story over screens from the sentences that do not need the
    causal estimates, taken from whichever story is shown: they are the same with and
    without the estimates."""
    data, est = demo_story_bundle
    told = build_story(data, estimates=est).section("narrative")
    bare = build_story(data).section("narrative")
    assert told.needs_estimates and told.needs_estimates == bare.needs_estimates

    def rest(sec: model.Section) -> list[str]:
        return [x for i, x in enumerate(sec.markdown) if i not in sec.needs_estimates]

    assert rest(told) == rest(bare)
    assert told.markdown != bare.markdown  # the evidence sentence itself does change


@pytest.mark.parametrize("category", sorted(CATEGORIES))
def test_a_category_attribution_is_that_of_its_units_filtered(
    demo_story_bundle: Any, category: str
) -> None:
    """The page boundary reuses the attribution of the units and months for a category
    change: filtered to the category's innovations it equals the category's own."""
    data, _ = demo_story_bundle
    unit = int(data.units["unit_id"].iloc[0])
    for sel in (Filters(), Filters(unit_ids=(unit,))):
        with_cat = Filters(sel.unit_ids, sel.start, sel.end, (category,))
        pd.testing.assert_frame_equal(
            of_categories(attribution(data, sel), data, with_cat), attribution(data, with_cat)
        )


def test_a_cold_selection_on_the_story_page_computes_each_view_once(
    make_app: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A category change on the Story page: one story, one curve, one photo, one set of
    value lines, and no new attribution of the units and months (the category's is the
    cached one, filtered)."""
    import ui.cached

    at = make_app()
    no_exception(at)
    calls: Counter[str] = Counter()
    for name in ("curve_view", "photo", "value_lines"):
        monkeypatch.setattr(views, name, _counting(getattr(views, name), name, calls))
    monkeypatch.setattr(
        ui.cached, "attribution", _counting(ui.cached.attribution, "attribution", calls)
    )
    monkeypatch.setattr(model, "attribution", _counting(model.attribution, "story attr", calls))
    monkeypatch.setattr(
        ui.cached, "build_story", _counting(ui.cached.build_story, "build_story", calls)
    )
    box = next(m for m in at.multiselect if m.label == "Category")
    box.select("operational efficiency").run()
    no_exception(at)
    assert calls == Counter(build_story=1, curve_view=1, photo=1, value_lines=1), calls


def test_present_mode_tells_one_story_per_selection(
    make_app: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the estimates stored, present mode's story screens and the screen plan read the
    one story told with them: no second story without the estimates."""
    import ui.cached

    built: list[str] = []

    def recording(*args: Any, **kwargs: Any) -> model.Story:
        s = model.build_story(*args, **kwargs)
        built.append(s.evidence_basis)
        return s

    monkeypatch.setattr(ui.cached, "build_story", recording)
    at = make_app(present="1", screen="narrative-1")
    no_exception(at)
    assert built == ["causal estimates"]
