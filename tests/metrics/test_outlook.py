"""metrics.outlook: the pipeline's claim adjusted by the account's own realisation (tables and
answers worked out by hand)."""

from __future__ import annotations

import math

import pandas as pd

from metrics.outlook import outlook, outlook_sentence

PIPE = pd.DataFrame(
    {
        "code": ["P-1", "P-2", "P-3"],
        "title": ["Pilot one", "Prototype", "Idea"],
        "stage": ["pilot", "prototype", "idea"],
        "estimated_annual_value": [100_000.0, 50_000.0, None],
    }
)
# claimed 200K + 100K + 20K = 320K to date; measured 150K + 60K + (none) = 210K
LINES = pd.DataFrame(
    {"claimed": [200_000.0, 100_000.0, 20_000.0], "measured": [150_000.0, 60_000.0, None]}
)


def test_realisation_is_measured_over_claimed_to_date() -> None:
    o = outlook(PIPE, LINES)
    assert o.in_pipeline == 3
    assert o.claimed_per_year == 150_000.0  # the missing claim counts 0
    assert o.claimed_to_date == 320_000.0
    assert o.measured_to_date == 210_000.0
    assert o.realisation is not None and math.isclose(o.realisation, 0.65625)
    # 150,000 × 0.65625 = 98,437.5
    assert o.adjusted_per_year is not None and math.isclose(o.adjusted_per_year, 98_437.5)


def test_the_sentence_rounds_the_ask_to_two_figures() -> None:
    text = outlook_sentence(outlook(PIPE, LINES), "USD", "en_US")
    assert text == (
        "3 innovations in the pipeline claim $150K a year; at the 66% of its claims this "
        "account has realised so far, about $98K."
    )


def test_next_up_keeps_the_pipeline_order_and_limit() -> None:
    assert outlook(PIPE, LINES, next_n=2).next_up["code"].tolist() == ["P-1", "P-2"]


def test_nothing_claimed_leaves_the_ask_unadjusted() -> None:
    o = outlook(PIPE, LINES.iloc[0:0])
    assert o.realisation is None and o.adjusted_per_year is None
    assert "nothing has been claimed" in outlook_sentence(o, "USD", "en_US")


def test_a_negative_realisation_adjusts_to_zero_not_below() -> None:
    lines = pd.DataFrame({"claimed": [100_000.0], "measured": [-30_000.0]})
    o = outlook(PIPE, lines)
    assert o.realisation is not None and math.isclose(o.realisation, -0.3)
    assert o.adjusted_per_year == 0.0


def test_an_empty_pipeline_says_so() -> None:
    o = outlook(PIPE.iloc[0:0], LINES)
    assert o.in_pipeline == 0 and o.claimed_per_year == 0.0
    assert outlook_sentence(o, "USD", "en_US") == "No innovation is in the pipeline yet."
