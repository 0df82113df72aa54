"""Then vs now as a chart: the % change of each KPI between the two photographs, coloured by
whether it is better (blue) or worse (vermillion) given the KPI's direction.

Input columns: ``label`` (KPI), ``pct_change`` (fraction, e.g. -0.12), ``better`` (bool or
None when unchanged/unknown); optional ``demand`` (True: client demand, drawn neutral light
grey and named so, never "better"); optional ``then_text`` / ``now_text`` (formatted values) for
the tooltip and the bar label.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from charts.theme import BETTER, GREY, INK, LIGHT_GREY, WORSE, style
from metrics.format import pct

__all__ = ["then_now_chart"]


def then_now_chart(
    scorecard: pd.DataFrame, *, then_label: str = "Then", now_label: str = "Now", scale: float = 1.0
) -> alt.TopLevelMixin:
    df = scorecard.copy()
    demand = (
        [bool(d) for d in df["demand"].fillna(False)]
        if "demand" in df.columns
        else [False] * len(df)
    )
    # client demand (transactions) is neither better nor worse: neutral, said in words
    df["verdict"] = [
        "client demand" if d else "better" if b is True else "worse" if b is False else "no change"
        for b, d in zip(df["better"].astype(object), demand, strict=True)
    ]
    df["pct_label"] = df["pct_change"].map(pct)  # "−14.7%", the minus sign of every figure
    if "then_text" not in df.columns:
        df["then_text"] = ""
    if "now_text" not in df.columns:
        df["now_text"] = ""
    df["pct"] = df["pct_change"].fillna(0.0)
    bound = max(0.05, float(df["pct"].abs().max() if len(df) else 0.0) * 1.4)
    y = alt.Y(
        "label:N",
        sort=df["label"].tolist(),
        title=None,
        axis=alt.Axis(labelLimit=round(260 * scale), labelFontSize=round(14 * scale)),
    )
    bars = (
        alt.Chart(df)
        .mark_bar(height=round(20 * scale))
        .encode(
            y=y,
            x=alt.X(
                "pct:Q",
                title=f"Change from {then_label} to {now_label}",
                axis=alt.Axis(format="+.0%", tickCount=5),
                scale=alt.Scale(domain=[-bound, bound]),
            ),
            color=alt.Color(
                "verdict:N",
                legend=None,
                scale=alt.Scale(
                    domain=["better", "worse", "no change", "client demand"],
                    range=[BETTER, WORSE, GREY, LIGHT_GREY],
                ),
            ),
            tooltip=[
                alt.Tooltip("label:N", title="KPI"),
                alt.Tooltip("then_text:N", title=then_label),
                alt.Tooltip("now_text:N", title=now_label),
                alt.Tooltip("pct_label:N", title="Change"),
                alt.Tooltip("verdict:N", title="Verdict"),
            ],
        )
    )
    pos = (
        alt.Chart(df[df["pct"] >= 0])
        .mark_text(align="left", dx=6, color=INK, fontSize=round(13 * scale))
        .encode(y=y, x="pct:Q", text="pct_label:N")
    )
    neg = (
        alt.Chart(df[df["pct"] < 0])
        .mark_text(align="right", dx=-6, color=INK, fontSize=round(13 * scale))
        .encode(y=y, x="pct:Q", text="pct_label:N")
    )
    zero = alt.Chart(pd.DataFrame({"x": [0.0]})).mark_rule(color=GREY).encode(x="x:Q")
    chart = alt.layer(bars, zero, pos, neg).properties(
        height=max(100, round(len(df) * 38 * scale)), width="container"
    )
    return style(chart, scale=scale)
