"""metrics.pipeline on a 6-innovation register worked out by hand: funnel and conversion,
share to pilot, median idea → live days, kill rate, current-stage counts, mix, go-lives per
quarter and the open pipeline."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from metrics import pipeline as p

DATE_COLS = [
    "idea_date",
    "evaluation_date",
    "prototype_date",
    "pilot_date",
    "scaled_date",
    "closed_date",
]


def register() -> pd.DataFrame:
    rows = [
        # id, stage, idea, evaluation, prototype, pilot, scaled, closed, category, origin, claim
        (
            1,
            "scaled",
            "2024-01-01",
            None,
            None,
            "2024-03-01",
            "2024-05-01",
            None,
            "operational efficiency",
            "provider",
            50_000.0,
        ),
        (
            2,
            "pilot",
            "2024-02-01",
            None,
            None,
            "2024-04-01",
            None,
            None,
            "operational efficiency",
            "joint",
            30_000.0,
        ),
        (
            3,
            "pilot",
            "2024-03-01",
            None,
            None,
            "2024-05-01",
            None,
            None,
            "strategic impact",
            "client",
            80_000.0,
        ),
        (
            4,
            "rejected",
            "2024-01-15",
            "2024-02-01",
            None,
            None,
            None,
            "2024-03-01",
            "operational efficiency",
            "provider",
            10_000.0,
        ),
        (
            5,
            "prototype",
            "2024-02-10",
            "2024-03-01",
            "2024-04-01",
            None,
            None,
            None,
            "strategic impact",
            "provider",
            20_000.0,
        ),
        (
            6,
            "idea",
            "2024-05-01",
            None,
            None,
            None,
            None,
            None,
            "operational efficiency",
            None,
            None,
        ),
    ]
    df = pd.DataFrame(
        rows,
        columns=[
            "innovation_id",
            "stage",
            *DATE_COLS,
            "category",
            "origin",
            "estimated_annual_value",
        ],
    )
    for c in DATE_COLS:
        df[c] = pd.to_datetime(df[c])
    df["code"] = [f"I-{i}" for i in df["innovation_id"]]
    df["title"] = ["Bots", "Letters", "Portal", "Detector", "Triage", "Chat"]
    df["scale"] = ["continuous improvement"] * 4 + ["transformative"] * 2
    return df


ROLLOUTS = pd.DataFrame(
    {
        "innovation_id": [1, 1, 2, 1],
        "unit_id": [1, 2, 1, 3],
        "go_live": pd.to_datetime(["2024-03-11", "2024-06-01", "2024-04-21", "2024-10-05"]),
    }
)


def test_funnel_and_conversion() -> None:
    f = p.stage_funnel(register()).set_index("stage")
    # reached: idea all 6; evaluation 1, 2, 3 (they reached pilot), 4, 5 = 5;
    # prototype 1, 2, 3, 5 = 4; pilot 1, 2, 3 = 3; scaled 1 = 1
    assert f["reached"].tolist() == [6, 5, 4, 3, 1]
    assert math.isnan(float(f["conversion"]["idea"]))
    assert f["conversion"].iloc[1:].tolist() == pytest.approx([5 / 6, 4 / 5, 3 / 4, 1 / 3])
    assert f["now"].tolist() == [1, 0, 1, 2, 1]


def test_share_to_pilot_median_days_and_kill_rate() -> None:
    s = p.pipeline_summary(register(), ROLLOUTS)
    assert s.share_to_pilot == pytest.approx(3 / 6)  # reached pilot / reached idea
    # idea → live: #1 Jan 1 → first go-live Mar 11 = 31 + 29 + 10 = 70 days (2024 is a leap
    # year); #2 Feb 1 → Apr 21 = 29 + 31 + 20 = 80; #3 has no go-live: its pilot date,
    # Mar 1 → May 1 = 31 + 30 = 61. Median of 61, 70, 80 = 70.
    assert s.median_idea_to_live_days == 70.0 and s.n_live == 3
    # kill rate = rejected / (rejected + reached pilot) = 1 / (1 + 3)
    assert s.kill_rate == pytest.approx(0.25) and s.rejected == 1
    assert s.innovations == 6 and s.reached_pilot == 3
    empty = p.pipeline_summary(register().iloc[0:0], ROLLOUTS)
    assert empty.share_to_pilot is None and empty.kill_rate is None


def test_stage_counts() -> None:
    assert p.stage_counts(register()) == {
        "idea": 1,
        "evaluation": 0,
        "prototype": 1,
        "pilot": 2,
        "scaled": 1,
        "rejected": 1,
        "retired": 0,
    }


def test_portfolio_mix() -> None:
    mix = p.portfolio_mix(register()).set_index(["dimension", "value"])
    assert mix.loc[("category", "operational efficiency"), "count"] == 4
    assert mix.loc[("category", "operational efficiency"), "share"] == pytest.approx(4 / 6)
    assert mix.loc[("origin", "provider"), "count"] == 3
    assert mix.loc[("origin", "(none)"), "count"] == 1  # a missing origin is counted, named
    assert mix.loc[("scale", "transformative"), "share"] == pytest.approx(2 / 6)
    assert mix["count"].groupby(level="dimension").sum().eq(6).all()


def test_golives_by_quarter() -> None:
    q = p.golives_by_quarter(ROLLOUTS)
    assert q["quarter"].tolist() == ["2024 Q1", "2024 Q2", "2024 Q3", "2024 Q4"]
    # Q1: #1 at unit 1 (its first); Q2: #1 at unit 2 and #2 at unit 1 (#2's first);
    # Q3: nothing (kept, as a gap); Q4: #1 at unit 3 (not a first go-live)
    assert q["go_lives"].tolist() == [1, 2, 0, 1]
    assert q["innovations"].tolist() == [1, 1, 0, 0]
    u2 = p.golives_by_quarter(ROLLOUTS, unit_ids=[2])
    assert u2["quarter"].tolist() == ["2024 Q2"] and u2["innovations"].tolist() == [1]


def test_open_pipeline_closest_to_live_first() -> None:
    up = p.open_pipeline(register(), ROLLOUTS)
    # the pilot #3 (80k), then the prototype, then the idea; the pilot #2 is live at unit 1
    # (ROLLOUTS), so it is live, not "next up"
    assert up["code"].tolist() == ["I-3", "I-5", "I-6"]
    assert up["rolled_out"].tolist() == [False, False, False]
    assert up["estimated_annual_value"].fillna(0).sum() == 100_000.0


def test_states_partition_the_register() -> None:
    reg = register()
    totals = p.state_totals(reg, ROLLOUTS)
    # live: #1 and #2 (go-lives); pipeline: #3, #5, #6; rejected #4; retired: none
    assert totals == {"live": 2, "in pipeline": 3, "rejected": 1, "retired": 0}
    assert sum(totals.values()) == len(reg)
    assert totals["in pipeline"] == len(p.open_pipeline(reg, ROLLOUTS))
