"""charts.innovations: specs are valid, carry the data, render to SVG, and are clickable."""

from __future__ import annotations

import json

import pandas as pd
import vl_convert as vlc

from charts.innovations import funnel_chart, golives_chart, mix_panel, timeline_chart

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


def test_mix_panel_per_dimension_with_shares_as_wide_as_its_column() -> None:
    """One dimension's bars only, titled by it, labelled with count and share of that
    dimension (45 of 60 = 75 %), as wide as the page column it is drawn in (its height its
    own: fitting that too squeezed the bars into the title's space)."""
    mix = pd.DataFrame(
        {
            "dimension": ["scale", "scale", "origin", "origin", "origin"],
            "value": ["continuous improvement", "transformative", "client", "joint", "provider"],
            "count": [45, 15, 10, 20, 30],
        }
    )
    scale = mix_panel(mix, "scale").to_dict()
    origin = mix_panel(mix, "origin").to_dict()
    assert (scale["title"], origin["title"]) == ("by scale", "by origin")
    # no width of its own, and only the width fitted: the page's column sets it
    assert "width" not in scale and scale["autosize"] == {"type": "fit-x", "contains": "padding"}
    labels = {r["value"]: r["label"] for r in _values(scale)}
    assert labels == {"continuous improvement": "45  (75%)", "transformative": "15  (25%)"}
    assert {r["value"]: r["label"] for r in _values(origin)}["provider"] == "30  (50%)"
    assert "<svg" in vlc.vegalite_to_svg(json.dumps({**scale, "width": 300}))


def test_golives_chart_renders() -> None:
    df = pd.DataFrame({"quarter": ["2024 Q1", "2024 Q2"], "go_lives": [3, 5]})
    spec = golives_chart(df).to_dict()
    assert {r["go_lives"] for r in _values(spec)} == {3, 5}
    assert "<svg" in vlc.vegalite_to_svg(json.dumps(spec))


def _layers(spec: dict) -> list[dict]:
    return list(spec["layer"])


def _rows(spec: dict, layer: dict) -> list[dict]:
    return spec["datasets"][layer["data"]["name"]]


def test_timeline_bars_carry_the_code_and_span_the_phase() -> None:
    """One bar per phase from its start to its end (a phase shorter than a day drawn a day
    long), the code on every bar for the click, a × at a rejected innovation's close, the
    earliest idea on top and the as-of date as a dotted line."""
    tl = pd.DataFrame(
        {
            "code": ["INN-001", "INN-001", "INN-002", "INN-002"],
            "title": ["Bots", "Bots", "Letters", "Letters"],
            "stage": ["pilot", "pilot", "rejected", "rejected"],
            "phase": ["idea", "pilot", "idea", "evaluation"],
            "start": pd.to_datetime(["2024-01-01", "2024-03-01", "2024-02-01", "2024-02-10"]),
            "end": pd.to_datetime(["2024-03-01", "2024-06-30", "2024-02-10", "2024-02-10"]),
            "open": [False, True, False, False],
            "order": [0, 0, 1, 1],
        }
    )
    spec = timeline_chart(tl, as_of=pd.Timestamp("2024-06-30")).to_dict()
    bars, cross, label, rule = _layers(spec)
    params = spec.get("params", []) + bars.get("params", [])  # Altair lifts them to the top
    assert [p["name"] for p in params] == ["innovation"]
    assert params[0]["select"]["fields"] == ["code"]
    rows = _rows(spec, bars)
    pilot = next(r for r in rows if r["phase"] == "pilot")
    assert (pilot["code"], pilot["start"][:10], pilot["end"][:10]) == (
        "INN-001",
        "2024-03-01",
        "2024-06-30",
    )
    assert "ongoing" in pilot["period"]
    short = next(r for r in rows if r["phase"] == "evaluation")  # starts and ends 10 Feb
    assert short["end"][:10] == "2024-02-11"
    assert [r["code"] for r in _rows(spec, cross)] == ["INN-002"]  # rejected: closing mark
    assert [r["stage"] for r in _rows(spec, label)] == ["rejected"]
    assert bars["encoding"]["y"]["sort"][0].startswith("INN-001")  # earliest idea on top
    assert rule["mark"]["strokeDash"] and _rows(spec, rule)[0]["x"][:10] == "2024-06-30"
    assert "Jun 2024" in bars["encoding"]["x"]["axis"]["title"]
    svg = vlc.vegalite_to_svg(json.dumps(spec))
    assert "INN-001 · Bots" in svg and "INN-002 · Letters" in svg


def test_timeline_labels_are_readable_and_cut_at_a_word() -> None:
    """Row labels at 13 px (they were ~10 px), every row labelled, in rows tall enough for
    them; a long title is cut at a word boundary with an ellipsis, a short one kept whole
    (#14)."""
    from charts.innovations import LABEL_PX, ROW_PX, row_label, timeline_chart

    assert row_label("INN-002", "Knowledge base in the agent desktop") == (
        "INN-002 · Knowledge base in the agent desktop"
    )
    long = "Automated first-notice-of-loss intake with document classification and routing"
    cut = row_label("INN-050", long)
    assert cut == "INN-050 · Automated first-notice-of-loss intake with…"
    assert len(cut) - len("INN-050 · ") <= 48
    start = pd.Timestamp("2024-01-01")
    codes = [f"INN-{i:03d}" for i in range(1, 21)]
    frame = pd.DataFrame(
        {
            "code": codes,
            "title": ["Bulk correction tool", long] * 10,
            "stage": ["scaled", "pilot"] * 10,
            "phase": ["scaled", "pilot"] * 10,
            "start": [start] * 20,
            "end": [start + pd.Timedelta(days=90)] * 20,
            "open": [False, True] * 10,
            "order": range(20),
        }
    )
    spec = timeline_chart(frame).to_dict()
    axis = spec["layer"][0]["encoding"]["y"]["axis"]
    assert axis["labelFontSize"] == LABEL_PX == 13
    assert axis["labelOverlap"] is False
    assert spec["height"] >= ROW_PX * 20
    assert cut.replace("INN-050", "INN-002") in spec["layer"][0]["encoding"]["y"]["sort"]
    svg = vlc.vegalite_to_svg(json.dumps(spec))
    assert all(f"{code} · " in svg for code in codes)  # no row's label dropped


def test_every_quarter_is_labelled_on_the_go_lives_chart() -> None:
    from charts.innovations import golives_chart

    q = pd.DataFrame({"quarter": [f"202{y} Q{n}" for y in (4, 5) for n in (1, 2, 3, 4)]})
    spec = golives_chart(q.assign(go_lives=range(8))).to_dict()
    axis = spec["encoding"]["x"]["axis"]
    assert axis["labelOverlap"] is False and axis["labelFontSize"] >= 12
