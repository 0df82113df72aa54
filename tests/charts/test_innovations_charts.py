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


def test_timeline_labels_are_readable_and_cut_at_a_word() -> None:
    """Row labels at 13 px (they were ~10 px) in rows tall enough for them; a long title is
    cut at a word boundary with an ellipsis, a short one kept whole (#14)."""
    from charts.innovations import LABEL_PX, ROW_PX, row_label, timeline_chart

    assert row_label("INN-002", "Knowledge base in the agent desktop") == (
        "INN-002 · Knowledge base in the agent desktop"
    )
    long = "Automated first-notice-of-loss intake with document classification and routing"
    cut = row_label("INN-050", long)
    assert cut == "INN-050 · Automated first-notice-of-loss intake with…"
    assert len(cut) - len("INN-050 · ") <= 48
    start = pd.Timestamp("2024-01-01")
    frame = pd.DataFrame(
        {
            "code": ["INN-001", "INN-002"],
            "title": ["Bulk correction tool", long],
            "stage": ["scaled", "pilot"],
            "phase": ["scaled", "pilot"],
            "start": [start, start],
            "end": [start + pd.Timedelta(days=90)] * 2,
            "open": [False, True],
            "order": [0, 1],
        }
    )
    fig = timeline_chart(frame)
    assert fig.layout.yaxis.tickfont.size == LABEL_PX == 13
    assert fig.layout.height >= max(320, ROW_PX * 2 + 90)
    assert cut.replace("INN-050", "INN-002") in list(fig.layout.yaxis.categoryarray)


def test_every_quarter_is_labelled_on_the_go_lives_chart() -> None:
    from charts.innovations import golives_chart

    q = pd.DataFrame({"quarter": [f"202{y} Q{n}" for y in (4, 5) for n in (1, 2, 3, 4)]})
    spec = golives_chart(q.assign(go_lives=range(8))).to_dict()
    axis = spec["encoding"]["x"]["axis"]
    assert axis["labelOverlap"] is False and axis["labelFontSize"] >= 12
