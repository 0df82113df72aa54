"""charts.detail: KPI small multiples around go-live and the event-study chart."""

from __future__ import annotations

import json

import pandas as pd
import vl_convert as vlc

from charts.detail import event_study_chart, kpi_by_unit_chart


def _series() -> pd.DataFrame:
    months = pd.date_range("2024-01-01", periods=6, freq="MS")
    rows = []
    for order, (unit, go) in enumerate(
        [("Manila · Claims", "2024-03-10"), ("Kraków · Claims", "2024-05-01")], start=1
    ):
        for m in months:
            rows.append(
                {
                    "unit": unit,
                    "order": order,
                    "month": m,
                    "value": 4.0,
                    "comparison": 4.1,
                    "go_live": pd.Timestamp(go),
                    "is_go_live_month": m == pd.Timestamp(go).replace(day=1),
                }
            )
    return pd.DataFrame(rows)


def test_small_multiples_one_panel_per_unit_with_go_live_rules() -> None:
    spec = kpi_by_unit_chart(
        _series(), kpi_label="Cost per transaction", unit_of_measure="USD"
    ).to_dict()
    assert spec["facet"]["field"] == "panel"
    assert spec["facet"]["sort"] == ["1. Manila · Claims", "2. Kraków · Claims"]
    rows = next(iter(spec["datasets"].values()))
    rules = [r for r in rows if r.get("go_live") is not None and r.get("kpi") is None]
    assert len(rules) == 2  # one go-live rule per unit
    series = {r["series"] for r in rows if r.get("series")}
    assert series == {"this unit", "units not live yet, from this unit's level"}
    marks = [layer["mark"]["type"] for layer in spec["spec"]["layer"]]
    assert marks == ["line", "rule", "text"]
    assert spec["spec"]["layer"][0]["encoding"]["y"]["title"] == "Cost per transaction (USD)"
    svg = vlc.vegalite_to_svg(json.dumps(spec))
    assert "Manila · Claims" in svg and "go-live" in svg


def test_event_study_pre_periods_grey_zero_line_and_ci() -> None:
    bh = pd.DataFrame(
        {
            "horizon": [-2, -1, 0, 1, 2],
            "effect": [0.01, -0.02, -0.3, -0.35, -0.4],
            "se": [0.05] * 5,
            "ci_low": [-0.09, -0.12, -0.4, -0.45, -0.5],
            "ci_high": [0.11, 0.08, -0.2, -0.25, -0.3],
            "n_obs": [4, 4, 4, 4, 3],
        }
    )
    spec = event_study_chart(bh, kpi_label="Error rate", unit_of_measure="%", att=-0.35).to_dict()
    layers = spec["layer"]
    assert layers[0]["encoding"]["y"]["field"] == "y"  # zero line
    assert layers[1]["encoding"]["x"]["field"] == "x"  # go-live line at -0.5
    band = layers[2]
    assert (
        band["encoding"]["y"]["field"] == "ci_low" and band["encoding"]["y2"]["field"] == "ci_high"
    )
    values = [r for ds in spec["datasets"].values() for r in ds]
    periods = {r["horizon"]: r["period"] for r in values if "period" in r}
    assert periods[-1] == "before go-live (placebo)" and periods[0] == "after go-live"
    assert any(r.get("y") == -0.35 for r in values)  # the average effect line
    assert "<svg" in vlc.vegalite_to_svg(json.dumps(spec))
