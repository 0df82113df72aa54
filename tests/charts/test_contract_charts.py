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


def _layers(chart) -> list[dict]:
    return chart.to_dict()["layer"]


def _rows(spec: dict, layer: dict) -> list[dict]:
    return spec["datasets"][layer["data"]["name"]]


def test_gain_share_saved_label_sits_above_its_column_not_beside_a_goal_label() -> None:
    # Year 2 saved about its goal (left of its bar the label met Year 1's "goal" label);
    # Year 1's provider share is below zero
    years = _years().assign(savings=[20_000.0, 470_000.0], provider=[-250_000.0, 200_000.0])
    chart = gain_share_chart(years, currency="USD")
    spec = chart.to_dict()
    texts = [lyr for lyr in spec["layer"] if lyr["mark"]["type"] == "text"]
    goal = next(t for t in texts if t["encoding"]["text"]["field"] == "goal_text")
    saved = next(t for t in texts if t["encoding"]["text"]["field"] == "saved_text")
    # centred on the year, lifted clear of the line it stands on: never in the gap between
    # bars that the previous year's goal label fills
    assert saved["mark"]["align"] == "center" and saved["mark"]["baseline"] == "bottom"
    assert saved["mark"]["dy"] <= -8
    assert saved["encoding"]["y"]["field"] == "saved_at"
    rows = _rows(spec, saved)
    prev_goal = None
    for r in rows:
        top = r["client"] + max(r["provider"], 0)
        assert r["saved_at"] >= max(r["savings"], top, r["goal"], prev_goal or r["goal"])
        prev_goal = r["goal"]
    # the goal label starts right of the goal tick, and the tick is no wider than the bar
    ticks = [lyr for lyr in spec["layer"] if lyr["mark"]["type"] == "tick"]
    bar = next(lyr for lyr in spec["layer"] if lyr["mark"]["type"] == "bar")
    for t in ticks:
        assert t["mark"]["size"] <= bar["mark"]["size"]
        assert goal["mark"]["dx"] > t["mark"]["size"] / 2
    labels = _svg_texts(chart)
    assert "saved $20K" in labels and "saved $470K" in labels


def test_productivity_margin_label_hangs_below_both_lines() -> None:
    # a falling path: the earlier months, which the right-aligned label runs back over, are
    # higher than the last; above the last point the dashed path crossed the label
    path = pd.DataFrame(
        {
            "month": pd.date_range("2025-01-01", periods=10, freq="MS"),
            "required": [4.6 - 0.07 * i for i in range(10)],
            "actual": [4.5 - 0.08 * i for i in range(10)],
        }
    )
    spec = productivity_chart(path, currency="USD").to_dict()
    label = spec["layer"][1]
    assert label["mark"]["baseline"] == "top" and label["mark"]["dy"] > 0
    (row,) = _rows(spec, label)
    assert row[label["encoding"]["y"]["field"]] <= min(path["required"].min(), path["actual"].min())
