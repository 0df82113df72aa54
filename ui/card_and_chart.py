"""How a KPI card and an Altair chart are drawn, the same on every page and in present mode."""

from __future__ import annotations

from typing import Any, Literal

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
