"""Engine, sessions and migrations. Nothing connects at import time."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.orm import Session, sessionmaker

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SQLITE = ROOT / "data" / "thenandnow.sqlite"
MIGRATE_LOCK = 72_403_118  # pg_advisory_xact_lock key: one migration at a time
# The newest revision in alembic/versions (tests/data_loaders/test_db.py checks it is Alembic's
# head): a current schema is recognised without loading Alembic, which added ~8 MB to the
# peak memory of every CLI import (benchmarks/import_memory.py).
SCHEMA_HEAD = "0010"


class DatabaseUnavailable(RuntimeError):
    """The configured database cannot be reached; the message is meant for people."""


def database_url(url: str | None = None) -> str:
    """The URL to use: an explicit one, else ``DATABASE_URL``, else the SQLite file under data/."""
    if url:
        return url
    env = os.environ.get("DATABASE_URL")
    if env:
        return env
    return f"sqlite:///{DEFAULT_SQLITE}"


def redact(url: str) -> str:
    """The URL with its password hidden, for messages."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - a malformed URL is shown as given, minus nothing secret
        return url.split("@")[-1]


class DatabaseMissing(DatabaseUnavailable):
    """A SQLite file that does not exist, for a command that must not create one."""


def require_existing(url: str | None = None) -> None:
    """Refuse a SQLite URL whose file does not exist (a mistyped ``--db sqlite:///…`` would
    otherwise create a new empty database and report it empty). Only ``init``, ``demo`` and
    ``migrate`` create databases; other servers (PostgreSQL) never create one on connect."""
    resolved = database_url(url)
    if not resolved.startswith("sqlite:///") or resolved.startswith("sqlite:///:memory:"):
        return
    path = Path(resolved.removeprefix("sqlite:///").split("?", 1)[0])
    if not path.exists():
        raise DatabaseMissing(
            f"no database at {path}: check --db (or DATABASE_URL), or create one with "
            "`init`, `demo` or `migrate`"
        )


def make_engine(url: str | None = None) -> Engine:
    """Create an engine; SQLite files get foreign keys and WAL so readers don't block imports."""
    resolved = database_url(url)
    if resolved.startswith("sqlite:///") and not resolved.startswith("sqlite:///:memory:"):
        Path(resolved.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(resolved, pool_pre_ping=True)
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA busy_timeout=10000")
            cur.close()

    return engine


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """One transaction: commit on success, roll back on any error."""
    factory = sessionmaker(bind=engine, expire_on_commit=False)
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def alembic_config(url: str):
    from alembic.config import Config

    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "alembic"))
    # ConfigParser would read % as interpolation; URLs may contain %-escapes.
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest Alembic revision (``alembic upgrade head``)."""
    from sqlalchemy import text

    if schema_is_current(engine):
        return
    from alembic import command

    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            # Two servers starting on a new database at once: the second waits, then finds
            # the schema current (instead of failing on "relation already exists").
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": MIGRATE_LOCK})
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


def schema_is_current(engine: Engine) -> bool:
    """True when the database's ``alembic_version`` holds exactly ``SCHEMA_HEAD``."""
    from sqlalchemy import text

    if not inspect(engine).has_table("alembic_version"):
        return False
    with engine.connect() as conn:
        versions = [r[0] for r in conn.execute(text("SELECT version_num FROM alembic_version"))]
    return versions == [SCHEMA_HEAD]


def is_empty(engine: Engine) -> bool:
    """True when no account has been loaded yet (or the schema is missing)."""
    from sqlalchemy import func, select

    from data_loaders.schema import Account

    if not inspect(engine).has_table("account"):
        return True
    with engine.connect() as conn:
        return (conn.execute(select(func.count()).select_from(Account)).scalar() or 0) == 0


def _unreachable(engine: Engine, exc: Exception) -> DatabaseUnavailable:
    orig = getattr(exc, "orig", None)
    detail = str(orig).strip().splitlines()[0] if orig else str(exc)
    return DatabaseUnavailable(
        f"The database at {redact(str(engine.url))} cannot be reached: {detail}"
    )


def data_version(engine: Engine) -> str:
    """A short text that changes whenever imported data changes: one small query on
    ``import_batch`` (how many batches, the newest id and finish time, how many were rolled
    back and when the last one was). Every write of data goes through a batch (imports, the
    demo, SQL loads) and every rollback marks its batch, so an import or rollback by this
    server, the CLI or another server process moves the version. Writes made outside the
    importer (hand-written SQL) do not; clear the caches or restart after those.

    ``"no-schema"`` when the tables are missing; raises ``DatabaseUnavailable`` when the
    database cannot be asked."""
    from sqlalchemy import func, select
    from sqlalchemy.exc import DBAPIError

    from data_loaders.schema import ImportBatch

    b = ImportBatch
    stmt = select(
        func.count(b.id),
        func.max(b.id),
        func.max(b.finished_at),
        func.count(b.rolled_back_at),
        func.max(b.rolled_back_at),
    )
    try:
        conn = engine.connect()
    except DBAPIError as exc:
        raise _unreachable(engine, exc) from exc
    with conn:
        try:
            row = conn.execute(stmt).one()
        except DBAPIError as exc:
            conn.rollback()
            try:
                missing = not inspect(conn).has_table("import_batch")
            except DBAPIError:
                missing = False
            if missing:
                return "no-schema"
            raise _unreachable(engine, exc) from exc
    return "|".join("" if v is None else str(v) for v in row)


class MigrationFailed(RuntimeError):
    """The database answers but the schema could not be brought up to date; the message
    says what to run."""


def migrate_at_start(engine: Engine) -> None:
    """What the app runs before its first page (once per server process and database):
    ``migrate`` — create the tables of a new database, or bring an older one to the newest
    revision; a no-op when current. Same on SQLite and PostgreSQL. Raises
    ``DatabaseUnavailable`` when the database cannot be asked, ``MigrationFailed`` (naming the
    command to run) when it refuses, e.g. a user without the right to create tables."""
    from sqlalchemy.exc import DBAPIError, OperationalError

    try:
        migrate(engine)
    except OperationalError as exc:
        if exc.connection_invalidated or _no_connection(engine):
            raise _unreachable(engine, exc) from exc
        raise MigrationFailed(_migration_hint(engine, exc)) from exc
    except DBAPIError as exc:
        raise MigrationFailed(_migration_hint(engine, exc)) from exc


def _no_connection(engine: Engine) -> bool:
    from sqlalchemy.exc import DBAPIError

    try:
        with engine.connect():
            return False
    except DBAPIError:
        return True


def _migration_hint(engine: Engine, exc: Exception) -> str:
    orig = getattr(exc, "orig", None)
    detail = str(orig).strip().splitlines()[0] if orig else str(exc)
    return (
        f"The tables of {redact(str(engine.url))} could not be created or updated ({detail}). "
        "Run `python cli.py migrate` with a database user that may create tables, then reload."
    )
