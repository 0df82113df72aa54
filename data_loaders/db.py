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
        def _sqlite_pragmas(dbapi_conn, _record):  # type: ignore[no-untyped-def]
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


def alembic_config(url: str):  # type: ignore[no-untyped-def]
    from alembic.config import Config

    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "alembic"))
    # ConfigParser would read % as interpolation; URLs may contain %-escapes.
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest Alembic revision (``alembic upgrade head``)."""
    from alembic import command

    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


def is_empty(engine: Engine) -> bool:
    """True when no account has been loaded yet (or the schema is missing)."""
    from sqlalchemy import func, select

    from data_loaders.schema import Account

    if not inspect(engine).has_table("account"):
        return True
    with engine.connect() as conn:
        return (conn.execute(select(func.count()).select_from(Account)).scalar() or 0) == 0
