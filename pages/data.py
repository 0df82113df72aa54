"""Data: import files (validate / import, validation report), templates, import history with
rollback, data freshness per source, and how value is computed; for a provider admin, access
and the audit log. One tab, one section of ``ui/`` (the writes go through ``services``)."""

from __future__ import annotations

import streamlit as st

from ui.access_tabs import access_section, audit_section
from ui.data_tabs import freshness_section, method_section, templates_section
from ui.import_tabs import history_section, import_section
from ui.page_context import cached_accounts, page_context
from ui.page_states import database_guard

ctx = page_context(__file__)
st.title("Data")
if ctx.account_id is None:
    st.info(
        "**No data yet.** Import your first files below — templates are in the Templates "
        "tab — or load the demo account with `make demo` (or `.venv/bin/thenandnow demo`)."
    )
names = ["Import", "Import history", "Freshness", "Templates", "How we compute value"]
if ctx.scope.can_manage_access:
    names += ["Access", "Audit log"]
tabs = st.tabs(names)
tab_import, tab_history, tab_fresh, tab_templates, tab_method = tabs[:5]

with tab_import:
    import_section(ctx)
with tab_history:
    history_section(ctx)
with tab_fresh, database_guard(ctx.url, key="freshness"):
    freshness_section(ctx.url, ctx.scope, ctx.account_id, ctx.version)
with tab_templates:
    templates_section()
with tab_method:
    method_section()
if ctx.scope.can_manage_access:
    with tabs[5]:
        access_section(ctx.scope, cached_accounts(ctx.url, ctx.scope, ctx.version)["name"].tolist())
    with tabs[6]:
        audit_section(ctx.scope)
