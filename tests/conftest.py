"""Shared fixtures.

Database tests take the ``engine`` fixture and run twice: on a fresh SQLite file and on a
fresh PostgreSQL database created from ``TEST_DATABASE_URL``. Without that variable the
PostgreSQL run is skipped locally; under ``CI=true`` it fails, so CI cannot pass silently
without PostgreSQL. Likewise a test that ``pytest.importorskip``s a package (the oracle
packages diff-diff, moderndid, causaldata are pinned in requirements-dev.txt) fails under
``CI=true`` instead of skipping.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from data_loaders.db import make_engine, migrate

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Under CI=true a missing package is a failure, not a skip: an oracle test that never
    runs would let CI pass without comparing against the reference implementation."""
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]  # pluggy's Result, untyped here
    exc = call.excinfo
    if (
        IN_CI
        and report.skipped
        and exc is not None
        and exc.errisinstance(pytest.skip.Exception)
        and "could not import" in str(exc.value)
    ):
        report.outcome = "failed"
        report.longrepr = f"CI=true: {exc.value} (pinned in requirements-dev.txt; install it)"


def _pg_admin_url() -> str | None:
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        if IN_CI:
            pytest.fail("CI=true but TEST_DATABASE_URL is not set: PostgreSQL tests cannot run.")
        return None
    return url


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    """A migrated, empty SQLite database in a temporary file."""
    engine = make_engine(f"sqlite:///{tmp_path / 'test.sqlite'}")
    migrate(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def pg_engine() -> Iterator[Engine]:
    """A migrated, empty PostgreSQL database, created for this test and dropped after it."""
    admin_url = _pg_admin_url()
    if admin_url is None:
        pytest.skip("TEST_DATABASE_URL not set (PostgreSQL tests run in CI)")
    name = f"tnn_{uuid.uuid4().hex[:12]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001
        admin.dispose()
        if IN_CI:
            pytest.fail(f"PostgreSQL at TEST_DATABASE_URL is unreachable: {exc}")
        pytest.skip(f"PostgreSQL unreachable: {exc}")
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    migrate(engine)
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest) -> Engine:
    """A migrated, empty database; the test runs once on SQLite and once on PostgreSQL."""
    name = "sqlite_engine" if request.param == "sqlite" else "pg_engine"
    return request.getfixturevalue(name)


@pytest.fixture(scope="session")
def demo_engine(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    """A SQLite database holding the seeded demo account. Shared: tests must not write to it."""
    from data_loaders.demo import load_demo

    path = tmp_path_factory.mktemp("demo") / "demo.sqlite"
    eng = make_engine(f"sqlite:///{path}")
    migrate(eng)
    load_demo(eng)
    return eng
