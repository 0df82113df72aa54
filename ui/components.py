"""Small rendering helpers shared by the pages and present mode (Streamlit side only)."""

from __future__ import annotations

from typing import Any, Literal

import pandas as pd
import streamlit as st


def direction_color(better: bool | None) -> Literal["blue", "red", "gray"]:
    """Delta colour by meaning, not sign: better = blue, worse = vermillion (theme red)."""
    return "gray" if better is None else ("blue" if better else "red")


def kpi_card(
    label: str,
    value: str,
    *,
    delta: str | None = None,
    better: bool | None = None,
    change: float | None = None,
    help: str | None = None,
    container: Any = None,
    height: int | Literal["content"] = "content",
) -> None:
    """A big, bordered number. The delta's colour says whether it is better (blue) or worse
    (vermillion); its arrow follows the sign of ``change`` — two independent cues."""
    target = container if container is not None else st
    arrow: Literal["up", "down", "off"] = (
        "off" if change is None or change == 0 else ("up" if change > 0 else "down")
    )
    target.metric(
        label,
        value,
        delta=delta,
        delta_color=direction_color(better),
        help=help,
        border=True,
        delta_arrow=arrow,
        height=height,
    )


def altair(chart: Any, *, key: str | None = None) -> None:
    """Render an Altair chart exactly as the PDF prints it (our theme, not Streamlit's)."""
    st.altair_chart(chart, theme=None, width="stretch", key=key)


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
    from ui.context import engine_for

    account = ctx.data.account.name if ctx.data is not None else None
    try:
        audit.record(engine_for(ctx.url), ctx.scope, "download", account=account, detail=file_name)
    except Exception:  # noqa: BLE001 - auditing must never block a download
        return
