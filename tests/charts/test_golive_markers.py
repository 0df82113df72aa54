"""Go-lives of the same month share one marker on the value curve (the demo drew 37 markers
on 15 positions: 22 hidden under others). The marker's hover lists every innovation of the
month and a number beside it says how many; the pack's chart (the same Altair spec) shows
the number too."""

from __future__ import annotations

import pandas as pd
import vl_convert as vlc

from charts.story import cumulative_value_chart, cumulative_value_figure, golive_groups


def _three_in_march(golives: pd.DataFrame) -> pd.DataFrame:
    extra = pd.DataFrame(
        {
            "date": pd.to_datetime(["2024-03-04", "2024-03-28", "2024-03-15"]),
            "code": ["INN-010", "INN-012", "INN-011"],
            "title": ["Chatbot triage", "Auto-QA sampling", "Callback scheduler"],
        }
    )
    return pd.concat([golives, extra], ignore_index=True)


def test_same_month_go_lives_are_one_group_listing_them_by_date(curve, golives) -> None:
    groups = golive_groups(curve, _three_in_march(golives))
    assert len(groups) == 4  # July 2023, Nov 2023, Mar 2024 (three), May 2024
    march = groups[groups["month"] == pd.Timestamp("2024-03-01")].iloc[0]
    assert march["count"] == 3
    assert march["codes"] == "INN-010,INN-011,INN-012"
    assert march["names"] == [
        "INN-010 Chatbot triage",
        "INN-011 Callback scheduler",
        "INN-012 Auto-QA sampling",
    ]
    assert march["badge"] == "3"
    assert groups["badge"].tolist().count("") == 3  # single go-lives carry no number
    on_curve = curve.loc[curve["month"] == "2024-03-01", "cumulative"].item()
    assert march["cumulative"] == on_curve


def test_plotly_marker_per_month_lists_every_innovation(curve, golives, events) -> None:
    fig = cumulative_value_figure(curve, _three_in_march(golives), events, currency="USD")
    markers = [t for t in fig.data if t.name == "Go-live"][0]
    assert len(markers.x) == 4
    codes = [row[0] for row in markers.customdata]
    assert "INN-010,INN-011,INN-012" in codes and "INN-001" in codes
    hover = markers.hovertemplate[codes.index("INN-010,INN-011,INN-012")]
    assert "3 innovations went live" in hover
    for name in ("INN-010 Chatbot triage", "INN-011 Callback scheduler", "INN-012 Auto-QA"):
        assert name in hover
    assert list(markers.text) == ["", "", "3", ""]


def test_altair_tooltip_lists_the_month_and_the_pack_shows_the_count(curve, golives, events):
    chart = cumulative_value_chart(curve, _three_in_march(golives), events, currency="USD")
    spec = chart.to_dict()
    tips = [
        [t.get("title") for t in layer["encoding"]["tooltip"]]
        for layer in spec["layer"]
        if layer.get("mark", {}).get("shape") == "triangle-up"
    ]
    assert ["Went live", "Innovation"] in tips  # a single go-live
    assert ["Went live", "1.", "2.", "3."] in tips  # the March marker lists three
    spec["width"] = 700
    svg = vlc.vegalite_to_svg(spec)
    assert ">3</text>" in svg  # the number beside the grouped marker, on paper too
