"""Contract charts say what the figures mean (#14): the gain-share chart shows what was
actually saved even when the provider's share is below zero, and labels each goal with its
figure; the productivity chart starts at zero and labels the margin; the innovation-days
chart says "under-used" by the sentence's rule."""

from __future__ import annotations

import pandas as pd
import vl_convert as vlc

from charts.contract import gain_share_chart, innovation_days_chart, productivity_chart


def _svg_texts(chart) -> list[str]:
    import re

    spec = chart.to_dict()
    spec["width"] = 700
    return re.findall(r"<text[^>]*>([^<]*)</text>", vlc.vegalite_to_svg(spec))


def _years() -> pd.DataFrame:
    # goal 450K, client guaranteed 60 % = 270K; Year 1 saved 20K: provider 20K − 270K = −250K
    return pd.DataFrame(
        {
            "contract_year": ["Year 1", "Year 2"],
            "goal": [450_000.0, 450_000.0],
            "goal_to_date": [450_000.0, 375_000.0],
            "savings": [20_000.0, 1_175_000.0],
            "client": [270_000.0, 270_000.0],
            "provider": [-250_000.0, 905_000.0],
        }
    )


def test_gain_share_shows_what_was_saved_and_labelled_goals() -> None:
    labels = _svg_texts(gain_share_chart(_years(), currency="USD"))
    assert "saved $20K" in labels  # Year 1: below-zero provider bar, yet $20K was saved
    assert "saved $1.2M" in labels
    assert labels.count("goal $450K") == 2
    assert "to date $375K" in labels  # the running year's pace, with its figure


def test_productivity_axis_from_zero_and_margin_labelled() -> None:
    path = pd.DataFrame(
        {
            "month": pd.to_datetime(["2026-08-01", "2026-09-01", "2026-10-01"]),
            "required": [3.97, 3.96, 3.95],
            "actual": [3.93, 3.91, 3.90],  # 3.90 / 3.95 − 1 = −1.27 % → "1.3% below"
        }
    )
    chart = productivity_chart(path, currency="USD")
    spec = chart.to_dict()
    line = spec["layer"][0]
    assert line["encoding"]["y"]["scale"] == {"zero": True}
    labels = _svg_texts(chart)
    assert "Oct 2026: actual 1.3% below the path" in labels
    assert "0.00" in labels  # the axis starts at zero


def test_innovation_days_label_under_used_and_over_years() -> None:
    days = pd.DataFrame(
        {
            "contract_year": ["Year 1", "Year 2", "Year 3"],
            "used": [71.0, 10.0, 120.5],
            "contracted": [100.0, 100.0, 100.0],
        }
    )
    labels = _svg_texts(innovation_days_chart(days))
    assert "71 of 100 days" in labels
    assert "10 of 100 days · under-used" in labels  # under half the contracted days
    assert "120.5 of 100 days · over the contract" in labels
