"""AppTest fixtures: a demo SQLite database built once per session, DATABASE_URL pointing at
it, and fresh Streamlit caches for every test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")


@pytest.fixture(scope="session")
def demo_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    from data_loaders.db import make_engine, migrate
    from data_loaders.demo import load_demo

    path = tmp_path_factory.mktemp("pages") / "demo.sqlite"
    url = f"sqlite:///{path}"
    eng = make_engine(url)
    migrate(eng)
    load_demo(eng)
    eng.dispose()
    return url


@pytest.fixture(scope="session")
def empty_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A migrated database without any account (a new install)."""
    from data_loaders.db import make_engine, migrate

    url = f"sqlite:///{tmp_path_factory.mktemp('pages-empty') / 'empty.sqlite'}"
    eng = make_engine(url)
    migrate(eng)
    eng.dispose()
    return url


@pytest.fixture(autouse=True)
def _navigation_v2(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run every page through the frame, as a live server does once any session has called
    ``st.navigation``. (AppTest otherwise starts each run in Streamlit's legacy pages-
    directory mode, which runs the page script alone; the app survives that with a detour
    through the frame — tests marked ``legacy_pages_mode`` check exactly that.)"""
    if request.node.get_closest_marker("legacy_pages_mode"):
        return
    from streamlit.runtime.pages_manager import PagesManager

    original = PagesManager.__init__

    def init(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        original(self, *args, **kwargs)
        PagesManager.uses_pages_directory = False

    monkeypatch.setattr(PagesManager, "__init__", init)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "legacy_pages_mode: run AppTest without forcing "
                                       "st.navigation mode (tests the deep-link detour)")


@pytest.fixture(autouse=True)
def _fresh_caches() -> Iterator[None]:
    st.cache_data.clear()
    st.cache_resource.clear()
    yield
    st.cache_data.clear()


@pytest.fixture
def demo_env(monkeypatch: pytest.MonkeyPatch, demo_url: str) -> str:
    monkeypatch.setenv("DATABASE_URL", demo_url)
    monkeypatch.chdir(ROOT)
    return demo_url


@pytest.fixture
def make_app(demo_env: str) -> Callable[..., AppTest]:
    """``make_app(page=None, **query_params)``: the app on the demo database, run once (the
    Story page), then switched to ``page`` and run again when one is given."""

    def _make(page: str | None = None, **params: str) -> AppTest:
        at = AppTest.from_file(APP, default_timeout=60)
        for key, value in params.items():
            at.query_params[key] = value
        at.run()
        if page is not None:
            at.switch_page(page).run()
        return at

    return _make


@pytest.fixture
def demo_data(demo_url: str):  # type: ignore[no-untyped-def]
    """The demo account's data bundle, exactly as the app loads it."""
    from data_loaders.access import Scope
    from data_loaders.db import make_engine
    from data_loaders.queries import list_accounts, load_account_data

    eng = make_engine(demo_url)
    scope = Scope.everything()
    account_id = int(list_accounts(eng, scope)["account_id"].iloc[0])
    data = load_account_data(eng, scope, account_id)
    eng.dispose()
    return data


def texts(at: AppTest) -> str:
    """Every piece of visible text in the app tree, joined (for content assertions)."""
    parts: list[str] = []
    for kind in ("markdown", "caption", "title", "header", "subheader", "info", "warning",
                 "error", "success", "text", "latex"):
        parts.extend(str(getattr(e, "value", "")) for e in getattr(at, kind))
    return "\n".join(parts)


def no_exception(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
