"""Shared fixtures.

Database tests take the ``engine`` fixture and run twice: on a fresh SQLite file and on a
fresh PostgreSQL database created from ``TEST_DATABASE_URL``. Without that variable the
PostgreSQL run is skipped locally; under ``CI=true`` it fails, so CI cannot pass silently
without PostgreSQL.
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
