"""Story page on the demo account: the cards, the narrative, the curve and the strip show the
figures of metrics.views, formatted the same way."""

from __future__ import annotations

import base64
import json

import numpy as np
import pytest

from metrics import views
from metrics.filters import Filters
from tests.pages.conftest import metric, no_exception, texts

ALL = Filters()


@pytest.fixture
def story(make_app):
    at = make_app()
    no_exception(at)
    return at


def _expected(demo_bundle, sel=ALL):
    data, est = demo_bundle
    lines = views.value_lines(data, sel, est)
    return data, views.headline_view(data, sel, views.evidence_of(lines))


def test_headline_cards_show_the_demos_planted_figures(story) -> None:
    """Facts of the demo account known without the code that computes them (README,
    docs/ARCHITECTURE.md): value to date $6,456,512, shown on the card to a tenth of a
    million; 35 of its 60 innovations live (35 live + 17 in the pipeline + 6 rejected + 2
    retired = 60)."""
    assert metric(story, "Value to date").value == "$6.5M"
    assert metric(story, "Innovations live").value == "35 of 60"
    assert metric(story, "Run-rate per year").value.startswith("$")


def test_headline_cards_equal_the_view_they_are_built_from(story, demo_bundle) -> None:
    """The cards are the headline view's texts, formatted once (no page-side formatting)."""
    _, h = _expected(demo_bundle)
    assert metric(story, "Value to date").value == h.value_text
    assert metric(story, "Run-rate per year").value == h.run_rate_text
    assert metric(story, "Causal estimates").value == h.evidence_text


def test_narrative_is_the_generated_one(story, demo_bundle) -> None:
    data, est = demo_bundle
    _, h = _expected(demo_bundle)
    sentences = views.narrative(data, ALL, head=h)
    body = texts(story)
    for sentence in sentences:
        assert sentence in body
    assert "Since the baseline (" in body  # the then-vs-now beat opens the story


def test_curve_has_every_go_live_clickable(story, demo_bundle) -> None:
    data, _ = demo_bundle
    curve = views.curve_view(data, ALL)
    assert curve is not None
    [chart] = story.get("plotly_chart")
    fig = json.loads(chart.proto.spec)
    line = next(t for t in fig["data"] if t.get("name") == "Value to date")
    y = line["y"]
    if isinstance(y, dict):  # plotly ships numeric arrays base64-encoded
        y = np.frombuffer(base64.b64decode(y["bdata"]), dtype=y["dtype"])
    assert y[-1] == pytest.approx(curve.curve["cumulative"].iloc[-1])
    golive = next(t for t in fig["data"] if t.get("name") == "Go-live")
    # one marker per month with go-lives, its customdata the month's codes (#14)
    months = [str(row[0]).split(",") for row in golive["customdata"]]
    codes = [c for month in months for c in month]
    assert codes and set(codes) <= set(data.innovations["code"])
    assert sorted(codes) == sorted(curve.golives["code"])  # every go-live, none hidden
    assert len(months) == curve.golives["date"].dt.to_period("M").nunique() < len(codes)
    # planted in the demo, independent of the view: 37 innovations' go-lives on 15 months,
    # and the curve ends at the value to date, $6,456,512
    assert (len(codes), len(months)) == (37, 15)
    assert y[-1] == pytest.approx(6_456_512, abs=1)
    assert chart.proto.selection_mode  # a click selects a point → opens the detail page


def test_then_now_strip(story, demo_bundle) -> None:
    data, _ = demo_bundle
    photo = views.photo(data, ALL)
    assert photo is not None
    first = photo.cards.iloc[0]
    card = metric(story, str(first["label"]))
    assert card.value == first["now_text"]
    assert card.delta == f"{first['delta_text']} vs {first['then_text']}"
    # FTE, the KPI that got worse, is in the strip, with FTE per 1,000 transactions beside it
    fte = photo.cards.set_index("key").loc["fte"]
    assert fte["better"] is False
    assert metric(story, "Full-time equivalents").value == fte["now_text"]
    ratio = photo.cards.set_index("key").loc["fte_per_1000_txn"]
    shown = metric(story, "FTE per 1K transactions")
    assert shown.delta == f"{ratio['delta_text']} vs {ratio['then_text']}"
    assert ratio["pct_change"] < 0  # headcount followed demand: fewer FTE per transaction


def test_one_unit_changes_the_figures(make_app, demo_bundle) -> None:
    data, _ = demo_bundle
    unit = data.units.iloc[0]
    at = make_app(units=str(unit["name"]))
    no_exception(at)
    _, h = _expected(demo_bundle, Filters(unit_ids=(int(unit["unit_id"]),)))
    assert metric(at, "Value to date").value == h.value_text
    assert str(unit["name"]) in texts(at)


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


def test_story_does_not_wait_for_the_estimates(unestimated_url, demo_bundle, monkeypatch) -> None:
    """Estimates not stored: the page run shows the cards and the story without them (the
    evidence card "…", no evidence sentence, a note that they are being computed) and never
    computes them itself — a process of its own does; once it has stored them, the next run
    shows the card and the whole story."""
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
    _, h = _expected(demo_bundle)
    at = AppTest.from_file(APP, default_timeout=600).run()
    no_exception(at)
    assert metric(at, "Causal estimates").value == "…"
    assert metric(at, "Value to date").value == h.value_text
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
    assert metric(at, "Causal estimates").value == h.evidence_text
    for sentence in views.narrative(data, ALL, head=h):
        assert sentence in texts(at)
    assert BEING_COMPUTED not in [str(c.value) for c in at.caption]
