"""Figures for the Innovations page: funnel, portfolio mix, go-lives per quarter and the
innovation timeline (Altair; the funnel and the timeline clickable).

Builders take metric results (DataFrames) and return figures; they never read data or import
Streamlit. Interactive names: the funnel's point selection is called ``stage`` (field
``stage``); the timeline's is called ``innovation`` (field ``code``).
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from charts.theme import BLUE, GREEN, INK, MUTED, ORANGE, PURPLE, style
from metrics.rules import FORWARD_STAGES, STAGES

__all__ = [
    "PHASE_COLORS",
    "STAGE_COLORS",
    "funnel_chart",
    "golives_chart",
    "mix_panel",
    "row_label",
    "timeline_chart",
]

STAGE_ORDER = list(STAGES)
# Colour-blind-safe (Okabe-Ito based), sequential in spirit for the forward stages.
STAGE_COLORS: dict[str, str] = {
    "idea": "#CFE4F3",
    "evaluation": "#7FB7DE",
    "prototype": "#2F8AC5",
    "pilot": ORANGE,
    "scaled": GREEN,
    "rejected": "#9AA5B1",
    "retired": PURPLE,
}
PHASE_COLORS = {k: STAGE_COLORS[k] for k in FORWARD_STAGES}


def funnel_chart(
    funnel: pd.DataFrame, *, selectable: bool = True, scale: float = 1.0
) -> alt.LayerChart:
    """Horizontal bars per stage with count and conversion from the previous stage.

    ``funnel`` columns: stage, reached (innovations that reached the stage), conversion
    (share of the previous stage's that reached this one; NaN for the first), optionally now
    (innovations currently in the stage, shown in the tooltip), in stage order.
    With ``selectable`` a click selects a stage (selection parameter ``stage``).
    """
    df = funnel.copy()
    df["label"] = [
        f"{int(n)}" if pd.isna(c) else f"{int(n)}  ·  {c:.0%} of previous"
        for n, c in zip(df["reached"], df["conversion"], strict=True)
    ]
    order = [s for s in STAGE_ORDER if s in set(df["stage"])] or list(df["stage"])
    y = alt.Y("stage:N", sort=order, title=None, axis=alt.Axis(labelFontSize=13))
    color = alt.Color(
        "stage:N",
        scale=alt.Scale(domain=list(STAGE_COLORS), range=list(STAGE_COLORS.values())),
        legend=None,
    )
    base = alt.Chart(df)
    bars = base.mark_bar(cornerRadiusEnd=3, height={"band": 0.75}).encode(
        y=y,
        x=alt.X(
            "reached:Q",
            title="innovations that reached the stage",
            axis=alt.Axis(tickMinStep=1),
            scale=alt.Scale(domain=[0, max(float(df["reached"].max()), 1.0) * 1.4]),
        ),
        color=color,
        tooltip=[
            alt.Tooltip("stage:N"),
            alt.Tooltip("reached:Q", title="reached"),
            alt.Tooltip("conversion:Q", title="conversion from previous", format=".0%"),
        ]
        + ([alt.Tooltip("now:Q", title="in this stage now")] if "now" in df.columns else []),
    )
    if selectable:
        sel = alt.selection_point(name="stage", fields=["stage"], on="click", empty=True)
        bars = bars.add_params(sel).encode(
            opacity=alt.condition(sel, alt.value(1.0), alt.value(0.35))
        )
    text = base.mark_text(align="left", dx=6, fontSize=13, color=INK).encode(
        y=y, x=alt.X("reached:Q"), text="label:N"
    )
    return style(
        alt.layer(bars, text).properties(height=42 * max(len(df), 1) * scale, width="container"),
        scale=scale,
    )


def _mix_frame(mix: pd.DataFrame) -> pd.DataFrame:
    """``mix`` with each value's share of its dimension and the bar's label."""
    df = mix.copy()
    if "share" not in df.columns:
        df["share"] = df["count"] / df.groupby("dimension")["count"].transform("sum")
    df["label"] = [f"{int(c)}  ({s:.0%})" for c, s in zip(df["count"], df["share"], strict=True)]
    return df


def _mix_layer(part: pd.DataFrame, dim: str) -> alt.LayerChart:
    """One dimension's bars, titled "by <dimension>" (no width: the page's column sets it)."""
    base = alt.Chart(part).encode(
        y=alt.Y("value:N", title=None, sort="-x", axis=alt.Axis(labelLimit=170)),
        x=alt.X(
            "count:Q",
            title=None,
            axis=None,
            # room after the longest bar for its label in a third of the page at 1280 px
            scale=alt.Scale(domain=[0, float(part["count"].max()) * 1.9]),
        ),
    )
    bars = base.mark_bar(color=BLUE, cornerRadiusEnd=3).encode(
        tooltip=["value:N", "count:Q", alt.Tooltip("share:Q", format=".0%")]
    )
    text = base.mark_text(align="left", dx=4, color=INK).encode(text="label:N")
    # fit the width to the column only: fitting the height too would squeeze the bars into
    # the given height less the title
    fit_x = alt.AutoSizeParams(type="fit-x", contains="padding")
    return alt.LayerChart(
        layer=[bars, text], title=f"by {dim}", height=24 * len(part), autosize=fit_x
    )


def mix_panel(mix: pd.DataFrame, dimension: str, *, scale: float = 1.0) -> alt.LayerChart:
    """Portfolio mix: one dimension's small bar chart (scale, category or origin), as wide as
    its container — the page puts the three in columns (side by side at a fixed width they
    were wider than the page at 1280 px).

    ``mix`` columns: dimension, value, count (and optionally share)."""
    df = _mix_frame(mix)
    return style(_mix_layer(df[df["dimension"] == dimension], dimension), scale=scale)


def golives_chart(golives: pd.DataFrame, *, scale: float = 1.0) -> alt.Chart:
    """Unit go-lives per quarter (the bars count rollouts: innovation × unit), with the
    innovations going live for the first time in the tooltip. ``golives`` columns: quarter
    (label, e.g. "2024 Q3"), go_lives (rollouts going live) and optionally innovations
    (distinct innovations going live for the first time)."""
    df = golives.copy()
    df["quarter"] = df["quarter"].astype(str)
    bars = (
        alt.Chart(df)
        .mark_bar(color=GREEN, cornerRadiusEnd=2)
        .encode(
            x=alt.X(
                "quarter:N",
                title=None,
                sort=None,
                # every quarter labelled (Vega drops overlapping labels by default)
                axis=alt.Axis(labelAngle=-45, labelOverlap=False, labelFontSize=12),
            ),
            # rollouts, not innovations: one innovation going live at five units is five
            y=alt.Y("go_lives:Q", title="unit go-lives", axis=alt.Axis(tickMinStep=1)),
            tooltip=[alt.Tooltip("quarter:N", title="quarter")]
            + [alt.Tooltip("go_lives:Q", title="unit go-lives (rollouts)")]
            + (
                [alt.Tooltip("innovations:Q", title="innovations live for the first time")]
                if "innovations" in df.columns
                else []
            ),
        )
    )
    return style(bars.properties(height=200, width="container"), scale=scale)


#: Timeline row labels: type size, row height and the characters kept of a title (whole
#: words; the full title is in the hover). 48 characters at 13 px is about 300 px.
LABEL_PX, ROW_PX, TITLE_CHARS = 13, 22, 48


def row_label(code: str, title: str, limit: int = TITLE_CHARS) -> str:
    """``"INN-004 · Knowledge base for …"``: the title cut at a word boundary within ``limit``
    characters (an ellipsis says so); short titles whole."""
    t = " ".join(str(title).split())
    if len(t) > limit:
        cut = t[: limit - 1].rsplit(" ", 1)[0] if " " in t[: limit - 1] else t[: limit - 1]
        t = cut.rstrip(" ,;:–-") + "…"
    return f"{code} · {t}"


def timeline_chart(
    timeline: pd.DataFrame, *, as_of: pd.Timestamp | None = None, scale: float = 1.0
) -> alt.LayerChart:
    """Gantt-like life of each innovation (idea → evaluation → prototype → pilot → scaled).

    ``timeline`` columns: code, title, stage, phase, start, end, open, order (see
    ``metrics.innovation_views.timeline_frame``). Rejected/retired innovations end at their
    closing date, marked × and labelled. A click on a bar selects its innovation (selection
    parameter ``innovation``, field ``code``). Altair, not Plotly: with the Plotly chart a
    switch to the page kept the browser busy about 0.3 s longer (benchmarks/README.md,
    Session 7).
    """
    df = timeline.copy()
    df["row"] = [row_label(c, t) for c, t in zip(df["code"], df["title"], strict=True)]
    rows = df.drop_duplicates("code").sort_values("order")["row"].tolist()
    # a phase of less than a day is still drawn, a day wide
    df["end"] = df[["end"]].assign(low=df["start"] + pd.Timedelta(days=1)).max(axis=1)
    df["period"] = [
        f"{a:%d %b %Y} → {b:%d %b %Y}" + (" (ongoing)" if o else "")
        for a, b, o in zip(df["start"], df["end"], df["open"], strict=True)
    ]
    y = alt.Y(
        "row:N",
        sort=rows,  # earliest idea on top
        title=None,
        axis=alt.Axis(
            labelFontSize=round(LABEL_PX * scale),
            labelColor=INK,
            labelLimit=round(420 * scale),
            labelOverlap=False,  # one label per row, always (Vega drops "overlapping" ones)
            grid=False,
            ticks=False,
        ),
    )
    # the dates on top: the chart is taller than a screen (60 innovations: 1,320 px)
    said = f"dotted line: data as of {pd.Timestamp(as_of):%b %Y}" if as_of is not None else None
    x = alt.X(
        "start:T",
        title="start",  # what a screen reader says of a bar's position
        axis=alt.Axis(title=said, format="%b %Y", grid=True, orient="top"),
    )
    pick = alt.selection_point(name="innovation", fields=["code"], on="click", empty=True)
    bars = (
        alt.Chart(df)
        .mark_bar(height={"band": 0.75})
        .encode(
            y=y,
            x=x,
            x2="end:T",
            color=alt.Color(
                "phase:N",
                scale=alt.Scale(domain=list(PHASE_COLORS), range=list(PHASE_COLORS.values())),
                legend=alt.Legend(orient="top", direction="horizontal", title=None, columns=5),
            ),
            tooltip=[
                alt.Tooltip("code:N", title="innovation"),
                alt.Tooltip("title:N", title="title"),
                alt.Tooltip("phase:N", title="phase"),
                alt.Tooltip("period:N", title="when"),
                alt.Tooltip("stage:N", title="now"),
            ],
        )
        .add_params(pick)
    )
    layers: list[alt.Chart] = [bars]
    closed = df.sort_values("end").drop_duplicates("code", keep="last")
    closed = closed[closed["stage"].isin(["rejected", "retired"])]
    if not closed.empty:
        # labelled: a retirement ends the innovation's credit and claims there
        ends = alt.Chart(closed).encode(
            y=y,
            x="end:T",
            tooltip=[
                alt.Tooltip("code:N", title="innovation"),
                alt.Tooltip("stage:N", title="now"),
                alt.Tooltip("end:T", title="closed", format="%d %b %Y"),
            ],
        )
        layers += [
            ends.mark_point(shape="cross", angle=45, filled=True, size=110, color=MUTED),
            ends.mark_text(align="left", dx=8, fontSize=round(11 * scale), color=MUTED).encode(
                text="stage:N"
            ),
        ]
    if as_of is not None:
        at = pd.DataFrame({"x": [pd.Timestamp(as_of)]})
        layers.append(alt.Chart(at).mark_rule(strokeDash=[2, 3], color=MUTED).encode(x="x:T"))
    chart = alt.layer(*layers).properties(
        height=round(max(230, ROW_PX * scale * max(len(rows), 1))), width="container"
    )
    return style(chart, scale=scale)
