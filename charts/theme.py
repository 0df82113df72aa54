"""One look for every chart, on screen and on paper.

Colours are the Okabe–Ito palette (safe for the common colour-vision deficiencies) and match
``.streamlit/config.toml``. Direction is never shown by red vs green: better = blue,
worse = vermillion, and a sign or arrow always goes with the colour. Type is large enough for
a projector (``style(..., scale=1.3)`` in present mode).

Money on axes: ``money_axis(currency, locale)`` gives a Vega ``labelExpr`` with the account's
currency symbol and the short style of ``metrics.format.money`` (``$500K``, ``$1.5M``);
Plotly axes get ticks labelled by ``money`` itself (``money_ticks``). Exact figures are
formatted by the metrics' Babel formatter and shown in tooltips and tables.
"""

from __future__ import annotations

import math
from typing import Any

import altair as alt
from babel.numbers import get_currency_symbol

from metrics.format import COMPACT_FROM, MILLION, MINUS, money

__all__ = [
    "BETTER",
    "BLUE",
    "CATEGORY_COLORS",
    "EVIDENCE_COLORS",
    "FONT",
    "GREEN",
    "GREY",
    "INK",
    "LIGHT_GREY",
    "MUTED",
    "ORANGE",
    "PALETTE",
    "PURPLE",
    "SKY",
    "UNATTRIBUTED",
    "VERMILLION",
    "WORSE",
    "YELLOW",
    "color_for",
    "currency_symbol",
    "money_axis",
    "money_expr",
    "money_ticks",
    "plotly_layout",
    "style",
]

BLUE = "#0072B2"
ORANGE = "#E69F00"
GREEN = "#009E73"
PURPLE = "#CC79A7"
SKY = "#56B4E9"
VERMILLION = "#D55E00"
YELLOW = "#F0E442"
GREY = "#6B7785"
LIGHT_GREY = "#C9D1D9"
INK = "#1F2933"
MUTED = "#52606D"
FONT = (
    "Source Sans, Source Sans Pro, Liberation Sans, DejaVu Sans, Helvetica, "
    "Arial, sans-serif"
)  # an installed face must be listed: vl-convert has no generic fallback

#: Categorical order used by every multi-series chart.
PALETTE: tuple[str, ...] = (BLUE, ORANGE, GREEN, PURPLE, SKY, VERMILLION, YELLOW, GREY)
BETTER = BLUE
WORSE = VERMILLION
UNATTRIBUTED = LIGHT_GREY

CATEGORY_COLORS: dict[str, str] = {
    "operational efficiency": BLUE,
    "process effectiveness": ORANGE,
    "strategic impact": GREEN,
    "unattributed": UNATTRIBUTED,
}
EVIDENCE_COLORS: dict[str, str] = {
    "estimated": GREEN,
    "measured": BLUE,
    "claimed": GREY,
}


def color_for(names: list[str], known: dict[str, str] | None = None) -> alt.Scale:
    """A colour scale for ``names``: known names keep their colour (matched ignoring case, so
    "Unattributed" is always its own light grey), a grouped "N other innovations" is grey, and
    the rest take the palette's colours in order, none of them grey, none twice while any is
    left (six named innovations, the group and unattributed: eight distinct colours)."""
    known = {k.lower(): v for k, v in (known or {}).items()}
    known.setdefault("unattributed", UNATTRIBUTED)
    taken = {known[str(n).lower()] for n in names if str(n).lower() in known}
    spare_colours = [c for c in PALETTE if c not in taken and c != GREY]
    spare = iter(spare_colours + list(PALETTE) * 8)
    colours = []
    for n in names:
        key = str(n).lower()
        if key in known:
            colours.append(known[key])
        elif key.endswith(" other innovations"):
            colours.append(GREY)
        else:
            colours.append(next(spare))
    return alt.Scale(domain=list(names), range=colours)


def currency_symbol(currency: str, locale: str = "en_US") -> str:
    try:
        return str(get_currency_symbol(currency, locale=locale or "en_US"))
    except Exception:  # noqa: BLE001 - an unknown locale falls back to the ISO code
        return currency


def money_axis(
    currency: str, locale: str = "en_US", *, title: str | None = None, **kwargs: Any
) -> alt.Axis:
    """An axis whose labels read ``$500K``, ``$1.5M`` (symbol of ``currency`` in ``locale``)
    by ``metrics.format.money``'s rule: whole units below ``COMPACT_FROM``, thousands whole,
    millions and billions with one decimal, the true minus sign (written once more here as
    a Vega expression, since the axis is drawn in the browser and by vl-convert; the tests
    compare the two). The symbol always leads and the decimal sign is Vega's ".": the
    screen's axes are in English; figures in labels and sentences follow the locale."""
    return alt.Axis(labelExpr=money_expr(currency, locale), title=title, **kwargs)


def money_expr(currency: str, locale: str = "en_US", field: str = "datum.value") -> str:
    """The Vega expression of ``money_axis`` for the number ``field``."""
    sym = currency_symbol(currency, locale).replace("\\", "\\\\").replace("'", "\\'")
    a = f"abs({field})"
    return (
        f"({field} < 0 ? '{MINUS}' : '') + '{sym}' + ("
        f"{a} < {COMPACT_FROM} ? format({a}, ',.0f') : "
        f"{a} < {MILLION} ? format({a} / 1e3, '.0f') + 'K' : "
        f"{a} < {MILLION * 1000} ? format({a} / 1e6, '.1f') + 'M' : "
        f"format({a} / 1e9, '.1f') + 'B')"
    )


def money_ticks(
    lo: float, hi: float, currency: str, locale: str = "en_US", count: int = 5
) -> tuple[list[float], list[str]]:
    """Round tick values spanning ``lo``–``hi`` (about ``count`` of them, 1, 2 or 5 × 10ⁿ
    apart, as d3 picks them for the Vega axes: a 2.5 step would label $1.25M "$1.2M") and their labels by ``metrics.format.money``: Plotly has no label expression, so
    its money axes are given ticks and texts (its own ``~s`` wrote ``$500k``)."""
    lo, hi = min(lo, 0.0), max(hi, 0.0)
    span = hi - lo
    if span <= 0:
        return [0.0], [money(0.0, currency, locale)]
    raw = span / max(count, 1)
    mag = 10 ** math.floor(math.log10(raw))
    error = raw / mag  # d3's choice: the multiple nearest the raw step (on a log scale)
    step = mag * (
        10 if error >= 50**0.5 else 5 if error >= 10**0.5 else 2 if error >= 2**0.5 else 1
    )
    first = math.floor(lo / step) * step
    values = []
    v = first
    while v <= hi + step * 1e-9:
        values.append(float(round(v, 6)))
        v += step
    return values, [money(x, currency, locale) for x in values]


def style(chart: Any, *, scale: float = 1.0) -> Any:
    """Apply the house configuration (fonts, sizes, no chart border) to a top-level chart."""
    fs = round(13 * scale)
    return (
        chart.configure(font=FONT)
        .configure_view(stroke=None)
        .configure_axis(
            labelFontSize=fs,
            titleFontSize=fs,
            labelColor=MUTED,
            titleColor=MUTED,
            gridColor="#E6EAEE",
            domainColor=LIGHT_GREY,
            tickColor=LIGHT_GREY,
            titleFontWeight="normal",
        )
        .configure_legend(
            labelFontSize=fs,
            titleFontSize=fs,
            labelColor=INK,
            titleColor=MUTED,
            orient="bottom",
            direction="horizontal",
            columns=4,
            symbolType="square",
            titleFontWeight="normal",
            labelLimit=260,
        )
        .configure_title(fontSize=round(16 * scale), color=INK, anchor="start", fontWeight="normal")
        .configure_text(fontSize=fs, color=INK)
    )


def plotly_layout(*, scale: float = 1.0, height: int = 420) -> dict[str, Any]:
    """Layout keywords giving Plotly figures the same look as the Altair ones."""
    fs = round(13 * scale)
    return {
        "font": {"family": FONT, "size": fs, "color": INK},
        "paper_bgcolor": "rgba(0,0,0,0)",
        "plot_bgcolor": "rgba(0,0,0,0)",
        "colorway": list(PALETTE),
        "height": height,
        "margin": {"l": 10, "r": 10, "t": 30, "b": 10},
        "hoverlabel": {"font": {"family": FONT, "size": fs}},
        "legend": {"orientation": "h", "y": -0.15, "x": 0},
        "xaxis": {"showgrid": False, "linecolor": LIGHT_GREY, "tickfont": {"color": MUTED}},
        "yaxis": {"gridcolor": "#E6EAEE", "zeroline": False, "tickfont": {"color": MUTED}},
    }
