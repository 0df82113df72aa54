"""The page boundary: engine, caller scope, cached loads and the shared filters.

app.py builds a ``PageContext`` once per run (account, filters, present mode, all from the
URL) and stores it in ``st.session_state["ctx"]``; page scripts call ``page_context()``.
Caching lives here and only here (``st.cache_data`` with a ttl); metrics stay pure.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field

import pandas as pd
import streamlit as st
from sqlalchemy import Engine

from data_loaders.access import Scope
from data_loaders.db import database_url, make_engine
from data_loaders.queries import AccountData, load_account_data, list_accounts

CACHE_TTL = 300  # seconds; imports clear the caches explicitly


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


@st.cache_resource(show_spinner=False)
def engine_for(url: str) -> Engine:
    return make_engine(url)


def engine() -> Engine:
    return engine_for(configured_url())


@st.cache_data(ttl=CACHE_TTL, show_spinner="Loading accounts…")
def cached_accounts(url: str, scope: Scope) -> pd.DataFrame:
    return list_accounts(engine_for(url), scope)


@st.cache_data(ttl=CACHE_TTL, show_spinner="Loading account data…")
def cached_account_data(url: str, scope: Scope, account_id: int) -> AccountData:
    return load_account_data(engine_for(url), scope, account_id)


def clear_caches() -> None:
    """After an import or rollback: every page must see the new data at once."""
    st.cache_data.clear()


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
    extras: dict[str, str] = field(default_factory=dict)


def page_context() -> PageContext:
    ctx = st.session_state.get("ctx")
    if ctx is None:
        raise RuntimeError("Open the app through app.py: the frame sets the page context.")
    return ctx
