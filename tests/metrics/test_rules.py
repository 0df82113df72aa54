"""metrics.rules: the vocabulary and rules, each checked against hand-worked cases."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import pandas as pd
import pytest

from metrics import rules
from metrics.rules import (
    EVIDENCE_KEYS,
    STATES,
    DirectionError,
    direction_sign,
    evidence_label,
    evidence_rank,
    innovation_states,
    main_targets,
    month_end,
    month_start,
    months_between,
    retired_on,
    state_counts,
    weighted_mean,
)

ROOT = Path(__file__).resolve().parents[2]


def _register() -> tuple[pd.DataFrame, pd.DataFrame]:
    inn = pd.DataFrame(
        {
            "innovation_id": [1, 2, 3, 4, 5, 6, 7],
            "stage": ["idea", "pilot", "pilot", "scaled", "rejected", "retired", "retired"],
            "closed_date": [None, None, None, None, dt.date(2024, 3, 1), dt.date(2025, 5, 1), None],
        }
    )
    ro = pd.DataFrame(
        {
            "innovation_id": [2, 4, 4, 6],
            "unit_id": [10, 10, 11, 11],
            "go_live": pd.to_datetime(["2024-02-10", "2024-01-01", "2024-06-01", "2024-03-01"]),
        }
    )
    return inn, ro


def test_states_partition_the_register_and_a_pilot_counts_once() -> None:
    inn, ro = _register()
    s = innovation_states(inn, ro)
    # 1 idea → pipeline; 2 pilot with a go-live → live (not also pipeline); 3 pilot without
    # a go-live → pipeline; 4 live; 5 rejected; 6, 7 retired
    assert s.tolist() == [
        "in pipeline",
        "live",
        "in pipeline",
        "live",
        "rejected",
        "retired",
        "retired",
    ]
    counts = state_counts(s)
    assert counts == {"live": 2, "in pipeline": 2, "rejected": 1, "retired": 2}
    assert sum(counts.values()) == len(inn)
    assert tuple(counts) == STATES


def test_states_as_of_a_date_and_for_units() -> None:
    inn, ro = _register()
    # 1 Apr 2024: 4 is live (Jan), 2 live (Feb), 6 live until its retirement in May 2025
    s = innovation_states(inn, ro, as_of=dt.date(2024, 4, 1))
    assert s.tolist()[5] == "live"
    assert innovation_states(inn, ro, as_of=dt.date(2025, 5, 1)).tolist()[5] == "retired"
    # before any go-live: 2 and 4 are still in the pipeline
    early = innovation_states(inn, ro, as_of=dt.date(2023, 12, 31))
    assert early.tolist()[1] == early.tolist()[3] == "in pipeline"
    # unit 11 only: 2 went live at unit 10, so it is not live there
    assert innovation_states(inn, ro, unit_ids=[11]).tolist()[1] == "in pipeline"


def test_retired_on_is_the_closed_date_of_retired_innovations_only() -> None:
    inn, _ = _register()
    r = retired_on(inn)
    assert r.iloc[5] == pd.Timestamp("2025-05-01")
    assert pd.isna(r.iloc[4])  # rejected: a closed date, but no retirement
    assert pd.isna(r.iloc[6])


def test_direction_one_interpretation_and_unknown_words_refused() -> None:
    assert direction_sign("lower") == 1
    assert direction_sign(" Higher ") == -1
    assert direction_sign("lower is better") == 1
    for word in ("down", "min", "up", "lowest", "", "sideways"):
        with pytest.raises(DirectionError, match="lower' or 'higher"):
            direction_sign(word)


def test_evidence_keys_labels_and_rank() -> None:
    assert EVIDENCE_KEYS == ("estimated", "measured", "claimed")
    assert evidence_label("estimated") == "proven (causal estimate)"
    assert [evidence_rank(k) for k in EVIDENCE_KEYS] == [0, 1, 2]
    with pytest.raises(KeyError):
        evidence_label("guessed")


def test_month_arithmetic() -> None:
    assert month_start(dt.date(2025, 6, 15)) == pd.Timestamp("2025-06-01")
    assert month_end("2024-02-03") == pd.Timestamp("2024-02-29")
    assert months_between("2023-06-30", "2025-01-01") == 19
    assert rules.add_months("2024-11-20", 3) == pd.Timestamp("2025-02-01")


def test_weighted_mean_is_a_ratio_of_sums() -> None:
    # unit A baseline of the account: (10·100 + 12·300) / 400 = 11.5
    assert weighted_mean([10, 12], [100, 300]) == pytest.approx(11.5)
    assert weighted_mean([10, 12], [0, 0]) == pytest.approx(11.0)  # no volume: plain mean
    assert weighted_mean([10, float("nan")], [1, 5]) == pytest.approx(10.0)
    assert math.isnan(weighted_mean([], []))


def test_stale_rule() -> None:
    assert rules.STALE_AFTER_DAYS == 45
    assert not rules.is_stale(45) and rules.is_stale(46)


def test_main_target_is_the_largest_expected_effect() -> None:
    t = pd.DataFrame(
        {
            "innovation_id": [1, 1, 2, 2],
            "kpi_key": ["aht", "cost", "b", "a"],
            "expected_effect_pct": [-5.0, -12.0, 3.0, -3.0],
        }
    )
    m = main_targets(t)
    assert m["kpi_key"].tolist() == ["cost", "a"]  # tie at |3|: the smaller key


def test_no_copies_of_the_rules_left() -> None:
    """The rules are written once: no other module defines its own live stages, evidence
    tuple, month-start helper or direction sign."""
    patterns = (
        'LIVE_STAGES = ("',
        '= ("estimated", "measured", "claimed")',
        'to_period("M").to_timestamp()\n',
        'startswith("lower")',
    )
    offenders = []
    for layer in ("metrics", "data_loaders", "ui", "pages"):
        for p in (ROOT / layer).rglob("*.py"):
            if p.name == "rules.py":
                continue
            text = p.read_text(encoding="utf-8")
            offenders += [f"{p.relative_to(ROOT)}: {pat!r}" for pat in patterns if pat in text]
    assert not offenders, offenders


def test_named_innovations_are_the_largest_by_absolute_amount() -> None:
    """Ranked by |amount| (a large loss is named too), ties to the smaller id."""
    amounts = pd.Series({5: 100.0, 2: -300.0, 9: 50.0, 1: 50.0, 7: 10.0})
    assert rules.named_innovations(amounts, 3) == [2, 5, 1]
    assert rules.named_innovations(amounts) == [2, 5, 1, 9, 7]  # fewer than six: all named
    assert rules.NAMED_INNOVATIONS == 6
