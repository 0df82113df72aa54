"""Data page (AppTest on a writable copy of the demo database): import with validation report,
dry run, rollback with confirmation, history, freshness, templates and the method."""

from __future__ import annotations

import re
from collections.abc import Callable

import pandas as pd
import pytest
from sqlalchemy import func, select
from streamlit.testing.v1 import AppTest

from data_loaders.access import AccessDenied, Scope
from data_loaders.db import make_engine
from data_loaders.schema import Event, ImportBatch, KpiObservation
from tests.pages.conftest import APP, ROOT, no_exception, texts

DATA = "pages/data.py"
VALID = (
    b"account,date,title,kind,description\n"
    b"Northwind Insurance,2026-11-05,Renewal workshop,contract,Scoping the renewal\n"
)
INVALID = (
    b"account,site,process,kpi,period,value,volume\n"
    b"Northwind Insurance,Manila,Claims intake,aht,2026-11,abc,100\n"
    b"Northwind Insurance,Atlantis,Claims intake,aht,2026-11,300,100\n"
)


@pytest.fixture
def data_page(
    writable_url: str, empty_url: str, monkeypatch: pytest.MonkeyPatch
) -> Callable[[], AppTest]:
    """Open the Data page on the writable copy. AppTest must run the app once before it can
    switch pages; that first run (the Story page) goes to an empty database, where it is quick
    — on the demo it would estimate every innovation with cold caches."""

    def _open() -> AppTest:
        monkeypatch.setenv("DATABASE_URL", empty_url)
        # Generous: an import or rollback refreshes the demo's causal estimates within the
        # run (services.imports); the timeout guards against a hang, it is no speed check.
        at = AppTest.from_file(APP, default_timeout=900)
        at.run()
        monkeypatch.setenv("DATABASE_URL", writable_url)
        at.switch_page(DATA).run()
        no_exception(at)
        return at

    return _open


def _count(url: str, model) -> int:
    eng = make_engine(url)
    with eng.connect() as conn:
        n = int(conn.execute(select(func.count()).select_from(model)).scalar_one())
    eng.dispose()
    return n


FRAMES = {  # a table on the page, told apart by its columns
    "history": {"id", "status", "source", "rows_read"},
    "import_counts": {"entity", "read", "new", "updated", "unchanged"},
    "problems": {"file", "row", "column", "message"},
}


def _frame(at: AppTest, name: str) -> pd.DataFrame:
    return next(d.value for d in at.dataframe if FRAMES[name] <= set(d.value.columns))


def test_page_shows_history_freshness_templates_and_method(data_page) -> None:
    at = data_page()
    text = texts(at)
    hist = _frame(at, "history")
    # the demo's two accounts, one batch each
    assert len(hist) == 2 and (hist["status"] == "applied").all()
    assert hist["source"].str.startswith("demo generator").all()
    # 9 units × 6 KPIs; how many are stale depends on today's date (the demo ends Oct 2026)
    assert re.search(r"\b\d+ of 54 series are more than 45 days behind\.", text)
    assert "KPI data: last period per unit and KPI" in text
    labels = [b.label for b in at.get("download_button")]
    assert "All entities (Excel workbook)" in labels
    assert {
        "accounts.csv",
        "units.csv",
        "kpis.csv",
        "innovations.csv",
        "rollouts.csv",
        "events.csv",
        "observations.csv",
    } <= set(labels)
    for title in (
        "Baseline",
        "Measured benefit",
        "Attributed and unattributed value",
        "Estimated (causal) effect",
        "Gain-share",
        "Productivity clause",
    ):
        assert f"**{title}.**" in text
    assert any(r"(1-g)\,G" in x.value for x in at.get("latex"))
    assert "**proven (causal estimate)** —" in text and "**claimed** —" in text


def test_the_data_page_speaks_a_readers_words(data_page) -> None:
    """No "None" where nobody signed in did the import, the KPI's name and not its key in
    the freshness table, and never the demo's hidden ground truth (its planted effects) in
    the history, the freshness tables, the templates or anywhere else on the page."""
    import json

    at = data_page()
    text = texts(at)
    assert "planted" not in text.casefold()
    labels = [b.label for b in at.get("download_button")]
    assert not [x for x in labels if "planted" in x]
    shown = []
    for d in at.dataframe:
        config = json.loads(d.proto.columns or "{}")
        # what the reader sees: the columns the table does not hide
        cols = [c for c in d.value.columns if not config.get(str(c), {}).get("hidden")]
        shown.append(d.value[cols])
    for frame in shown:
        cells = frame.astype(str).to_numpy().ravel().tolist()
        assert not [c for c in cells if "planted" in c.casefold()], frame.columns.tolist()
        for col in frame.columns:
            if col == "user":
                assert "None" not in set(frame[col].astype(str)), frame.columns.tolist()
    fresh = next(f for f in shown if "kpi_label" in f.columns)
    assert "kpi_key" not in fresh.columns  # hidden: the name is shown, not the key
    assert {"Cost per transaction", "Average handle time"} <= set(fresh["kpi_label"])
    entities = next(f for f in shown if {"entity", "batch_id"} <= set(f.columns))
    assert (entities["user"] == "—").all()  # the demo was loaded by no signed-in user
    hist = _frame(at, "history")
    assert hist["entity"].str.contains("observations").all()


def test_valid_upload_imports_and_shows_counts(data_page, writable_url: str) -> None:
    at = data_page()
    before = _count(writable_url, Event)
    at.file_uploader(key="upload").set_value(("events.csv", VALID, "text/csv")).run()
    at.button[0].click().run()  # Validate only
    no_exception(at)
    assert "**Valid.** Nothing was written yet" in texts(at)
    counts = _frame(at, "import_counts").set_index("entity")
    assert counts.loc["events", "new"] == 1
    assert _count(writable_url, Event) == before  # dry run wrote nothing
    next(b for b in at.button if b.label == "Import").click().run()
    no_exception(at)
    assert _count(writable_url, Event) == before + 1
    assert "**Imported as batch 3.**" in texts(at)
    assert _frame(at, "import_counts").set_index("entity").loc["events", "new"] == 1
    assert _frame(at, "history")["id"].tolist() == [3, 2, 1]


def test_an_unknown_column_is_listed_on_the_page(data_page, writable_url: str) -> None:
    """An events file with an extra column `colour` validates, and the page warns that the
    column is not part of the events format and was ignored (the CLI prints the same)."""
    at = data_page()
    extra = (
        b"account,date,title,kind,description,colour\n"
        b"Northwind Insurance,2026-11-05,Renewal workshop,contract,Scoping the renewal,blue\n"
    )
    at.file_uploader(key="upload").set_value(("events.csv", extra, "text/csv")).run()
    at.button[0].click().run()  # Validate only
    no_exception(at)
    assert "**Valid.** Nothing was written yet" in texts(at)
    warnings = [w.value for w in at.warning]
    assert any(
        "column colour is not part of the events format and was ignored" in w for w in warnings
    ), warnings


def test_invalid_upload_reports_file_row_column_and_changes_nothing(
    data_page, writable_url: str
) -> None:
    at = data_page()
    before = _count(writable_url, KpiObservation), _count(writable_url, ImportBatch)
    at.file_uploader(key="upload").set_value(("observations.csv", INVALID, "text/csv")).run()
    next(b for b in at.button if b.label == "Import").click().run()
    no_exception(at)
    problems = _frame(at, "problems")
    assert list(problems.columns) == ["file", "row", "column", "message"]
    assert set(problems["file"]) == {"observations.csv"}
    assert 2 in set(problems["row"]) and "value" in set(problems["column"])
    assert 3 in set(problems["row"])
    assert any("Atlantis" in m for m in problems["message"])
    assert "Nothing was imported" in texts(at)
    report = next(b for b in at.get("download_button") if "report" in b.label)
    assert report is not None
    assert (_count(writable_url, KpiObservation), _count(writable_url, ImportBatch)) == before


def test_rollback_needs_confirmation_and_undoes_the_batch(data_page, writable_url: str) -> None:
    at = data_page()
    before = _count(writable_url, Event)
    at.file_uploader(key="upload").set_value(("events.csv", VALID, "text/csv")).run()
    next(b for b in at.button if b.label == "Import").click().run()
    assert _count(writable_url, Event) == before + 1
    at = data_page()  # a fresh visit: history lists batch 3 first
    at.selectbox(key="rollback_batch").select(3).run()
    next(b for b in at.button if b.label == "Roll back…").click().run()
    assert "Roll back batch 3?" in texts(at)
    assert _count(writable_url, Event) == before + 1  # nothing happens before confirming
    next(b for b in at.button if b.label == "Cancel").click().run()
    assert "Roll back batch 3?" not in texts(at)
    next(b for b in at.button if b.label == "Roll back…").click().run()
    next(b for b in at.button if b.label == "Yes, roll back").click().run()
    no_exception(at)
    assert "Batch 3 was rolled back: 1 row(s) removed" in texts(at)
    assert _count(writable_url, Event) == before
    hist = _frame(at, "history").set_index("id")
    assert hist.loc[3, "status"] == "rolled_back"


def test_actions_refuse_non_admins(writable_url: str) -> None:
    from ui.data_actions import rollback, run_import

    client = Scope(role="client executive", account_ids=frozenset({1}))
    eng = make_engine(writable_url)
    with pytest.raises(AccessDenied):
        run_import(eng, client, [("events.csv", VALID)], dry_run=True)
    with pytest.raises(AccessDenied):
        rollback(eng, client, 1)
    eng.dispose()


def test_empty_database_says_how_to_load_data(
    monkeypatch: pytest.MonkeyPatch, empty_url: str
) -> None:
    monkeypatch.setenv("DATABASE_URL", empty_url)
    monkeypatch.chdir(ROOT)
    at = AppTest.from_file(APP, default_timeout=600)
    at.run()
    at.switch_page(DATA).run()
    no_exception(at)
    text = texts(at)
    assert "make demo" in text
    assert at.file_uploader(key="upload") is not None  # an admin can upload right here
    assert "No imports yet." in text
