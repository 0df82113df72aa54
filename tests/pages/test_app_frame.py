"""The frame: filters in the URL (and surviving page switches), designed empty and error
states, the local-mode banner, present mode, and the deep-link detour."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.pages.conftest import APP, chart_frames, no_exception, texts
from ui.page_states import LOCAL_MODE, NO_SELECTION

UNIT = "Manila · Claims intake"


def test_filter_lists_have_no_select_all_row(make_app) -> None:
    """Units and Category offer no "Select all" row: empty already means all, and as the
    list's first row it was chosen by a search + Enter or a stray click."""
    at = make_app()
    boxes = {m.label: m for m in at.sidebar.multiselect}
    assert set(boxes) == {"Units", "Category"}
    for box in boxes.values():
        assert box.proto.HasField("select_all") and box.proto.select_all == 0


def test_filters_are_mirrored_in_the_url_and_survive_page_switches(make_app) -> None:
    at = make_app("pages/contract.py")
    units = next(m for m in at.multiselect if m.label == "Units")
    units.set_value([UNIT]).run()
    no_exception(at)
    assert at.query_params["units"] == UNIT
    assert at.query_params["account"] == "Northwind Insurance"
    at.switch_page("pages/then_now.py").run()
    no_exception(at)
    assert next(m for m in at.multiselect if m.label == "Units").value == [UNIT]
    assert at.query_params["units"] == UNIT
    assert UNIT in texts(at)  # the page's caption names the selection


def test_a_link_reopens_the_same_view(make_app) -> None:
    at = make_app(
        "pages/value.py",
        units=UNIT,
        **{"from": "2024-01", "to": "2025-06"},
        cat="operational efficiency",
    )
    no_exception(at)
    assert next(m for m in at.multiselect if m.label == "Units").value == [UNIT]
    assert next(m for m in at.multiselect if m.label == "Category").value == [
        "operational efficiency"
    ]
    assert at.select_slider[0].value == ("2024-01", "2025-06")
    assert f"{UNIT} · Jan 2024 – Jun 2025 · operational efficiency" in texts(at)
    assert at.query_params["from"] == "2024-01" and at.query_params["to"] == "2025-06"


def test_unknown_account_in_the_url_is_refused(make_app) -> None:
    """An account the caller cannot see is refused with a message, never silently replaced
    by another account: no figure, no filter, no page link is drawn."""
    at = make_app(account="Someone Else")
    no_exception(at)
    assert any("Someone Else is not available to you" in e.value for e in at.error)
    assert at.query_params["account"] == "Someone Else"
    assert not at.metric and not at.sidebar.selectbox and not at.sidebar.multiselect
    assert "Northwind" not in texts(at)


def test_first_screen_shows_the_accounts_data_freshness(make_app, demo_url: str) -> None:
    """The sidebar of the first screen names each account's latest data month and import."""
    from data_loaders.access import Scope
    from data_loaders.db import make_engine
    from data_loaders.queries import list_accounts

    eng = make_engine(demo_url)
    rows = list_accounts(eng, Scope.everything()).to_dict("records")
    eng.dispose()
    assert len(rows) == 2  # the demo's two accounts: each line names its account
    at = make_app()
    no_exception(at)
    captions = "\n".join(c.value for c in at.sidebar.caption)
    for row in rows:
        when = row["last_import"]
        assert f"data to {row['last_period']:%b %Y}" in captions, captions
        assert f"imported {when.day} {when:%b %Y}" in captions, captions
        assert row["name"] in captions


def test_freshness_lines_name_each_account_and_flag_stale_data() -> None:
    import datetime as dt

    import pandas as pd

    from ui.filters import freshness_lines

    accounts = pd.DataFrame(
        {
            "name": ["Alpha", "Beta", "Gamma"],
            "last_period": pd.to_datetime(pd.Series(["2026-10-01", "2026-06-01", None])),
            "last_import": pd.to_datetime(pd.Series(["2026-11-20 09:00", None, None])),
        }
    )
    lines = freshness_lines(accounts, today=dt.date(2026, 11, 23))
    assert lines[0] == "**Alpha** · data to Oct 2026 · imported 20 Nov 2026"
    assert lines[1] == "**Beta** · data to Jun 2026 :orange[(146 days behind)]"
    assert lines[2] == "**Gamma** · no KPI data yet"
    assert freshness_lines(accounts.head(1), today=dt.date(2026, 11, 23)) == [
        "Data to Oct 2026 · imported 20 Nov 2026"
    ]


def test_local_mode_banner(make_app) -> None:
    at = make_app("pages/contract.py")
    assert any(LOCAL_MODE in c.value for c in at.sidebar.caption)


def test_new_install_says_how_to_load_data(monkeypatch: pytest.MonkeyPatch, empty_url: str) -> None:
    monkeypatch.setenv("DATABASE_URL", empty_url)
    at = AppTest.from_file(APP, default_timeout=600).run()
    no_exception(at)
    body = texts(at)
    assert "make demo" in body and "Data" in body


def test_missing_schema_is_a_new_install(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'fresh.sqlite'}")
    at = AppTest.from_file(APP, default_timeout=600).run()
    no_exception(at)
    assert "make demo" in texts(at)


def test_database_down_then_back(monkeypatch: pytest.MonkeyPatch, demo_url: str) -> None:
    monkeypatch.setenv(
        "DATABASE_URL", "postgresql+psycopg://app:secret@127.0.0.1:9/nowhere?connect_timeout=2"
    )
    at = AppTest.from_file(APP, default_timeout=600).run()
    no_exception(at)
    [err] = at.error
    assert "not reachable" in err.value and "secret" not in err.value
    assert at.button[0].label == "Try again"
    monkeypatch.setenv("DATABASE_URL", demo_url)  # the database is back
    at.button[0].click().run()
    no_exception(at)
    assert not at.error
    assert any(m.label == "Value to date" for m in at.metric)


def test_present_mode(make_app) -> None:
    at = make_app(present="1")
    no_exception(at)
    assert not at.sidebar.multiselect and not at.multiselect  # no widgets
    assert at.title[0].value == "Where we are"
    assert any(m.label == "Value to date" for m in at.metric)
    titles = [at.title[0].value]
    while not (nxt := next(b for b in at.button if b.label == "Next")).disabled:
        nxt.click().run()
        no_exception(at)
        assert at.query_params["present"] == "1"
        assert at.query_params["screen"] == str(len(titles) + 1)
        titles.append(at.title[0].value)
    # the story is split over screens that fit a laptop; the contract gets one per clause
    story = [t for t in titles if t.startswith("The story so far")]
    assert len(story) >= 2 and story[0] == f"The story so far (1 of {len(story)})"
    assert titles[len(story) + 1 :] == [
        "Value, month after month",
        "Then and now",
        "What drove it",
        "The productivity clause",
        "The gain-share",
        "What's next",
    ]


def _demo_sql(url: str, sql: str) -> list[tuple]:
    import sqlite3

    with sqlite3.connect(url.removeprefix("sqlite:///")) as c:
        return c.execute(sql).fetchall()


def test_present_closing_screen_weighs_the_pipeline_by_the_realisation(make_app, demo_url) -> None:
    """The last screen asks for the renewal with the pipeline's claim (the 17 open
    innovations' claims a year, summed from the innovation table) adjusted by the share of
    its claims the account has realised so far (the Value page's evidence table: measured /
    claimed, 69 % on the demo), and lists the five furthest along, largest claim first."""
    from metrics.format import money

    def usd(v: float) -> str:
        return money(v, "USD", "en_US")

    value = make_app("pages/value.py")
    no_exception(value)
    [lines] = [d.value for d in value.dataframe if "evidence" in d.value.columns]
    claimed, measured = lines["claimed"].sum(), lines["measured"].sum()
    realised = measured / claimed
    open_ = "('idea', 'evaluation', 'prototype')"
    [(n, per_year)] = _demo_sql(
        demo_url,
        "SELECT COUNT(*), SUM(estimated_annual_value) FROM innovation "
        f"WHERE account_id = 1 AND stage IN {open_}",
    )
    assert n == 17 and round(realised, 2) == 0.69
    next_up = _demo_sql(
        demo_url,
        "SELECT code FROM innovation WHERE account_id = 1 AND stage IN "
        f"{open_} ORDER BY CASE stage WHEN 'prototype' THEN 0 WHEN 'evaluation' THEN 1 "
        "ELSE 2 END, estimated_annual_value DESC, code LIMIT 5",
    )
    at = make_app(present="1", screen="next")
    no_exception(at)
    assert at.title[0].value == "What's next"
    body = texts(at)
    assert (
        f"**17 innovations in the pipeline claim {usd(per_year)} a year; at the "
        f"{realised:.0%} of its claims this account has realised so far, about "
        f"{usd(per_year * realised)}.**"
    ) in body
    assert (
        "So far the 37 innovations live in the period (35 live now, 2 retired) claimed "
        f"{usd(claimed)} and {usd(measured)} was measured."
    ) in body
    [table] = at.dataframe
    assert list(table.value["code"]) == [c for (c,) in next_up]


def test_present_mode_without_data_keeps_its_buttons(make_app) -> None:
    at = make_app(present="1", screen="3", **{"from": "2031-01", "to": "2031-06"})
    no_exception(at)
    assert "no data to present" in texts(at)
    assert [b.label for b in at.button] == ["Previous", "Next"]


def test_a_page_streamlit_runs_without_app_py_runs_the_frame_in_the_same_run(
    demo_env: str,
) -> None:
    """AppTest, like a new server's first session, is in Streamlit's legacy pages/ mode: it runs
    ``pages/contract.py`` without app.py. The page runs the frame in that same run (no detour
    through app.py, no rerun): the sidebar's filters come from the URL and the page shows its
    own content under them, once."""
    at = AppTest.from_file(APP, default_timeout=600)
    at.query_params["units"] = UNIT
    at.query_params["present"], at.query_params["screen"] = "1", "7"
    at.run()
    del at.query_params["present"], at.query_params["screen"]
    at.switch_page("pages/contract.py").run()
    no_exception(at)
    assert [t.value for t in at.title] == ["Contract"]
    assert next(m for m in at.multiselect if m.label == "Units").value == [UNIT]
    assert at.query_params["units"] == UNIT
    assert len([m for m in at.multiselect if m.label == "Units"]) == 1


def test_no_data_for_selection_message(make_app) -> None:
    at = make_app("pages/value.py", **{"from": "2031-01", "to": "2031-06"})
    no_exception(at)
    assert any(NO_SELECTION in i.value for i in at.info)


def test_present_bridge_carries_evidence_once_the_estimates_are_stored(
    make_app, demo_bundle, demo_url
) -> None:
    """Present mode's "What drove it" labels each innovation's bar with its evidence level
    when the estimates of the current data are stored (it never waits for them): a bar whose
    stored estimate is in money with an interval excluding zero is 'estimated', any other
    named bar (it has a measured value) 'measured' (the stored rows read with SQL)."""
    from data_loaders.db import make_engine
    from data_loaders.estimate_store import save_estimates
    from metrics.versions import estimates_version

    data, est = demo_bundle
    eng = make_engine(demo_url)
    save_estimates(eng, data.account.id, estimates_version(data), est)
    eng.dispose()
    proven = {
        code
        for (code,) in _demo_sql(
            demo_url,
            "SELECT i.code FROM estimate_result e JOIN innovation i ON i.id = e.innovation_id "
            "WHERE e.excludes_zero AND e.estimated IS NOT NULL AND e.run_id = "
            "(SELECT MAX(id) FROM estimate_run WHERE account_id = 1)",
        )
    }
    at = make_app(present="1", screen="bridge")
    no_exception(at)
    assert at.title[0].value == "What drove it"
    [shown] = [f for f in chart_frames(at) if {"label", "kind", "evidence"} <= set(f.columns)]
    named = shown[(shown["kind"] == "step") & (shown["code"] != "")]
    assert len(named) == 6
    assert list(named["evidence"]) == [
        "estimated" if c in proven else "measured" for c in named["code"]
    ]
    assert {"estimated"} <= set(shown["evidence"])
    others = shown[shown["code"] == ""]
    assert (others["evidence"].fillna("") == "").all()
