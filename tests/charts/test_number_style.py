"""One number style everywhere (#14): chart axes write money as labels and sentences do
("$500K", not "$500k"), with the same minus sign ("−") and the same precision
(``metrics.format.money``). The Vega expression and the Plotly ticks are checked against the
formatter on the same values, rendered by vl-convert."""

from __future__ import annotations

import re

import altair as alt
import pandas as pd
import vl_convert as vlc

from charts.story import cumulative_value_figure
from charts.theme import money_expr, money_ticks
from charts.then_now import then_now_chart
from metrics.format import money

VALUES = [
    0.0,
    2_500.0,
    -7_000.0,
    25_000.0,
    450_000.0,
    500_000.0,
    -750_000.0,
    1_000_000.0,
    1_400_000.0,
    1_500_000.0,
    5_000_000.0,
    -14_700_000.0,
    2_000_000_000.0,
]


def _rendered(expr_for: str) -> list[str]:
    frame = pd.DataFrame({"v": VALUES, "i": range(len(VALUES))})
    chart = (
        alt.Chart(frame)
        .mark_text()
        .encode(y="i:O", text="label:N")
        .transform_calculate(label=money_expr(expr_for, field="datum.v"))
    )
    spec = chart.to_dict()
    spec["width"] = 300
    svg = vlc.vegalite_to_svg(spec)
    found = re.findall(r"<text[^>]*>([^<]*)</text>", svg)
    return [t for t in found if any(ch in t for ch in "$€")]


def test_axis_expression_writes_what_the_formatter_writes() -> None:
    expected = [money(v, "USD") for v in VALUES]
    assert expected[4] == "$450K" and expected[9] == "$1.5M" and expected[10] == "$5.0M"
    assert expected[11] == "\u2212$14.7M" and expected[2] == "\u2212$7,000"
    assert _rendered("USD") == expected


def test_plotly_money_ticks_are_labelled_by_the_formatter() -> None:
    values, labels = money_ticks(0, 1_230_000, "USD")
    assert values == [0.0, 200_000.0, 400_000.0, 600_000.0, 800_000.0, 1_000_000.0, 1_200_000.0]
    assert labels == ["$0", "$200K", "$400K", "$600K", "$800K", "$1.0M", "$1.2M"]
    neg_values, neg_labels = money_ticks(-20_000, 60_000, "USD")
    assert neg_values[0] == -20_000.0 and neg_labels[0] == "\u2212$20K"


def test_plotly_curve_axis_has_no_lower_case_k(curve, golives, events) -> None:
    fig = cumulative_value_figure(curve, golives, events, currency="USD")
    texts = list(fig.layout.yaxis.ticktext)
    assert texts and all(not t.endswith("k") for t in texts)
    assert fig.layout.yaxis.tickformat is None
    assert texts == [money(v, "USD") for v in fig.layout.yaxis.tickvals]


def test_then_now_labels_use_the_true_minus_sign() -> None:
    card = pd.DataFrame(
        {"label": ["Cost per transaction", "Volume"], "pct_change": [-0.147, 0.227]}
        | {"better": [True, None]}
    )
    spec = then_now_chart(card).to_dict()
    rows = next(iter(spec["datasets"].values()))
    assert [r["pct_label"] for r in rows] == ["\u221214.7%", "+22.7%"]
