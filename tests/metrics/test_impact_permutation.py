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


def estimate(seed: int, effect: float, horizon_inference: bool = True):
    return estimate_effect(
        panel(seed, effect),
        unit="unit",
        period="period",
        outcome="y",
        first_treated="first_treated",
        inference="permutation",
        n_permutations=99,
        seed=seed,
        horizon_inference=horizon_inference,
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


def test_a_period_missing_for_every_unit_is_said(  # and horizons still count the calendar
) -> None:
    """A calendar period no unit has is named in the warnings (date and integer periods);
    horizons skip it rather than merge two true horizons (next test)."""
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


def gap_panel(dated: bool) -> pd.DataFrame:
    """Jan-Jul 2024 (or periods 1-7) without April (4), which no unit has. Noise-free
    additive outcome: unit level + month level + 10 x (h + 1) at calendar horizon h =
    months since go-live. A goes live in Feb, B in Mar, E in Apr (the missing month, so its
    first observed treated month, May, is its horizon 1); C and D never."""
    first = {"A": 2, "B": 3, "E": 4, "C": None, "D": None}
    level = {"A": 5.0, "B": 1.0, "E": 3.0, "C": 2.0, "D": 4.0}
    months = [1, 2, 3, 5, 6, 7]
    season = {1: 0.0, 2: 1.5, 3: -0.5, 5: 2.0, 6: 0.5, 7: 1.0}
    rows = []
    for u, f in first.items():
        for m in months:
            effect = 10.0 * (m - f + 1) if f is not None and m >= f else 0.0
            rows.append((u, m, level[u] + season[m] + effect, f))
    df = pd.DataFrame(rows, columns=["unit", "period", "y", "first_treated"])
    if dated:
        df["period"] = pd.to_datetime({"year": 2024, "month": df["period"], "day": 1})
        df["first_treated"] = pd.to_datetime(
            {"year": 2024, "month": df["first_treated"].fillna(1).astype(int), "day": 1}
        ).where(df["first_treated"].notna())
    return df


@pytest.mark.parametrize("dated", [True, False])
def test_horizons_count_calendar_periods_across_a_month_no_unit_has(dated: bool) -> None:
    """By hand: A's treated months Feb, Mar, May, Jun, Jul are horizons 0, 1, 3, 4, 5; B's
    Mar, May, Jun, Jul are 0, 2, 3, 4; E's May, Jun, Jul are 1, 2, 3. The data are exact,
    so each horizon's effect is 10 x (h + 1) from the cells at that calendar horizon only:
    horizon 2 holds B's May and E's Jun (30), not A's May (its horizon 3, 40). Counted in
    observed steps, horizon 2 would be A's May, B's Jun and E's Jul (all true horizon 3)
    and horizon 0 would hold E's May (true horizon 1)."""
    est = estimate_effect(
        gap_panel(dated),
        unit="unit",
        period="period",
        outcome="y",
        first_treated="first_treated",
        inference="cluster",
    )
    post = est.by_horizon[est.by_horizon["horizon"] >= 0].set_index("horizon")
    assert post.index.tolist() == [0, 1, 2, 3, 4, 5]
    assert post["n_obs"].tolist() == [2, 2, 2, 3, 2, 1]
    np.testing.assert_allclose(post["effect"].to_numpy(), [10, 20, 30, 40, 50, 60], atol=1e-9)
    # ATT: the mean of the 12 treated cells' effects
    cells = [10, 20, 40, 50, 60] + [10, 30, 40, 50] + [20, 30, 40]
    assert est.att == pytest.approx(sum(cells) / len(cells), abs=1e-9)
    assert any("No unit has data for" in w for w in est.warnings)


def test_inversions_of_several_tests_at_once_by_hand() -> None:
    """Two tests solved together, their draws interleaved (alpha 0.5, so c is accepted
    when at least one draw's statistic reaches the observed one).

    Test 0: estimate 1, draws a = 0.5, -1, 2 with b = 0: p(c) = (1 + #{|a_d| >= |1 - c|})/4,
    accepted for |1 - c| <= 2, i.e. [-1, 3]; p(0) = (1 + 2)/4; se = sd(0.5, -1, 2) = 1.5.
    Test 1: estimate 0, draws (a, b) = (1, 0.5), (-3, 2): |1 - c/2| >= |c| on [-2, 2/3],
    |-3 - 2c| >= |c| for c <= -3 or c >= -1, so the accepted set is (-inf, -3] and
    [-2, inf): the stretch around 0 is [-2, inf); p(0) = 3/3; se = sd(1, -3) = sqrt(8)."""
    from metrics.impact import _perm_inversion, _perm_inversions

    group = np.array([1, 0, 0, 1, 0])
    a = np.array([1.0, 0.5, -1.0, -3.0, 2.0])
    b = np.array([0.5, 0.0, 0.0, 2.0, 0.0])
    out = _perm_inversions(np.array([1.0, 0.0]), a, b, group, 0.5)
    assert out[0] == pytest.approx([1.5, -1.0, 3.0, 0.75], abs=1e-12)
    assert out[1, :3] == pytest.approx([np.sqrt(8.0), -2.0, np.inf], abs=1e-12)
    assert out[1, 3] == 1.0
    # one test alone gives the same row as solved beside the other
    alone = _perm_inversion(0.0, a[group == 1], b[group == 1], 0.5)
    assert alone == pytest.approx(tuple(out[1]), abs=1e-12)


def test_perm_points_by_hand() -> None:
    """Test 0: estimate 1, draws (a, b) = (3, 0), (0, 3): breakpoints (a - 1)/(b - 1) = -2,
    -0.5 and (a + 1)/(b + 1) = 4, 0.25; their midpoints -1.25, -0.125, 2.125; far points
    ±(2 (1 + 4) + 1) = ±11; then 1 and 0. Test 1: estimate 0, draws (0, 1), (2, 1): first
    breakpoints 0/0 (NaN) and 2/0 (inf), second ones 0 and 1 (the 0 the same point as the
    estimate and 0), midpoint 0.5, far ±(2 (1 + 1) + 0) = ±4; NaN and inf land after the
    test's last point, as a search would put them."""
    from metrics.impact import _perm_points

    points, bounds, first_at, second_at, (at_est, at_zero) = _perm_points(
        np.array([1.0, 0.0]),
        np.array([3.0, 0.0, 0.0, 2.0]),
        np.array([0.0, 3.0, 1.0, 1.0]),
        np.array([0, 2, 4]),
    )
    test0 = [-11.0, -2.0, -1.25, -0.5, -0.125, 0.0, 0.25, 1.0, 2.125, 4.0, 11.0]
    assert points.tolist() == test0 + [-4.0, 0.0, 0.5, 1.0, 4.0]
    assert bounds.tolist() == [0, 11, 16]
    assert first_at.tolist() == [1, 3, 16, 16]
    assert second_at.tolist() == [9, 6, 12, 14]
    assert at_est.tolist() == [7, 12]
    assert at_zero.tolist() == [5, 12]


def test_kept_by_draw_drops_collinear_covariates_one_at_a_time() -> None:
    """Draw 0: columns e1, e2, (e1 + e2)/sqrt 2, (e1 - e2)/sqrt 2 on four cells: the third
    is collinear with the first two and left out, then the fourth too (a second round);
    draw 1: the third column absent, the fourth e3: all present ones kept. No norm is near
    the tolerance, so neither draw is close to call."""
    from metrics.impact import _kept_by_draw

    e = np.eye(4)
    h = np.sqrt(0.5)
    draw0 = np.column_stack([e[0], e[1], h * (e[0] + e[1]), h * (e[0] - e[1])])
    draw1 = np.column_stack([e[0], e[1], np.zeros(4), e[2]])
    present = np.array([[True, True, True, True], [True, True, False, True]])
    kept, close = _kept_by_draw(np.stack([draw0, draw1]), present)
    assert kept.tolist() == [[True, True, False, False], [True, True, False, True]]
    assert close.tolist() == [False, False]


def test_connected_inverse_by_hand() -> None:
    """diag(2, 4) is connected, its inverse diag(1/2, 1/4); [[1, 1], [1, 1]] (eigenvalues 0
    and 2) is exactly singular and diag(1, 1e-12) nearly so (ratio 1e-12 < 1e-10): both are
    not connected and get the identity as stand-in — with the singular one in the batch
    (no LU inverse at all) and without it."""
    from metrics.impact import _connected_inverse

    ok = np.diag([2.0, 4.0])
    singular = np.ones((2, 2))
    nearly = np.diag([1.0, 1e-12])
    inv, good = _connected_inverse(np.stack([ok, singular, nearly]))
    assert good.tolist() == [True, False, False]
    assert inv[0] == pytest.approx(np.diag([0.5, 0.25]), abs=1e-15)
    assert inv[1] == pytest.approx(np.eye(2), abs=1e-12)
    assert inv[2] == pytest.approx(np.eye(2), abs=1e-12)
    inv, good = _connected_inverse(np.stack([ok, nearly]))
    assert good.tolist() == [True, False]
    assert inv[0] == pytest.approx(np.diag([0.5, 0.25]), abs=1e-15)


def test_well_conditioned_by_hand() -> None:
    """[[1, .5], [.5, 1]] has eigenvalues 0.5 and 1.5: well conditioned; [[1, 1], [1, 1]]
    has 0 (singular, the whole batch then without an LU inverse) unless its second column
    is not used (the identity's row and column instead); diag(1, 1.5e-6) is within the
    margin of the 1e-6 threshold (decided by its eigenvalue: above) and diag(1, 5e-7) below."""
    from metrics.impact import _well_conditioned

    g = np.stack(
        [
            np.array([[1.0, 0.5], [0.5, 1.0]]),
            np.ones((2, 2)),
            np.ones((2, 2)),
            np.diag([1.0, 1.5e-6]),
            np.diag([1.0, 5e-7]),
        ]
    )
    use = np.array([[True, True], [True, True], [True, False], [True, True], [True, True]])
    assert _well_conditioned(g, use).tolist() == [True, False, True, True, False]
    assert _well_conditioned(g[[0, 3, 4]], use[[0, 3, 4]]).tolist() == [True, True, False]


def test_a_singular_draw_sends_only_itself_to_the_eigenvalues(monkeypatch) -> None:
    """An exactly singular draw ([[1, 1], [1, 1]]) beside well-conditioned ones: only it
    is decided by its eigenvalues (it used to stop the batch's inverse, and every draw of
    the batch then went to the eigenvalues)."""
    from metrics.impact import _well_conditioned

    seen: list[int] = []
    real = np.linalg.eigvalsh

    def spy(a, *args, **kwargs):
        seen.append(a.shape[0])
        return real(a, *args, **kwargs)

    monkeypatch.setattr(np.linalg, "eigvalsh", spy)
    g = np.stack([np.eye(2), np.ones((2, 2)), np.array([[1.0, 0.5], [0.5, 1.0]])])
    assert _well_conditioned(g, np.ones((3, 2), dtype=bool)).tolist() == [True, False, True]
    assert seen == [1]


def _blas_threads() -> dict[str, int]:
    from threadpoolctl import threadpool_info

    return {
        lib["filepath"]: lib["num_threads"]
        for lib in threadpool_info()
        if lib["user_api"] == "blas"
    }


def test_blas_runs_on_one_thread_while_an_estimator_runs(monkeypatch) -> None:
    """Every BLAS library is limited to one thread inside ``estimate_effect`` (whoever calls
    it: the stored estimates and an in-process run compute alike), and set back to what it
    was after it; nested and overlapping estimators keep the limit until the last one ends.
    (A library that allows one thread only, as diff-diff's own OpenBLAS, stays at 1.)"""
    from threadpoolctl import threadpool_limits

    from metrics import impact

    seen: list[dict[str, int]] = []
    real = impact._fit

    def spy(*args, **kwargs):
        seen.append(_blas_threads())
        return real(*args, **kwargs)

    monkeypatch.setattr(impact, "_fit", spy)
    with threadpool_limits(limits=2, user_api="blas"):
        before = _blas_threads()
        assert 2 in before.values()  # numpy's and scipy's OpenBLAS take two
        estimate(0, 1.0)
        assert seen and all(set(s.values()) == {1} for s in seen)
        assert _blas_threads() == before
        with impact._one_blas_thread():
            with impact._one_blas_thread():
                assert set(_blas_threads().values()) == {1}
            assert set(_blas_threads().values()) == {1}  # the outer one still runs
        assert _blas_threads() == before


def test_a_reassignment_drawn_twice_counts_twice_by_hand() -> None:
    """Draws passed once with their counts weigh as if repeated. Estimate 1, draws a = 0.5
    (once) and -1 (twice), b = 0 (alpha 0.5): p(c) = (1 + #{|a_d| >= |1 - c|})/4 over the
    draws 0.5, -1, -1, so c is accepted for |1 - c| <= 1, i.e. [0, 2]; p(0) = (1 + 2)/4;
    se = sd(0.5, -1, -1) = sqrt(0.75)."""
    from metrics.impact import _perm_inversion, _perm_p

    a, b = np.array([0.5, -1.0]), np.array([0.0, 0.0])
    count = np.array([1, 2])
    got = _perm_inversion(1.0, a, b, 0.5, count)
    assert got == pytest.approx((np.sqrt(0.75), 0.0, 2.0, 0.75), abs=1e-12)
    assert _perm_p(1.0, a, b, np.array([0.0, 1.0, 2.5]), count) == pytest.approx([0.75, 1.0, 0.25])


def test_without_horizon_inference_the_average_is_the_same_and_horizons_have_no_interval() -> None:
    """``horizon_inference=False`` (the stored estimates) leaves the ATT, its interval and
    p-value as they are with it, keeps every horizon's effect, and gives the post-treatment
    horizons no interval (NaN) where, with it, they have finite ones."""
    full, short = estimate(3, 3.0), estimate(3, 3.0, horizon_inference=False)
    assert (short.att, short.se, short.ci_low, short.ci_high, short.p_value) == (
        full.att,
        full.se,
        full.ci_low,
        full.ci_high,
        full.p_value,
    )
    post_full = full.by_horizon[full.by_horizon["horizon"] >= 0]
    post_short = short.by_horizon[short.by_horizon["horizon"] >= 0]
    assert post_short["effect"].tolist() == post_full["effect"].tolist()
    assert np.isfinite(post_full["ci_low"]).any()
    assert post_short[["se", "ci_low", "ci_high"]].isna().all().all()


def test_batched_draws_agree_with_each_draw_refitted_with_covariates_and_a_gap() -> None:
    """The batched solve of many reassignments (ATT from running sums, covariates, a missing
    cell) gives each draw's ATT and horizon effects as the per-draw estimator, which fits
    every draw from scratch on its own untreated cells, does."""
    from metrics.impact import _permute_batched, _permute_covariates, _prepare

    rng = np.random.default_rng(11)
    n_units, n_periods = 7, 9
    ft = np.array([3, 5, 6, np.nan, np.nan, np.nan, 4.0])
    rows = []
    for i in range(n_units):
        for t in range(n_periods):
            if (i, t) == (4, 2):
                continue  # a missing cell
            x = float(t >= 2 + i % 3) * rng.uniform(0.5, 1.0)
            rows.append((i, t, rng.normal() + 0.5 * x, ft[i], x, rng.uniform(1, 3)))
    df = pd.DataFrame(rows, columns=["unit", "period", "y", "first_treated", "x", "w"])
    prep = _prepare(df, "unit", "period", "y", "first_treated", "w", ("x",))
    horizons = np.arange(0, 5)
    draws = np.array([rng.permutation(prep.ft_cal) for _ in range(25)])
    rhs = prep.y[:, None]
    valid, unsure, att, by_h = _permute_batched(prep, horizons, draws, rhs)
    a, ah, ok = _permute_covariates(prep, horizons, list(draws))
    solved = np.flatnonzero(valid)
    assert solved.size >= 15 and not unsure.any()
    assert set(solved) <= set(ok)
    at = np.searchsorted(ok, solved)
    assert att[solved, 0] == pytest.approx(a[at], abs=1e-10)
    assert np.allclose(by_h[solved, :, 0], ah[at], atol=1e-10, equal_nan=True)
