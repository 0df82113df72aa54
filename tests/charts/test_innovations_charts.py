"""charts.innovations: specs are valid, carry the data, render to SVG, and are clickable."""

from __future__ import annotations

import json

import pandas as pd
import vl_convert as vlc

from charts.innovations import funnel_chart, golives_chart, mix_chart, timeline_chart

FUNNEL = pd.DataFrame(
    {
        "stage": ["idea", "evaluation", "prototype", "pilot", "scaled"],
        "reached": [60, 52, 46, 37, 28],
        "conversion": [float("nan"), 52 / 60, 46 / 52, 37 / 46, 28 / 37],
    }
)


def _values(spec: dict) -> list[dict]:
    out: list[dict] = []
    for ds in spec.get("datasets", {}).values():
        out.extend(ds)
    return out


def test_funnel_has_counts_conversion_labels_and_a_stage_selection() -> None:
    chart = funnel_chart(FUNNEL)
    spec = chart.to_dict()
    labels = [r["label"] for r in _values(spec)]
    assert labels[0] == "60"
    assert labels[1] == "52  ·  87% of previous"
    assert [p["name"] for p in spec.get("params", [])] == ["stage"]
    svg = vlc.vegalite_to_svg(json.dumps(spec))
    assert "<svg" in svg and "scaled" in svg
    static = funnel_chart(FUNNEL, selectable=False).to_dict()
    assert not static.get("params")


def test_mix_one_panel_per_dimension_with_shares() -> None:
    mix = pd.DataFrame(
        {
            "dimension": ["scale", "scale", "origin", "origin", "origin"],
            "value": ["continuous improvement", "transformative", "client", "joint", "provider"],
            "count": [45, 15, 10, 20, 30],
        }
    )
    spec = mix_chart(mix).to_dict()
    assert len(spec["hconcat"]) == 2
    assert [p["title"] for p in spec["hconcat"]] == ["by scale", "by origin"]
    labels = {r["value"]: r["label"] for r in _values(spec)}
    assert labels["continuous improvement"] == "45  (75%)"
    assert labels["provider"] == "30  (50%)"
    assert "<svg" in vlc.vegalite_to_svg(json.dumps(spec))


def test_golives_chart_renders() -> None:
    df = pd.DataFrame({"quarter": ["2024 Q1", "2024 Q2"], "go_lives": [3, 5]})
    spec = golives_chart(df).to_dict()
    assert {r["go_lives"] for r in _values(spec)} == {3, 5}
    assert "<svg" in vlc.vegalite_to_svg(json.dumps(spec))


def test_timeline_bars_carry_the_code_and_span_the_phase() -> None:
    tl = pd.DataFrame(
        {
            "code": ["INN-001", "INN-001", "INN-002", "INN-002"],
            "title": ["Bots", "Bots", "Letters", "Letters"],
            "stage": ["pilot", "pilot", "rejected", "rejected"],
            "phase": ["idea", "pilot", "idea", "evaluation"],
            "start": pd.to_datetime(["2024-01-01", "2024-03-01", "2024-02-01", "2024-02-10"]),
            "end": pd.to_datetime(["2024-03-01", "2024-06-30", "2024-02-10", "2024-03-01"]),
            "open": [False, True, False, False],
            "order": [0, 0, 1, 1],
        }
    )
    fig = timeline_chart(tl, as_of=pd.Timestamp("2024-06-30"))
    bars = [t for t in fig.data if t.type == "bar"]
    assert [t.name for t in bars] == ["idea", "evaluation", "pilot"]
    pilot = next(t for t in bars if t.name == "pilot")
    assert pilot.customdata[0][0] == "INN-001"
    assert (
        pilot.x[0]
        == (pd.Timestamp("2024-06-30") - pd.Timestamp("2024-03-01")).total_seconds() * 1000
    )
    marks = [t for t in fig.data if t.type == "scatter"]
    assert marks and marks[0].customdata[0][0] == "INN-002"  # rejected: closing mark
    assert fig.layout.yaxis.categoryarray[-1].startswith("INN-001")  # earliest idea on top
    assert timeline_chart(tl.iloc[0:0]).data == ()
