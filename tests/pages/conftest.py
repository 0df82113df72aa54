"""AppTest fixtures: a demo SQLite database built once per session, DATABASE_URL pointing at
it, and fresh Streamlit caches for every test."""

from __future__ import annotations

import datetime as dt
import shutil
import sys
import types
from collections.abc import Callable, Iterator
from pathlib import Path
from unittest import mock

import pandas as pd
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")


#: The app's packages: a page test may patch their attributes, never leave a patch behind.
APP_PACKAGES = ("data_loaders", "metrics", "services", "story", "ui", "charts", "reports")


def leftover_patches() -> list[str]:
    """Attributes of the app's modules that hold a function defined in a test, or a mock:
    a patch that outlived its test. (``monkeypatch.setattr("pkg.mod.name", …)`` imports
    ``pkg.mod`` when no test has yet; if that import copies a name from a module patched a
    line earlier — ``from data_loaders.importer import _connect`` — the copy is the patch,
    and monkeypatch "restores" the patch: it then lives on in every later test.)"""
    found = []
    for name, module in list(sys.modules.items()):
        if not isinstance(module, types.ModuleType) or name.split(".")[0] not in APP_PACKAGES:
            continue
        for attr, value in list(vars(module).items()):
            if isinstance(value, mock.Base) or (
                isinstance(value, types.FunctionType)
                and str(getattr(value, "__module__", "")).startswith("tests")
            ):
                found.append(f"{name}.{attr} = {value!r}")
    return found


@pytest.fixture(autouse=True)
def _clean_patches() -> Iterator[None]:
    """No patch outlives its test. pytest sets up a conftest's autouse fixtures in the order
    of their names, so this one comes before every test's own ``monkeypatch``, and checks
    again after its undo (were that order to change, the check
    after the test would fail loudly, never pass silently)."""
    assert not leftover_patches(), "a patch of an earlier test is still in place"
    yield
    assert not leftover_patches(), "this test left a patch in place"


def copy_database(demo_url: str, dst: Path) -> str:
    """A private copy of the demo SQLite database at ``dst`` (with its WAL files), by URL."""
    src = Path(demo_url.removeprefix("sqlite:///"))
    for suffix in ("", "-wal", "-shm"):
        if Path(f"{src}{suffix}").exists():
            shutil.copy(f"{src}{suffix}", f"{dst}{suffix}")
    return f"sqlite:///{dst}"


@pytest.fixture
def writable_url(tmp_path: Path, demo_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """A private copy of the demo database (the test writes to it), as DATABASE_URL."""
    url = copy_database(demo_url, tmp_path / "demo.sqlite")
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.chdir(ROOT)
    return url


@pytest.fixture(scope="session")
def demo_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    from data_loaders.access import Scope
    from data_loaders.db import make_engine, migrate
    from data_loaders.demo import load_demo
    from data_loaders.queries import list_accounts
    from services.estimates import ensure_estimates

    path = tmp_path_factory.mktemp("pages") / "demo.sqlite"
    url = f"sqlite:///{path}"
    eng = make_engine(url)
    migrate(eng)
    result = load_demo(eng)
    # As `thenandnow demo` leaves it: estimates stored (tests of the not-stored path use
    # ``unestimated_url``), so no page test waits on the estimator inside its timeout.
    for account_id in list_accounts(eng, Scope.everything())["account_id"]:
        ensure_estimates(eng, Scope.everything(), int(account_id))
    assert result.ok
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
def _fresh_caches() -> Iterator[None]:
    from services import estimates_background

    st.cache_data.clear()
    st.cache_resource.clear()
    yield
    st.cache_data.clear()
    estimates_background.stop_all()  # a page's background estimates end with its test


@pytest.fixture
def demo_env(monkeypatch: pytest.MonkeyPatch, demo_url: str) -> str:
    monkeypatch.setenv("DATABASE_URL", demo_url)
    monkeypatch.chdir(ROOT)
    return demo_url


@pytest.fixture
def make_app(demo_env: str) -> Callable[..., AppTest]:
    """``make_app(page=None, **query_params)``: the app on the demo database with these URL
    parameters, showing ``page`` (the Story page when None)."""

    def _make(page: str | None = None, **params: str) -> AppTest:
        at = AppTest.from_file(APP, default_timeout=600)
        for key, value in params.items():
            at.query_params[key] = value
        if page is None or page == "pages/story.py":
            return at.run()
        # AppTest must run once before switching page; run the cheapest screen (present
        # mode's pipeline, which leaves the filters to the URL), then go to the page.
        at.query_params["present"], at.query_params["screen"] = "1", "7"
        at.run()
        del at.query_params["present"], at.query_params["screen"]
        return at.switch_page(page).run()

    return _make


@pytest.fixture
def unestimated_url(demo_url: str, tmp_path: Path) -> str:
    """A copy of the demo database without stored estimates (as right after an import)."""
    import sqlite3

    copy = tmp_path / "fresh.sqlite"
    with sqlite3.connect(demo_url.removeprefix("sqlite:///")) as src, sqlite3.connect(copy) as dst:
        src.backup(dst)
        dst.execute("DELETE FROM estimate_result")
        dst.execute("DELETE FROM estimate_run")
    return f"sqlite:///{copy}"


@pytest.fixture
def demo_data(demo_url: str):
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
    for kind in (
        "markdown",
        "caption",
        "title",
        "header",
        "subheader",
        "info",
        "warning",
        "error",
        "success",
        "text",
        "latex",
    ):
        parts.extend(str(getattr(e, "value", "")) for e in getattr(at, kind))
    return "\n".join(parts)


def no_exception(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


@pytest.fixture(scope="session")
def demo_bundle(demo_url: str):
    """(data, estimates) of the demo account, computed once per session for expected values."""
    from data_loaders.access import Scope
    from data_loaders.db import make_engine
    from data_loaders.queries import list_accounts, load_account_data
    from services.estimates import estimate_innovations as estimates

    eng = make_engine(demo_url)
    scope = Scope.everything()
    data = load_account_data(eng, scope, int(list_accounts(eng, scope)["account_id"].iloc[0]))
    eng.dispose()
    return data, estimates(data)


def metric(at: AppTest, label: str):
    """The first st.metric with this label."""
    hits = [m for m in at.metric if m.label == label]
    assert hits, f"no metric {label!r}; have {[m.label for m in at.metric]}"
    return hits[0]


def chart_frames(at: AppTest) -> list:
    """The data sets of every Altair chart on the page (as pandas frames)."""
    import pyarrow as pa

    out = []
    for chart in at.get("vega_lite_chart"):
        for ds in chart.proto.datasets:
            out.append(pa.ipc.open_stream(ds.data.data).read_pandas())
    return out


def hand_level(data, key: str, period: tuple[dt.date, dt.date]) -> float:
    """One KPI over a period, by hand from the monthly rows (the page tests' independent
    figure): a rate KPI Σ value·volume / Σ volume over units and months; a level KPI (FTE,
    transactions) the units' sum averaged over the months."""
    m = data.monthly.dropna(subset=["value"])
    g = m[
        (m["kpi_key"] == key)
        & (m["month"] >= pd.Timestamp(period[0]))
        & (m["month"] <= pd.Timestamp(period[1]))
    ]
    if data.kpis.set_index("key").loc[key, "kind"] == "rate":
        return float((g["value"] * g["volume"]).sum() / g["volume"].sum())
    return float(g.groupby("month")["value"].sum().mean())
