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


def test_database_url_precedence(monkeypatch) -> None:
    """An explicit URL beats DATABASE_URL, which beats the SQLite file under data/."""
    monkeypatch.delenv("DATABASE_URL", raising=False)
    assert database_url().startswith("sqlite:///") and database_url().endswith("thenandnow.sqlite")
    monkeypatch.setenv("DATABASE_URL", "sqlite:////tmp/x.sqlite")
    assert database_url() == "sqlite:////tmp/x.sqlite"
    assert database_url("sqlite://") == "sqlite://"


def test_upgrade_from_0001_keeps_the_data(engine: Engine) -> None:
    """0001 → head on a database holding an import (0002 rebuilds import_batch on SQLite
    while every imported row points at it): the rows stay, the estimate tables appear, and
    import_batch.entity holds a 400-character description; downgrade goes back cleanly."""
    import datetime as dt

    from sqlalchemy import insert, select, text

    from alembic import command
    from data_loaders.db import alembic_config

    def to(revision: str, *, down: bool = False) -> None:
        cfg = alembic_config(engine.url.render_as_string(hide_password=False))
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            (command.downgrade if down else command.upgrade)(cfg, revision)

    to("0001", down=True)
    assert not inspect(engine).has_table("estimate_run")
    t = Base.metadata.tables
    now = dt.datetime(2026, 11, 1, 9, 0)
    with engine.begin() as conn:
        conn.execute(
            insert(t["import_batch"]).values(
                id=1,
                source="demo",
                entity="accounts,units,kpis",
                fmt="frames",
                started_at=now,
                status="applied",
                rows_read=2,
                rows_inserted=2,
                rows_updated=0,
                rows_unchanged=0,
                checksum="0" * 64,
            )
        )
        conn.execute(
            insert(t["account"]).values(
                id=1,
                name="Acme",
                currency="USD",
                locale="en_US",
                contract_start=dt.date(2024, 1, 1),
                contract_end=dt.date(2027, 1, 1),
                baseline_start=dt.date(2024, 1, 1),
                baseline_end=dt.date(2024, 6, 1),
                gain_share_pct=0.5,
                savings_goal_per_year=1.0,
                productivity_pct_per_year=0.04,
                innovation_days_per_year=100.0,
                batch_id=1,
            )
        )
        conn.execute(
            insert(t["batch_change"]).values(
                batch_id=1, table_name="account", row_id=1, action="insert"
            )
        )
    to("head")
    assert inspect(engine).has_table("estimate_run")
    assert inspect(engine).has_table("estimate_result")
    with engine.begin() as conn:
        assert conn.execute(select(t["account"].c.batch_id)).scalar() == 1
        assert conn.execute(select(t["batch_change"].c.row_id)).scalar() == 1
        assert conn.execute(select(t["import_batch"].c.entity)).scalar() == "accounts,units,kpis"
        conn.execute(t["import_batch"].update().values(entity="x" * 400))
        assert conn.execute(select(t["import_batch"].c.entity)).scalar() == "x" * 400
        if engine.dialect.name == "sqlite":
            assert conn.execute(text("PRAGMA foreign_key_check")).all() == []
    length = {c["name"]: c["type"] for c in inspect(engine).get_columns("import_batch")}
    assert getattr(length["entity"], "length", None) == 400
    to("0001", down=True)  # and back: PostgreSQL cuts the description to fit (SQLite has no limit)
    with engine.connect() as conn:
        entity = conn.execute(select(t["import_batch"].c.entity)).scalar() or ""
        assert len(entity) == (400 if engine.dialect.name == "sqlite" else 40)
        assert conn.execute(select(t["account"].c.name)).scalar() == "Acme"
    to("head")


def test_schema_head_is_alembics_head(engine: Engine) -> None:
    """``SCHEMA_HEAD`` names the newest migration, so a current schema is recognised without
    Alembic; a new migration that forgets to move it fails here."""
    from alembic.script import ScriptDirectory

    from data_loaders.db import SCHEMA_HEAD, alembic_config, schema_is_current

    script = ScriptDirectory.from_config(alembic_config(str(engine.url)))
    assert script.get_heads() == [SCHEMA_HEAD]
    assert schema_is_current(engine)


def test_migrating_a_current_database_does_not_load_alembic(tmp_path) -> None:
    """A CLI import on a current database leaves Alembic unloaded (it cost ~8 MB of the
    import's peak memory); a database one revision behind is still upgraded."""
    import subprocess
    import sys

    from data_loaders.db import ROOT, alembic_config, make_engine

    url = f"sqlite:///{tmp_path / 'current.sqlite'}"
    eng = make_engine(url)
    migrate(eng)
    probe = (
        "import sys; from data_loaders.db import make_engine, migrate; "
        f"migrate(make_engine({url!r})); print('alembic' in sys.modules)"
    )
    run = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True)
    assert run.stdout.strip() == "False", run.stderr
    from alembic import command

    command.downgrade(alembic_config(url), "0008")
    assert "client_logo" not in {c["name"] for c in inspect(eng).get_columns("account")}
    run = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True)
    assert run.stdout.strip() == "True", run.stderr
    assert "client_logo" in {c["name"] for c in inspect(eng).get_columns("account")}
    eng.dispose()
