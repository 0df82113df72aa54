"""The page boundary: engine, caller scope, cached loads and the shared filters.

app.py builds a ``PageContext`` once per run (account, filters, present mode, all from the
URL, and the data version) and runs the page under it (``frame_run``); page scripts call
``page_context(__file__)``. Caching lives here and in ``ui.cached`` only; metrics stay pure.

Freshness: every cached load and result is keyed by the data version
(``data_loaders.db.data_version``, one small query on the import history), which the frame
reads once per run (``current_version``). An import or rollback by this server, the CLI or
another server process moves it, so the next page run computes from the new data; the ttl
only bounds memory. When the database cannot be asked, ``current_version`` returns the last
version read successfully and the time it was read, and the pages show the figures cached
for it, saying "as of HH:MM". Failures are never cached: ``st.cache_data`` does not store
exceptions, so a database that was down is asked again on the next run.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import streamlit as st
from sqlalchemy import Engine

from data_loaders.access import Scope
from data_loaders.db import (
    DatabaseUnavailable,
    data_version,
    database_url,
    make_engine,
    migrate_at_start,
)
from data_loaders.queries import AccountData, list_accounts, load_account_data

if TYPE_CHECKING:
    from metrics.filters import Filters

CACHE_TTL = 3600  # seconds; only bounds memory: every entry is keyed by the data version
ROOT = Path(__file__).resolve().parent.parent


def configured_url() -> str:
    """DATABASE_URL, else ``[database] url`` in secrets, else the local SQLite file."""
    env = os.environ.get("DATABASE_URL")
    if env:
        return env
    try:
        url = st.secrets.get("database", {}).get("url")
    except Exception:  # noqa: BLE001 - no secrets file is the normal local case
        url = None
    return database_url(url)


def auth_configured() -> bool:
    """True when ``[auth]`` is present in the secrets (sign-in with st.login)."""
    try:
        return "auth" in st.secrets
    except Exception:  # noqa: BLE001 - no secrets file: local mode
        return False


@st.cache_resource(show_spinner=False)
def engine_for(url: str) -> Engine:
    return make_engine(url)


def engine() -> Engine:
    return engine_for(configured_url())


@st.cache_resource(show_spinner="Preparing the database…")
def ensure_schema(url: str) -> bool:
    """Once per server process and database: create or update the tables
    (``data_loaders.db.migrate_at_start``). Not cached when it fails (database down), so the
    next run tries again."""
    migrate_at_start(engine_for(url))
    return True


@dataclass(frozen=True)
class Version:
    """The data version a run shows; ``as_of`` is set when the database could not be asked
    and ``value`` is the last version read successfully, at that time."""

    value: str
    as_of: dt.datetime | None = None


@st.cache_resource(show_spinner=False)
def _last_good() -> dict[str, tuple[str, dt.datetime]]:
    return {}


def current_version(url: str) -> Version:
    """The data version now (one small query, never cached), or the last good one with its
    time when the database cannot be asked; raises ``DatabaseUnavailable`` when it never
    could be asked by this server process."""
    last = _last_good()
    try:
        value = data_version(engine_for(url))
    except DatabaseUnavailable:
        if url not in last:
            raise
        value, when = last[url]
        return Version(value, as_of=when)
    last[url] = (value, dt.datetime.now())
    return Version(value)


@st.cache_data(ttl=CACHE_TTL, show_spinner="Loading accounts…")
def cached_accounts(url: str, scope: Scope, version: str) -> pd.DataFrame:
    return list_accounts(engine_for(url), scope)


@st.cache_resource(ttl=CACHE_TTL, max_entries=32, show_spinner="Loading account data…")
def _shared_account_data(url: str, scope: Scope, account_id: int, version: str) -> AccountData:
    """One account's data per data version, shared by every session and never handed out
    itself (``cached_account_data``)."""
    return load_account_data(engine_for(url), scope, account_id)


def cached_account_data(url: str, scope: Scope, account_id: int, version: str) -> AccountData:
    """The account's data at ``version``, as a view of its own for the caller: every frame a
    shallow copy of the shared one, which pandas' copy-on-write (always on since pandas 3)
    keeps apart — a change the caller makes to a frame copies it first and never reaches
    another caller. ``st.cache_data`` unpickled the whole account on every frame run instead
    (23 ms of CPU a run on the demo, a third of the frame's own work)."""
    shared = _shared_account_data(url, scope, account_id, version)
    return replace(
        shared,
        **{name: getattr(shared, name).copy(deep=False) for name in _FRAMES},
    )


_FRAMES = tuple(f.name for f in fields(AccountData) if f.name != "account")


def schema_missing(url: str) -> bool:
    """True when the database answers but has no tables yet (a new install)."""
    from sqlalchemy import inspect as sa_inspect

    try:
        return not sa_inspect(engine_for(url)).has_table("account")
    except Exception:  # noqa: BLE001 - unreachable: not "missing", the caller reports it
        return False


def clear_caches() -> None:
    """After an import or rollback: free the results of the old data (the data version has
    moved, so no page would show them anyway)."""
    st.cache_data.clear()
    _shared_account_data.clear()


@dataclass(frozen=True)
class PageContext:
    url: str
    scope: Scope
    account_id: int | None
    data: AccountData | None
    unit_ids: tuple[int, ...] | None = None  # None = all units
    start: dt.date | None = None
    end: dt.date | None = None
    categories: tuple[str, ...] | None = None  # None = all categories
    present: bool = False
    version: str = ""  # the data version every cached result of this run is keyed by
    as_of: dt.datetime | None = None  # set when the database is down: figures from then

    @property
    def currency(self) -> str:
        return self.data.account.currency if self.data is not None else "USD"

    @property
    def locale(self) -> str:
        return (self.data.account.locale or "en_US") if self.data is not None else "en_US"

    @property
    def filters(self) -> Filters:
        """The shared filters as the metrics layer takes them."""

        from metrics.filters import Filters

        return Filters(
            unit_ids=self.unit_ids, start=self.start, end=self.end, categories=self.categories
        )

    @property
    def unit_names(self) -> list[str]:
        if self.data is None or self.unit_ids is None:
            return []
        units = self.data.units
        return [str(n) for n in units.loc[units["unit_id"].isin(self.unit_ids), "name"]]

    def describe_filters(self) -> str:
        """One line naming what is selected, for captions and empty states (Markdown: names
        from data are escaped)."""
        from ui.safe import md

        parts = []
        if self.unit_ids is not None:
            names = self.unit_names
            parts.append(md(names[0]) if len(names) == 1 else f"{len(names)} units")
        else:
            parts.append("all units")
        if self.start and self.end:
            parts.append(f"{self.start:%b %Y} – {self.end:%b %Y}")
        if self.categories:
            parts.append(", ".join(md(c) for c in self.categories))
        return " · ".join(parts)


_run = threading.local()


@contextmanager
def frame_run(ctx: PageContext) -> Iterator[None]:
    """Run the page (or present mode) under the context the frame built in this script run.

    The context is also kept in ``st.session_state["ctx"]`` for widget callbacks (a
    download's audit record), which run before the next script run reaches the frame.
    """
    st.session_state["ctx"] = ctx
    _run.ctx = ctx
    try:
        yield
    finally:
        _run.ctx = None


def page_context(page_file: str) -> PageContext:
    """The context the frame built for this run; pages pass their own ``__file__``.

    The app keeps its page scripts in ``pages/`` (the layout its users asked for), so
    Streamlit runs a page script on its own — without app.py — while it is in its legacy
    pages-directory mode: a new server process until some session has called
    ``st.navigation``, and every AppTest run (docs/ARCHITECTURE.md, Navigation). Such a page
    finds no context for this run (a per-run marker set by :func:`frame_run`, not a Streamlit
    internal) and runs the frame here, in this same script run: the frame registers the
    navigation and runs the page under it — this script once more, which then finds its
    context — and this outer run of the script ends where it stands. No rerun, no detour.
    """
    ctx: PageContext | None = getattr(_run, "ctx", None)
    if ctx is None:
        from ui.frame import run

        run()
        st.stop()
    return ctx
