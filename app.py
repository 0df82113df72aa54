"""Then & Now — the frame: page config, scope, shared filters (mirrored in the URL), the
local-mode banner, present mode, and navigation over the page scripts in pages/."""

from __future__ import annotations

import streamlit as st

from data_loaders.access import Scope
from data_loaders.db import DatabaseUnavailable
from ui import filters, nav, present, states
from ui.context import (
    PageContext,
    auth_configured,
    cached_account_data,
    cached_accounts,
    configured_url,
    schema_missing,
    set_page_context,
)

st.set_page_config(
    page_title="Then & Now",
    page_icon=":material/photo_library:",
    layout="wide",
    initial_sidebar_state="auto",
)

PAGES = [
    st.Page(p.path, title=p.title, icon=p.icon, url_path=p.url_path, default=p.default)
    for p in nav.PAGE_SPECS
]


def _database_down(url: str, exc: Exception) -> None:
    if schema_missing(url):
        states.new_install()
    else:
        states.database_down(str(exc))
    st.stop()


def main() -> None:
    url = configured_url()
    scope = Scope.everything()
    is_present = st.query_params.get("present") == "1"
    navigation = st.navigation(PAGES, position="hidden" if is_present else "sidebar")
    nav.resume_requested_page()
    states.inject_css(present=is_present)
    try:
        accounts = cached_accounts(url, scope)
    except DatabaseUnavailable as exc:
        _database_down(url, exc)
        return
    if accounts.empty:
        set_page_context(
            PageContext(url=url, scope=scope, account_id=None, data=None, present=is_present)
        )
        if not auth_configured() and not is_present:
            states.local_mode_banner()
        navigation.run()
        return

    names = accounts["name"].tolist()
    if is_present:
        wanted = st.query_params.get("account")
        name = wanted if wanted in names else names[0]
    else:
        with st.sidebar:
            name = filters.choose_account(names)
            filters.account_freshness(accounts)
    account_id = int(accounts.loc[accounts["name"] == name, "account_id"].iloc[0])
    try:
        data = cached_account_data(url, scope, account_id)
    except DatabaseUnavailable as exc:
        _database_down(url, exc)
        return

    if is_present:
        selection = filters.clamp(filters.url_selection(), data)
    else:
        with st.sidebar:
            selection = filters.filter_widgets(data)
            filters.write_url(name, selection)
            states.sidebar_footer(
                present_params={**nav.current_params(), "present": "1"},
                page=navigation,
                local_mode=not auth_configured(),
            )
    start, end = selection.dates()
    ctx = PageContext(
        url=url,
        scope=scope,
        account_id=account_id,
        data=data,
        unit_ids=selection.unit_ids(data),
        start=start,
        end=end,
        categories=selection.categories or None,
        present=is_present,
    )
    set_page_context(ctx)
    if is_present:
        present.run(ctx, page=navigation)
    else:
        navigation.run()


main()
