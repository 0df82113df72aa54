"""Innovations page on the demo account: the funnel, the portfolio cards and the mix checked
against the register's rows counted by hand with pandas and SQL (60 innovations: 35 live +
17 in the pipeline + 6 rejected + 2 retired), never against metrics.pipeline, which the page
renders; the register has every innovation and search narrows it, and a row or a timeline bar
opens the detail."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pytest
from streamlit.testing.v1 import AppTest

from tests.pages.conftest import APP, ROOT, no_exception, texts

PAGE = "pages/innovations.py"


@pytest.fixture
def make_app(monkeypatch: pytest.MonkeyPatch, demo_url: str, empty_url: str):
    """``make_app(page, **query_params)``: the app switched to ``page`` on the demo database.

    AppTest must run the app once before it can switch pages, and that first run shows the
    default page (Story), whose estimates take seconds with cold caches. So the first run goes
    to an empty database (the quick new-install screen) and only then to the demo one.
    """

    def _make(page: str | None = None, **params: str) -> AppTest:
        monkeypatch.chdir(ROOT)
        monkeypatch.setenv("DATABASE_URL", empty_url)
        at = AppTest.from_file(APP, default_timeout=600)
        at.run()
        monkeypatch.setenv("DATABASE_URL", demo_url)
        for key, value in params.items():
            at.query_params[key] = value
        if page is not None:
            at.switch_page(page)
        return at.run()

    return _make


def _register(at: AppTest) -> pd.DataFrame:
    return next(d.value for d in at.dataframe if {"code", "title", "stage"} <= set(d.value.columns))


def _chart_frames(at: AppTest) -> list[pd.DataFrame]:
    return [
        pa.ipc.open_stream(ds.data.data).read_pandas()
        for chart in at.get("vega_lite_chart")
        for ds in chart.proto.datasets
    ]


def test_register_lists_every_innovation_and_search_narrows_it(make_app, demo_data) -> None:
    at = make_app(PAGE)
    no_exception(at)
    table = _register(at)
    assert len(table) == 60 == len(demo_data.innovations)
    assert sorted(table["code"]) == sorted(demo_data.innovations["code"])
    assert "60 innovation(s)" in texts(at)
    at.text_input(key="register_search").input("claims").run()
    found = _register(at)
    assert 0 < len(found) < 60
    hay = (
        found["code"] + " " + found["title"] + " " + found["owner"] + " " + found["description"]
    ).str.casefold()
    assert hay.str.contains("claims").all()
    at.multiselect(key="register_stages").select("scaled").run()
    both = _register(at)
    assert set(both["stage"]) <= {"scaled"} and len(both) <= len(found)
    at.text_input(key="register_search").input("").run()
    at.multiselect(key="register_stages").set_value(["rejected"]).run()
    n_rejected = int((demo_data.innovations["stage"] == "rejected").sum())
    assert len(_register(at)) == n_rejected


def test_selecting_a_row_opens_its_detail(make_app) -> None:
    at = make_app(PAGE)
    code = _register(at)["code"].iloc[2]
    at.session_state["register"] = {"selection": {"rows": [2], "columns": [], "cells": []}}
    at.run()
    no_exception(at)
    assert at.title[0].value.startswith(f"{code} · ")
    assert at.query_params["innovation"] in (code, [code])


def test_selecting_a_row_of_a_search_result_opens_that_innovation(make_app) -> None:
    at = make_app(PAGE)
    at.text_input(key="register_search").input("claims").run()
    code = _register(at)["code"].iloc[0]
    at.session_state["register"] = {"selection": {"rows": [0], "columns": [], "cells": []}}
    at.run()
    assert at.title[0].value.startswith(f"{code} · ")


def test_clicking_a_timeline_bar_opens_its_detail(make_app, demo_data) -> None:
    """A click on a timeline bar (its selection ``innovation``, field ``code``) opens that
    innovation's detail page."""
    at = make_app(PAGE)
    code = demo_data.innovations.sort_values("code")["code"].iloc[5]
    at.session_state["timeline"] = {"selection": {"innovation": [{"code": code}]}}
    at.run()
    no_exception(at)
    assert at.title[0].value.startswith(f"{code} · ")


def test_timeline_has_one_row_per_innovation(make_app, demo_data) -> None:
    """Every innovation of the register has its row (bars carrying its code) on the
    timeline, which is clickable (a selection parameter ``innovation``)."""
    at = make_app(PAGE)
    chart = next(c for c in at.get("vega_lite_chart") if '"innovation"' in c.proto.spec)
    frames = [pa.ipc.open_stream(ds.data.data).read_pandas() for ds in chart.proto.datasets]
    bars = next(f for f in frames if "phase" in f.columns)
    assert set(bars["code"]) == set(demo_data.innovations["code"])
    assert list(chart.proto.selection_mode) == ["innovation"]


FORWARD = ["idea", "evaluation", "prototype", "pilot", "scaled"]


def _reached(inn: pd.DataFrame) -> dict[str, int]:
    """By hand: an innovation reached a forward stage when it has a date for that stage or a
    later one, or its current stage is that one or later (a retired one was scaled)."""
    out = {}
    for i, stage in enumerate(FORWARD):
        later = FORWARD[i:]
        dated = inn[[f"{s}_date" for s in later]].notna().any(axis=1)
        now = inn["stage"].isin([*later, "retired"])
        out[stage] = int((dated | now).sum())
    return out


def _demo_sql(url: str, sql: str) -> list[tuple]:
    import sqlite3

    with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
        return conn.execute(sql).fetchall()


def test_funnel_counts_the_innovations_that_reached_each_stage(make_app, demo_data) -> None:
    """The funnel's bars: all 60 reached idea; a stage is reached with its date or a later
    one's, or by being there or beyond (counted by hand); every innovation with a rollout
    reached pilot; the label says the conversion from the previous bar; 'now' is the
    register's current stage."""
    at = make_app(PAGE)
    no_exception(at)
    inn = demo_data.innovations
    reached = _reached(inn)
    shown = next(f for f in _chart_frames(at) if "reached" in f.columns)
    assert shown["stage"].tolist() == FORWARD
    assert shown["reached"].tolist() == [reached[s] for s in FORWARD]
    assert reached["idea"] == len(inn) == 60
    assert reached["pilot"] == demo_data.rollouts["innovation_id"].nunique()
    conv = reached["evaluation"] / reached["idea"]
    assert shown["label"].iloc[1] == f"{reached['evaluation']}  ·  {conv:.0%} of previous"
    now = inn["stage"].value_counts()
    assert shown.set_index("stage")["now"].to_dict() == {s: int(now.get(s, 0)) for s in FORWARD}


def test_portfolio_cards_say_the_registers_figures(make_app, demo_data, demo_url) -> None:
    """The cards by hand: 60 innovations; reached pilot as a share of them; the median days
    from idea to the first go-live at any unit (else the pilot date); the kill rate, rejected
    over rejected plus reached pilot, with its 6 rejected; and the states the register adds
    up to, read with SQL (35 live, 17 in the pipeline, 6 rejected, 2 retired)."""
    at = make_app(PAGE)
    no_exception(at)
    inn = demo_data.innovations
    reached = _reached(inn)
    rejected = int((inn["stage"] == "rejected").sum())
    first = pd.to_datetime(demo_data.rollouts.groupby("innovation_id")["go_live"].min())
    live = pd.to_datetime(inn["innovation_id"].map(first)).fillna(pd.to_datetime(inn["pilot_date"]))
    days = (live - pd.to_datetime(inn["idea_date"])).dt.days.dropna()
    metrics = {m.label: m for m in at.metric}
    assert metrics["Innovations"].value == "60"
    assert metrics["Reached pilot"].value == f"{reached['pilot'] / len(inn):.0%}"
    assert metrics["Median idea → live"].value == f"{days.median():.0f} days"
    assert metrics["Kill rate"].value == f"{rejected / (rejected + reached['pilot']):.0%}"
    assert metrics["Kill rate"].proto.delta == f"{rejected} rejected" == "6 rejected"
    [(live_now,)] = _demo_sql(
        demo_url,
        "SELECT COUNT(DISTINCT i.id) FROM innovation i JOIN rollout r ON r.innovation_id = i.id "
        "WHERE i.account_id = 1 AND r.go_live IS NOT NULL AND i.stage <> 'retired'",
    )
    by_stage = dict(
        _demo_sql(
            demo_url, "SELECT stage, COUNT(*) FROM innovation WHERE account_id = 1 GROUP BY stage"
        )
    )
    states = [live_now, 60 - live_now - by_stage["rejected"] - by_stage["retired"]]
    states += [by_stage["rejected"], by_stage["retired"]]
    assert states == [35, 17, 6, 2]


def test_portfolio_mix_counts_each_scale_category_and_origin(make_app, demo_data) -> None:
    """The mix charts count the register's innovations per value of scale, category and
    origin (a missing value as "(none)"), by hand; each dimension adds up to the 60."""
    at = make_app(PAGE)
    no_exception(at)
    inn = demo_data.innovations
    want = pd.concat(
        [
            inn[d]
            .fillna("(none)")
            .astype(str)
            .value_counts()
            .rename_axis("value")
            .reset_index()
            .assign(dimension=d)
            for d in ("scale", "category", "origin")
        ]
    )[["dimension", "value", "count"]].sort_values(["dimension", "value"])
    mix = pd.concat([f for f in _chart_frames(at) if "dimension" in f.columns])
    got = mix[["dimension", "value", "count"]].sort_values(["dimension", "value"])
    pd.testing.assert_frame_equal(
        got.reset_index(drop=True), want.reset_index(drop=True), check_dtype=False
    )
    assert want["count"].groupby(want["dimension"]).sum().eq(60).all()


def test_clicking_a_funnel_stage_lists_exactly_what_the_bar_counts(make_app, demo_data) -> None:
    """The funnel counts innovations that reached a stage; its click lists those same rows
    (it said "scaled 28" and listed the 26 scaled now, leaving out the 2 retired)."""
    at = make_app(PAGE)
    shown = next(f for f in _chart_frames(at) if "reached" in f.columns).set_index("stage")
    inn = demo_data.innovations
    # by hand: scaled now, retired (they were scaled), or any other with a scaled date
    scaled = inn[inn["stage"].isin(["scaled", "retired"]) | inn["scaled_date"].notna()]
    assert shown.loc["scaled", "reached"] == len(scaled) == 28
    at.session_state["funnel"] = {"selection": {"stage": [{"stage": "scaled"}]}}
    at.run()
    no_exception(at)
    table = _register(at)
    assert len(table) == 28 and set(table["code"]) == set(scaled["code"])
    assert set(table["stage"]) == {"scaled", "retired"}
    assert at.query_params["reached"] == "scaled"
    assert "28 innovation(s) that reached scaled" in texts(at)
    # pilot: every innovation with a pilot date or a later stage, as the bar says
    at.session_state["funnel"] = {"selection": {"stage": [{"stage": "pilot"}]}}
    at.run()
    assert len(_register(at)) == shown.loc["pilot", "reached"]


def test_go_lives_per_quarter_say_they_count_unit_rollouts(make_app, demo_data) -> None:
    at = make_app(PAGE)
    no_exception(at)
    r = demo_data.rollouts.dropna(subset=["go_live"])
    assert f"{len(r)} unit go-lives of {r['innovation_id'].nunique()} innovations" in texts(at)
    frame = next(f for f in _chart_frames(at) if "go_lives" in f.columns)
    assert int(frame["go_lives"].sum()) == len(r)


def test_category_filter_limits_every_section(make_app, demo_data) -> None:
    at = make_app(PAGE, cat="strategic impact")
    no_exception(at)
    n = int((demo_data.innovations["category"] == "strategic impact").sum())
    assert len(_register(at)) == n
    assert next(m for m in at.metric if m.label == "Innovations").value == str(n)
    shown = next(f for f in _chart_frames(at) if "reached" in f.columns)
    assert shown.set_index("stage").loc["idea", "reached"] == n


def test_register_search_and_stage_travel_in_the_url(make_app, demo_data) -> None:
    """A link with ?q=claims&stage=scaled,pilot opens the register searched and filtered that
    way; changing the search or the stages writes them back to the URL (a copied link shows
    the same list), and clearing them leaves the URL without them."""
    at = make_app(PAGE, q="claims", stage="scaled,pilot,nonsense")
    no_exception(at)
    assert at.text_input(key="register_search").value == "claims"
    assert at.multiselect(key="register_stages").value == ["scaled", "pilot"]
    shown = _register(at)
    inn = demo_data.innovations
    hay = inn["code"] + " " + inn["title"] + " " + inn["owner"].fillna("") + " "
    hay = (hay + inn["description"].fillna("")).str.casefold()
    expected = inn[hay.str.contains("claims") & inn["stage"].isin(["scaled", "pilot"])]
    assert sorted(shown["code"]) == sorted(expected["code"]) and len(shown) > 0
    assert at.query_params["stage"] in ("scaled,pilot", ["scaled,pilot"])  # the unknown dropped

    at.text_input(key="register_search").input("portal").run()
    at.multiselect(key="register_stages").set_value(["rejected"]).run()
    no_exception(at)
    assert at.query_params["q"] in ("portal", ["portal"])
    assert at.query_params["stage"] in ("rejected", ["rejected"])
    at.text_input(key="register_search").input("").run()
    at.multiselect(key="register_stages").set_value([]).run()
    assert "q" not in at.query_params and "stage" not in at.query_params
