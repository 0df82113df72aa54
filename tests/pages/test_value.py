"""Value page on the demo account: stacked value (toggle), the bridge, claimed vs measured
vs estimated with evidence levels and method notes, and CSV downloads of what is shown."""

from __future__ import annotations

import pytest

from metrics import views
from metrics.filters import Filters
from metrics.impact import EVIDENCE_NOTES
from metrics.rules import EVIDENCE_LABELS
from tests.pages.conftest import chart_frames, no_exception, texts

PAGE = "pages/value.py"
ALL = Filters()


@pytest.fixture
def value(make_app):
    at = make_app(PAGE)
    no_exception(at)
    return at


def test_bridge_equals_the_metrics(value, demo_bundle) -> None:
    data, est = demo_bundle
    steps = views.bridge_steps(
        data, ALL, evidence=views.evidence_of(views.value_lines(data, ALL, est))
    )
    frames = [f for f in chart_frames(value) if {"label", "kind", "start", "end"} <= set(f.columns)]
    assert frames, "bridge chart data not found"
    shown = frames[0]
    assert list(shown["label"]) == list(steps["label"])
    assert list(shown["text"]) == list(steps["text"])
    total = shown.loc[shown["kind"] == "total", "end"].item()
    assert total == pytest.approx(steps["value"].iloc[-1])
    assert "Unattributed" in list(shown["label"])
    # each innovation's bar carries its evidence level, the same as in the evidence table
    assert list(shown["evidence"]) == list(steps["evidence"])
    named = steps[steps["code"] != ""]
    assert len(named) > 0 and set(named["evidence"]) <= {"estimated", "measured", "claimed"}


def test_the_grouped_bridge_bar_lists_its_innovations(value, demo_bundle) -> None:
    """'N other innovations' hides value: an expander under the bridge lists each of them
    with its measured value, and together they are the bar's figure (the same cents)."""
    data, _ = demo_bundle
    steps = views.bridge_steps(data, ALL)
    group = steps[(steps["kind"] == "step") & (steps["code"] == "")].iloc[0]
    every = views.bridge_steps(data, ALL, top=1_000)
    named = set(steps.loc[steps["code"] != "", "code"])
    rest = every[(every["kind"] == "step") & ~every["code"].isin(named)]
    assert group["label"] == f"{len(rest)} other innovations"
    assert round(rest["value"].sum() * 100) == round(group["value"] * 100)
    [exp] = [e for e in value.expander if group["label"] in e.label]
    assert group["text"] in exp.label
    [listed] = [t.value for t in value.dataframe if "innovation" in t.value.columns][:1]
    assert list(listed["innovation"]) == list(rest["label"])
    assert list(listed["measured"]) == list(rest["text"])
    assert f"Together {group['text']}, the bar's figure" in texts(value)


def test_evidence_table_and_badges(value, demo_bundle) -> None:
    data, est = demo_bundle
    lines = views.value_lines(data, ALL, est)
    [shown] = [t.value for t in value.dataframe if "evidence" in t.value.columns]
    assert len(shown) == len(lines) > 0
    assert list(shown["innovation"]) == list(lines["code"] + " · " + lines["title"])
    # the evidence levels carry their one display label (metrics.rules)
    assert [e[0] if isinstance(e, list) else list(e)[0] for e in shown["evidence"]] == [
        EVIDENCE_LABELS[e] for e in lines["evidence"]
    ]
    assert set(lines["evidence"]) <= {"estimated", "measured", "claimed"}
    o, _ = views.outlook_view(data, ALL)  # the claimed vs measured reconciliation
    assert f"{o.realisation:.0%}** of the claims realised so far" in texts(value)
    body = texts(value)
    for note in EVIDENCE_NOTES.values():
        assert note in body


def test_stacked_value_toggle_and_downloads(value, demo_bundle) -> None:
    data, _ = demo_bundle
    by_cat = views.value_by(data, ALL, "category")
    stacked = [f for f in chart_frames(value) if {"group", "cumulative"} <= set(f.columns)]
    assert set(stacked[0]["group"]) == set(by_cat["group"])
    assert len(value.get("download_button")) == 3
    value.button_group[0].set_value("innovation").run()
    no_exception(value)
    by_inn = views.value_by(data, ALL, "innovation")
    stacked = [f for f in chart_frames(value) if {"group", "cumulative"} <= set(f.columns)]
    assert set(stacked[0]["group"]) == set(by_inn["group"])
    assert any(g.startswith("INN-") for g in stacked[0]["group"])
    assert value.query_params["by"] == "innovation"  # a copied link keeps the choice


def test_stack_by_is_read_from_the_url(make_app, demo_bundle) -> None:
    """``?by=innovation`` opens the chart stacked by innovation; an unknown value falls back
    to the default (category)."""
    data, _ = demo_bundle
    at = make_app(PAGE, by="innovation")
    no_exception(at)
    assert at.button_group[0].value == "innovation"
    stacked = [f for f in chart_frames(at) if {"group", "cumulative"} <= set(f.columns)]
    assert set(stacked[0]["group"]) == set(views.value_by(data, ALL, "innovation")["group"])
    at = make_app(PAGE, by="nonsense")
    no_exception(at)
    assert at.button_group[0].value == "category"
    assert "by" not in at.query_params


def test_bridge_is_labelled_even_when_the_estimates_were_not_stored(
    unestimated_url, demo_bundle, monkeypatch
) -> None:
    """After an import the estimates of the new data are not stored: the bridge and the
    evidence table are drawn at once without them (claimed and measured, nothing estimated),
    and once the background process has stored them the next run labels the bridge."""
    from streamlit.testing.v1 import AppTest

    from services import estimates_background
    from tests.pages.conftest import APP, ROOT
    from ui.estimates_wait import BEING_COMPUTED

    monkeypatch.setenv("DATABASE_URL", unestimated_url)
    monkeypatch.chdir(ROOT)
    at = AppTest.from_file(APP, default_timeout=600)
    at.query_params["present"], at.query_params["screen"] = "1", "7"
    at.run()
    del at.query_params["present"], at.query_params["screen"]
    at.switch_page(PAGE).run()
    no_exception(at)
    data, est = demo_bundle

    def bridges() -> list:
        return [f for f in chart_frames(at) if {"label", "kind"} <= set(f.columns)]

    assert len(bridges()) == 1
    assert "evidence" not in bridges()[0] or (bridges()[0]["evidence"].fillna("") == "").all()
    assert BEING_COMPUTED in [str(c.value) for c in at.caption]
    table = next(d.value for d in at.dataframe if "estimated" in d.value.columns)
    assert table["estimated"].isna().all() and table["measured"].notna().any()

    estimates_background.wait(timeout=900)  # a hang guard, not a timing
    at.run()
    no_exception(at)
    expected = views.bridge_steps(
        data, ALL, evidence=views.evidence_of(views.value_lines(data, ALL, est))
    )
    assert len(bridges()) == 1
    assert list(bridges()[0]["evidence"]) == list(expected["evidence"])


NO_BRIDGE = (
    "No bridge to draw for this selection: its innovations are credited none of the "
    "measured value, so there is no step from the baseline to now (why: under "
    "*Value to date* above). Their claims are compared below."
)


@pytest.mark.parametrize("category", ["strategic impact", None])
def test_the_bridge_place_says_in_words_when_nothing_is_credited(make_app, category) -> None:
    """A category whose innovations are credited no money (strategic impact targets customer
    satisfaction, a KPI without a money value): under the bridge's heading a sentence says
    there is no bridge and why, instead of an empty space; no bridge caption or download
    then. The whole account keeps its bridge, with neither sentence."""
    at = make_app(PAGE, **({"cat": category} if category else {}))
    no_exception(at)
    top = [at.main.children[i] for i in sorted(at.main.children)]
    heading = next(
        i for i, e in enumerate(top) if getattr(e, "value", None) == "From the baseline to now"
    )
    after = top[heading + 1]
    downloads = [b.proto.label for b in at.get("download_button")]
    if category:
        assert after.type == "markdown" and after.value == NO_BRIDGE
        assert "Each bar is the value measured" not in texts(at)
        assert "Download the bridge (CSV)" not in downloads
    else:
        assert NO_BRIDGE not in texts(at)
        assert after.type == "caption" and after.value.startswith("Each bar is the value")
        assert "Download the bridge (CSV)" in downloads
