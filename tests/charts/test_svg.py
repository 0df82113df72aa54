"""Every Altair builder renders to SVG with vl-convert (no browser): one spec serves the
screen and the renewal pack. Text must be present (the font list includes installed faces)."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
import vl_convert as vlc

from charts.contract import gain_share_chart, innovation_days_chart, productivity_chart
from charts.story import cumulative_value_chart, cumulative_value_figure, markers_on_curve
from charts.then_now import then_now_chart
from charts.value import bridge_chart, bridge_frame, evidence_chart, stacked_value_chart


def svg(chart) -> str:
    spec = chart.to_dict()
    spec["width"] = 700  # "container" has no meaning off screen
    return vlc.vegalite_to_svg(spec)


def texts(svg_text: str) -> list[str]:
    return re.findall(r"<text[^>]*>([^<]*)</text>", svg_text)


def test_cumulative_curve_svg(curve, golives, events) -> None:
    out = svg(cumulative_value_chart(curve, golives, events, currency="EUR", locale="de_DE"))
    labels = texts(out)
    assert out.startswith("<svg")
    assert any(t.startswith("€") for t in labels), labels  # money axis in the account currency
    assert "Innovation day" in labels and "Contract year 2" in labels  # events annotated


def test_go_lives_sit_on_the_curve(curve, golives) -> None:
    placed = markers_on_curve(curve, golives)
    assert placed["code"].tolist() == ["INN-001", "INN-002", "INN-003"]
    july = curve.loc[curve["month"] == "2023-07-01", "cumulative"].item()
    assert placed.loc[0, "cumulative"] == july


def test_plotly_curve_carries_codes_for_click(curve, golives, events) -> None:
    fig = cumulative_value_figure(curve, golives, events, currency="USD")
    markers = [t for t in fig.data if t.name == "Go-live"][0]
    assert [row[0] for row in markers.customdata] == ["INN-001", "INN-002", "INN-003"]


def test_stacked_value_svg(curve) -> None:
    frame = pd.concat(
        [
            pd.DataFrame(
                {"month": curve["month"], "group": g, "cumulative": curve["cumulative"] * s}
            )
            for g, s in [
                ("operational efficiency", 0.6),
                ("strategic impact", 0.3),
                ("unattributed", 0.1),
            ]
        ]
    )
    labels = texts(svg(stacked_value_chart(frame, currency="USD", legend_title="Category")))
    assert "operational efficiency" in labels and "unattributed" in labels


def test_bridge_geometry_and_svg() -> None:
    steps = pd.DataFrame(
        {
            "label": ["A", "B", "Unattributed", "Value to date"],
            "value": [100.0, -20.0, 30.0, 110.0],
            "kind": ["step", "step", "unattributed", "total"],
        }
    )
    geo = bridge_frame(steps)
    assert geo["start"].tolist() == [0.0, 100.0, 80.0, 0.0]
    assert geo["end"].tolist() == [100.0, 80.0, 110.0, 110.0]
    assert geo["direction"].tolist() == ["adds value", "costs value", "unattributed", "total"]
    labels = texts(svg(bridge_chart(steps, currency="USD")))
    assert "Unattributed" in labels and "Value to date" in labels


def test_evidence_chart_svg() -> None:
    lines = pd.DataFrame(
        {
            "code": ["INN-001", "INN-002"],
            "title": ["Bot", "Checklist"],
            "claimed": [500.0, 200.0],
            "measured": [420.0, np.nan],
            "estimated": [380.0, np.nan],
            "ci_low": [250.0, np.nan],
            "ci_high": [510.0, np.nan],
            "evidence": ["estimated", "claimed"],
        }
    )
    labels = texts(svg(evidence_chart(lines, currency="USD")))
    assert "INN-001  Bot" in labels and "estimated" in labels


def test_then_now_svg() -> None:
    sc = pd.DataFrame(
        {
            "label": ["Cost per transaction", "Customer satisfaction"],
            "pct_change": [-0.18, np.nan],
            "better": [True, None],
        }
    )
    labels = texts(svg(then_now_chart(sc)))
    assert "−18.0%" in labels or "-18.0%" in labels
    assert "—" in labels  # unknown change is shown as a dash, not 0 %


@pytest.mark.parametrize("builder", ["productivity", "gain_share", "days"])
def test_contract_charts_svg(builder: str) -> None:
    if builder == "productivity":
        months = pd.date_range("2024-01-01", periods=12, freq="MS")
        chart = productivity_chart(
            pd.DataFrame(
                {
                    "month": months,
                    "required": np.linspace(4, 3.8, 12),
                    "actual": np.linspace(4, 3.6, 12),
                }
            ),
            currency="USD",
        )
        expect = "Required by the clause"
    elif builder == "gain_share":
        chart = gain_share_chart(
            pd.DataFrame(
                {
                    "contract_year": ["Year 1", "Year 2"],
                    "goal": [500.0, 600.0],
                    "savings": [300.0, 800.0],
                    "client": [350.0, 420.0],
                    "provider": [-50.0, 380.0],
                }
            ),
            currency="USD",
        )
        expect = "Provider's share"
    else:
        chart = innovation_days_chart(
            pd.DataFrame(
                {
                    "contract_year": ["Year 1", "Year 2"],
                    "used": [80.0, 112.0],
                    "contracted": [100.0, 100.0],
                }
            )
        )
        expect = "112 of 100 days · over the contract"
    assert expect in texts(svg(chart))
