"""The Data page's sections that write: import (validate, import, the validation report) and
the import history with rollback. Every write goes through ``ui.data_actions`` to
``services.imports``, which checks the caller's role itself; here only what is drawn, and the
two-step states of the page (the last import's result, a rollback waiting for its
confirmation) in session state."""

from __future__ import annotations

import streamlit as st

from ui.data_actions import counts_frame, history, problems_frame, rollback, run_import
from ui.data_tabs import shown_entities, shown_user
from ui.downloads import download_csv
from ui.page_context import PageContext, engine
from ui.page_states import database_guard

__all__ = ["history_section", "import_section"]


def import_section(ctx: PageContext) -> None:
    """Upload, "Validate only" / "Import", and the result of the last one."""
    can_import = ctx.scope.can_import
    if not can_import:
        st.info(
            "Imports are done by the provider's administrators. You can read the history, "
            "freshness and method here."
        )
    else:  # the service refuses anyone else too (ui.data_actions checks the scope)
        files = st.file_uploader(
            "CSV or Excel files (one entity per file or per sheet)",
            type=["csv", "xlsx"],
            accept_multiple_files=True,
            key="upload",
        )
        with st.container(horizontal=True):
            check = st.button("Validate only", disabled=not files)
            go = st.button("Import", type="primary", disabled=not files)
        if (check or go) and files:
            bar = st.progress(0.0, text="Reading files…")
            with database_guard(ctx.url, key="import"):
                result = run_import(
                    engine(),
                    ctx.scope,
                    [(f.name, f.getvalue()) for f in files],
                    dry_run=check,
                    progress=bar.progress,
                )
                st.session_state["import_result"] = (check, result)
                if result.ok and go:
                    st.rerun()  # the frame reloads accounts and filters with the new data
        if "import_result" in st.session_state:
            dry, result = st.session_state["import_result"]
            for w in getattr(result, "warnings", ()):
                st.warning(str(w))
            if result.ok:
                if dry:
                    st.info("**Valid.** Nothing was written yet; importing would give:")
                else:
                    st.success(
                        f"**Imported as batch {result.batch_id}.** Every page now shows "
                        "the new data."
                    )
                st.dataframe(counts_frame(result), hide_index=True, key="import_counts")
            else:
                problems = problems_frame(result)
                st.error(
                    f"Nothing was imported: {len(problems)} problem(s). Fix them and upload again."
                )
                st.dataframe(problems, hide_index=True, key="problems")
                download_csv(
                    problems,
                    label="Download the report (CSV)",
                    file_name="validation_report.csv",
                    key="problems_csv",
                )


def history_section(ctx: PageContext) -> None:
    """The import batches (provider roles: all; others: their account's) and, for those
    who may import, rollback of an applied batch after a confirmation."""
    can_import = ctx.scope.can_import
    account = ctx.data.account.name if ctx.data is not None else None
    with database_guard(ctx.url, key="history"):
        hist = history(engine(), ctx.scope, account)
        if hist.empty:
            st.caption("No imports yet.")
        else:
            # key columns first; the widths add up to what a 1280 px laptop with the sidebar open
            # gives the table (about 815 px: a grid never shrinks a fixed width, it scrolls).
            # "read" is not a column: it is new + updated + same.
            st.dataframe(
                shown_user(hist.assign(entity=hist["entity"].map(shown_entities))),
                hide_index=True,
                key="history",
                width="stretch",
                column_order=[
                    "id",
                    "finished_at",
                    # the account only when the history holds more than one
                    *(["account_name"] if hist["account_name"].nunique() > 1 else []),
                    "entity",
                    "status",
                    "rows_inserted",
                    "rows_updated",
                    "rows_unchanged",
                    "rows_now",
                    "rows_kept",
                    "source",
                    "user",
                ],
                column_config={
                    "id": st.column_config.NumberColumn(
                        "batch", width=48, help="The batch number to roll back (below)"
                    ),
                    "finished_at": st.column_config.DatetimeColumn(
                        "imported", format="D MMM YYYY, HH:mm", width=118
                    ),
                    "account_name": st.column_config.TextColumn("account", width=100),
                    "entity": st.column_config.TextColumn("what", width=90),
                    "status": st.column_config.TextColumn("status", width=62),
                    "source": st.column_config.TextColumn("file", width=80),
                    "rows_inserted": st.column_config.NumberColumn(
                        "new", width=50, help="Rows read = new + updated + same"
                    ),
                    "rows_updated": st.column_config.NumberColumn("updated", width=60),
                    "rows_unchanged": st.column_config.NumberColumn("same", width=46),
                    "user": st.column_config.TextColumn("by", width=40),
                    "rows_now": st.column_config.NumberColumn(
                        "holds now",
                        width=68,
                        help="Rows still carrying this batch: inserted or last changed by it",
                    ),
                    "rows_kept": st.column_config.NumberColumn(
                        "kept", width=42, help="Rows of earlier batches it re-imported unchanged"
                    ),
                },
            )
        applied = hist.loc[hist["status"] == "applied", "id"].tolist() if not hist.empty else []
        if can_import and applied:
            c1, c2 = st.columns([1, 3])
            batch = c1.selectbox("Batch", applied, key="rollback_batch")
            if c1.button("Roll back…"):
                st.session_state["confirm_rollback"] = batch
            pending = st.session_state.get("confirm_rollback")
            if pending is not None:
                with c2:
                    st.warning(
                        f"Roll back batch {pending}? Rows it inserted are deleted and rows it "
                        "overwrote are restored. This cannot be undone."
                    )
                    yes, no, _ = st.columns([1, 1, 3])
                    if yes.button("Yes, roll back", type="primary"):
                        st.session_state["rolled_back"] = rollback(
                            engine(), ctx.scope, int(pending)
                        )
                        st.session_state.pop("confirm_rollback")
                        st.rerun()
                    if no.button("Cancel"):
                        st.session_state.pop("confirm_rollback")
                        st.rerun()
        if "rolled_back" in st.session_state:
            done, message = st.session_state.pop("rolled_back")
            (st.success if done else st.error)(message)
