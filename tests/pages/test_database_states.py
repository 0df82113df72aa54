"""Words, never tracebacks (issue #15): every page with the database unreachable, figures kept
"as of" a time when it stops answering mid-session, an action failing on a database that went
away, and a new install — an empty SQLite file or an empty PostgreSQL database, no tables —
reaching the welcome page and importing its first files from the browser."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url
from streamlit.testing.v1 import AppTest

import data_loaders.batches  # noqa: F401 - bound before _database_gone patches (see there)
from data_loaders.db import DatabaseUnavailable
from tests.pages.conftest import APP, ROOT, leftover_patches, no_exception, texts
from ui.nav import PAGE_SPECS

UNREACHABLE = "postgresql+psycopg://x:y@127.0.0.1:1/none?connect_timeout=2"
VALID = Path(__file__).resolve().parents[1] / "data" / "import_valid"


def _unreachable_state(at: AppTest) -> None:
    no_exception(at)
    errors = " ".join(str(e.value) for e in at.error)
    assert "The database is not reachable right now" in errors
    assert "cannot be reached" in errors and ":y@" not in errors  # no password shown
    assert "Try again" in [b.label for b in at.button]


@pytest.mark.parametrize("page", [p.path for p in PAGE_SPECS])
def test_every_page_says_the_database_is_unreachable(
    page: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each page, opened with an unreachable database URL, shows the designed message with
    "Try again" and no exception."""
    monkeypatch.setenv("DATABASE_URL", UNREACHABLE)
    monkeypatch.chdir(ROOT)
    at = AppTest.from_file(APP, default_timeout=600).run()
    _unreachable_state(at)
    at.switch_page(page).run()
    _unreachable_state(at)


def test_present_mode_says_the_database_is_unreachable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", UNREACHABLE)
    at = AppTest.from_file(APP, default_timeout=600)
    at.query_params["present"] = "1"
    _unreachable_state(at.run())


def _database_gone(monkeypatch: pytest.MonkeyPatch) -> None:
    """From now on the database answers nothing: the version query, reads and imports.
    ``data_loaders.batches`` holds its own name for ``importer._connect``; it is imported at
    the top of this module, so that name is the real function when both are patched here
    (imported by the patch itself, after ``importer._connect`` was patched, it copied the
    patch, and monkeypatch then put the patch back as the "original": the Data page tests
    that ran next said "db.example … refused")."""

    def down(*_a: object, **_k: object) -> None:
        raise DatabaseUnavailable("The database at db.example cannot be reached: refused")

    monkeypatch.setattr("ui.page_context.data_version", down)
    monkeypatch.setattr("data_loaders.importer._connect", down)
    monkeypatch.setattr("data_loaders.batches._connect", down)


def test_figures_stay_as_of_when_the_database_stops_answering(
    writable_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The database goes away after a page was shown: the next run keeps the figures read
    then and says from when ("as of HH:MM, database not reachable"), with "Try again"."""
    at = AppTest.from_file(APP, default_timeout=120).run()
    no_exception(at)
    before = {m.label: m.value for m in at.metric}
    assert "Value to date" in before
    _database_gone(monkeypatch)
    at.run()
    no_exception(at)
    warning = " ".join(str(w.value) for w in at.warning)
    assert "Figures as of " in warning and "database not reachable" in warning
    assert {m.label: m.value for m in at.metric} == before
    assert "Try again" in [b.label for b in at.button]


def test_import_with_the_database_gone_shows_words_not_a_traceback(
    writable_url: str, empty_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On the Data page, Import while the database is down: the designed message with
    "Try again" where the result would be; the page itself still renders."""
    monkeypatch.setenv("DATABASE_URL", empty_url)
    at = AppTest.from_file(APP, default_timeout=600).run()
    monkeypatch.setenv("DATABASE_URL", writable_url)
    at.switch_page("pages/data.py").run()
    no_exception(at)
    _database_gone(monkeypatch)
    events = (VALID / "events.csv").read_bytes()
    at.file_uploader(key="upload").set_value(("events.csv", events, "text/csv")).run()
    next(b for b in at.button if b.label == "Import").click().run()
    no_exception(at)
    body = texts(at)
    assert "The database is not reachable right now" in body and "refused" in body
    assert "Try again" in [b.label for b in at.button]
    assert at.title[0].value == "Data"


@pytest.fixture(params=["sqlite", "postgresql"])
def bare_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database with no tables at all: a new SQLite file, or a new PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'new.sqlite'}"
        return
    admin_url = os.environ.get("TEST_DATABASE_URL")
    if not admin_url:
        pytest.skip("TEST_DATABASE_URL not set (PostgreSQL tests run in CI)")
    name = f"tnn_bare_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        import streamlit as st

        st.cache_resource.clear()  # the app's engine holds connections to it
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_empty_database_reaches_the_welcome_page_and_imports_from_the_browser(
    bare_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No tables: the app creates them at start and shows the welcome page, which points to
    the Data page; there a new install uploads its first files and imports them."""
    monkeypatch.setenv("DATABASE_URL", bare_url)
    monkeypatch.chdir(ROOT)
    at = AppTest.from_file(APP, default_timeout=120).run()
    no_exception(at)
    assert at.title[0].value == "Welcome to Then & Now"
    assert "**Data** page" in texts(at)
    eng = create_engine(bare_url)
    assert inspect(eng).has_table("account") and inspect(eng).has_table("estimate_claim")
    eng.dispose()

    at.switch_page("pages/data.py").run()
    no_exception(at)
    assert at.title[0].value == "Data" and "No data yet" in texts(at)
    files = [(p.name, p.read_bytes(), "text/csv") for p in sorted(VALID.glob("*.csv"))]
    at.file_uploader(key="upload").set_value(files).run()
    next(b for b in at.button if b.label == "Import").click().run()
    no_exception(at)
    assert any("Imported as batch 1" in str(s.value) for s in at.success), texts(at)
    at.switch_page("pages/contract.py").run()
    no_exception(at)
    assert at.title[0].value == "Contract"


def test_a_patch_left_behind_is_named() -> None:
    """The guard of tests/pages/conftest.py can fail: an app module attribute still holding
    a test's function (as ``data_loaders.batches._connect`` did) is found and named."""
    from data_loaders import batches

    real = batches._connect

    def leaked(*_a: object, **_k: object) -> None:
        raise AssertionError("never called")

    batches._connect = leaked  # type: ignore[assignment]  # the leak under test
    try:
        found = leftover_patches()
    finally:
        batches._connect = real
    assert [x for x in found if x.startswith("data_loaders.batches._connect = ")], found
    assert not leftover_patches()


def test_the_database_patches_are_undone() -> None:
    """After ``_database_gone`` is undone, every name it patched is the real function again."""
    from data_loaders import batches, db, importer
    from ui import page_context

    mp = pytest.MonkeyPatch()
    _database_gone(mp)
    assert batches._connect is importer._connect is not None
    mp.undo()
    assert batches._connect.__module__ == importer._connect.__module__ == "data_loaders.importer"
    assert batches._connect is importer._connect
    assert page_context.data_version is db.data_version
