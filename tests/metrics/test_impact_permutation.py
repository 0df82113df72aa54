"""The permutation interval is the inversion of the permutation test (issue #11 §5).

Simulated panels, same noise, planted constant effects: the 95 % interval covers the
planted effect at least 93 % of the time at effect 0 and at effect 3, its width does not
depend on the size of the effect, and "the interval excludes zero" agrees with p < 0.05
in every panel (p < 0.05 rejects). Small (8 units × 6 months, 3 treated, 99 draws) so that
it runs in seconds; seeds fixed, so it is deterministic. (With 6 units and 2 treated there
are only 30 distinct reassignments: p cannot go much below 0.05 and the interval is often
unbounded — correct, and coarse.)
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from metrics.impact import EstimationError, estimate_effect

N_PANELS = 60


def panel(seed: int, effect: float) -> pd.DataFrame:
    """Y_it = alpha_i + beta_t + effect · 1[t ≥ E_i] + N(0, 1); three of eight units, chosen
    at random, go live in months 2, 3 and 4; the noise depends on the seed only."""
    rng = np.random.default_rng(seed)
    n_units, n_periods = 8, 6
    a, b = rng.normal(0, 2, n_units), rng.normal(0, 1, n_periods)
    eps = rng.normal(0, 1, (n_units, n_periods))
    ft = np.full(n_units, np.nan)
    ft[rng.choice(n_units, 3, replace=False)] = [2, 3, 4]
    rows = [
        (i, t, a[i] + b[t] + effect * (t >= ft[i]) + eps[i, t], ft[i])
        for i in range(n_units)
        for t in range(n_periods)
    ]
    return pd.DataFrame(rows, columns=["unit", "period", "y", "first_treated"])


def estimate(seed: int, effect: float):
    return estimate_effect(
        panel(seed, effect),
        unit="unit",
        period="period",
        outcome="y",
        first_treated="first_treated",
        inference="permutation",
        n_permutations=99,
        seed=seed,
    )


@pytest.fixture(scope="module")
def runs() -> dict[float, list]:
    return {eff: [estimate(s, eff) for s in range(N_PANELS)] for eff in (0.0, 3.0)}


@pytest.mark.parametrize("effect", [0.0, 3.0])
def test_coverage_at_least_93_percent(runs, effect: float) -> None:
    covered = sum(e.ci_low <= effect <= e.ci_high for e in runs[effect])
    assert covered >= 0.93 * N_PANELS, covered


def test_interval_excludes_zero_exactly_when_p_is_below_alpha(runs) -> None:
    for eff, ests in runs.items():
        for e in ests:
            assert e.excludes_zero == (e.p_value < e.alpha), (eff, e.ci_low, e.ci_high, e.p_value)
    # and the test has power: an effect of 3 (3 noise sds) is found in most panels
    assert sum(e.excludes_zero for e in runs[3.0]) >= 0.8 * N_PANELS


def test_width_does_not_grow_with_the_effect(runs) -> None:
    # same noise, effect 0 vs 3: with a constant effect the inverted interval is shifted,
    # not widened (the old quantile interval grew with the effect)
    w0 = np.array([e.ci_high - e.ci_low for e in runs[0.0]])
    w3 = np.array([e.ci_high - e.ci_low for e in runs[3.0]])
    finite = np.isfinite(w0) & np.isfinite(w3)
    assert finite.mean() > 0.9
    assert np.allclose(w0[finite], w3[finite], rtol=1e-6, atol=1e-9)


def test_integer_first_treated_with_date_periods_says_the_column_needs_dates() -> None:
    df = panel(0, 1.0)
    df["period"] = pd.Timestamp("2024-01-01") + pd.to_timedelta(df["period"] * 31, unit="D")
    df["period"] = df["period"].dt.to_period("M").dt.to_timestamp()
    with pytest.raises(EstimationError, match="first_treated.*dates"):
        estimate_effect(
            df, unit="unit", period="period", outcome="y", first_treated="first_treated"
        )


def test_a_period_missing_for_every_unit_is_warned_about() -> None:
    """Horizons count observed periods, so a calendar period no unit has would merge two
    true horizons: the estimate says which period is missing (date and integer periods)."""
    df = panel(1, 1.0)
    months = pd.Timestamp("2024-01-01") + pd.to_timedelta(df["period"] * 31, unit="D")
    dated = df.assign(
        period=months.dt.to_period("M").dt.to_timestamp(),
        first_treated=(
            pd.Timestamp("2024-01-01") + pd.to_timedelta(df["first_treated"] * 31, unit="D")
        )
        .dt.to_period("M")
        .dt.to_timestamp(),
    )
    kw = {"unit": "unit", "period": "period", "outcome": "y", "first_treated": "first_treated"}
    full = estimate_effect(dated, n_permutations=19, **kw)  # type: ignore[arg-type]  # keyword options typed per parameter
    assert not any("No unit has data" in w for w in full.warnings)
    gap = dated[dated["period"] != pd.Timestamp("2024-04-01")]
    est = estimate_effect(gap, n_permutations=19, **kw)  # type: ignore[arg-type]  # keyword options typed per parameter
    assert any("No unit has data for Apr 2024" in w for w in est.warnings), est.warnings
    numbered = df[df["period"] != 4]
    est = estimate_effect(numbered, n_permutations=19, **kw)  # type: ignore[arg-type]  # keyword options typed per parameter
    assert any("No unit has data for 4" in w for w in est.warnings), est.warnings
