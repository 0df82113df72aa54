"""The Data page's admin tabs: access management and the audit log. Only drawn for a provider
admin; the services refuse everyone else anyway."""

from __future__ import annotations

import streamlit as st

from data_loaders.access import ROLES, Scope
from services import access, audit
from ui.downloads import download_csv
from ui.page_context import clear_caches, engine
from ui.safe import md

__all__ = ["access_section", "audit_section"]


def access_section(scope: Scope, account_names: list[str]) -> None:
    """Grant, list and revoke who may see which accounts."""
    eng = engine()
    st.subheader("Grant access")
    with st.form("grant_form", clear_on_submit=True, border=False):
        c1, c2, c3 = st.columns([2, 1, 1])
        who = c1.text_input(
            "E-mail address or group:NAME",
            placeholder="jane.doe@client.example",
            help="A group is matched against the identity provider's group claim.",
            key="grant_who",
        )
        role = c2.selectbox("Role", ROLES, index=2, key="grant_role")
        account = c3.selectbox(
            "Account (client executives)", [None, *account_names], key="grant_account"
        )
        if st.form_submit_button("Grant", type="primary"):
            try:
                st.session_state["access_msg"] = (
                    True,
                    access.grant(eng, scope, who, role, account if role == ROLES[2] else None),
                )
                clear_caches()
            except ValueError as exc:
                st.session_state["access_msg"] = (False, str(exc))
    if "access_msg" in st.session_state:
        ok, message = st.session_state.pop("access_msg")
        (st.success if ok else st.error)(md(message))
    grants = access.list_grants(eng, scope)
    st.subheader("Who has access")
    if grants.empty:
        st.caption("Nobody yet: grant access above (or with `thenandnow access grant`).")
        return
    # fixed widths that add up to what a 1280 px laptop with the sidebar open gives the
    # table (about 815 px); a long address is cut in its cell, never the table's columns
    st.dataframe(
        grants,
        hide_index=True,
        key="grants",
        width="stretch",
        column_config={
            "principal": st.column_config.TextColumn("who", width=230),
            "role": st.column_config.TextColumn("role", width=130),
            "account": st.column_config.TextColumn("account", width=150),
            "granted_by": st.column_config.TextColumn("granted by", width=160),
            "granted_at": st.column_config.DatetimeColumn(
                "granted", format="D MMM YYYY, HH:mm", width=125
            ),
        },
    )
    c1, c2 = st.columns([2, 1])
    target = c1.selectbox(
        "Revoke every grant of", sorted(set(grants["principal"])), index=None, key="revoke_who"
    )
    if c2.button("Revoke", disabled=target is None) and target is not None:
        n = access.revoke(eng, scope, target)
        clear_caches()
        st.session_state["access_msg"] = (True, f"Revoked {n} grant(s) of {target}.")
        st.rerun()


def audit_section(scope: Scope) -> None:
    """The audit log, newest first, and its CSV export."""
    log = audit.entries(engine(), scope, limit=5000)
    if log.empty:
        st.caption("Nothing recorded yet.")
        return
    st.caption(f"The latest {len(log):,} entries, newest first.")
    st.dataframe(
        log.assign(user=log["user"].fillna("").replace("", "—")),  # never "None"
        hide_index=True,
        key="audit",
        width="stretch",
        column_config={  # widths as the grants table's: the whole log fits 1280 px
            "at": st.column_config.DatetimeColumn(
                "when (UTC)", format="D MMM YYYY, HH:mm:ss", width=140
            ),
            "user": st.column_config.TextColumn("who", width=190),
            "action": st.column_config.TextColumn("action", width=95),
            "account": st.column_config.TextColumn("account", width=140),
            "detail": st.column_config.TextColumn("detail", width=230),
        },
    )
    download_csv(
        log, label="Download the audit log (CSV)", file_name="audit_log.csv", key="audit_csv"
    )
