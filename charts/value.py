"""Value charts (Altair: the same spec serves the page and the PDF).

* ``stacked_value_chart`` — value to date stacked by a group (category or innovation).
  Input columns: ``month``, ``group``, ``cumulative``; optional ``order`` (0 = largest:
  stacked at the bottom and listed first) — the "unattributed" group is always grey.
* ``bridge_chart`` — baseline → now waterfall. Input rows in display order with columns
  ``label``, ``value``, ``kind`` ∈ {"step", "unattributed", "total"}; each step starts where
  the previous ended, the total bar starts at 0. Optional ``text`` (formatted figure).
* ``evidence_chart`` — claimed vs measured vs estimated per innovation (dot plot with the
  estimate's 95 % CI). Input columns: ``code``, ``title``, ``claimed``, ``measured``,
  ``estimated``, ``ci_low``, ``ci_high``, ``evidence``; missing figures are NaN.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from charts.theme import (
    BETTER,
    CATEGORY_COLORS,
    EVIDENCE_COLORS,
    GREY,
    INK,
    UNATTRIBUTED,
    WORSE,
    color_for,
    money_axis,
    style,
)
from metrics.format import money
from metrics.rules import EVIDENCE_KEYS

# The evidence chart plots each line's three figures, weakest evidence first.
FIGURES: tuple[str, ...] = tuple(reversed(EVIDENCE_KEYS))

__all__ = ["bridge_chart", "bridge_frame", "evidence_chart", "stacked_value_chart"]


def stacked_value_chart(
    frame: pd.DataFrame,
    *,
    currency: str,
    locale: str = "en_US",
    legend_title: str = "",
    height: int = 380,
    scale: float = 1.0,
) -> alt.TopLevelMixin:
    df = frame.copy()
    df["month"] = pd.to_datetime(df["month"])
    if "order" not in df.columns:
        totals = df.groupby("group")["cumulative"].max().sort_values(ascending=False)
        df["order"] = df["group"].map({g: i for i, g in enumerate(totals.index)})
    names = (
        df.drop_duplicates("group")
        .sort_values("order")["group"]  # legend: largest first
        .astype(str)
        .tolist()
    )
    chart = (
        alt.Chart(df)
        .mark_area(opacity=0.9, line={"strokeWidth": 0.5, "color": "white"})
        .encode(
            x=alt.X("month:T", title=None, axis=alt.Axis(format="%b %Y", labelAngle=0, grid=False)),
            y=alt.Y(
                "cumulative:Q",
                stack="zero",
                axis=money_axis(currency, locale, title=f"Value to date ({currency})", tickCount=5),
            ),
            color=alt.Color(
                "group:N",
                title=legend_title or None,
                sort=names,
                scale=color_for(names, CATEGORY_COLORS),
            ),
            order=alt.Order("order:Q", sort="ascending"),  # the largest group at the bottom
            tooltip=[
                alt.Tooltip("group:N", title=legend_title or "Group"),
                alt.Tooltip("month:T", title="Month", format="%B %Y"),
                alt.Tooltip("cumulative:Q", title=f"Value to date ({currency})", format=",.0f"),
            ],
        )
        .properties(height=height, width="container")
    )
    return style(chart, scale=scale)


def bridge_frame(steps: pd.DataFrame, currency: str = "USD", locale: str = "en_US") -> pd.DataFrame:
    """Add the waterfall geometry: ``start``, ``end`` and ``direction`` for each row."""
    df = steps.reset_index(drop=True).copy()
    running = 0.0
    starts, ends = [], []
    for value, kind in zip(df["value"], df["kind"], strict=True):
        if kind == "total":
            starts.append(0.0)
            ends.append(float(value))
            running = float(value)
        else:
            starts.append(running)
            running += float(value)
            ends.append(running)
    df["start"], df["end"] = starts, ends
    df["direction"] = [
        "total"
        if k == "total"
        else "unattributed"
        if k == "unattributed"
        else "adds value"
        if v >= 0
        else "costs value"
        for k, v in zip(df["kind"], df["value"], strict=True)
    ]
    df["position"] = range(len(df))
    if "text" not in df.columns:
        df["text"] = [money(v, currency, locale) for v in df["value"]]
    return df


def bridge_chart(
    steps: pd.DataFrame,
    *,
    currency: str,
    locale: str = "en_US",
    title: str = "",
    bar_height: int = 26,
    scale: float = 1.0,
) -> alt.TopLevelMixin:
    """Horizontal waterfall (long innovation titles stay readable), one row per step. Each
    step's label is its measured value ("$1.1M measured"); with an ``evidence`` (and
    ``evidence_text``) column the evidence level and the causal estimate follow, said apart
    ("· evidence: proven (causal estimate), estimate $1.45M")."""
    df = bridge_frame(steps, currency, locale)
    has_evidence = "evidence" in df.columns and bool((df["evidence"].fillna("") != "").any())
    if "evidence" not in df.columns:
        df["evidence"] = ""
    df["evidence"] = df["evidence"].fillna("")
    if "evidence_text" not in df.columns:
        df["evidence_text"] = [f"evidence: {e}" if e else "" for e in df["evidence"]]
    df["evidence_text"] = df["evidence_text"].fillna("")
    domain = ["adds value", "costs value", "unattributed", "total"]
    colours = [BETTER, WORSE, UNATTRIBUTED, INK]
    y = alt.Y(
        "label:N",
        sort=alt.SortField("position"),
        title=None,
        axis=alt.Axis(labelLimit=round(320 * scale), labelFontSize=round(13 * scale)),
    )
    bars = (
        alt.Chart(df)
        .mark_bar(height=round(bar_height * 0.7 * scale))
        .encode(
            y=y,
            x=alt.X("start:Q", axis=money_axis(currency, locale, title=title or None, tickCount=5)),
            x2="end:Q",
            color=alt.Color(
                "direction:N", scale=alt.Scale(domain=domain, range=colours), legend=None
            ),
            tooltip=[
                alt.Tooltip("label:N", title="Step"),
                alt.Tooltip("text:N", title="Measured value"),
            ]
            + ([alt.Tooltip("evidence_text:N", title="Evidence")] if has_evidence else []),
        )
    )
    # the bar is the measured credit ("$1.1M measured"); the evidence level and the causal
    # estimate are other figures, said apart: "· evidence: proven (…), estimate $1.45M"
    labels = (
        alt.Chart(df)
        .mark_text(align="left", dx=5, color=INK, fontSize=round(12 * scale))
        .encode(
            y=y,
            x=alt.X("right:Q"),
            text="badge:N",
        )
        .transform_calculate(
            right="max(datum.start, datum.end)",
            badge="(datum.kind == 'step' ? datum.text + ' measured' : datum.text)"
            " + (datum.evidence_text ? '  ·  ' + datum.evidence_text : '')",
        )
    )
    chart = alt.layer(bars, labels).properties(
        height=max(120, round(len(df) * bar_height * scale)), width="container"
    )
    return style(chart, scale=scale)


def evidence_chart(
    lines: pd.DataFrame, *, currency: str, locale: str = "en_US", scale: float = 1.0
) -> alt.TopLevelMixin:
    """Per innovation: claimed (hollow grey), measured (blue), estimated (green, with CI)."""
    df = lines.copy()
    df["name"] = df["code"].astype(str) + "  " + df["title"].astype(str)
    order = df["name"].tolist()
    long = df.melt(
        id_vars=["name", "evidence"],
        value_vars=list(FIGURES),
        var_name="figure",
        value_name="amount",
    ).dropna(subset=["amount"])
    y = alt.Y("name:N", sort=order, title=None, axis=alt.Axis(labelLimit=round(300 * scale)))
    x_axis = money_axis(currency, locale, title=f"Value to date ({currency})", tickCount=5)
    ci = (
        alt.Chart(df.dropna(subset=["ci_low", "ci_high"]))
        .mark_rule(color=EVIDENCE_COLORS["estimated"], strokeWidth=2, opacity=0.6)
        .encode(y=y, x=alt.X("ci_low:Q", axis=x_axis), x2="ci_high:Q")
    )
    dots = (
        alt.Chart(long)
        .mark_point(size=90 * scale, filled=True, opacity=0.95)
        .encode(
            y=y,
            x=alt.X("amount:Q", axis=x_axis),
            shape=alt.Shape(
                "figure:N",
                title=None,
                scale=alt.Scale(
                    domain=list(FIGURES),
                    range=["circle", "square", "diamond"],
                ),
            ),
            color=alt.Color(
                "figure:N",
                title=None,
                scale=alt.Scale(
                    domain=list(FIGURES),
                    range=[GREY, EVIDENCE_COLORS["measured"], EVIDENCE_COLORS["estimated"]],
                ),
            ),
            tooltip=[
                alt.Tooltip("name:N", title="Innovation"),
                alt.Tooltip("figure:N", title="Figure"),
                alt.Tooltip("amount:Q", title=currency, format=",.0f"),
                alt.Tooltip("evidence:N", title="Evidence"),
            ],
        )
    )
    chart = alt.layer(ci, dots).properties(
        height=max(120, round(len(df) * 28 * scale)), width="container"
    )
    return style(chart, scale=scale)
