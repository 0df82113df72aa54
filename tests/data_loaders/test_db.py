"""Engine and migrations: the schema comes from Alembic, identically on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import Engine, inspect

from data_loaders.db import database_url, is_empty, migrate
from data_loaders.schema import Base


def test_migration_creates_every_model_table(engine: Engine) -> None:
    """`alembic upgrade head` builds exactly the tables the models declare."""
    tables = set(inspect(engine).get_table_names()) - {"alembic_version"}
    assert tables == set(Base.metadata.tables)


def test_migrate_is_idempotent(engine: Engine) -> None:
    """Running the migrations again at every start changes nothing."""
    migrate(engine)
    assert is_empty(engine)


def test_models_match_the_migration(engine: Engine) -> None:
    """No model change is missing a migration: autogenerate finds nothing to do."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_database_url_precedence(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """An explicit URL beats DATABASE_URL, which beats the SQLite file under data/."""
    monkeypatch.delenv("DATABASE_URL", raising=False)
    assert database_url().startswith("sqlite:///") and database_url().endswith("thenandnow.sqlite")
    monkeypatch.setenv("DATABASE_URL", "sqlite:////tmp/x.sqlite")
    assert database_url() == "sqlite:////tmp/x.sqlite"
    assert database_url("sqlite://") == "sqlite://"
