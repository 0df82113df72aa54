"""The frame: page config, sign-in and scope, shared filters (mirrored in the URL), the
local-mode banner, present mode, and navigation over the page scripts in pages/.

``run()`` is the whole app: ``app.py`` (the entry script) calls it, and so does a page script
that Streamlit ran without it (``ui.page_context.page_context``, docs/ARCHITECTURE.md,
Navigation). Nothing of the app — no page, navigation link or figure — is drawn before the
caller's scope is known: with ``[auth]`` configured a signed-out visitor gets the sign-in
screen and an unknown one a message naming whom to ask, both under a navigation of that one
screen."""

from __future__ import annotations

import streamlit as st
from sqlalchemy.exc import OperationalError

from data_loaders.db import DatabaseUnavailable, MigrationFailed
from ui import filters, nav, page_states, present, signin
from ui.page_context import (
    PageContext,
    auth_configured,
    cached_account_data,
    cached_accounts,
    configured_url,
    current_version,
    ensure_schema,
    frame_run,
    schema_missing,
)


def _pages() -> list[st.Page]:
    # new objects every run: a page returned by st.navigation can be run once
    return [
        st.Page(p.path, title=p.title, icon=p.icon, url_path=p.url_path, default=p.default)
        for p in nav.PAGE_SPECS
    ]


def _database_down(url: str, exc: Exception) -> None:
    if schema_missing(url):
        page_states.new_install()
    else:
        page_states.database_down(page_states.unreachable_message(exc, url))
    st.stop()


def _gate(screen) -> None:
    """Show one screen instead of the app: its navigation holds only that screen, so neither
    the page links nor Streamlit's pages-directory sidebar appear. The screen stands under
    every page's URL path: a link such as ``/value`` opened signed out shows it without
    Streamlit's "Page not found" dialog (whose overlay left the sign-in button unclickable)
    and keeps its path for after sign-in."""
    gate = [
        st.Page(screen, title="Then & Now", url_path=p.url_path, default=p.default)
        for p in nav.PAGE_SPECS
    ]
    st.navigation(gate, position="hidden").run()
    st.stop()


def _refuse_account(wanted: str) -> None:
    """A URL naming an account outside the scope: refused, never silently switched. The same
    words whether the account exists or not (its existence is not the caller's to learn)."""
    from ui.safe import md

    def screen() -> None:
        st.title("Then & Now")
        st.error(
            f"The account {md(wanted)} is not available to you, so nothing is shown. "
            f"Ask {md(signin.contact())} if you need it.",
            icon=":material/block:",
        )
        if st.button("Open my account"):
            st.query_params.clear()
            st.rerun()

    _gate(screen)


def run() -> None:
    """The frame, with every database failure of the frame or a page (opening it or any
    action on it) turned into the designed "not reachable" state with "Try again"."""
    st.set_page_config(
        page_title="Then & Now",
        page_icon=":material/photo_library:",
        layout="wide",
        initial_sidebar_state="auto",
    )
    url = configured_url()
    try:
        _frame(url)
    except (DatabaseUnavailable, OperationalError) as exc:
        _database_down(url, exc)


def _frame(url: str) -> None:
    try:
        ensure_schema(url)  # a new database gets its tables; an old one is brought up to date
    except MigrationFailed as exc:
        page_states.migration_failed(str(exc))
        st.stop()
    scope = signin.caller_scope(url)
    if scope is None:
        _gate(signin.unknown_screen if st.user.is_logged_in else signin.sign_in_screen)
        return
    signin.audit_sign_in(url, scope)
    is_present = st.query_params.get("present") == "1"
    # the sidebar's page list is the frame's own (nav.page_links): the configuration hides
    # Streamlit's, which would otherwise list pages/ before sign-in
    pages = _pages()
    navigation = st.navigation(pages, position="hidden")
    links = None if is_present else st.sidebar.container(key="page-nav")
    page_states.inject_css(present=is_present)
    version = current_version(url)
    if version.as_of is not None:
        page_states.figures_as_of(version.as_of)
    accounts = cached_accounts(url, scope, version.value)
    if accounts.empty and not scope.can_import:
        _gate(lambda: signin.no_accounts_screen(scope))
        return
    if accounts.empty:
        empty = PageContext(
            url=url,
            scope=scope,
            account_id=None,
            data=None,
            present=is_present,
            version=version.value,
            as_of=version.as_of,
        )
        if links is not None:
            nav.page_links(links, pages)
        if not auth_configured() and not is_present:
            page_states.local_mode_banner()
        with frame_run(empty):
            navigation.run()
        return

    names = accounts["name"].tolist()
    wanted = st.query_params.get("account")
    if wanted and wanted not in names:
        _refuse_account(wanted)
        return
    if is_present:
        name = wanted or names[0]
    else:
        with st.sidebar:
            signin.signed_in_panel(scope)
            name = filters.choose_account(names)
            filters.account_freshness(accounts)
    account_id = int(accounts.loc[accounts["name"] == name, "account_id"].iloc[0])
    data = cached_account_data(url, scope, account_id, version.value)

    if is_present:
        selection = filters.clamp(filters.url_selection(), data)
    else:
        with st.sidebar:
            selection = filters.filter_widgets(data)
            filters.write_url(name, selection)
            if links is not None:
                nav.page_links(links, pages)  # after write_url: the links carry this view
            page_states.sidebar_footer(
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
        version=version.value,
        as_of=version.as_of,
    )
    with frame_run(ctx):
        if is_present:
            present.run(ctx, page=navigation)
        else:
            navigation.run()
