"""Figures for the Innovation-detail page (Altair: one spec for the screen and the PDF).

* ``kpi_by_unit_chart``: small multiples, one panel per rollout unit: the target KPI of that
  unit, the units not live that month (dashed, the comparison) and a rule at its go-live.
* ``event_study_chart``: effect by months since go-live with its confidence interval,
  placebo pre-periods in grey, a zero line and a dashed line where go-live happens.

No data access, no Streamlit.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from charts.theme import BLUE, GREEN, GREY, INK, PURPLE, VERMILLION, style

__all__ = ["event_study_chart", "kpi_by_unit_chart"]

UNIT_COLOR = BLUE
COMPARISON_COLOR = GREY
GO_LIVE_COLOR = VERMILLION
RETIRED_COLOR = PURPLE
PRE_COLOR = GREY
POST_COLOR = GREEN
SERIES_NAMES = {"value": "this unit", "comparison": "units not live yet, from this unit's level"}
SERIES = tuple(SERIES_NAMES.values())


def _axis_title(label: str, unit_of_measure: str | None) -> str:
    return f"{label} ({unit_of_measure})" if unit_of_measure else label


def kpi_by_unit_chart(
    series: pd.DataFrame,
    *,
    kpi_label: str,
    unit_of_measure: str | None = None,
    columns: int = 3,
    panel_width: int = 260,
    panel_height: int = 150,
    scale: float = 1.0,
    retired: pd.Timestamp | None = None,
) -> alt.FacetChart:
    """Small multiples of the KPI per rollout unit around its go-live.

    ``series`` columns (see ``metrics.innovation_views.kpi_around_go_live``): unit, order,
    month, value, comparison, go_live, is_go_live_month. ``retired``: the innovation's
    retirement date, drawn in every panel as a labelled end line (its credit stops there).
    """
    df = series[
        ["unit", "order", "month", "value", "comparison", "go_live", "is_go_live_month"]
    ].copy()
    df["panel"] = [f"{o}. {u}" for o, u in zip(df["order"], df["unit"], strict=True)]
    order = list(dict.fromkeys(df.sort_values("order")["panel"]))
    long = df.melt(
        id_vars=["panel", "month"],
        value_vars=["value", "comparison"],
        var_name="series",
        value_name="kpi",
    ).dropna(subset=["kpi"])
    long["series"] = long["series"].map(SERIES_NAMES)
    rules = df.loc[df["is_go_live_month"], ["panel", "go_live"]].drop_duplicates("panel")
    y_title = _axis_title(kpi_label, unit_of_measure)
    # facet() needs one data source: the layer gets the union, each mark filters its rows.
    ends = pd.DataFrame(
        {"panel": order, "retired": pd.Timestamp(retired) if retired is not None else pd.NaT}
    )
    data = pd.concat([long, rules, ends if retired is not None else None], ignore_index=True)
    lines = (
        alt.Chart()
        .mark_line(strokeWidth=1.8)
        .encode(
            x=alt.X(
                "month:T", title=None, axis=alt.Axis(format="%b %y", labelAngle=0, tickCount=4)
            ),
            y=alt.Y("kpi:Q", title=y_title, scale=alt.Scale(zero=False)),
            color=alt.Color(
                "series:N",
                title=None,
                scale=alt.Scale(domain=list(SERIES), range=[UNIT_COLOR, COMPARISON_COLOR]),
                legend=alt.Legend(
                    symbolType="stroke", symbolStrokeWidth=2.5, orient="top", labelLimit=400
                ),
            ),
            strokeDash=alt.StrokeDash(
                "series:N", title=None, scale=alt.Scale(domain=list(SERIES), range=[[1, 0], [5, 3]])
            ),
            tooltip=[
                alt.Tooltip("panel:N", title="unit"),
                alt.Tooltip("month:T", format="%b %Y"),
                alt.Tooltip("series:N"),
                alt.Tooltip("kpi:Q", title=kpi_label, format=",.3~f"),
            ],
        )
        .transform_filter("isValid(datum.kpi)")
    )
    rule = (
        alt.Chart()
        .mark_rule(color=GO_LIVE_COLOR, strokeWidth=1.5)
        .encode(
            x="go_live:T",
            tooltip=[alt.Tooltip("go_live:T", title="go-live", format="%d %b %Y")],
        )
        .transform_filter("isValid(datum.go_live)")
    )
    label = (
        alt.Chart()
        .mark_text(color=GO_LIVE_COLOR, align="left", dx=3, dy=2, baseline="top", fontSize=10)
        .encode(
            x="go_live:T",
            y=alt.value(2),
            text=alt.value("go-live"),
        )
        .transform_filter("isValid(datum.go_live)")
    )
    layers = [lines, rule, label]
    if retired is not None:
        end = alt.Chart().transform_filter("isValid(datum.retired)")
        layers += [
            end.mark_rule(color=RETIRED_COLOR, strokeWidth=1.5, strokeDash=[2, 2]).encode(
                x="retired:T",
                tooltip=[alt.Tooltip("retired:T", title="retired", format="%d %b %Y")],
            ),
            end.mark_text(
                color=RETIRED_COLOR, align="right", dx=-3, dy=2, baseline="top", fontSize=10
            ).encode(x="retired:T", y=alt.value(2), text=alt.value("retired")),
        ]
    chart = (
        alt.layer(*layers, data=data)
        .properties(
            width=panel_width,
            height=panel_height,
        )
        .facet(
            facet=alt.Facet("panel:N", sort=order, title=None),
            columns=columns,
        )
        .resolve_scale(x="shared", y="shared")
    )
    return (
        style(chart, scale=scale)
        .configure_header(labelFontSize=round(13 * scale), labelColor=INK, title=None)
        .configure_view(stroke="#E6EAEE")
    )


def event_study_chart(
    by_horizon: pd.DataFrame,
    *,
    kpi_label: str,
    unit_of_measure: str | None = None,
    att: float | None = None,
    height: int = 280,
    scale: float = 1.0,
    y_title: str | None = None,
) -> alt.LayerChart:
    """Effect by months since go-live with its confidence interval (y axis: effect in
    ``unit_of_measure``, actual minus the estimated no-innovation path of ``kpi_label``).

    ``by_horizon`` columns: horizon, effect, ci_low, ci_high, n_obs (``EffectEstimate``).
    Negative horizons are the placebo pre-periods (should sit on zero), drawn in grey;
    ``att`` (optional, same unit as the effects) is drawn as a thin line over the post-go-live
    horizons.
    """
    df = by_horizon.copy()
    df["period"] = ["before go-live (placebo)" if h < 0 else "after go-live" for h in df["horizon"]]
    color = alt.Color(
        "period:N",
        title=None,
        scale=alt.Scale(
            domain=["before go-live (placebo)", "after go-live"], range=[PRE_COLOR, POST_COLOR]
        ),
    )
    x = alt.X(
        "horizon:Q",
        title="months since go-live (0 = first live month)",
        axis=alt.Axis(tickMinStep=1, format="d"),
    )
    if y_title is None:
        y_title = f"effect ({unit_of_measure})" if unit_of_measure else "effect"
    base = alt.Chart(df)
    tooltip = [
        alt.Tooltip("horizon:Q", title="months since go-live"),
        alt.Tooltip("effect:Q", title=f"effect on {kpi_label}", format=",.3~f"),
        alt.Tooltip("ci_low:Q", title="CI low", format=",.3~f"),
        alt.Tooltip("ci_high:Q", title="CI high", format=",.3~f"),
        alt.Tooltip("n_obs:Q", title="unit-months"),
    ]
    band = base.mark_rule(strokeWidth=2.5, opacity=0.55).encode(
        x=x, y=alt.Y("ci_low:Q", title=y_title), y2="ci_high:Q", color=color, tooltip=tooltip
    )
    points = base.mark_circle(size=55, opacity=1).encode(
        x=x, y="effect:Q", color=color, tooltip=tooltip
    )
    zero = alt.Chart(pd.DataFrame({"y": [0.0]})).mark_rule(color=INK, strokeWidth=1).encode(y="y:Q")
    go_live = (
        alt.Chart(pd.DataFrame({"x": [-0.5]}))
        .mark_rule(color=GO_LIVE_COLOR, strokeDash=[4, 3])
        .encode(x="x:Q")
    )
    layers = [zero, go_live, band, points]
    post = df[df["horizon"] >= 0]
    if att is not None and not post.empty:
        avg = pd.DataFrame(
            {
                "x": [float(post["horizon"].min())],
                "x2": [float(post["horizon"].max())],
                "y": [att],
                "label": [
                    f"average after go-live {att:+,.3g}{unit_of_measure if unit_of_measure == '%' else ''}"
                ],
            }
        )
        layers.append(
            alt.Chart(avg)
            .mark_rule(color=POST_COLOR, strokeDash=[6, 3], opacity=0.8)
            .encode(x="x:Q", x2="x2:Q", y="y:Q")
        )
        # The figure goes in the title: on the line itself the CI bars cross it.
        title = alt.TitleParams(
            f"Dashed line: {avg['label'].iloc[0]}",
            color=POST_COLOR,
            anchor="end",
            fontSize=round(12 * scale),
            fontWeight="normal",
        )
        return style(
            alt.layer(*layers).properties(height=height * scale, width="container", title=title),
            scale=scale,
        )
    return style(
        alt.layer(*layers).properties(height=height * scale, width="container"), scale=scale
    )
