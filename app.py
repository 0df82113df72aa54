"""Then & Now — the frame: page config, sign-in/scope, shared filters (mirrored in the URL),
and navigation over the page scripts in pages/."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from data_loaders.access import Scope
from data_loaders.db import DatabaseUnavailable
from ui.context import (
    PageContext,
    cached_account_data,
    cached_accounts,
    configured_url,
)

st.set_page_config(page_title="Then & Now", page_icon="🪞", layout="wide")

PAGES = [
    st.Page("pages/story.py", title="Story", icon="📖", url_path="story", default=True),
    st.Page("pages/then_now.py", title="Then & Now", icon="🪞", url_path="then-and-now"),
    st.Page("pages/value.py", title="Value", icon="💰", url_path="value"),
    st.Page("pages/innovations.py", title="Innovations", icon="💡", url_path="innovations"),
    st.Page("pages/innovation_detail.py", title="Innovation detail", icon="🔎", url_path="detail"),
    st.Page("pages/contract.py", title="Contract", icon="📑", url_path="contract"),
    st.Page("pages/data.py", title="Data", icon="🗄️", url_path="data"),
]


def _qp_list(name: str) -> list[str]:
    raw = st.query_params.get(name, "")
    return [p for p in raw.split(",") if p] if raw else []


def _month(raw: str | None) -> dt.date | None:
    if not raw:
        return None
    try:
        return pd.Timestamp(raw).date().replace(day=1)
    except ValueError:
        return None


def main() -> None:
    url = configured_url()
    scope = Scope.everything()
    present = st.query_params.get("present") == "1"
    nav = st.navigation(PAGES, position="hidden" if present else "sidebar")
    try:
        accounts = cached_accounts(url, scope)
    except DatabaseUnavailable as exc:
        st.error(f"**The database is not reachable.** {exc}\n\nThe page retries when you reload.")
        st.stop()
    if accounts.empty:
        st.session_state["ctx"] = PageContext(url=url, scope=scope, account_id=None, data=None)
        nav.run()
        return
    names = accounts["name"].tolist()
    wanted = st.query_params.get("account")
    index = names.index(wanted) if wanted in names else 0
    if wanted and wanted not in names:
        st.warning(f"Account {wanted!r} is not available to you; showing {names[index]}.")
    with st.sidebar:
        name = st.selectbox("Account", names, index=index, key="account")
    st.query_params["account"] = name
    account_id = int(accounts.loc[accounts["name"] == name, "account_id"].iloc[0])
    data = cached_account_data(url, scope, account_id)
    units = data.units
    unit_names = dict(zip(units["name"], units["unit_id"], strict=True))
    with st.sidebar:
        picked = st.multiselect("Units", list(unit_names),
                                default=[u for u in _qp_list("units") if u in unit_names],
                                placeholder="All units")
        months = sorted(data.monthly["month"].dt.date.unique()) if not data.monthly.empty else []
        start, end = _month(st.query_params.get("from")), _month(st.query_params.get("to"))
        if months:
            lo, hi = months[0], months[-1]
            start, end = max(start or lo, lo), min(end or hi, hi)
            start, end = st.select_slider("Period", options=months, value=(start, end),
                                          format_func=lambda d: d.strftime("%b %Y"))
        cats = st.multiselect("Category", sorted(data.innovations["category"].unique()),
                              default=_qp_list("cat"), placeholder="All categories")
    st.query_params["units"] = ",".join(picked)
    st.query_params["cat"] = ",".join(cats)
    if start and end:
        st.query_params["from"], st.query_params["to"] = f"{start:%Y-%m}", f"{end:%Y-%m}"
    st.session_state["ctx"] = PageContext(
        url=url, scope=scope, account_id=account_id, data=data,
        unit_ids=tuple(unit_names[u] for u in picked) or None,
        start=start, end=end, categories=tuple(cats) or None, present=present,
    )
    nav.run()


main()
