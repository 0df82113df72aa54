"""The cumulative value curve: Altair for the page and the PDF, Plotly for clicking through.

Inputs (both builders):

* ``curve`` — one row per month: ``month`` (first-of-month timestamp), ``cumulative``
  (value to date, account currency) and optionally ``benefit`` (that month's value).
* ``golives`` — one row per innovation go-live: ``date``, ``code``, ``title`` (optional
  ``category``). Go-lives of the same month share one marker on the curve at that month
  (``golive_groups``): its hover lists every innovation, and a number beside it says how
  many went live (the demo's 37 go-lives fall in 15 months; one marker each hid 22).
* ``events`` — dated annotations: ``date``, ``title`` (optional ``kind``).
* ``retirements`` (optional) — one row per retired innovation: ``date`` (its retirement),
  ``code``, ``title``. Drawn on the curve at that month, labelled "INN-037 retired": its
  credit and claim stop there (``metrics.rules.retired_on``).

The Plotly figure carries each go-live marker's innovation codes, comma-separated, in
``customdata[0]`` so a click (``st.plotly_chart(on_select="rerun")``) can open the
innovation's detail page (or offer the month's innovations when there are several).
"""

from __future__ import annotations

import altair as alt
import pandas as pd
import plotly.graph_objects as go

from charts.theme import (
    BLUE,
    GREY,
    INK,
    MUTED,
    ORANGE,
    PURPLE,
    money_axis,
    money_ticks,
    plotly_layout,
    style,
)
from metrics.format import money

__all__ = [
    "cumulative_value_chart",
    "cumulative_value_figure",
    "golive_groups",
    "markers_on_curve",
]

EVENT_COLOR = GREY
_NONE = pd.DataFrame(columns=["date", "code", "title"])


def markers_on_curve(curve: pd.DataFrame, golives: pd.DataFrame) -> pd.DataFrame:
    """Go-lives placed on the curve: the cumulative value of their go-live month."""
    if golives.empty or curve.empty:
        return pd.DataFrame(columns=["date", "code", "title", "month", "cumulative"])
    g = golives.copy()
    g["month"] = pd.to_datetime(g["date"]).dt.to_period("M").dt.to_timestamp()
    c = curve[["month", "cumulative"]].copy()
    c["month"] = pd.to_datetime(c["month"])
    placed = g.merge(c, on="month", how="inner")
    return placed.sort_values("date").reset_index(drop=True)


def golive_groups(curve: pd.DataFrame, golives: pd.DataFrame) -> pd.DataFrame:
    """One row per month with go-lives, on the curve: ``month``, ``cumulative``, ``count``,
    ``codes`` (comma-separated, by date), ``names`` ("INN-001 Title" per innovation, in
    date order, as a list), ``badge`` (the count when more than one, else "")."""
    placed = markers_on_curve(curve, golives)
    cols = ["month", "cumulative", "count", "codes", "names", "badge"]
    if placed.empty:
        return pd.DataFrame(columns=cols)
    placed = placed.assign(name=placed["code"].astype(str) + " " + placed["title"].astype(str))
    rows = []
    for month, part in placed.groupby("month", sort=True):
        n = len(part)
        rows.append(
            {
                "month": month,
                "cumulative": float(part["cumulative"].iloc[0]),
                "count": n,
                "codes": ",".join(part["code"].astype(str)),
                "names": part["name"].tolist(),
                "badge": str(n) if n > 1 else "",
            }
        )
    return pd.DataFrame(rows, columns=cols)


def _events_in_range(curve: pd.DataFrame, events: pd.DataFrame) -> pd.DataFrame:
    if events.empty or curve.empty:
        return pd.DataFrame(columns=["date", "title", "row", "side"])
    lo, hi = pd.to_datetime(curve["month"]).min(), pd.to_datetime(curve["month"]).max()
    ev = events.copy()
    ev["date"] = pd.to_datetime(ev["date"])
    ev = ev[(ev["date"] >= lo) & (ev["date"] <= hi + pd.offsets.MonthEnd(0))]
    ev = ev.sort_values("date").reset_index(drop=True)
    return _pack_labels(ev, lo, hi + pd.offsets.MonthEnd(0))


# Label packing assumes a plot about this wide and text about this wide per character (11 px
# type): the chart is drawn at the container's width, which the spec cannot know.
_PLOT_PX, _CHAR_PX, _LABEL_PX, _ROWS = 700.0, 7.5, 170.0, 3


def _pack_labels(ev: pd.DataFrame, lo: pd.Timestamp, hi: pd.Timestamp) -> pd.DataFrame:
    """Give each event label a row (0–2) and a side so that neighbours do not collide: a
    label takes the first row whose previous label ends before it starts (else the row that
    frees first), and a label that would run past the right edge ends at its rule instead of
    starting there (``side`` "right")."""
    span = max((hi - lo).total_seconds(), 1.0)
    px = _PLOT_PX / span  # pixels per second
    rows_end = [-float("inf")] * _ROWS
    rows, sides = [], []
    for when, title in zip(ev["date"], ev["title"].astype(str), strict=True):
        x = (pd.Timestamp(when) - lo).total_seconds() * px
        width = min(_LABEL_PX, _CHAR_PX * len(title)) + 8
        right = x + width > _PLOT_PX
        start, end = (x - width, x) if right else (x, x + width)
        free = [r for r in range(_ROWS) if rows_end[r] <= start]
        row = free[0] if free else min(range(_ROWS), key=lambda r: rows_end[r])
        rows_end[row] = end
        rows.append(row)
        sides.append("right" if right else "left")
    return ev.assign(row=rows, side=sides)


def cumulative_value_chart(
    curve: pd.DataFrame,
    golives: pd.DataFrame,
    events: pd.DataFrame,
    *,
    currency: str,
    locale: str = "en_US",
    money_format: dict[str, str] | None = None,
    height: int = 360,
    scale: float = 1.0,
    retirements: pd.DataFrame | None = None,
) -> alt.TopLevelMixin:
    """Area + line of value to date, go-lives as points on the curve, events as rules,
    retirements as labelled squares ("INN-037 retired").

    ``money_format`` optionally maps ``month`` (ISO date) to a pre-formatted figure for the
    tooltip (exact figures come from the metrics' Babel formatter).
    """
    df = curve.copy()
    df["month"] = pd.to_datetime(df["month"])
    fallback = [money(v, currency, locale, compact=False) for v in df["cumulative"]]
    given = df["month"].dt.strftime("%Y-%m-%d").map(money_format or {}).tolist()
    df["label"] = [g if isinstance(g, str) else f for g, f in zip(given, fallback, strict=True)]
    x = alt.X(
        "month:T", title=None, axis=alt.Axis(format="%b %Y", labelAngle=0, tickCount=8, grid=False)
    )
    y = alt.Y(
        "cumulative:Q",
        axis=money_axis(currency, locale, title=f"Value to date ({currency})", tickCount=5),
    )
    area = alt.Chart(df).mark_area(color=BLUE, opacity=0.12).encode(x=x, y=y)
    line = (
        alt.Chart(df)
        .mark_line(color=BLUE, strokeWidth=3)
        .encode(
            x=x,
            y=y,
            tooltip=[
                alt.Tooltip("month:T", title="Month", format="%B %Y"),
                alt.Tooltip("label:N", title="Value to date"),
            ],
        )
    )
    layers: list[alt.Chart] = [area, line]
    groups = golive_groups(df, golives)
    if not groups.empty:
        # one layer per group size, so the tooltip lists exactly that many innovations, each
        # on its own line (Vega-Lite's tooltip fields are fixed per layer)
        for n in sorted(set(groups["count"])):
            part = groups[groups["count"] == n].reset_index(drop=True)
            names = pd.DataFrame(part["names"].tolist(), columns=[f"i{j}" for j in range(n)])
            part = pd.concat([part.drop(columns=["names"]), names], axis=1)
            tip = [alt.Tooltip("month:T", title="Went live", format="%B %Y")] + [
                alt.Tooltip(f"i{j}:N", title=f"{j + 1}." if n > 1 else "Innovation")
                for j in range(n)
            ]
            layers.append(
                alt.Chart(part)
                .mark_point(
                    shape="triangle-up",
                    filled=True,
                    size=(70 if n == 1 else 110) * scale,
                    color=ORANGE,
                    opacity=0.9,
                )
                .encode(x="month:T", y="cumulative:Q", tooltip=tip)
            )
        badges = groups[groups["count"] > 1].drop(columns=["names"])
        if not badges.empty:
            layers.append(
                alt.Chart(badges)
                .mark_text(
                    dy=-round(13 * scale),
                    fontSize=round(11 * scale),
                    fontWeight="bold",
                    color=INK,
                )
                .encode(x="month:T", y="cumulative:Q", text="badge:N")
            )
    gone = markers_on_curve(df, retirements if retirements is not None else _NONE)
    if not gone.empty:
        gone = gone.assign(tag=gone["code"].astype(str) + " retired")
        mark = alt.Chart(gone).encode(
            x="month:T",
            y="cumulative:Q",
            tooltip=[
                alt.Tooltip("code:N", title="Innovation"),
                alt.Tooltip("title:N", title="Title"),
                alt.Tooltip("date:T", title="Retired (credit stops)", format="%d %b %Y"),
            ],
        )
        layers += [
            mark.mark_point(shape="square", filled=True, size=60 * scale, color=PURPLE),
            mark.mark_text(
                align="left", dx=6, dy=10, fontSize=round(11 * scale), color=PURPLE
            ).encode(text="tag:N"),
        ]
    ev = _events_in_range(df, events)
    if not ev.empty:
        # The labels sit in a band at the top; the rules start below it, so no rule crosses
        # a neighbour's label.
        band = 4 + (int(ev["row"].max()) + 1) * round(15 * scale)
        rules = (
            alt.Chart(ev)
            .mark_rule(color=EVENT_COLOR, strokeDash=[4, 4])
            .encode(
                x="date:T",
                y=alt.value(band),
                y2=alt.value(height),
                tooltip=[
                    alt.Tooltip("title:N", title="Event"),
                    alt.Tooltip("date:T", title="Date", format="%d %b %Y"),
                ],
            )
        )
        labels = [
            alt.Chart(ev[(ev["row"] == r) & (ev["side"] == side)])
            .mark_text(
                align=side,
                dx=4 if side == "left" else -4,
                baseline="top",
                y=2 + r * round(15 * scale),
                fontSize=round(11 * scale),
                color=MUTED,
                limit=round(_LABEL_PX * scale),
            )
            .encode(x="date:T", text="title:N")
            for r in range(_ROWS)
            for side in ("left", "right")
            if ((ev["row"] == r) & (ev["side"] == side)).any()
        ]
        layers += [rules, *labels]
    chart = alt.layer(*layers).properties(height=height, width="container")
    return style(chart, scale=scale)


def cumulative_value_figure(
    curve: pd.DataFrame,
    golives: pd.DataFrame,
    events: pd.DataFrame,
    *,
    currency: str,
    locale: str = "en_US",
    money_text: list[str] | None = None,
    height: int = 420,
    scale: float = 1.0,
    retirements: pd.DataFrame | None = None,
) -> go.Figure:
    """The same curve in Plotly: hover names the innovation, a click selects its go-live
    point (``customdata[0]`` = innovation code). ``money_text`` gives the formatted value
    to date per curve row for the hover."""
    df = curve.copy()
    df["month"] = pd.to_datetime(df["month"])
    text = (
        money_text
        if money_text is not None
        else [money(v, currency, locale, compact=False) for v in df["cumulative"]]
    )
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=df["month"],
            y=df["cumulative"],
            mode="lines",
            name="Value to date",
            line={"color": BLUE, "width": 3},
            fill="tozeroy",
            fillcolor="rgba(0,114,178,0.10)",
            text=text,
            hovertemplate="%{x|%B %Y}<br>Value to date: %{text}<extra></extra>",
        )
    )
    groups = golive_groups(df, golives)
    if not groups.empty:
        hover = [
            f"<b>{n} innovations went live</b> in %{{x|%b %Y}}<br>"
            + "<br>".join(names)
            + "<br><i>click to choose one</i>"
            if n > 1
            else f"<b>{names[0]}</b><br>went live %{{x|%b %Y}}<br><i>click to open</i>"
            for n, names in zip(groups["count"], groups["names"], strict=True)
        ]
        fig.add_trace(
            go.Scatter(
                x=groups["month"],
                y=groups["cumulative"],
                mode="markers+text",
                name="Go-live",
                text=groups["badge"].tolist(),
                textposition="top center",
                textfont={"color": INK, "size": round(12 * scale)},
                marker={
                    "symbol": "triangle-up",
                    "size": [(11 if n == 1 else 14) * scale for n in groups["count"]],
                    "color": ORANGE,
                    "line": {"width": 1, "color": "white"},
                },
                customdata=groups[["codes", "count"]].to_numpy(),
                hovertemplate=[h + "<extra></extra>" for h in hover],
            )
        )
    gone = markers_on_curve(df, retirements if retirements is not None else _NONE)
    if not gone.empty:
        fig.add_trace(
            go.Scatter(
                x=gone["month"],
                y=gone["cumulative"],
                mode="markers+text",
                name="Retired",
                text=(gone["code"].astype(str) + " retired").tolist(),
                textposition="bottom right",
                textfont={"color": PURPLE, "size": round(11 * scale)},
                marker={"symbol": "square", "size": 10 * scale, "color": PURPLE},
                customdata=gone[["code", "title"]].to_numpy(),
                hovertemplate=(
                    "<b>%{customdata[0]}</b> %{customdata[1]}<br>retired %{x|%b %Y}: its "
                    "credit and claim stop here<br><i>click to open</i><extra></extra>"
                ),
            )
        )
    ev = _events_in_range(df, events)
    # One list of shapes and annotations, set once: ``add_vline``/``add_annotation`` per
    # event re-validate every shape already on the figure (the same figure either way).
    shapes, notes = [], []
    for when, title, row, side in zip(
        ev["date"].tolist(),
        ev["title"].tolist(),
        ev["row"].tolist(),
        ev["side"].tolist(),
        strict=True,
    ):
        stamp = pd.Timestamp(when)
        x = stamp.timestamp() * 1000
        shapes.append(
            {
                "type": "line",
                "x0": x,
                "x1": x,
                "xref": "x",
                "y0": 0,
                "y1": 1,
                "yref": "y domain",
                "line": {"color": EVENT_COLOR, "dash": "dot", "width": 1},
            }
        )
        notes.append(
            {
                "x": stamp,
                "y": 1 - 0.07 * int(row),
                "yref": "paper",
                "text": str(title),
                "showarrow": False,
                "xanchor": side,
                "xshift": 4 if side == "left" else -4,
                "font": {"size": round(11 * scale), "color": MUTED},
                "bgcolor": "rgba(255,255,255,0.85)",
            }
        )  # rules pass behind the text
    if shapes:
        fig.update_layout(shapes=shapes, annotations=notes)
    layout = plotly_layout(scale=scale, height=height)
    values, labels = money_ticks(
        float(df["cumulative"].min()) if len(df) else 0.0,
        float(df["cumulative"].max()) if len(df) else 0.0,
        currency,
        locale,
    )
    layout["yaxis"].update(
        {
            "title": {"text": f"Value to date ({currency})"},
            "tickvals": values,
            "ticktext": labels,  # "$500K" as the labels write it (Plotly's ~s wrote "$500k")
        }
    )
    layout["xaxis"].update({"tickformat": "%b %Y"})
    fig.update_layout(
        **layout, showlegend=False, hovermode="closest", clickmode="event+select", dragmode=False
    )
    fig.update_layout(font_color=INK)
    return fig
