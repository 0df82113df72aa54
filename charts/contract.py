"""Contract charts (Altair; also printed in the renewal pack).

* ``productivity_chart`` — the productivity clause: required unit-cost path vs actual.
  Input columns: ``month``, ``required``, ``actual`` (unit cost; ``actual`` NaN where no data).
* ``gain_share_chart`` — per contract year: agreed savings goal vs measured savings, and how
  the savings split (client guaranteed share, provider share). Input columns:
  ``contract_year`` (label), ``goal``, ``savings``, ``client``, ``provider``.
* ``innovation_days_chart`` — per contract year: innovation days used vs contracted. Input
  columns: ``contract_year``, ``used``, ``contracted``.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from charts.theme import BETTER, BLUE, GREY, INK, LIGHT_GREY, ORANGE, WORSE, money_axis, style
from metrics.format import money, number, pct
from metrics.rules import UNDERUSED_SHARE

__all__ = ["gain_share_chart", "innovation_days_chart", "productivity_chart"]


def productivity_chart(
    path: pd.DataFrame,
    *,
    currency: str,
    locale: str = "en_US",
    unit_label: str = "Cost per transaction",
    height: int = 320,
    scale: float = 1.0,
) -> alt.TopLevelMixin:
    df = path.copy()
    df["month"] = pd.to_datetime(df["month"])
    long = df.melt(
        id_vars=["month"], value_vars=["required", "actual"], var_name="line", value_name="cost"
    ).dropna(subset=["cost"])
    long["line"] = long["line"].map({"required": "Required by the clause", "actual": "Actual"})
    names = ["Required by the clause", "Actual"]
    line = (
        alt.Chart(long)
        .mark_line(strokeWidth=3, point=alt.OverlayMarkDef(size=20))
        .encode(
            x=alt.X("month:T", title=None, axis=alt.Axis(format="%b %Y", labelAngle=0, grid=False)),
            # from zero: a 1.3 % margin drawn on a 3.80–4.60 axis looked like a gulf; the
            # margin itself is labelled at the last month instead
            y=alt.Y(
                "cost:Q",
                scale=alt.Scale(zero=True),
                axis=alt.Axis(title=f"{unit_label} ({currency})", format=",.2f", tickCount=5),
            ),
            color=alt.Color(
                "line:N", title=None, sort=names, scale=alt.Scale(domain=names, range=[GREY, BLUE])
            ),
            strokeDash=alt.StrokeDash(
                "line:N",
                title=None,
                sort=names,
                scale=alt.Scale(domain=names, range=[[6, 4], [1, 0]]),
            ),
            tooltip=[
                alt.Tooltip("line:N", title=""),
                alt.Tooltip("month:T", format="%B %Y"),
                alt.Tooltip("cost:Q", title=currency, format=",.3f"),
            ],
        )
    )
    layers: list[alt.Chart] = [line]
    both = df.dropna(subset=["required", "actual"])
    if not both.empty:
        last = both.iloc[[-1]].copy()
        gap = float(last["actual"].iloc[0] / last["required"].iloc[0] - 1)
        where = "below" if gap < 0 else "above" if gap > 0 else "on"
        last["margin"] = (
            f"{month_label(last['month'].iloc[0])}: actual {pct(abs(gap), locale, signed=False)} "
            f"{where} the path"
            if where != "on"
            else f"{month_label(last['month'].iloc[0])}: actual on the path"
        )
        # under both lines, below their lowest point over the whole period: right-aligned
        # at the last month the label runs back over earlier months, where a falling path
        # is higher than at the end (above the last point the dashed path crossed it); the
        # axis starts at zero, so the space under the lines is empty
        last["low"] = float(long["cost"].min())
        layers.append(
            alt.Chart(last)
            .mark_text(
                align="right",
                baseline="top",
                dy=round(10 * scale),
                fontSize=round(12 * scale),
                color=INK,
            )
            .encode(x="month:T", y="low:Q", text="margin:N")
        )
    chart = alt.layer(*layers).properties(height=height, width="container")
    return style(chart, scale=scale)


def month_label(when: object) -> str:
    return f"{pd.Timestamp(when):%b %Y}"  # type: ignore[arg-type]  # a date-like from a frame


#: Gain-share column geometry (pixels at scale 1): the bar, the goal tick as wide as the bar,
#: and the goal label just right of both. At the pack's 480 px plot, four years give a
#: 120 px band: a 64 px tick left 56 px between ticks for a ~67 px "goal $450K", which ran
#: into the next year's tick; at the bar's width it fits the 74 px gap between bars.
BAR = 46
TICK = 46
LABEL_DX = 27


def gain_share_chart(
    years: pd.DataFrame,
    *,
    currency: str,
    locale: str = "en_US",
    height: int = 300,
    scale: float = 1.0,
) -> alt.TopLevelMixin:
    """Stacked bar of the split (client / provider share; a provider shortfall shows below
    zero) with the goal as a black tick."""
    df = years.copy()
    long = df.melt(
        id_vars=["contract_year"],
        value_vars=["client", "provider"],
        var_name="party",
        value_name="amount",
    )
    long["party"] = long["party"].map({"client": "Client's share", "provider": "Provider's share"})
    long["stack"] = long["party"].map({"Client's share": 0, "Provider's share": 1})
    names = ["Client's share", "Provider's share"]
    x = alt.X(
        "contract_year:N", title=None, axis=alt.Axis(labelAngle=0, labelFontSize=round(13 * scale))
    )
    axis = money_axis(currency, locale, title=f"Savings ({currency})", tickCount=5)
    bars = (
        alt.Chart(long)
        .mark_bar(size=round(BAR * scale))
        .encode(
            x=x,
            y=alt.Y("amount:Q", stack="zero", axis=axis),
            color=alt.Color(
                "party:N",
                title=None,
                sort=names,
                scale=alt.Scale(domain=names, range=[BLUE, ORANGE]),
            ),
            order=alt.Order("stack:Q"),
            tooltip=[
                alt.Tooltip("contract_year:N", title="Contract year"),
                alt.Tooltip("party:N", title=""),
                alt.Tooltip("amount:Q", title=currency, format=",.0f"),
            ],
        )
    )
    goal = (
        alt.Chart(df)
        .mark_tick(color=INK, thickness=3, size=round(TICK * scale))
        .encode(
            x=x,
            y=alt.Y("goal:Q", axis=axis),
            tooltip=[alt.Tooltip("goal:Q", title=f"Agreed goal ({currency})", format=",.0f")],
        )
    )
    df["goal_text"] = ["goal " + money(v, currency, locale) for v in df["goal"]]
    goal_text = (
        alt.Chart(df)
        .mark_text(align="left", dx=round(LABEL_DX * scale), color=INK, fontSize=round(12 * scale))
        .encode(x=x, y=alt.Y("goal:Q", axis=axis), text="goal_text:N")
    )
    layers: list[alt.Chart] = [bars, goal, goal_text]
    # what was actually saved, as a dot and a label: a year whose provider share is below
    # zero (it absorbs a shortfall) otherwise hides that something was saved. The label is
    # centred above the year's column — above its bar, its diamond, its goal and the
    # previous year's goal, whose label reaches into this year's band: left of the bar it
    # ran into that label (and, in the first year, into the axis labels)
    prev_goal = df["goal"].shift(1)
    df["saved_at"] = pd.concat(
        [
            df["savings"],
            df["client"].clip(lower=0) + df["provider"].clip(lower=0),
            df["goal"],
            prev_goal,
        ],
        axis=1,
    ).max(axis=1)
    saved = df.dropna(subset=["savings"]).copy()
    if not saved.empty:
        saved["saved_text"] = ["saved " + money(v, currency, locale) for v in saved["savings"]]
        dot = alt.Chart(saved).encode(
            x=x,
            y=alt.Y("savings:Q", axis=axis),
            tooltip=[alt.Tooltip("saved_text:N", title="Measured savings")],
        )
        layers += [
            dot.mark_point(
                shape="diamond", filled=True, size=90 * scale, color=INK, stroke="white"
            ),
            dot.mark_text(
                align="center",
                baseline="bottom",
                dy=-round(10 * scale),
                color=INK,
                fontSize=round(12 * scale),
            ).encode(y=alt.Y("saved_at:Q", axis=axis), text="saved_text:N"),
        ]
    if "goal_to_date" in df.columns:  # a year still running: where the goal's pace is now
        pace = df[df["goal_to_date"].notna() & (df["goal_to_date"] < df["goal"])].copy()
        if not pace.empty:
            pace["pace_text"] = [
                "to date " + money(v, currency, locale) for v in pace["goal_to_date"]
            ]
            layers += [
                alt.Chart(pace)
                .mark_tick(color=GREY, thickness=2, strokeDash=[4, 3], size=round(TICK * scale))
                .encode(
                    x=x,
                    y=alt.Y("goal_to_date:Q", axis=axis),
                    tooltip=[
                        alt.Tooltip(
                            "goal_to_date:Q",
                            format=",.0f",
                            title=f"Goal to date, pro rata ({currency})",
                        )
                    ],
                ),
                # right of the bar like the goal's label, hanging below its own tick: the
                # pace is always under the goal, so the two labels never share a line (on
                # the left it ran into the previous year's "goal")
                alt.Chart(pace)
                .mark_text(
                    align="left",
                    baseline="top",
                    dx=round(LABEL_DX * scale),
                    dy=round(4 * scale),
                    color=GREY,
                    fontSize=round(12 * scale),
                )
                .encode(x=x, y=alt.Y("goal_to_date:Q", axis=axis), text="pace_text:N"),
            ]
    chart = alt.layer(*layers).properties(height=height, width="container")
    return style(chart, scale=scale)


def innovation_days_chart(
    years: pd.DataFrame, *, height: int = 220, scale: float = 1.0
) -> alt.TopLevelMixin:
    """Bullet chart: contracted days as a wide light bar, used days as a narrow bar inside
    (vermillion when over the contract)."""
    df = years.copy()
    df["status"] = [
        "over" if u > c else "within" for u, c in zip(df["used"], df["contracted"], strict=True)
    ]
    # the sentence's rule (metrics.rules.UNDERUSED_SHARE): paid-for days left unused are said
    df["label"] = [
        f"{number(u, digits=0 if float(u).is_integer() else 1)} of {number(c, digits=0)} days"
        + (" · over the contract" if u > c else " · under-used" if u < UNDERUSED_SHARE * c else "")
        for u, c in zip(df["used"], df["contracted"], strict=True)
    ]
    y = alt.Y("contract_year:N", title=None, axis=alt.Axis(labelFontSize=round(13 * scale)))
    contracted = (
        alt.Chart(df)
        .mark_bar(color=LIGHT_GREY, height=round(26 * scale))
        .encode(
            y=y,
            x=alt.X("contracted:Q", title="Innovation days", axis=alt.Axis(tickCount=6)),
            tooltip=[alt.Tooltip("contracted:Q", title="Contracted days")],
        )
    )
    used = (
        alt.Chart(df)
        .mark_bar(height=round(12 * scale))
        .encode(
            y=y,
            x="used:Q",
            color=alt.Color(
                "status:N",
                legend=None,
                scale=alt.Scale(domain=["within", "over"], range=[BETTER, WORSE]),
            ),
            tooltip=[alt.Tooltip("used:Q", title="Days used")],
        )
    )
    text = (
        alt.Chart(df)
        .mark_text(align="left", dx=6, color=INK, fontSize=round(12 * scale))
        .encode(y=y, x=alt.X("edge:Q"), text="label:N")
        .transform_calculate(edge="max(datum.used, datum.contracted)")
    )
    chart = alt.layer(contracted, used, text).properties(
        height=max(height, round(len(df) * 48 * scale)), width="container"
    )
    return style(chart, scale=scale)
