"""Table downloads as a reader gets them: CSV with a header line naming the account, filters
and as-of date (``services.export``), each download recorded in the audit log."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st


def csv_header(ctx: Any) -> str:
    """The download's first line: account, filters and as-of (``services.export.csv_header``),
    ``Northwind Insurance · all units · all categories · Jan 2023 – Oct 2026 · data to 31 Oct
    2026``."""
    from metrics.innovation_views import data_as_of
    from services.export import csv_header as _header

    if ctx.data is None:
        return "Then & Now"
    period = (ctx.start, ctx.end) if ctx.start and ctx.end else None
    return _header(
        ctx.data.account.name,
        units=ctx.unit_names if ctx.unit_ids is not None else None,
        period=period,
        categories=ctx.categories,
        as_of=data_as_of(ctx.data.monthly),
    )


def download_csv(
    frame: pd.DataFrame, *, label: str, file_name: str, key: str, ctx: Any = None
) -> None:
    """Every table download (``services.export.export_csv``; the header names ``ctx``'s account, filters
    and as-of date); the download is audited."""
    from services.export import export_csv

    st.download_button(
        label,
        export_csv(frame, header=csv_header(ctx) if ctx is not None else "Then & Now"),
        file_name=file_name,
        mime="text/csv",
        icon=":material/download:",
        key=key,
        on_click=_audit_download,
        args=(file_name,),
    )


def _audit_download(file_name: str) -> None:
    ctx = st.session_state.get("ctx")
    if ctx is None:
        return
    from services import audit
    from ui.page_context import engine_for

    account = ctx.data.account.name if ctx.data is not None else None
    try:
        audit.record(engine_for(ctx.url), ctx.scope, "download", account=account, detail=file_name)
    except Exception:  # noqa: BLE001 - auditing must never block a download
        return
