"""Estimated (causal) effect of a staggered rollout: the imputation estimator.

This module implements the imputation estimator of Borusyak, Jaravel & Spiess (2024),
"Revisiting Event-Study Designs: Robust and Efficient Estimation", *Review of Economic
Studies* 91(6), with numpy / scipy / pandas only.

Notation: unit i, period t, outcome Y_it, first treated period E_i (E_i = infinity for
never-treated units), treatment indicator D_it = 1[t >= E_i], horizon h = t - E_i counted
in calendar periods (0 = the first treated period; months for monthly dates, so a month no
unit has data for is skipped, never merged with the next).

Method (Theorem 1 of the paper)
    1. Fit two-way fixed effects by ordinary least squares on the *untreated* observations
       only (never-treated units and the not-yet-treated periods of later adopters)::

           Y_it = alpha_i + beta_t + eps_it          for D_it = 0

    2. Impute the untreated outcome of every treated observation,
       Yhat_it(0) = alphahat_i + betahat_t, and take the effect tau_it = Y_it - Yhat_it(0).
    3. Aggregate with target weights w_it (the ``weight`` column, or equal weights),
       normalised to sum to one over the treated observations::

           ATT = sum_{D_it = 1} w_it * tau_it

    Because the fit uses untreated observations only, effects that differ by cohort or grow
    with time since go-live do not contaminate the counterfactual -- unlike a plain two-way
    fixed-effects regression on a treatment dummy, which implicitly uses already-treated
    units as controls and is biased when effects grow (see the tests).

Standard error (Theorem 3, conservative, clustered by unit)
    The estimator is linear in Y: ATT = sum_it v_it Y_it with v_it = w_it for treated
    observations and, for untreated ones, the imputation weights
    ``v_0 = -Z_0 (Z_0' Z_0)^+ Z_1' w_1`` (Z = unit and period dummies; subscripts 0/1 =
    untreated/treated rows). Then::

        sigma^2 = sum_i ( sum_t v_it * epst_it )^2

    where epst_it is the first-stage residual for untreated observations and
    ``tau_it - taubar_gt`` for treated ones, with ``taubar_gt = sum v^2 tau / sum v^2`` the
    v^2-weighted mean effect within cohort g x period t (the paper's construction, identical
    to R's ``didimputation`` package; with equal weights it is the plain cohort x period mean).
    The same formula gives the standard error of each horizon's effect (w restricted to the
    horizon). Confidence interval: ``ATT +/- z_{1-alpha/2} * se``.

Time-varying covariates (BJS's model with controls)
    With ``covariates`` X_it the untreated outcome is modelled as
    ``Y_it(0) = alpha_i + beta_t + X_it' delta``, still fitted on the untreated observations
    only, by Frisch-Waugh-Lovell: the two-way fixed effects are partialled out of X on the
    untreated sample (Xt0), ``delta = (Xt0' Xt0)^-1 Xt0' Y0``, then the fixed effects are
    fitted to ``Y0 - X0 delta``, and ``Yhat_it(0) = alphahat_i + betahat_t + X_it' deltahat``.
    The estimator stays linear in Y; with Z = [unit dummies, period dummies, X] the untreated
    weights ``v_0 = -Z_0 (Z_0'Z_0)^+ Z_1' w_1`` solve blockwise to
    ``v_0 = v_0^FE - Xt0 (Xt0'Xt0)^-1 (X_1' w_1 + X_0' v_0^FE)`` (v_0^FE: the weights without
    covariates), and the Theorem-3 variance below is unchanged otherwise. Covariates whose
    untreated-sample part orthogonal to the fixed effects and to the earlier covariates is
    below ``COLLINEAR_TOL`` of their norm are left out, with a warning. Reproduces diff-diff's
    ``ImputationDiD(covariates=...)`` (see the tests). Pre-trend leads are estimated with the
    covariates in the model; permutation draws keep X as observed and reassign the timing.

Few treated units, few units
    With fewer than ``MIN_CLUSTERED_TREATED`` treated units, or fewer than
    ``MIN_CLUSTERED_UNITS`` units in all, a unit-clustered standard error is unreliable (it
    is estimated from too few clusters and comes out too small). ``inference="auto"`` then
    switches to permutation inference: the vector of first-treated periods is randomly
    reassigned across units ``n_permutations`` times (seeded), the ATT is recomputed for each
    draw, and

    * p(c) = (1 + #{d : |ATT_d(Y) - c ATT_d(D)| >= |ATT - c|}) / (1 + valid draws), the
      permutation test of a constant effect c: under it the untreated outcomes are
      Y - c D (D = treated as observed), and the estimator is linear in the outcome, so
      each draw needs one extra right-hand side, D; the p-value is p(0);
    * CI = {c : p(c) > alpha}, the exact inversion of that same test (the stretch around
      ATT; its ends are where p(c) jumps), so "the interval excludes zero" holds exactly when
      p < alpha, and its width does not grow with the effect;
    * se = standard deviation of the draws' statistic under c = ATT.
      Draws in which the reassigned timing leaves some treated unit or period without an
      untreated observation are skipped; each distinct reassignment is solved once. With
      few units there are few distinct reassignments, so p-values and intervals are coarse
      (honestly so).

    The post-go-live rows of ``by_horizon`` invert the same test per horizon (the horizon's
    effect on Y and on D per draw); the pre-trend rows keep their unit-clustered SEs and are
    correspondingly rough with so few treated units.

Pre-trends (event-study placebo horizons -1..-K, K <= 5)
    The paper's recommended pre-trend test, kept separate from the ATT so that it cannot
    contaminate it: on the untreated observations only, regress Y on unit and period fixed
    effects (and the covariates, if any) plus lead dummies 1[t - E_i = -k] for
    k = 1..K (ever-treated units only), by OLS. The lead coefficients are the placebo effects
    (relative to earlier pre-periods and never-treated units) and should be near 0 when
    parallel trends hold. Their standard errors are clustered by unit (CR1 factor G/(G-1)).
    K is reduced when the leads would be collinear with the fixed effects.

The first-stage fit is unweighted OLS; ``weight`` only sets the target weights w_it.
"""

from __future__ import annotations

import contextlib
import functools
import math
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal, ParamSpec, TypeVar

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import linalg, sparse
from scipy.special import ndtr, ndtri  # not scipy.stats: 1.3 s CPU to import, for two calls
from threadpoolctl import ThreadpoolController

from metrics.rules import DirectionError, EvidenceLevel, direction_sign

__all__ = [
    "EVIDENCE_NOTES",
    "MAX_PRE_HORIZONS",
    "MIN_CLUSTERED_TREATED",
    "MIN_CLUSTERED_UNITS",
    "EffectEstimate",
    "EstimationError",
    "EvidenceLevel",
    "InnovationEffect",
    "KpiRows",
    "estimate_effect",
    "evidence_level",
    "innovation_effect",
    "kpi_rows",
]

#: Below this many treated units a unit-clustered standard error is not trusted.
MIN_CLUSTERED_TREATED = 5
#: Below this many units in all (clusters) a unit-clustered standard error is not trusted
#: either: in simulations (staggered adoption, 2/3 of units treated) the 95 % interval
#: covered the truth about 80 % of the time with 9 units, 88 % with 12 and 92 % with 20.
MIN_CLUSTERED_UNITS = 20
#: Number of pre-period placebo horizons (-1..-K) reported in ``by_horizon`` at most.
MAX_PRE_HORIZONS = 5

METHOD_CLUSTER = "imputation (Borusyak, Jaravel & Spiess 2024), SE clustered by unit (Theorem 3)"
METHOD_PERMUTATION = (
    "imputation (Borusyak, Jaravel & Spiess 2024), permutation inference "
    "(go-live timing reassigned across units)"
)

Inference = Literal["auto", "cluster", "permutation"]
Scale = Literal["level", "log"]

#: Plain-English method note for each evidence level, for users to read.
EVIDENCE_NOTES: dict[str, str] = {
    "estimated": (
        "Estimated causal effect: units that went live are compared with units that had not "
        "(yet) gone live, after allowing for each unit's usual level and for the ups and downs "
        "common to all units each month (imputation method of Borusyak, Jaravel & Spiess). "
        "The 95 % confidence interval excludes zero."
    ),
    "measured": (
        "Measured against the frozen baseline: the KPI now versus the unit's baseline-window "
        "average, times volume and the money value of one unit of improvement. It shows what "
        "changed, not what caused the change."
    ),
    "claimed": (
        "Claimed: the innovation's own estimate of annual value, spread evenly from go-live. "
        "It is not yet backed by measured data."
    ),
}

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

_HORIZON_COLUMNS = ["horizon", "effect", "se", "ci_low", "ci_high", "n_obs"]


class EstimationError(ValueError):
    """The effect cannot be estimated from this panel; the message says why in plain English."""


# --------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class EffectEstimate:
    """Result of :func:`estimate_effect`.

    ``att`` is the weighted average of ``tau_it = Y_it - Yhat_it(0)`` over treated
    observations, in the outcome's own unit (actual minus counterfactual). ``by_horizon`` has
    one row per horizon (periods since go-live; 0 = first treated period; negative rows are
    the pre-trend placebo coefficients) with columns ``horizon, effect, se, ci_low, ci_high,
    n_obs``. ``covariates`` are the covariates used (after collinear ones were left out) and
    ``covariate_coefficients`` their fitted delta (effect on the untreated outcome).
    """

    att: float
    se: float
    ci_low: float
    ci_high: float
    p_value: float
    n_units: int
    n_treated_units: int
    n_treated_obs: int
    method: str
    inference: str
    warnings: tuple[str, ...]
    by_horizon: pd.DataFrame
    outcome: str = ""
    alpha: float = 0.05
    n_obs: int = 0
    n_permutations: int = 0
    covariates: tuple[str, ...] = ()
    covariate_coefficients: tuple[float, ...] = ()

    @property
    def excludes_zero(self) -> bool:
        """True when the confidence interval lies entirely above or entirely below zero."""
        return bool(self.ci_low > 0 or self.ci_high < 0)

    def summary(self) -> str:
        """One human-readable sentence describing the estimate and its uncertainty."""
        level = round(100 * (1 - self.alpha))
        what = self.outcome or "the outcome"
        verdict = (
            "the interval excludes zero"
            if self.excludes_zero
            else "the interval includes zero, so a zero effect cannot be ruled out"
        )
        return (
            f"After go-live, {what} changed by {_fmt(self.att)} on average versus the "
            f"estimated no-innovation path ({level} % CI {_fmt(self.ci_low)} to "
            f"{_fmt(self.ci_high)}, {_fmt_p(self.p_value)}; {self.n_treated_units} of "
            f"{self.n_units} units treated, {self.inference} inference); {verdict}."
        )


@dataclass(frozen=True, eq=False)
class InnovationEffect:
    """Estimated effect of one innovation on one KPI, with its money value.

    ``estimate`` is the imputation estimate on the chosen ``scale``: with ``"level"`` its
    ``att`` is in the KPI's own unit (actual minus counterfactual); with ``"log"`` it is a
    log-ratio, log(actual / counterfactual). Scale-free read-outs, for both scales:

    * ``effect_pct`` (with ``effect_pct_ci_low/high``): the effect in % of the counterfactual.
      Log scale: ``100 * (exp(att) - 1)``. Level scale: ``100 * att / (ybar - att)`` with
      ``ybar`` the volume-weighted mean actual KPI over treated unit-months, so ``ybar - att``
      is the volume-weighted mean imputed counterfactual.
    * ``effect_level`` (with ``effect_level_ci_low/high``): the effect in the KPI's own unit,
      volume-weighted over treated unit-months (actual minus counterfactual). Level scale:
      ``att``. Log scale: ``sum vol * (actual - actual / exp(att)) / sum vol``
      ``= ybar * (1 - exp(-att))``.

    The interval ends are the estimate's CI ends put through the same (increasing) maps.
    ``money_total = -s_k * effect_level * treated_volume * money_value`` (s_k = +1 when lower
    is better, -1 otherwise), i.e. the design's benefit formula
    ``s_k * (counterfactual - actual) * vol * money`` summed over treated unit-months (on the
    log scale the counterfactual is ``actual / exp(att)``). ``money_per_month = money_total /
    treated_months``. Money fields are ``None`` when the KPI has no money value.
    ``controls`` names the other innovations controlled for (see :func:`innovation_effect`).
    """

    estimate: EffectEstimate
    kpi_key: str
    money_per_month: float | None
    money_total: float | None
    money_ci_low: float | None
    money_ci_high: float | None
    treated_volume: float
    treated_months: int = 0
    scale: str = "level"
    effect_pct: float = math.nan
    effect_pct_ci_low: float = math.nan
    effect_pct_ci_high: float = math.nan
    effect_level: float = math.nan
    effect_level_ci_low: float = math.nan
    effect_level_ci_high: float = math.nan
    controls: tuple[str, ...] = ()


# --------------------------------------------------------------------------------------
# One BLAS thread while an estimator runs
# --------------------------------------------------------------------------------------

_P = ParamSpec("_P")
_R = TypeVar("_R")
_blas_lock = threading.Lock()
_blas_users = 0
_blas_limit: Any = None  # threadpoolctl's limiter while the limit is in force


@functools.cache
def _blas_controller() -> ThreadpoolController:
    """The BLAS libraries loaded (numpy's and scipy's OpenBLAS: both are imported above)."""
    return ThreadpoolController()


@contextlib.contextmanager
def _one_blas_thread() -> Iterator[None]:
    """BLAS limited to one thread while any estimator of this process runs.

    The estimator's matrices are small (a few hundred cells per draw): a second BLAS thread
    shortened no run but doubled its CPU time (OpenBLAS's idle threads spin between calls;
    benchmarks/README.md). The limit is process-wide and taken by every caller alike, so a
    result never depends on who computed it (the stored estimates equal an in-process run
    bit for bit); the first estimator to start sets it and the last to finish restores the
    previous limits, so concurrent estimators in threads all run under it."""
    global _blas_users, _blas_limit
    with _blas_lock:
        if _blas_users == 0:
            _blas_limit = _blas_controller().limit(limits=1, user_api="blas")
        _blas_users += 1
    try:
        yield
    finally:
        with _blas_lock:
            _blas_users -= 1
            if _blas_users == 0 and _blas_limit is not None:
                _blas_limit.restore_original_limits()
                _blas_limit = None


def _with_one_blas_thread(fn: Callable[_P, _R]) -> Callable[_P, _R]:
    @functools.wraps(fn)
    def run(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        with _one_blas_thread():
            return fn(*args, **kwargs)

    return run


# --------------------------------------------------------------------------------------
# Public functions
# --------------------------------------------------------------------------------------


@_with_one_blas_thread
def estimate_effect(
    panel: pd.DataFrame,
    *,
    unit: str,
    period: str,
    outcome: str,
    first_treated: str,
    weight: str | None = None,
    alpha: float = 0.05,
    inference: Inference = "auto",
    n_permutations: int = 999,
    seed: int = 0,
    covariates: Sequence[str] | None = None,
    horizon_inference: bool = True,
) -> EffectEstimate:
    """Average effect of a staggered treatment with the BJS (2024) imputation estimator.

    Parameters
    ----------
    panel:
        One row per unit x period.
    unit, period, outcome:
        Column names. Periods may be numbers or dates. Horizons count calendar periods:
        months when every period is the first of a month, whole numbers for whole-number
        periods (otherwise the sorted distinct periods), so a period no unit has data for
        is skipped rather than merged into the next horizon (with a warning naming it).
    first_treated:
        Column with each unit's first treated period (constant within a unit). Missing
        (NaN / NaT / None) means never treated. For numeric periods, 0 also means never
        treated when 0 is not itself a period in the data (the ``mpdta`` convention). A value
        between periods maps to the first period at or after it; a value after the last
        period means "not treated within the data".
    weight:
        Optional column of non-negative target weights (e.g. volume); equal weights if None.
    alpha:
        1 - confidence level.
    inference:
        ``"cluster"`` (Theorem-3 SE clustered by unit), ``"permutation"``, or ``"auto"``
        (cluster unless fewer than ``MIN_CLUSTERED_TREATED`` units are treated or there are
        fewer than ``MIN_CLUSTERED_UNITS`` units in all).
    n_permutations, seed:
        Number of permutation draws and the seed of their random generator.
    covariates:
        Optional numeric columns X_it of time-varying controls: the untreated outcome is then
        modelled as ``alpha_i + beta_t + X_it' delta`` (fitted on untreated observations
        only). Missing values are refused; covariates that are constant within units or
        periods, or collinear with each other, on the untreated observations are left out
        with a warning. ``EffectEstimate.covariates`` lists the ones used.
    horizon_inference:
        With permutation inference, whether each post-treatment horizon of ``by_horizon``
        also gets its permutation interval (one more test inversion per horizon, on the same
        draws). False leaves their ``se``, ``ci_low`` and ``ci_high`` NaN (their effects
        and the pre-period checks are kept) for callers that use only the average effect,
        such as the stored estimates; the ATT's inference is the same either way. With
        clustered inference the horizons' intervals come with the fit and are kept.

    Formulas are in the module docstring. Rows with a missing outcome are dropped with a
    warning. Raises :class:`EstimationError` when the effect cannot be estimated.
    """
    if not 0 < alpha < 1:
        raise EstimationError(f"alpha must be between 0 and 1 (got {alpha}).")
    if inference not in ("auto", "cluster", "permutation"):
        raise EstimationError(
            f"inference must be 'auto', 'cluster' or 'permutation' (got {inference!r})."
        )
    if n_permutations < 1:
        raise EstimationError("n_permutations must be at least 1.")

    if isinstance(covariates, str):
        covariates = [covariates]
    prep = _prepare(panel, unit, period, outcome, first_treated, weight, covariates or ())
    warnings = list(prep.warnings)
    treated = prep.period >= prep.ft_unit[prep.unit]
    _check_identification(prep, treated)

    fit = _fit(prep, treated)
    used = tuple(prep.covariate_names[int(j)] for j in fit.kept)
    dropped = [c for c in prep.covariate_names if c not in used]
    if dropped:
        warnings.append(_dropped_covariates_message(dropped))
    n_treated_units = int(np.unique(prep.unit[treated]).size)
    z = float(ndtri(1 - alpha / 2))  # the normal quantile (stats.norm.ppf)

    use_permutation = inference == "permutation"
    few = ""
    if n_treated_units < MIN_CLUSTERED_TREATED:
        few = (
            f"Only {n_treated_units} unit{'s are' if n_treated_units != 1 else ' is'} treated: "
            f"a standard error clustered by unit is unreliable with fewer than "
            f"{MIN_CLUSTERED_TREATED} treated units"
        )
    elif prep.n_units < MIN_CLUSTERED_UNITS:
        few = (
            f"There are only {prep.n_units} units in all: a standard error clustered by unit "
            f"is unreliable with fewer than {MIN_CLUSTERED_UNITS} units"
        )
    if few:
        if inference == "auto":
            use_permutation = True
            few += ", so permutation inference was used instead."
        elif inference == "cluster":
            few += "; treat the interval with caution."
        else:
            few += "."
        warnings.append(few)

    effects = fit.effects
    post_se, post_low, post_high = (
        fit.horizon_se,
        np.full_like(effects, np.nan),
        np.full_like(effects, np.nan),
    )
    n_valid = 0
    if use_permutation:
        # without horizon inference the draws need no horizon effects at all
        horizons = fit.horizons if horizon_inference else fit.horizons[:0]
        dr = _permute(prep, horizons, n_permutations, seed, treated, fit)
        n_valid = dr.n
        n_failed = n_permutations - n_valid
        if n_valid == 0:
            warnings.append(
                "No reassignment of the go-live dates across units could be estimated, so "
                "no uncertainty could be computed."
            )
            se = ci_low = ci_high = p_value = math.nan
        else:
            if n_failed:
                warnings.append(
                    f"{n_failed} of {n_permutations} permutation draws were skipped because "
                    "the reassigned go-live dates left no untreated comparison."
                )
            # one inversion per test, all solved together: the ATT (every draw), then each
            # horizon with an effect (the draws where it is defined, at least two)
            ok = np.isfinite(dr.by_h) & np.isfinite(dr.by_h_d)
            n_ok = dr.count @ ok  # draws (repeats included) where each horizon is defined
            tested = np.flatnonzero((n_ok >= 2) & np.isfinite(effects[: ok.shape[1]]))
            draw_h, col = np.nonzero(ok[:, tested])
            h_col = tested[col]
            out = _perm_inversions(
                np.concatenate([[fit.att], effects[tested]]),
                np.concatenate([dr.att, dr.by_h[draw_h, h_col]]),
                np.concatenate([dr.att_d, dr.by_h_d[draw_h, h_col]]),
                np.concatenate([np.zeros(dr.att.size, dtype=np.int64), 1 + col]),
                alpha,
                np.concatenate([dr.count, dr.count[draw_h]]),
            )
            se, ci_low, ci_high, p_value = (float(v) for v in out[0])
            bounds = np.full((effects.size, 3), np.nan)
            bounds[tested] = out[1:, :3]
            post_se, post_low, post_high = bounds[:, 0], bounds[:, 1], bounds[:, 2]
        method, inference_used = METHOD_PERMUTATION, "permutation"
    else:
        se = fit.se
        ci_low, ci_high = fit.att - z * se, fit.att + z * se
        p_value = float(2 * ndtr(-(abs(fit.att) / se))) if se > 0 else math.nan
        post_low, post_high = effects - z * post_se, effects + z * post_se
        method, inference_used = METHOD_CLUSTER, "cluster"
    if used:
        method += f"; controls for {len(used)} time-varying covariate{'s' if len(used) > 1 else ''}"

    pre = _pretrends(prep, treated, fit, z)
    post = (fit.horizons, effects, post_se, post_low, post_high, fit.horizon_n_obs)
    by_horizon = pd.DataFrame(
        {
            name: np.concatenate([a, b]).astype(
                np.int64 if name in ("horizon", "n_obs") else np.float64
            )
            for name, a, b in zip(_HORIZON_COLUMNS, pre, post, strict=True)
        }
    )

    return EffectEstimate(
        att=float(fit.att),
        se=float(se),
        ci_low=float(ci_low),
        ci_high=float(ci_high),
        p_value=float(p_value),
        n_units=int(np.unique(prep.unit).size),
        n_treated_units=n_treated_units,
        n_treated_obs=int(treated.sum()),
        method=method,
        inference=inference_used,
        warnings=tuple(warnings),
        by_horizon=by_horizon,
        outcome=outcome,
        alpha=alpha,
        n_obs=int(prep.y.size),
        n_permutations=n_valid,
        covariates=used,
        covariate_coefficients=tuple(float(d) for d in fit.delta),
    )


def _dropped_covariates_message(names: Sequence[str]) -> str:
    """The warning added when covariates are left out of the model (plain English)."""
    listed = _names([f"'{n}'" for n in names])
    return (
        f"Covariate(s) {listed} could not be separated from the unit and period effects or "
        "from the other covariates on the untreated observations, so they were left out of "
        "the model."
    )


def innovation_effect(
    monthly: pd.DataFrame,
    rollouts: pd.DataFrame,
    *,
    kpi_key: str,
    money_value: float | None,
    direction: str,
    alpha: float = 0.05,
    other_rollouts: pd.DataFrame | None = None,
    scale: Scale = "log",
    n_permutations: int = 999,
    rows: KpiRows | None = None,
    horizon_inference: bool = True,
) -> InnovationEffect:
    """Estimated effect of ONE innovation on one KPI, and what it is worth.

    ``monthly`` has columns ``unit_id, kpi_key, month, value, volume`` (month = first-of-month
    timestamp) for all units of the account; ``rollouts`` has ``unit_id, go_live`` for the
    innovation's rollouts. Timing: a unit is treated from the month of go-live when go-live
    is on the 1st, otherwise from the first full month after go-live; the partly live
    go-live month itself is left out of the estimation (it is neither a clean "before" nor a
    full "after" month) and of ``treated_volume`` and the money. Units without a
    rollout are never treated. Units with no untreated month left (live before or in their
    first observed month) cannot be compared with themselves and are left out (with a
    warning).

    Retirement
        When ``rollouts`` has a ``live_to`` column (``metrics.value.live_months``: the month
        of the innovation's retirement, from which it is no longer live; NaT when it is not
        retired), treatment ends there: the rollout units' months from ``live_to`` on are
        left out of the estimation, the money and ``treated_volume`` (with a warning), so the
        estimate's post period is the time it was live. In ``other_rollouts`` a ``live_to``
        splits that innovation's control in two, before and after its retirement (whether
        its effect outlasted it is left to the data).

    Other innovations on the same KPI
        ``other_rollouts`` (columns ``unit_id, go_live, kpi_key`` and ``innovation_id`` or
        ``code``) lists the rollouts of the account's OTHER innovations. Those targeting
        ``kpi_key`` are controlled for: each becomes one time-varying covariate, its live
        share at (unit, month) -- 0 before its go-live month, days live / days in the month
        in the go-live month, 1 after -- in the imputation model (see
        :func:`estimate_effect`). The estimate is then the effect of THIS innovation holding
        the others' rollout constant, rather than the change after this go-live, which would
        also include whatever else went live later at the same units. Covariates that are
        zero everywhere are skipped; others that cannot be separated from this innovation or
        the unit and month effects (e.g. live only where and when this one already was) are
        left out with a warning, and their effect may then be mixed into this estimate. An
        entry whose rollouts are identical to ``rollouts`` is taken to be this innovation
        itself and ignored. Without ``other_rollouts`` nothing is controlled for.

    Scale
        ``"log"`` (default) estimates on log(value): the effect is a log-ratio and the unit
        effects, month effects and other innovations act multiplicatively. ``"level"``
        estimates on the value itself (additive effects). The default is ``"log"`` because
        KPIs such as cost per transaction or handle time move in proportion to their level:
        an innovation that cuts cost by 3 % saves more where cost is higher, seasonality
        scales with the level, and concurrent innovations compound
        (value = base * season * prod(1 + e_i * live_i)). On the log scale all of these are
        additive, which is exactly the two-way fixed-effects-plus-covariates model; on the
        level scale they are not. On the demo account (planted multiplicative effects, unit
        levels differing by up to 50 %; 28 innovations with 3+ rollout units, other
        innovations controlled for; five demo seeds) the log scale recovered the planted %
        effects with a median relative error of 9-19 % (level: 20-42 %), with intervals
        about a third narrower that held the truth for 27-28 of 28 innovations (level:
        26-28). Log needs positive values: if any value is zero or negative, the level scale
        is used instead, with a warning.

    Money
        The panel is estimated with ``weight=volume`` (volume-weighted averages over treated
        unit-months) and ``money_total = -s_k * effect_level * treated_volume * money_value``
        with s_k = +1 when lower is better, -1 otherwise; on the level scale that is
        ``-s_k * att * treated_volume * money_value``, on the log scale
        ``-s_k * sum_treated vol * money_value * (actual - actual / exp(att))``. The CI
        bounds are mapped the same way (plugging in the CI ends) and ordered low <= high.

    ``rows``: ``kpi_rows(monthly, kpi_key)``, when the caller estimates several innovations
    on the KPI (its rows and the other innovations' live shares are then prepared once).
    ``horizon_inference``: as in :func:`estimate_effect` (False when only the average
    effect and its interval are used).
    """
    sign = _direction_sign(direction)
    if scale not in ("level", "log"):
        raise EstimationError(f"scale must be 'level' or 'log' (got {scale!r}).")
    _require_columns(rollouts, ["unit_id", "go_live"], "rollouts")
    if rows is None:
        rows = kpi_rows(monthly, kpi_key)
    elif rows.kpi_key != kpi_key:
        raise ValueError(f"rows of KPI '{rows.kpi_key}' given for KPI '{kpi_key}'")

    own = _first_go_live(rollouts)
    notes: list[str] = []
    missing = sorted(set(own.index) - set(rows.units), key=str)
    if missing:
        notes.append(
            f"{len(missing)} rollout unit(s) have no '{kpi_key}' data and were left out: "
            f"{_names(missing)}."
        )
    # per row: the unit's go-live, its month, and the first treated month (go-live's month
    # when it is on the 1st, else the next one); NaT where the unit has no rollout
    go_unit = own.reindex(rows.units).to_numpy(dtype="datetime64[ns]")
    go_live = go_unit[rows.unit_code]
    go_month = go_live.astype("datetime64[M]")
    go_month_ns = go_month.astype("datetime64[ns]")
    first_treated = np.where(
        go_live == go_month_ns, go_live, (go_month + 1).astype("datetime64[ns]")
    )
    has_ft = ~np.isnat(first_treated)
    month = rows.month_ns
    keep = ~((go_live != go_month_ns) & (month == go_month_ns))  # the partly live month
    retired = _retired_from(rollouts)
    if retired is not None:
        after = keep & has_ft & (month >= retired.to_datetime64())
        if after.any():
            notes.append(
                f"The innovation was retired: it is not live from {retired:%b %Y} on, so the "
                f"{int(after.sum())} month(s) of its {pd.unique(rows.unit_code[after]).size} "
                "unit(s) from then on are left out (its effect is estimated while it was live; "
                "after retirement they are neither live nor a clean before-period)."
            )
            keep &= ~after
    first_seen = np.full(rows.units.size, np.iinfo(np.int64).max)
    np.minimum.at(first_seen, rows.unit_code[keep], month[keep].view(np.int64))
    always = keep & has_ft & (first_treated.view(np.int64) <= first_seen[rows.unit_code])
    if always.any():
        dropped = sorted(pd.unique(rows.unit_id[always]).tolist(), key=str)
        notes.append(
            f"{len(dropped)} unit(s) went live before or in the first month of their "
            f"'{kpi_key}' data, so they have no before-period and were left out: "
            f"{_names(dropped)}."
        )
        keep &= ~always

    at = np.flatnonzero(keep)
    live, labels = _live_share_columns(rows, at, other_rollouts, kpi_key, own)
    actual = rows.value[at]
    values = actual
    if scale == "log":
        if np.any(actual[np.isfinite(actual)] <= 0):
            notes.append(
                f"Some '{kpi_key}' values are zero or negative, so the effect was estimated "
                "on the KPI's own scale (differences) instead of as a percentage change."
            )
            scale = "level"
        else:
            values = np.log(actual)
    volume = rows.volume[at]
    first_treated = first_treated[at]
    data = pd.DataFrame(
        {
            "unit_id": rows.unit_id[at],
            "month": rows.month[at],
            "value": values,
            "volume": volume,
            "first_treated": first_treated,
            **dict(zip(labels, live, strict=True)),
        },
        index=rows.index[at],
    )

    def run() -> EffectEstimate:
        return estimate_effect(
            data,
            unit="unit_id",
            period="month",
            outcome="value",
            first_treated="first_treated",
            weight="volume",
            alpha=alpha,
            covariates=list(labels) or None,
            n_permutations=n_permutations,
            horizon_inference=horizon_inference,
        )

    estimate = run()
    # a retired control whose months after its retirement cannot be told apart from this
    # innovation (or the unit and month effects) is controlled for as one, live throughout
    unsplit = []
    for col in [c for c in labels if c not in estimate.covariates]:
        name = labels[col]
        if not name.endswith(_AFTER_RETIREMENT):
            continue
        ident = name[: -len(_AFTER_RETIREMENT)]
        before = next((c for c, n in labels.items() if n == ident), None)
        if before is None:
            labels[col] = ident
        else:
            data[before] = data[before] + data[col]
            del labels[col]
        unsplit.append(ident)
    if unsplit:
        notes.append(
            f"Retired innovation(s) {_names(unsplit)}: the months after retirement could not "
            "be told apart from this innovation, so they are controlled for as live throughout "
            "(as their rollouts are recorded) rather than before and after retirement apart."
        )
        estimate = run()
    controls = tuple(labels[c] for c in estimate.covariates)
    dropped_columns = [c for c in labels if c not in estimate.covariates]
    not_controlled = [labels[c] for c in dropped_columns]
    extra = list(notes)
    if not_controlled:
        generic = _dropped_covariates_message(dropped_columns)
        extra.append(
            f"Other innovation(s) on '{kpi_key}' {_names(not_controlled)} could not be "
            "separated from this one or from the unit and month effects (e.g. they went live "
            "only where and when this one already was), so they are not controlled for and "
            "part of their effect may be mixed into this estimate."
        )
        kept_warnings = tuple(w for w in estimate.warnings if w != generic)
    else:
        kept_warnings = estimate.warnings
    estimate = replace(
        estimate,
        warnings=tuple(extra) + kept_warnings,
        outcome=f"log {kpi_key}" if scale == "log" else kpi_key,
    )

    treated = ~np.isnan(actual) & (rows.month_ns[at] >= first_treated)
    vol = volume[treated]
    treated_volume = float(vol.sum())
    treated_months = int(np.unique(rows.month_ns[at][treated]).size)
    ybar = float(vol @ actual[treated]) / treated_volume if treated_volume > 0 else math.nan

    def pct(c: float) -> float:
        if scale == "log":
            return 100.0 * math.expm1(c)
        return 100.0 * c / (ybar - c) if ybar - c > 0 else math.nan

    def level(c: float) -> float:
        return -ybar * math.expm1(-c) if scale == "log" else c

    points = (estimate.att, estimate.ci_low, estimate.ci_high)
    pcts = [pct(c) for c in points]
    levels = [level(c) for c in points]

    money_total = money_per_month = money_lo = money_hi = None
    if money_value is not None:
        factor = -sign * treated_volume * float(money_value)
        money_total = levels[0] * factor
        bounds = sorted([levels[1] * factor, levels[2] * factor])
        money_lo, money_hi = bounds[0], bounds[1]
        money_per_month = money_total / treated_months if treated_months else None

    return InnovationEffect(
        estimate=estimate,
        kpi_key=kpi_key,
        money_per_month=money_per_month,
        money_total=money_total,
        money_ci_low=money_lo,
        money_ci_high=money_hi,
        treated_volume=treated_volume,
        treated_months=treated_months,
        scale=scale,
        effect_pct=pcts[0],
        effect_pct_ci_low=pcts[1],
        effect_pct_ci_high=pcts[2],
        effect_level=levels[0],
        effect_level_ci_low=levels[1],
        effect_level_ci_high=levels[2],
        controls=controls,
    )


def _first_go_live(rollouts: pd.DataFrame) -> pd.Series:
    """Earliest go-live date (normalised to midnight) per unit_id."""
    go = _normalised_dates(rollouts["go_live"])
    ok = ~np.isnat(go)
    codes, units = pd.factorize(rollouts["unit_id"].to_numpy()[ok], sort=True)
    first = np.full(len(units), np.iinfo(np.int64).max)
    np.minimum.at(first, codes, go[ok].view(np.int64))
    return pd.Series(first.view("datetime64[ns]"), index=pd.Index(units, name="unit_id"), name="go")


def _retired_from(rollouts: pd.DataFrame) -> pd.Timestamp | None:
    """The first month in which the innovation is no longer live (``live_to``, the month of
    its retirement, ``metrics.value.live_months``), or None when it is not retired."""
    if "live_to" not in rollouts.columns:
        return None
    to = pd.to_datetime(rollouts["live_to"]).dropna()
    return pd.Timestamp(to.min()).to_period("M").to_timestamp() if len(to) else None


#: Label suffix of a retired control's months after its retirement (its second column).
_AFTER_RETIREMENT = " (after its retirement)"


@dataclass(frozen=True, eq=False)
class KpiRows:
    """One KPI's monthly rows (``kpi_rows``): what every innovation's panel on that KPI is
    cut from, as arrays in ``monthly``'s row order, so a batch of estimates prepares them once
    per KPI. ``unit_code`` is each row's place in ``units`` (the distinct unit ids in order
    of appearance); ``month`` is the first of the month (``month_ns`` the same as
    datetime64[ns]); ``month_end``/``days_in`` serve the live shares, which ``live`` keeps
    per other innovation and rollout (computed on all rows, then cut like the panel)."""

    kpi_key: str
    index: pd.Index
    unit_id: npt.NDArray[np.generic]
    unit_code: IntArray
    units: pd.Index
    month: npt.NDArray[np.generic]
    month_ns: npt.NDArray[np.datetime64]
    month_end: npt.NDArray[np.datetime64]
    days_in: FloatArray
    value: FloatArray
    volume: FloatArray
    has_value: BoolArray
    live: dict[tuple[object, ...], list[tuple[FloatArray, str]]]


def kpi_rows(monthly: pd.DataFrame, kpi_key: str) -> KpiRows:
    """The rows of ``monthly`` (columns ``unit_id, kpi_key, month, value, volume``) for one
    KPI, months normalised to the first of the month (see :class:`KpiRows`)."""
    _require_columns(monthly, ["unit_id", "kpi_key", "month", "value", "volume"], "monthly")
    data = monthly.loc[monthly["kpi_key"] == kpi_key, ["unit_id", "month", "value", "volume"]]
    if data.empty:
        raise EstimationError(f"There are no monthly observations for KPI '{kpi_key}'.")
    month = pd.Series(pd.to_datetime(data["month"]).dt.to_period("M").dt.to_timestamp())
    code, units = pd.factorize(data["unit_id"], use_na_sentinel=False)
    return KpiRows(
        kpi_key=kpi_key,
        index=data.index,
        unit_id=data["unit_id"].to_numpy(),
        unit_code=np.asarray(code, dtype=np.int64),
        units=pd.Index(units),
        month=month.to_numpy(),
        month_ns=month.to_numpy(dtype="datetime64[ns]"),
        month_end=(month + pd.offsets.MonthEnd(0)).to_numpy(dtype="datetime64[D]"),
        days_in=month.dt.days_in_month.to_numpy(dtype="float64"),
        value=data["value"].to_numpy(dtype="float64", na_value=np.nan),
        volume=data["volume"].to_numpy(dtype="float64", na_value=np.nan),
        has_value=data["value"].notna().to_numpy(),
        live={},
    )


def _other_innovation_covariates(
    data: pd.DataFrame,
    other_rollouts: pd.DataFrame | None,
    kpi_key: str,
    rollouts: pd.DataFrame,
) -> tuple[pd.DataFrame, dict[str, str]]:
    """``data`` (columns unit_id, month, value, volume) with the live-share columns of
    ``_live_share_columns`` added, and {column name: innovation label}."""
    rows = kpi_rows(data.assign(kpi_key=kpi_key), kpi_key)
    live, labels = _live_share_columns(
        rows, np.arange(len(data)), other_rollouts, kpi_key, _first_go_live(rollouts)
    )
    if not live:
        return data, labels
    extra = pd.DataFrame(np.column_stack(live), index=data.index, columns=list(labels))
    return pd.concat([data, extra], axis=1), labels


def _live_share_columns(
    rows: KpiRows,
    at: IntArray,
    other_rollouts: pd.DataFrame | None,
    kpi_key: str,
    own: pd.Series,
) -> tuple[list[FloatArray], dict[str, str]]:
    """One live-share column per other innovation on ``kpi_key``, on the rows ``at`` of
    ``rows`` (the panel's), and {column name: innovation label}; ``own`` is this
    innovation's first go-live per unit (``_first_go_live``).

    Live share at (unit, month) = days live in the month / days in the month (0 before the
    go-live month, 1 after), the demo generator's convention. A retired innovation (its
    ``live_to``, when ``other_rollouts`` has that column) gets two columns: its live share
    before its retirement month, and from then on, so the model neither assumes that its
    effect stopped at retirement nor that it lasted — the data says which. Columns that are
    zero on every panel row with a value, and the innovation itself (identical rollouts),
    are skipped.
    """
    if other_rollouts is None or other_rollouts.empty:
        return [], {}
    if "innovation_id" in other_rollouts.columns:
        id_col = "innovation_id"
    elif "code" in other_rollouts.columns:
        id_col = "code"
    else:
        raise EstimationError(
            "The other_rollouts table needs an 'innovation_id' or a 'code' column to tell the "
            "innovations apart."
        )
    _require_columns(other_rollouts, ["unit_id", "go_live", "kpi_key"], "other_rollouts")
    on_kpi = (other_rollouts["kpi_key"] == kpi_key).to_numpy()
    if not on_kpi.any():
        return [], {}
    own_pairs = set(zip(own.index, own.to_numpy(), strict=True))
    # per (innovation, unit), sorted by both: earliest go-live and earliest live_to
    go_all = _normalised_dates(other_rollouts["go_live"])[on_kpi]
    to_all = (
        _dates(other_rollouts["live_to"])[on_kpi]
        if "live_to" in other_rollouts.columns
        else np.full(int(on_kpi.sum()), np.datetime64("NaT"), dtype="datetime64[ns]")
    )
    has_go = ~np.isnat(go_all)
    if not has_go.any():
        return [], {}
    ident_code, ident_names = pd.factorize(
        other_rollouts[id_col].to_numpy()[on_kpi][has_go], sort=True
    )
    unit_code, unit_names = pd.factorize(
        other_rollouts["unit_id"].to_numpy()[on_kpi][has_go], sort=True
    )
    keys, at_key = np.unique(ident_code * len(unit_names) + unit_code, return_inverse=True)
    never = np.iinfo(np.int64).max
    go_min = np.full(keys.size, never)
    np.minimum.at(go_min, at_key, go_all[has_go].view(np.int64))
    to_ns = to_all[has_go]
    to_min = np.full(keys.size, never)
    np.minimum.at(to_min, at_key, np.where(np.isnat(to_ns), never, to_ns.view(np.int64)))
    span_ident = np.asarray(ident_names, dtype=object)[keys // len(unit_names)]
    span_unit = np.asarray(unit_names, dtype=object)[keys % len(unit_names)]
    span_go = go_min.view("datetime64[ns]")
    span_to = (
        np.where(to_min == never, np.iinfo(np.int64).min, to_min)
        .view("datetime64[ns]")
        .astype("datetime64[M]")
    )
    span_at = rows.units.get_indexer(pd.Index(span_unit))
    idents, first = np.unique(span_ident, return_index=True)
    bounds = [*first.tolist(), len(span_ident)]
    has_value = rows.has_value[at]
    labels: dict[str, str] = {}
    added: list[FloatArray] = []
    for n, ident in enumerate(idents):
        sl = slice(bounds[n], bounds[n + 1])
        if set(zip(span_unit[sl], span_go[sl], strict=True)) == own_pairs:
            continue
        key = (
            ident,
            tuple(span_at[sl].tolist()),
            tuple(span_go[sl].view(np.int64).tolist()),
            tuple(span_to[sl].view(np.int64).tolist()),
        )
        columns = rows.live.get(key)
        if columns is None:
            columns = _live_share(rows, span_at[sl], span_go[sl], span_to[sl], str(ident))
            rows.live[key] = columns
        for values, label in columns:
            cut = values[at]
            if not np.any(cut[has_value] > 0):
                continue
            labels[f"_live_{len(labels)}"] = label
            added.append(cut)
    return added, labels


def _live_share(
    rows: KpiRows,
    span_at: IntArray,
    span_go: npt.NDArray[np.datetime64],
    span_to: npt.NDArray[np.datetime64],
    label: str,
) -> list[tuple[FloatArray, str]]:
    """One innovation's live share on every row of ``rows`` (``_live_share_columns``), from
    its units' places in ``rows.units`` (-1: a unit without rows), first go-live and
    retirement month (NaT: not retired): one column, or two when it was retired."""
    go = np.full(rows.units.size, np.datetime64("NaT"), dtype="datetime64[D]")
    go[span_at[span_at >= 0]] = span_go[span_at >= 0].astype("datetime64[D]")
    go_row = go[rows.unit_code]
    days = (rows.month_end - go_row).astype("timedelta64[D]").astype(np.float64) + 1.0
    live = np.where(np.isnat(go_row), 0.0, np.clip(days, 0.0, rows.days_in) / rows.days_in)
    to = span_to[~np.isnat(span_to)]
    if not to.size:
        return [(live, label)]
    # retired: its months from then on get their own control
    gone = rows.month_ns.astype("datetime64[D]") >= to.min().astype("datetime64[D]")
    return [
        (np.where(gone, 0.0, live), label),
        (np.where(gone, live, 0.0), f"{label}{_AFTER_RETIREMENT}"),
    ]


def _dates(values: pd.Series) -> npt.NDArray[np.datetime64]:
    """A column of dates as datetime64[ns] (NaT where missing)."""
    if values.dtype == np.dtype("datetime64[ns]"):
        return values.to_numpy()
    return pd.to_datetime(values).to_numpy(dtype="datetime64[ns]")


def _normalised_dates(values: pd.Series) -> npt.NDArray[np.datetime64]:
    """``_dates`` at midnight (tz-naive, so the day's start is its date)."""
    return _dates(values).astype("datetime64[D]").astype("datetime64[ns]")


def evidence_level(estimate: EffectEstimate | None, has_measured: bool) -> EvidenceLevel:
    """Evidence level of a value line.

    ``"estimated"`` when a causal estimate exists and its CI excludes zero; otherwise
    ``"measured"`` when a measured (baseline) benefit exists; otherwise ``"claimed"``.
    """
    if estimate is not None and estimate.excludes_zero:
        return "estimated"
    if has_measured:
        return "measured"
    return "claimed"


# --------------------------------------------------------------------------------------
# Preparation and checks
# --------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class _Prepared:
    """Panel as integer codes. ``ft_unit[i] == n_periods`` means never treated in the data.

    ``x`` holds the covariates (n x k, k = 0 without covariates), named by ``covariate_names``.
    ``period_cal`` is each period's place on the calendar (months since year 0 for monthly
    dates, the number itself for whole-number periods, else its rank) and ``ft_cal`` each
    unit's first treated period on it (``period_cal[-1] + 1`` when never treated), so that
    horizons count calendar periods even where no unit has data for one:
    ``h = period_cal[p] - ft_cal[u]``, and ``ft_unit = searchsorted(period_cal, ft_cal)``.
    """

    unit: IntArray
    period: IntArray
    y: FloatArray
    w: FloatArray
    ft_unit: IntArray
    unit_labels: pd.Index
    period_labels: pd.Index
    warnings: tuple[str, ...]
    x: FloatArray
    covariate_names: tuple[str, ...]
    period_cal: IntArray
    ft_cal: IntArray

    @property
    def n_units(self) -> int:
        return len(self.unit_labels)

    @property
    def n_periods(self) -> int:
        return len(self.period_labels)


def _monthly(labels: npt.NDArray[np.generic]) -> bool:
    """Every one of these dates (datetime64) is the first of a month at midnight."""
    return bool(np.all(labels.astype("datetime64[M]").astype(labels.dtype) == labels))


def _calendar_gaps(labels: npt.NDArray[np.generic]) -> list[str]:
    """Calendar periods between the first and last observed one that no row has: months for
    date periods on the first of the month, whole numbers for integer periods (other
    spacings are not judged)."""
    if labels.size < 2:
        return []
    if np.issubdtype(labels.dtype, np.datetime64):
        if not _monthly(labels):
            return []
        months = labels.astype("datetime64[M]")
        full = np.arange(months.min(), months.max() + 1)
        return [f"{pd.Timestamp(m):%b %Y}" for m in np.setdiff1d(full, months)]
    vals = labels.astype(np.float64)
    if not np.all(np.isfinite(vals)) or not np.all(vals == np.round(vals)):
        return []
    full_n = np.arange(vals.min(), vals.max() + 1)
    return [str(int(v)) for v in np.setdiff1d(full_n, vals)]


def _require_columns(frame: pd.DataFrame, columns: list[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise EstimationError(
            f"The {what} is missing required column(s): {', '.join(repr(c) for c in missing)}."
        )


def _is_datelike(values: pd.Series) -> bool:
    if pd.api.types.is_datetime64_any_dtype(values):
        return True
    if values.dtype == object:
        non_null = values.dropna()
        return bool(len(non_null)) and all(
            isinstance(v, pd.Timestamp | np.datetime64) or hasattr(v, "toordinal") for v in non_null
        )
    return False


def _names(values: Sequence[object] | pd.Index, limit: int = 10) -> str:
    items = [str(v) for v in list(values)[:limit]]
    more = len(values) - len(items)
    return ", ".join(items) + (f" and {more} more" if more > 0 else "")


def _prepare(
    panel: pd.DataFrame,
    unit: str,
    period: str,
    outcome: str,
    first_treated: str,
    weight: str | None,
    covariates: Sequence[str] = (),
) -> _Prepared:
    """Validate the panel and turn it into integer codes (see :class:`_Prepared`)."""
    cols = [unit, period, outcome, first_treated] + ([weight] if weight else [])
    _require_columns(panel, list(dict.fromkeys(cols)), "panel")
    covariate_names = tuple(dict.fromkeys(str(c) for c in covariates))
    absent = [c for c in covariate_names if c not in panel.columns]
    if absent:
        raise EstimationError(
            f"Covariate column(s) {', '.join(repr(c) for c in absent)} are not in the panel."
        )
    special = [c for c in covariate_names if c in (unit, period, outcome, first_treated, weight)]
    if special:
        raise EstimationError(
            f"Column(s) {', '.join(repr(c) for c in special)} cannot be a covariate: they are "
            "already used as the unit, period, outcome, first-treated or weight column."
        )
    if panel.empty:
        raise EstimationError("The panel has no rows.")
    df = panel  # only read (a copy of the columns used cost a sixth of this function)
    warnings: list[str] = []

    if df[unit].isna().any():
        raise EstimationError(f"The unit column '{unit}' has missing values.")
    if df[period].isna().any():
        raise EstimationError(f"The period column '{period}' has missing values.")

    unit_any, _ = pd.factorize(df[unit])
    period_any, period_distinct = pd.factorize(df[period])
    pair = unit_any.astype(np.int64) * max(len(period_distinct), 1) + period_any
    if np.unique(pair).size < pair.size:
        dup = df.duplicated([unit, period], keep=False)
        pairs = df.loc[dup, [unit, period]].drop_duplicates()
        examples = [f"{u} / {p}" for u, p in pairs.head(5).itertuples(index=False)]
        raise EstimationError(
            f"The panel has {int(dup.sum())} rows that repeat a unit x period pair "
            f"(e.g. {'; '.join(examples)}); it needs exactly one row per unit and period."
        )

    # Periods -> ordinal index; first_treated on the same scale.
    if _is_datelike(df[period]):
        periods = pd.to_datetime(df[period])
        ftc = df[first_treated]
        if (
            pd.api.types.is_numeric_dtype(ftc) or pd.api.types.is_bool_dtype(ftc)
        ) and not pd.api.types.is_datetime64_any_dtype(ftc):
            example = ftc.dropna().iloc[0] if ftc.notna().any() else None
            raise EstimationError(
                f"The first-treated column '{first_treated}' holds numbers (e.g. {example!r}) "
                f"but the periods in '{period}' are dates: it needs dates — the first treated "
                "period of each unit, e.g. 2024-04-01 (empty for units never treated)."
            )
        try:
            ft = pd.to_datetime(df[first_treated])
        except (TypeError, ValueError) as exc:
            raise EstimationError(
                f"The first-treated column '{first_treated}' must hold dates like the periods."
            ) from exc
        if getattr(periods.dt, "tz", None) is not None or getattr(ft.dt, "tz", None) is not None:
            periods = periods.dt.tz_localize(None) if periods.dt.tz is not None else periods
            ft = ft.dt.tz_localize(None) if ft.dt.tz is not None else ft
        period_values = periods.to_numpy(dtype="datetime64[ns]")
        ft_values = ft.to_numpy(dtype="datetime64[ns]")
    elif pd.api.types.is_numeric_dtype(df[period]) and not pd.api.types.is_bool_dtype(df[period]):
        period_values = df[period].to_numpy(dtype="float64", na_value=np.nan)
        ft_num = pd.to_numeric(df[first_treated], errors="coerce")
        bad = ft_num.isna() & df[first_treated].notna()
        if bad.any():
            raise EstimationError(
                f"The first-treated column '{first_treated}' must hold period numbers "
                f"(found e.g. {df.loc[bad, first_treated].iloc[0]!r})."
            )
        ft_values = ft_num.to_numpy(dtype="float64", na_value=np.nan)
        if not np.any(period_values == 0):
            ft_values = np.where(ft_values == 0, np.nan, ft_values)
    else:
        raise EstimationError(
            f"The period column '{period}' must hold numbers or dates (found {df[period].dtype})."
        )
    labels = np.unique(period_values)
    period_code = np.searchsorted(labels, period_values).astype(np.int64)
    gaps = _calendar_gaps(labels)
    if gaps:
        warnings.append(
            f"No unit has data for {_names(gaps, 5)}: horizons count calendar periods since "
            "go-live, so the horizon that falls in that period has no data for a unit (it is "
            "not merged with the next one)."
        )

    # Outcome and weights.
    if not pd.api.types.is_numeric_dtype(df[outcome]) or pd.api.types.is_bool_dtype(df[outcome]):
        raise EstimationError(
            f"The outcome column '{outcome}' must be numeric (found {df[outcome].dtype})."
        )
    y_all = df[outcome].to_numpy(dtype="float64", na_value=np.nan)
    keep = np.isfinite(y_all)
    if not keep.all():
        warnings.append(f"Dropped {int((~keep).sum())} row(s) with a missing outcome '{outcome}'.")
    if weight is not None:
        if not pd.api.types.is_numeric_dtype(df[weight]) or pd.api.types.is_bool_dtype(df[weight]):
            raise EstimationError(f"The weight column '{weight}' must be numeric.")
        w_all = df[weight].to_numpy(dtype="float64", na_value=np.nan)
        bad_w = keep & ~(np.isfinite(w_all) & (w_all >= 0))
        if bad_w.any():
            raise EstimationError(
                f"The weight column '{weight}' has {int(bad_w.sum())} missing or negative "
                "value(s); weights must be non-negative numbers."
            )
    else:
        w_all = np.ones_like(y_all)
    if not keep.any():
        raise EstimationError(f"Every row has a missing outcome '{outcome}'.")
    x_all = np.empty((len(df), len(covariate_names)))
    for j, name in enumerate(covariate_names):
        column = df[name]
        if not (pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column)):
            raise EstimationError(
                f"The covariate column '{name}' must be numeric (found {column.dtype})."
            )
        x_all[:, j] = column.to_numpy(dtype="float64", na_value=np.nan)
        bad_x = keep & ~np.isfinite(x_all[:, j])
        if bad_x.any():
            first_bad = int(np.flatnonzero(bad_x)[0])
            raise EstimationError(
                f"The covariate column '{name}' has {int(bad_x.sum())} missing value(s) (e.g. "
                f"unit {df[unit].iloc[first_bad]}, period {df[period].iloc[first_bad]}); fill "
                "them or leave those rows out."
            )

    # Units and their first treated period (constant within unit).
    units_kept = df.loc[keep, unit]
    unit_code_raw, unit_labels = pd.factorize(units_kept, sort=False)
    unit_code = np.asarray(unit_code_raw, dtype=np.int64)
    ft_kept = ft_values[keep]
    first_row = np.zeros(len(unit_labels), dtype=np.int64)
    first_row[unit_code[::-1]] = np.arange(len(unit_code))[::-1]
    ref = ft_kept[first_row[unit_code]]  # each row's unit's first value: all must equal it
    gone = np.isnat(ft_kept) if ft_kept.dtype.kind == "M" else np.isnan(ft_kept)
    same = (ft_kept == ref) | (gone & gone[first_row[unit_code]])
    if not same.all():
        bad_units = [unit_labels[int(i)] for i in np.unique(unit_code[~same])]
        raise EstimationError(
            f"The first-treated period must be the same in every row of a unit; it varies for "
            f"unit(s) {_names(bad_units)}."
        )
    ft_per_unit = ft_kept[first_row]
    never = pd.isna(ft_per_unit)
    ft_code = np.full(len(unit_labels), len(labels), dtype=np.int64)
    ft_code[~never] = np.searchsorted(labels, ft_per_unit[~never], side="left")
    period_cal, ft_cal = _calendar_positions(labels, ft_per_unit, ft_code)

    return _Prepared(
        unit=unit_code,
        period=period_code[keep],
        y=y_all[keep],
        w=w_all[keep],
        ft_unit=ft_code,
        unit_labels=pd.Index(unit_labels),
        period_labels=pd.Index(labels),
        warnings=tuple(warnings),
        x=x_all[keep],
        covariate_names=covariate_names,
        period_cal=period_cal,
        ft_cal=ft_cal,
    )


def _calendar_positions(
    labels: npt.NDArray[np.generic], ft: npt.NDArray[np.generic], ft_code: IntArray
) -> tuple[IntArray, IntArray]:
    """``_Prepared.period_cal`` and ``ft_cal``: the calendar place of each (sorted, distinct)
    period label and of each unit's first treated period ``ft`` (``ft_code``: its first
    period at or after it). Monthly dates (every label the first of a month) count months,
    a first-treated date inside a month counting from the next one; whole-number periods
    count themselves, a first-treated value between them counting from the next whole
    number; other periods count their rank (no calendar to judge gaps by)."""
    n = labels.size
    on = ft_code < n
    cal: IntArray
    if np.issubdtype(labels.dtype, np.datetime64) and _monthly(labels):
        cal = labels.astype("datetime64[M]").astype(np.int64)
        f = ft[on].astype(labels.dtype)
        month = f.astype("datetime64[M]")
        pos = month.astype(np.int64) + (month.astype(labels.dtype) != f)
    elif not np.issubdtype(labels.dtype, np.datetime64) and np.all(
        np.asarray(labels, dtype=np.float64) == np.round(np.asarray(labels, dtype=np.float64))
    ):
        cal = np.asarray(labels, dtype=np.float64).astype(np.int64)
        pos = np.ceil(np.asarray(ft[on], dtype=np.float64)).astype(np.int64)
    else:
        cal = np.arange(n, dtype=np.int64)
        pos = ft_code[on]
    ft_cal = np.full(ft_code.size, int(cal[-1]) + 1, dtype=np.int64)
    ft_cal[on] = pos
    return cal, ft_cal


def _period_name(prep: _Prepared, code: int) -> str:
    value = prep.period_labels[code]
    if isinstance(value, np.datetime64 | pd.Timestamp):
        return str(pd.Timestamp(value).date())
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _check_identification(prep: _Prepared, treated: BoolArray) -> None:
    """Raise plain-English errors when the imputation is not possible."""
    if not treated.any():
        raise EstimationError(
            "There are no treated observations: no unit is observed at or after its "
            "first treated period, so there is no effect to estimate."
        )
    untreated_per_unit = np.bincount(prep.unit[~treated], minlength=prep.n_units)
    treated_per_unit = np.bincount(prep.unit[treated], minlength=prep.n_units)
    no_before = np.flatnonzero((treated_per_unit > 0) & (untreated_per_unit == 0))
    if no_before.size:
        names = [prep.unit_labels[int(i)] for i in no_before]
        raise EstimationError(
            f"Treated unit(s) {_names(names)} have no untreated period in the data (they are "
            "treated from their first observed period), so their counterfactual level cannot "
            "be estimated. Add earlier periods or leave these units out."
        )
    untreated_per_period = np.bincount(prep.period[~treated], minlength=prep.n_periods)
    treated_per_period = np.bincount(prep.period[treated], minlength=prep.n_periods)
    uncovered = np.flatnonzero((treated_per_period > 0) & (untreated_per_period == 0))
    if uncovered.size:
        names = [_period_name(prep, int(c)) for c in uncovered]
        raise EstimationError(
            f"In period(s) {_names(names)} every observed unit is already treated, so there "
            "is no untreated comparison to estimate what those periods would have looked like "
            "without treatment. Add never-treated units or end the panel before "
            f"{names[0]}."
        )
    if prep.w[treated].sum() <= 0:
        raise EstimationError("The weights of all treated observations are zero.")


# --------------------------------------------------------------------------------------
# Numerical core
# --------------------------------------------------------------------------------------


def _group_sum(codes: IntArray, n_groups: int, values: FloatArray) -> FloatArray:
    """Column sums of ``values`` (n x k) within groups given by ``codes`` -> (n_groups x k)."""
    n = codes.size
    if n_groups * n <= _DENSE_GROUP_SUM:  # a dense 0/1 matrix is cheaper to build and apply
        indicator = np.zeros((n_groups, n))
        indicator[codes, np.arange(n)] = 1.0
        return np.asarray(indicator @ values, dtype=np.float64)
    sparse_indicator = sparse.csr_matrix(
        (np.ones(n), (codes, np.arange(n))), shape=(n_groups, n), dtype=np.float64
    )
    return np.asarray(sparse_indicator @ values, dtype=np.float64)


#: ``_group_sum`` multiplies by a dense group x row indicator up to this many entries.
_DENSE_GROUP_SUM = 1_000_000


class _TwoWayFE:
    """Least squares for ``y = a_unit + b_period`` on a subsample, via the Schur complement.

    Normal equations: ``D_u a + C b = r_u`` and ``C' a + D_p b = r_p`` with C the unit x
    period count matrix. The larger dimension is eliminated, leaving a small dense system
    ``(D_p - C' D_u^-1 C) b = r_p - C' D_u^-1 r_u`` solved with a pseudo-inverse (the system
    is singular by one per connected component: the usual normalisation of the levels).
    ``solve`` works on several right-hand sides at once and reports, per column, whether the
    normal equations were solved exactly (i.e. the right-hand side is identified).
    """

    def __init__(self, cell_counts: FloatArray) -> None:
        """``cell_counts``: (n_units x n_periods) number of sample observations per cell."""
        self.swap = cell_counts.shape[1] > cell_counts.shape[0]
        counts = np.ascontiguousarray(cell_counts.T if self.swap else cell_counts, dtype=float)
        self.counts = counts
        self.d1 = counts.sum(axis=1)
        self.d2 = counts.sum(axis=0)
        self.inv1 = np.divide(1.0, self.d1, out=np.zeros_like(self.d1), where=self.d1 > 0)
        schur = np.diag(self.d2) - counts.T @ (counts * self.inv1[:, None])
        active = np.flatnonzero(self.d2 > 0)
        n2 = counts.shape[1]
        self.pinv = np.zeros((n2, n2))
        if active.size:
            sub = schur[np.ix_(active, active)]
            self.pinv[np.ix_(active, active)] = linalg.pinvh(sub, atol=0.0, rtol=1e-10)

    def solve(
        self, r_unit: FloatArray, r_period: FloatArray
    ) -> tuple[FloatArray, FloatArray, BoolArray]:
        """Solve for unit and period coefficients; inputs and outputs are 2-D (n x k)."""
        r1, r2 = (r_period, r_unit) if self.swap else (r_unit, r_period)
        x2 = self.pinv @ (r2 - self.counts.T @ (self.inv1[:, None] * r1))
        x1 = self.inv1[:, None] * (r1 - self.counts @ x2)
        res1 = r1 - self.d1[:, None] * x1 - self.counts @ x2
        res2 = r2 - self.counts.T @ x1 - self.d2[:, None] * x2
        scale = np.abs(r1).sum(axis=0) + np.abs(r2).sum(axis=0) + 1e-300
        ok = (np.abs(res1).sum(axis=0) + np.abs(res2).sum(axis=0)) <= 1e-7 * scale
        return (x2, x1, ok) if self.swap else (x1, x2, ok)

    @classmethod
    def from_codes(
        cls, unit: IntArray, period: IntArray, n_units: int, n_periods: int
    ) -> _TwoWayFE:
        """Build from the unit and period codes of the sample observations."""
        counts = np.bincount(unit * n_periods + period, minlength=n_units * n_periods)
        return cls(counts.reshape(n_units, n_periods).astype(np.float64))


@dataclass(frozen=True, eq=False)
class _Fit:
    att: float
    se: float
    horizons: IntArray
    effects: FloatArray  # per horizon (NaN where it has no weight)
    horizon_se: FloatArray  # per horizon, Theorem 3
    horizon_n_obs: IntArray
    fe: _TwoWayFE
    resid0: FloatArray
    kept: IntArray  # indices of the covariates used (columns of prep.x)
    delta: FloatArray  # their coefficients
    q0: FloatArray  # orthonormal basis of the FE-residualised kept covariates (untreated rows)


#: A covariate whose part not explained by the fixed effects and the earlier covariates is
#: below this fraction of its own norm (on the untreated observations) is left out.
COLLINEAR_TOL = 1e-8


def _independent_columns(resid: FloatArray, raw: FloatArray) -> IntArray:
    """Indices of the columns kept, in order, when collinear ones are dropped.

    ``resid`` are the covariates with the fixed effects partialled out, ``raw`` the covariates
    themselves (same rows). Column j is kept when the norm of its part of ``resid`` that is
    orthogonal to the columns kept before it exceeds ``COLLINEAR_TOL * ||raw_j||``; all-zero
    columns are dropped. One QR decides when nothing is collinear (the usual case); otherwise
    columns are orthogonalised one by one (twice, for numerical stability).
    """
    norms = np.sqrt((raw**2).sum(axis=0))
    cand = np.flatnonzero(norms > 0)
    if cand.size == 0:
        return cand.astype(np.int64)
    scaled = resid[:, cand] / norms[cand]
    if scaled.shape[0] >= cand.size:
        r = np.linalg.qr(scaled, mode="r")
        if np.all(np.abs(np.diag(r)) > COLLINEAR_TOL):
            return cand.astype(np.int64)
    basis = np.empty((scaled.shape[0], 0))
    kept: list[int] = []
    for j, col in enumerate(cand):
        v = scaled[:, j].copy()
        for _ in range(2):
            v -= basis @ (basis.T @ v)
        norm = float(np.linalg.norm(v))
        if norm > COLLINEAR_TOL:
            basis = np.column_stack([basis, v / norm])
            kept.append(int(col))
    return np.asarray(kept, dtype=np.int64)


def _partial_covariates(
    fe: _TwoWayFE,
    u0: IntArray,
    p0: IntArray,
    x0: FloatArray,
    n_units: int,
    n_periods: int,
) -> tuple[IntArray, FloatArray, FloatArray, FloatArray]:
    """Residualise the covariates on the fixed effects (untreated rows), drop collinear ones.

    Returns (kept column indices, Q and R of the QR decomposition of the kept residualised
    covariates, and the residualised covariates of all columns).
    """
    empty = np.empty((u0.size, 0))
    if x0.shape[1] == 0:
        return np.empty(0, dtype=np.int64), empty, np.empty((0, 0)), empty
    x_unit, x_period, _ = fe.solve(_group_sum(u0, n_units, x0), _group_sum(p0, n_periods, x0))
    resid = x0 - x_unit[u0] - x_period[p0]
    kept = _independent_columns(resid, x0)
    if kept.size == 0:
        return kept, empty, np.empty((0, 0)), resid
    q, r = np.linalg.qr(resid[:, kept])
    return kept, q, r, resid


def _fit(prep: _Prepared, treated: BoolArray) -> _Fit:
    """Point estimates and Theorem-3 standard errors (overall and by horizon).

    With covariates X (Frisch-Waugh-Lovell): Xt0 = X0 with the two-way fixed effects
    partialled out on the untreated rows; delta = (Xt0'Xt0)^-1 Xt0' y0; the fixed effects are
    then fitted to y0 - X0 delta. The untreated weights of the linear estimator are
    ``v0 = v0_FE - Xt0 (Xt0'Xt0)^-1 (X1' w1 + X0' v0_FE)``, with ``v0_FE`` the weights of the
    fixed-effects-only model -- the block solution of ``v0 = -Z0 (Z0'Z0)^+ Z1' w1`` for
    ``Z = [unit and period dummies, X]``.
    """
    u0, p0 = prep.unit[~treated], prep.period[~treated]
    u1, p1 = prep.unit[treated], prep.period[treated]
    y0, y1 = prep.y[~treated], prep.y[treated]
    w1 = prep.w[treated]
    fe = _TwoWayFE.from_codes(u0, p0, prep.n_units, prep.n_periods)

    kept, q0, r0, _ = _partial_covariates(
        fe, u0, p0, prep.x[~treated], prep.n_units, prep.n_periods
    )
    x0, x1 = prep.x[~treated][:, kept], prep.x[treated][:, kept]
    if kept.size:
        delta = linalg.solve_triangular(r0, q0.T @ y0)
        y0_adj = y0 - x0 @ delta
    else:
        delta = np.empty(0)
        y0_adj = y0

    horizon = prep.period_cal[p1] - prep.ft_cal[u1]  # calendar periods since go-live
    horizons, h_code = np.unique(horizon, return_inverse=True)
    # Target weight columns: overall ATT, then one per horizon (each normalised to sum 1).
    weights = np.zeros((w1.size, 1 + horizons.size))
    weights[:, 0] = w1
    weights[np.arange(w1.size), 1 + h_code] = w1
    totals = weights.sum(axis=0)
    weights = np.divide(weights, totals, out=np.zeros_like(weights), where=totals > 0)

    rhs_values = np.column_stack([y0_adj, np.zeros((y0.size, weights.shape[1]))])
    r_unit = _group_sum(u0, prep.n_units, rhs_values)
    r_period = _group_sum(p0, prep.n_periods, rhs_values)
    r_unit[:, 1:] = _group_sum(u1, prep.n_units, weights)
    r_period[:, 1:] = _group_sum(p1, prep.n_periods, weights)
    x_unit, x_period, ok = fe.solve(r_unit, r_period)
    if not ok[1:].all():
        raise EstimationError(
            "The treated observations cannot be linked to the untreated ones through shared "
            "units and periods, so their counterfactual is not identified."
        )

    y0_hat = x_unit[u0, 0] + x_period[p0, 0]
    resid0 = y0_adj - y0_hat
    tau = y1 - (x_unit[u1, 0] + x_period[p1, 0])
    if kept.size:
        tau -= x1 @ delta
    effects = weights.T @ tau
    effects[totals <= 0] = np.nan

    # Theorem 3: epst = first-stage residual (untreated) or tau - taubar_{cohort x period}.
    group = (prep.ft_cal[u1] - prep.ft_cal.min()) * prep.n_periods + p1
    _, g_code = np.unique(group, return_inverse=True)
    v2 = weights[:, 0] ** 2
    num = np.bincount(g_code, weights=v2 * tau)
    den = np.bincount(g_code, weights=v2)
    taubar = np.divide(num, den, out=np.zeros_like(num), where=den > 0)[g_code]
    v0 = -(x_unit[u0, 1:] + x_period[p0, 1:])
    if kept.size:
        v0 = v0 - q0 @ linalg.solve_triangular(r0, x1.T @ weights + x0.T @ v0, trans="T")
    contrib = np.vstack([v0 * resid0[:, None], weights * (tau - taubar)[:, None]])
    per_unit = _group_sum(np.concatenate([u0, u1]), prep.n_units, contrib)
    se = np.sqrt((per_unit**2).sum(axis=0))

    n_obs = np.bincount(h_code, minlength=horizons.size)
    return _Fit(
        att=float(effects[0]),
        se=float(se[0]),
        horizons=horizons.astype(np.int64),
        effects=np.asarray(effects[1:], dtype=np.float64),
        horizon_se=np.asarray(se[1:], dtype=np.float64),
        horizon_n_obs=n_obs.astype(np.int64),
        fe=fe,
        resid0=resid0,
        kept=kept,
        delta=np.asarray(delta, dtype=np.float64),
        q0=q0,
    )


def _pretrends(
    prep: _Prepared, treated: BoolArray, fit: _Fit, z: float
) -> tuple[npt.NDArray[np.float64 | np.int64], ...]:
    """BJS pre-trend placebo coefficients for horizons -K..-1 (see module docstring): the
    columns ``_HORIZON_COLUMNS`` of their rows, in that order (empty when there are none)."""
    u0, p0 = prep.unit[~treated], prep.period[~treated]
    ever = prep.ft_unit[u0] < prep.n_periods
    rel = prep.period_cal[p0] - prep.ft_cal[u0]
    leads = [k for k in range(1, MAX_PRE_HORIZONS + 1) if np.any(ever & (rel == -k))]
    n_clusters = int(np.unique(u0).size)
    while leads and n_clusters > 1:
        dummies = np.column_stack([(ever & (rel == -k)).astype(np.float64) for k in leads])
        x_unit, x_period, _ = fit.fe.solve(
            _group_sum(u0, prep.n_units, dummies), _group_sum(p0, prep.n_periods, dummies)
        )
        xt = dummies - x_unit[u0] - x_period[p0]
        if fit.q0.shape[1]:  # also partial out the covariates (Frisch-Waugh-Lovell)
            xt = xt - fit.q0 @ (fit.q0.T @ xt)
        xtx = xt.T @ xt
        eig = np.linalg.eigvalsh(xtx)
        if eig.min() <= 1e-9 * max(1.0, eig.max()):
            leads = leads[:-1]
            continue
        bread = np.linalg.inv(xtx)
        gamma = bread @ (xt.T @ fit.resid0)
        e = fit.resid0 - xt @ gamma
        scores = _group_sum(u0, prep.n_units, xt * e[:, None])
        cov = bread @ (scores.T @ scores) @ bread * n_clusters / (n_clusters - 1)
        se = np.sqrt(np.clip(np.diag(cov), 0.0, None))
        columns = (
            -np.asarray(leads, dtype=np.int64),
            gamma,
            se,
            gamma - z * se,
            gamma + z * se,
            dummies.sum(axis=0).astype(np.int64),
        )
        return tuple(c[::-1] for c in columns)  # horizons -1, -2, ... ascending
    return tuple(np.empty(0) for _ in _HORIZON_COLUMNS)


@dataclass(frozen=True, eq=False)
class _Draws:
    """Permutation draws of the estimator, valid draws only, one row per distinct
    reassignment and ``count`` the number of times it was drawn (every statistic counts a
    row that often): ``att``/``by_h`` the estimator applied to the outcome Y,
    ``att_d``/``by_h_d`` applied to the observed treatment indicator D (the extra
    right-hand side that makes testing any effect c cheap, see ``_perm_inversion``)."""

    att: FloatArray
    by_h: FloatArray
    att_d: FloatArray
    by_h_d: FloatArray
    count: IntArray

    @property
    def n(self) -> int:
        """The number of valid draws (repeats included)."""
        return int(self.count.sum())


def _reassignments(ft_unit: IntArray, n_permutations: int, seed: int) -> IntArray:
    """The ``n_permutations`` reassignments of the first-treated periods (``_Prepared.ft_cal``)
    across units: row d is the d-th ``rng.permutation(ft_unit)`` of a generator seeded with
    ``seed``. The shuffle depends only on the number of units, so the positions are drawn
    once per (units, draws, seed) and reused by every panel of that size."""
    return ft_unit[_shuffles(int(ft_unit.size), n_permutations, seed)]


@functools.lru_cache(maxsize=4)
def _shuffles(n_units: int, n_permutations: int, seed: int) -> IntArray:
    """``n_permutations`` successive ``rng.permutation(n_units)`` (one row each) of a
    generator seeded with ``seed``, drawn in one call (``Generator.permuted`` along rows
    consumes the generator exactly as the successive calls do; a test checks it)."""
    rng = np.random.default_rng(seed)
    out = rng.permuted(np.tile(np.arange(n_units, dtype=np.int64), (n_permutations, 1)), axis=1)
    out.flags.writeable = False
    return out


def _permute(
    prep: _Prepared,
    horizons: IntArray,
    n_permutations: int,
    seed: int,
    treated: BoolArray,
    fit: _Fit | None = None,
) -> _Draws:
    """The estimator under random reassignment of first-treated periods, on Y and on D.

    Draws leaving a treated unit or period without an untreated observation, or whose
    treated observations are not identified, are skipped. Each distinct reassignment is
    solved once (a 6-unit panel with 2 treated units has only 30, however many draws are
    asked for) and counted as often as it was drawn. The distinct reassignments are solved
    together (``_permute_batched``), with both right-hand sides, Y and D, on the same
    factorisation (covariates the per-draw estimator leaves out on a draw, absent from or
    collinear on its untreated rows, are left out there too); the few the batch cannot
    vouch for (disconnected comparisons, a collinearity too close to call) are refitted one
    by one with the per-draw estimator (``_permute_covariates`` / ``_permute_refit``), which
    decides them exactly as before. When ``fit`` is given, the observed reassignment (if drawn) takes
    the observed estimate itself (on D: exactly 1), so its tie with the observed statistic
    never depends on rounding.
    """
    draws = _reassignments(prep.ft_cal, n_permutations, seed)
    distinct, inverse = np.unique(draws, axis=0, return_inverse=True)
    inverse = np.asarray(inverse).reshape(-1)
    rhs = np.column_stack([prep.y, treated.astype(np.float64)])
    valid, unsure, att, by_h = _permute_batched(prep, horizons, distinct, rhs)
    redo = np.flatnonzero(unsure)
    if redo.size:
        run = _permute_covariates if prep.x.shape[1] else _permute_refit
        todo = list(distinct[redo])
        a, ah, ok_y = run(prep, horizons, todo)
        b, bh, ok_d = run(replace(prep, y=rhs[:, 1]), horizons, todo)
        both = np.intersect1d(ok_y, ok_d)
        rows = redo[both]
        pos_y = np.searchsorted(ok_y, both)
        pos_d = np.searchsorted(ok_d, both)
        valid[rows] = True
        att[rows, 0], att[rows, 1] = a[pos_y], b[pos_d]
        if horizons.size:
            by_h[rows, :, 0], by_h[rows, :, 1] = ah[pos_y], bh[pos_d]
    if fit is not None:
        same = np.flatnonzero(np.all(distinct == prep.ft_cal[None, :], axis=1))
        if same.size and valid[same[0]]:
            att[same[0]] = (fit.att, 1.0)
            if horizons.size:
                effects = fit.effects
                by_h[same[0], :, 0] = effects
                by_h[same[0], :, 1] = np.where(np.isfinite(effects), 1.0, np.nan)
    count = np.bincount(inverse, minlength=distinct.shape[0])
    take = np.flatnonzero(valid & (count > 0))
    return _Draws(
        att=att[take, 0],
        by_h=by_h[take, :, 0],
        att_d=att[take, 1],
        by_h_d=by_h[take, :, 1],
        count=count[take],
    )


#: Draws solved at once by ``_permute_batched``: as many as keep a chunk's cells x
#: (covariates + 2) within this many floats (about 16 MB).
_BATCH_ELEMENTS = 2_000_000
#: A draw whose covariates, scaled to unit norm and residualised on the fixed effects, have a
#: Gram matrix with smallest eigenvalue below this is not solved as it is: every residual
#: norm is then >= sqrt of it, far above ``COLLINEAR_TOL``, so the per-draw estimator would
#: keep every covariate too; below it, the covariates that estimator keeps on the draw are
#: worked out (``_kept_by_draw``) and the draw solved with those, or refitted one by one.
_BATCH_COLLINEAR_EIG = 1e-6
#: Fixed-effects comparisons whose smallest eigenvalue (normalised) is below this are taken
#: to be disconnected and refitted one by one (the per-draw estimator then decides whether
#: the treated observations are still identified).
_BATCH_CONNECTED_EIG = 1e-10
#: A covariate whose residual norm (as ``_independent_columns`` measures it) is within this
#: factor of ``COLLINEAR_TOL`` on a draw is too close to call from the batch's arithmetic:
#: that draw is refitted one by one.
_BATCH_TOL_MARGIN = 4.0


def _kept_by_draw(resid: FloatArray, present: BoolArray) -> tuple[BoolArray, BoolArray]:
    """``_independent_columns`` for many draws at once.

    ``resid`` (draws x cells x k): the covariates residualised on each draw's fixed effects
    and divided by their norm on its untreated cells (zero elsewhere); ``present``: which
    are not zero there. A column is kept when the norm of its part orthogonal to the columns
    kept before it exceeds ``COLLINEAR_TOL``: the kept columns are put first (in order) and
    one QR gives those norms; the first one at or below the tolerance is left out and the
    draw's QR done again, until none is. Returns (kept, close): ``close`` marks draws where
    a norm that decided is within ``_BATCH_TOL_MARGIN`` of the tolerance.

    Only the first QR is of the cells: with ``resid[:, order] = Q R``, any other choice and
    order of columns is ``Q R[:, pi]``, so the QR of the small ``R[:, pi]`` gives the same
    norms (orthogonal transformations: they agree to rounding, far inside the margin)."""
    d, n_cells, k = resid.shape
    keep = present.copy()
    close = np.zeros(d, dtype=bool)
    todo = np.arange(d)
    band = math.log(_BATCH_TOL_MARGIN)
    base_order = np.argsort(~keep, axis=1, kind="stable")  # kept columns first
    base_r = np.linalg.qr(np.take_along_axis(resid, base_order[:, None, :], axis=2), mode="r")
    base_at = np.argsort(base_order, axis=1)  # column -> its place in base_order
    order, r, again = base_order, base_r, False
    while todo.size:
        if again:
            order = np.argsort(~keep[todo], axis=1, kind="stable")  # kept columns first
            pi = np.take_along_axis(base_at[todo], order, axis=1)
            r = np.linalg.qr(np.take_along_axis(base_r[todo], pi[:, None, :], axis=2), mode="r")
        norms = np.zeros((todo.size, k))
        diag = np.abs(np.diagonal(r, axis1=1, axis2=2))
        norms[:, : diag.shape[1]] = diag
        in_use = np.arange(k)[None, :] < keep[todo].sum(axis=1)[:, None]
        small = in_use & (norms <= COLLINEAR_TOL)
        has = small.any(axis=1)
        first = np.where(has, np.argmax(small, axis=1), k)
        decided = in_use & (np.arange(k)[None, :] <= first[:, None])
        near = np.abs(np.log(np.maximum(norms, 1e-300) / COLLINEAR_TOL)) < band
        close[todo] |= (decided & near).any(axis=1)
        rows = np.flatnonzero(has)
        keep[todo[rows], order[rows, first[rows]]] = False
        todo, again = todo[rows], True
    return keep, close


def _permute_batched(
    prep: _Prepared, horizons: IntArray, draws: IntArray, rhs: FloatArray
) -> tuple[BoolArray, BoolArray, FloatArray, FloatArray]:
    """The estimator for many reassignments at once, on several outcomes (columns of
    ``rhs``, one value per observation), vectorised over the draws.

    For each draw the observations split into untreated (mask m) and treated; the larger of
    the unit and period dimensions (index a) is eliminated by demeaning within a over the
    untreated cells (n_a of them), leaving the smaller one (index b) and the covariates::

        S   = diag(sum_a m_ab) - sum_a m_a m_a' / n_a          (plus 11' scaled: the
                                                                levels' normalisation)
        PX  = sum_a m_ab (x_ab - xbar_a),  XX = sum m x x' - sum_a n_a xbar_a xbar_a'
        K   = XX - PX' S^-1 PX                    (covariates net of both fixed effects)
        delta = K^-1 (rx - PX' S^-1 rb),  beta = S^-1 (rb - PX delta),
        alpha_a = rbar_a - (sum_b m_ab beta_b) / n_a - xbar_a' delta

    the same least squares as the per-draw estimator (fixed effects and covariates fitted
    on the untreated cells), so tau = r - alpha - beta - x' delta on treated cells, and the
    ATT and the horizon effects are their target-weighted means. The factorisation is shared
    by all right-hand sides (the estimator is linear in the outcome). Sums over a draw's
    untreated cells of a unit run over the periods before its first-treated period, so the
    sums over all of them (sum m x x', sum m x r) are read from per-unit running sums.

    Covariates the per-draw estimator leaves out on a draw (zero on its untreated cells, or
    collinear there: ``_kept_by_draw``) get delta = 0 (their row and column of K replaced
    by the identity's, their right-hand side by 0), which is the least squares without
    them. Returns (valid, unsure, att (draws x rhs), by_h (draws x horizons x rhs));
    ``unsure`` marks draws passing the cheap checks whose comparisons look disconnected, or
    whose covariates are ill-conditioned or too close to the tolerance to call, left to the
    per-draw estimator (``valid`` False for them).
    """
    n_u, n_p = prep.n_units, prep.n_periods
    k = prep.x.shape[1]
    n_r = rhs.shape[1]
    observed = np.zeros((n_u, n_p), dtype=bool)
    observed[prep.unit, prep.period] = True
    r_c = np.zeros((n_u, n_p, n_r))
    r_c[prep.unit, prep.period] = rhs
    w_c = np.zeros((n_u, n_p))
    w_c[prep.unit, prep.period] = prep.w
    x_c = np.zeros((n_u, n_p, k))
    x_c[prep.unit, prep.period] = prep.x
    swap = n_u < n_p  # eliminate the longer dimension, solve in the shorter one
    x_ab = x_c.transpose(1, 0, 2) if swap else x_c
    r_ab = r_c.transpose(1, 0, 2) if swap else r_c
    w_ab = w_c.T if swap else w_c
    obs_ab = observed.T if swap else observed
    n_a, n_b = x_ab.shape[:2]
    cells = n_a * n_b
    obs_a, obs_b = np.asarray(obs_ab.any(axis=1)), np.asarray(obs_ab.any(axis=0))
    n_obs = int(obs_ab.sum())
    x_flat = np.ascontiguousarray(x_ab).reshape(cells, k)
    units = np.arange(n_u)[None, :]
    # per unit, sums over its periods before f (f = 0..n_p), one table read with one gather
    # per draw: observed cells (a count), weight, weight x each right-hand side, weight x
    # each covariate (over its treated periods these are the unit's totals minus those);
    # then x x' (its upper triangle only: x x' is symmetric, and fewer columns make every
    # draw's gather cheaper), x r and nonzero x (the untreated cells' sums the solve needs)
    tri_i, tri_j = np.triu_indices(k)
    n_tri = tri_i.size
    at_x = 2 + n_r + k  # where the covariates' own sums start
    per_cell = np.concatenate(
        [
            observed[:, :, None],
            w_c[:, :, None],
            w_c[:, :, None] * r_c,
            w_c[:, :, None] * x_c,
            x_c[:, :, tri_i] * x_c[:, :, tri_j],
            (x_c[:, :, :, None] * r_c[:, :, None, :]).reshape(n_u, n_p, k * n_r),
            x_c != 0,
        ],
        axis=2,
        dtype=np.float64,
    )
    running = np.zeros((n_u, n_p + 1, per_cell.shape[2]))
    np.cumsum(per_cell, axis=1, out=running[:, 1:])
    run_flat = running.reshape(n_u * (n_p + 1), -1)
    run_end = running[:, n_p, :at_x]
    ones_a, ones_b = np.ones(n_a), np.ones(n_b)
    # the period of each (a, b) cell, and whether units run along b
    period_ab = np.broadcast_to(
        (np.arange(n_a)[:, None] if swap else np.arange(n_b)[None, :]), (n_a, n_b)
    )
    # draws hold first-treated periods on the calendar: their first observed period treated
    codes = np.searchsorted(prep.period_cal, draws)
    cal = prep.period_cal
    n_draws, n_h = draws.shape[0], horizons.size
    valid = np.zeros(n_draws, dtype=bool)
    unsure = np.zeros(n_draws, dtype=bool)
    att = np.full((n_draws, n_r), np.nan)
    by_h = np.full((n_draws, n_h, n_r), np.nan)
    chunk = max(1, _BATCH_ELEMENTS // (cells * (k + 2)))
    # horizon -> its index in ``horizons`` (sorted integers), -1 for the ones in between
    h_table = np.full(int(horizons[-1] - horizons[0]) + 1 if n_h else 1, -1, dtype=np.int64)
    if n_h:
        h_table[horizons - horizons[0]] = np.arange(n_h)
    for start in range(0, n_draws, chunk):
        ft_units = codes[start : start + chunk]
        ft_cal = draws[start : start + chunk]
        ft = ft_units[:, None, :] if swap else ft_units[:, :, None]  # (draw, a|1, b|1)
        treated = obs_ab[None] & (period_ab[None] >= ft)
        m_all = (obs_ab[None] & ~treated).astype(np.float64)  # untreated cells (draw, a, b)
        n_c = ft_units.shape[0]
        at_ft = (units * (n_p + 1) + ft_units).reshape(-1)  # unit u's running row at ft_u
        before = np.take(run_flat, at_ft, axis=0).reshape(n_c, n_u, -1)
        after = run_end[None] - before[:, :, :at_x]  # per unit: sums over its treated periods
        total = after[:, :, 1].sum(axis=1)
        # the untreated counts (exact sums of 0/1) decide the checks without more passes:
        # an a or b that has observed cells but no untreated one is treated and alone. Per
        # unit they are the running counts; per period, sums over the units (a product)
        cnt_unit = before[:, :, 0]
        if swap:
            cnt_a_all, cnt_b_all = (m_all.reshape(-1, n_b) @ ones_b).reshape(n_c, n_a), cnt_unit
        else:
            cnt_a_all, cnt_b_all = cnt_unit, ones_a @ m_all
        a_alone = (cnt_a_all == 0) & obs_a[None]
        b_alone = (cnt_b_all == 0) & obs_b[None]
        any_treated = cnt_a_all.sum(axis=1) < n_obs
        ok = any_treated & ~a_alone.any(axis=1) & ~b_alone.any(axis=1) & (total > 0)
        sel = np.flatnonzero(ok)
        if sel.size == 0:
            continue
        ft_units, ft_cal = ft_units[sel], ft_cal[sel]
        treated, total, after, before = treated[sel], total[sel], after[sel], before[sel]
        m = m_all[sel]
        d = sel.size
        cnt_a = cnt_a_all[sel]
        inv_a = np.divide(1.0, cnt_a, out=np.zeros_like(cnt_a), where=cnt_a > 0)
        cnt_b = cnt_b_all[sel]
        m_t = m.transpose(0, 2, 1)
        s = -(m_t @ (m * inv_a[:, :, None]))
        s[:, np.arange(n_b), np.arange(n_b)] += cnt_b
        s += (cnt_b.sum(axis=1) / n_b**2)[:, None, None]
        s_inv, good = _connected_inverse(s)
        m_by_a = m.transpose(1, 0, 2)  # (a, draw, b): sums over b are matrix products
        m_by_b = m.transpose(2, 0, 1)  # (b, draw, a)
        r_bar = (m_by_a @ r_ab).transpose(1, 0, 2) * inv_a[:, :, None]
        rb = (m_by_b @ r_ab.transpose(1, 0, 2)).transpose(1, 0, 2) - m_t @ r_bar
        if k:
            # over each draw's untreated cells (the gather above: unit u's row at ft_u)
            sums = before[:, :, at_x:].sum(axis=1)
            raw = np.empty((d, k, k))
            raw[:, tri_i, tri_j] = raw[:, tri_j, tri_i] = sums[:, :n_tri]
            rx = sums[:, n_tri : n_tri + k * n_r].reshape(d, k, n_r)
            present = sums[:, n_tri + k * n_r :] > 0.5  # counts of nonzero cells: exact
            x_bar = (m_by_a @ x_ab).transpose(1, 0, 2) * inv_a[:, :, None]
            px = (m_by_b @ x_ab.transpose(1, 0, 2)).transpose(1, 0, 2) - m_t @ x_bar
            px_t = px.transpose(0, 2, 1)
            xbar_n = (x_bar * cnt_a[:, :, None]).transpose(0, 2, 1)
            kk = raw - xbar_n @ x_bar - px_t @ s_inv @ px
            norms = np.sqrt(np.clip(np.diagonal(raw, axis1=1, axis2=2), 0.0, None))
            safe = np.where(present & (norms > 0), norms, 1.0)
            scaled = kk / (safe[:, :, None] * safe[:, None, :])
            use = present.copy()
            fine = _well_conditioned(scaled, use)
            check = np.flatnonzero(good & ~fine)
            if check.size:  # the covariates the per-draw estimator keeps on these draws
                beta_x = s_inv[check] @ px[check]
                alpha_x = x_bar[check] - (m[check] @ beta_x) * inv_a[check][:, :, None]
                resid = x_ab[None] - alpha_x[:, :, None, :] - beta_x[:, None, :, :]
                resid *= m[check][:, :, :, None] / safe[check][:, None, None, :]
                kept, close = _kept_by_draw(resid.reshape(check.size, cells, k), present[check])
                use[check] = kept
                fine[check] = _well_conditioned(scaled[check], kept) & ~close
            unsure[start + sel[good & ~fine]] = True
            unsure[start + sel[~good]] = True
            good &= fine
            both = use[:, :, None] & use[:, None, :]
            kk = np.where(both, kk, 0.0)
            kk[:, np.arange(k), np.arange(k)] += ~use
            kk[~good] = np.eye(k)  # solved elsewhere; keeps the batch solvable
            rx -= xbar_n @ r_bar
            rhs_delta = np.where(use[:, :, None], rx - px_t @ (s_inv @ rb), 0.0)
            delta = np.linalg.solve(kk, rhs_delta)
            beta = s_inv @ (rb - px @ delta)
            alpha = r_bar - (m @ beta) * inv_a[:, :, None] - x_bar @ delta
        else:
            unsure[start + sel[~good]] = True
            beta = s_inv @ rb
            alpha = r_bar - (m @ beta) * inv_a[:, :, None]
        # the ATT: sum over the treated cells of w (r - alpha - beta - x' delta), over their
        # weight. The sums of w r and w x come from the running sums, alpha and beta enter
        # weighted by the treated weight of their a and b: no per-cell residual is formed
        tw = np.where(treated, w_ab[None], 0.0)
        w_a = (tw.reshape(-1, n_b) @ ones_b).reshape(d, 1, n_a)
        w_b = (ones_a @ tw).reshape(d, 1, n_b)
        num = after[:, :, 2 : 2 + n_r].sum(axis=1) - (w_a @ alpha)[:, 0] - (w_b @ beta)[:, 0]
        if k:
            num -= (after[:, :, 2 + n_r :].sum(axis=1)[:, None, :] @ delta)[:, 0]
        rows = start + sel[good]
        valid[rows] = True
        att[rows] = (num / total[:, None])[good]
        if n_h:
            # tau = r - alpha - beta - x' delta on the treated cells (the only ones weighted),
            # each cell's own for the horizon effects
            dd, ia, ib = np.nonzero(treated)
            at_cell = ia * n_b + ib  # flat indices: one gather each
            tau = np.take(r_ab.reshape(cells, n_r), at_cell, axis=0)  # (treated cell, rhs)
            tau -= np.take(alpha.reshape(d * n_a, n_r), dd * n_a + ia, axis=0)
            tau -= np.take(beta.reshape(d * n_b, n_r), dd * n_b + ib, axis=0)
            if k:
                # (cell, draw, rhs): one product for the whole chunk, not one per draw (the
                # same dot products, four times faster)
                x_delta = x_flat @ delta.transpose(1, 0, 2).reshape(k, d * n_r)
                tau -= np.take(x_delta.reshape(cells * d, n_r), at_cell * d + dd, axis=0)
            wt = np.take(w_ab.reshape(cells), at_cell)
            tau_w = tau * wt[:, None]
            # calendar periods since the draw's go-live, and their place among the horizons
            # one flat index each (2-D fancy indexing costs more)
            i_p, i_u = (ia, ib) if swap else (ib, ia)
            h = cal[i_p] - np.take(ft_cal.reshape(-1), dd * n_u + i_u)
            pos = h_table[np.clip(h - horizons[0], 0, h_table.size - 1)]
            hit = (h >= horizons[0]) & (h <= horizons[-1]) & (pos >= 0)
            cell = dd[hit] * n_h + pos[hit]
            size = d * n_h
            den = np.bincount(cell, weights=wt[hit], minlength=size)
            for j in range(n_r):
                num = np.bincount(cell, weights=tau_w[hit, j], minlength=size)
                eff = np.divide(num, den, out=np.full(size, np.nan), where=den > 0)
                by_h[rows, :, j] = eff.reshape(d, n_h)[good]
    return valid, unsure, att, by_h


def _connected_inverse(s: FloatArray) -> tuple[FloatArray, BoolArray]:
    """Per draw, the inverse of the reduced fixed-effects matrix ``s`` (draws x n x n,
    symmetric positive semi-definite) and whether its comparison is connected: smallest
    eigenvalue above ``_BATCH_CONNECTED_EIG`` times the largest. Where it is not, the
    returned matrix is ``V diag(1/eig) V'`` with 1 for the eigenvalues — any finite stand-in
    (those draws are solved one by one).

    One LU inverse per draw instead of an eigen-decomposition: ``1/||s^-1||_F`` bounds the
    smallest eigenvalue from below and ``trace(s)`` the largest from above, so a draw whose
    bound clears the threshold twice over is connected for certain (rounding in either
    computation is far below that margin); only the others are decomposed, and decided by
    their eigenvalues as before."""
    n_draws = s.shape[0]
    sure = np.zeros(n_draws, dtype=bool)
    try:
        with np.errstate(over="ignore", invalid="ignore"):
            s_inv = np.linalg.inv(s)
            fro = np.sqrt((s_inv**2).sum(axis=(1, 2)))
            trace = np.trace(s, axis1=1, axis2=2)
            sure = np.isfinite(fro) & (fro > 0) & (1.0 / fro > 2.0 * _BATCH_CONNECTED_EIG * trace)
    except np.linalg.LinAlgError:  # an exactly singular draw in the batch
        s_inv = np.empty_like(s)
    good = sure.copy()
    rest = np.flatnonzero(~sure)
    if rest.size:
        eig, vec = np.linalg.eigh(s[rest])
        good[rest] = eig[:, 0] > _BATCH_CONNECTED_EIG * eig[:, -1]
        scale = np.where(good[rest][:, None], eig, 1.0)
        s_inv[rest] = (vec / scale[:, None, :]) @ vec.transpose(0, 2, 1)
    return np.asarray(s_inv, dtype=np.float64), good


def _well_conditioned(scaled: FloatArray, use: BoolArray) -> BoolArray:
    """Per draw: the scaled covariate Gram matrix restricted to the columns in ``use`` (the
    others replaced by the identity's) has smallest eigenvalue above
    ``_BATCH_COLLINEAR_EIG``.

    ``1/||(g + eps I)^-1||_F`` bounds the smallest eigenvalue of ``g + eps I`` from below: a
    draw whose bound is twice the threshold is well conditioned for certain (eps is a
    thousandth of the threshold, and rounding is far below that margin), so only the others
    need their eigenvalues (one LU inverse per draw is cheaper). The shift keeps an exactly
    singular draw (a covariate collinear with the fixed effects on its untreated cells)
    invertible, so it does not stop the whole batch's inverse and send every draw beside it
    to the eigenvalues."""
    k = scaled.shape[1]
    g = np.where(use[:, :, None] & use[:, None, :], scaled, 0.0)
    g[:, np.arange(k), np.arange(k)] += ~use
    fine = np.zeros(g.shape[0], dtype=bool)
    eps = 1e-3 * _BATCH_COLLINEAR_EIG
    try:
        with np.errstate(over="ignore", invalid="ignore"):
            fro = np.sqrt((np.linalg.inv(g + eps * np.eye(k)) ** 2).sum(axis=(1, 2)))
            fine = np.isfinite(fro) & (fro > 0) & (1.0 / fro > 2.0 * _BATCH_COLLINEAR_EIG)
    except np.linalg.LinAlgError:  # singular even with the shift (NaN or rounding): decide all
        pass
    rest = np.flatnonzero(~fine)
    if rest.size:
        fine[rest] = np.linalg.eigvalsh(g[rest])[:, 0] > _BATCH_COLLINEAR_EIG
    return fine


def _cell_matrices(prep: _Prepared) -> tuple[BoolArray, FloatArray, FloatArray]:
    """Observed mask, outcome and weight as (n_units x n_periods) matrices (0 if missing)."""
    shape = (prep.n_units, prep.n_periods)
    observed = np.zeros(shape, dtype=bool)
    observed[prep.unit, prep.period] = True
    y = np.zeros(shape)
    y[prep.unit, prep.period] = prep.y
    w = np.zeros(shape)
    w[prep.unit, prep.period] = prep.w
    return observed, y, w


def _horizon_effects(
    h: IntArray, tau: FloatArray, wt: FloatArray, horizons: IntArray
) -> FloatArray:
    """Weighted mean of ``tau`` at each of ``horizons`` (sorted; NaN where none)."""
    if horizons.size == 0:
        return np.empty(0)
    pos = np.clip(np.searchsorted(horizons, h), 0, horizons.size - 1)
    hit = horizons[pos] == h
    num = np.bincount(pos[hit], weights=(wt * tau)[hit], minlength=horizons.size)
    den = np.bincount(pos[hit], weights=wt[hit], minlength=horizons.size)
    return np.divide(num, den, out=np.full(horizons.size, np.nan), where=den > 0)


def _permute_refit(
    prep: _Prepared, horizons: IntArray, draws: list[IntArray]
) -> tuple[FloatArray, FloatArray, IntArray]:
    """Permutation draws, each refitted from scratch on unit x period matrices."""
    observed, y, w = _cell_matrices(prep)
    grid, cal = np.arange(prep.n_periods), prep.period_cal
    atts: list[float] = []
    by_h: list[FloatArray] = []
    valid_idx: list[int] = []
    for idx, ft in enumerate(draws):
        treated = observed & (grid[None, :] >= np.searchsorted(cal, ft)[:, None])
        untreated = observed & ~treated
        if not treated.any():
            continue
        if np.any(treated.any(axis=1) & ~untreated.any(axis=1)):
            continue
        if np.any(treated.any(axis=0) & ~untreated.any(axis=0)):
            continue
        w1 = np.where(treated, w, 0.0)
        total = w1.sum()
        if total <= 0:
            continue
        fe = _TwoWayFE(untreated.astype(np.float64))
        y0 = np.where(untreated, y, 0.0)
        r_unit = np.column_stack([y0.sum(axis=1), w1.sum(axis=1)])
        r_period = np.column_stack([y0.sum(axis=0), w1.sum(axis=0)])
        x_unit, x_period, ok = fe.solve(r_unit, r_period)
        if not ok[1]:
            continue
        iu, it = np.nonzero(treated)
        tau = y[iu, it] - x_unit[iu, 0] - x_period[it, 0]
        wt = w1[iu, it]
        valid_idx.append(idx)
        atts.append(float(wt @ tau / total))
        by_h.append(_horizon_effects(cal[it] - ft[iu], tau, wt, horizons))
    perm_h = np.vstack(by_h) if by_h else np.empty((0, horizons.size))
    return np.asarray(atts, dtype=np.float64), perm_h, np.asarray(valid_idx, dtype=np.int64)


def _permute_covariates(
    prep: _Prepared, horizons: IntArray, draws: list[IntArray]
) -> tuple[FloatArray, FloatArray, IntArray]:
    """Permutation draws with covariates: timing reassigned, covariates kept as observed.

    Each draw is the full estimator on the reassigned timing (covariates residualised on the
    draw's untreated rows, collinear ones dropped for that draw, delta, then the fixed
    effects), solved on unit x period matrices.
    """
    observed, y, w = _cell_matrices(prep)
    n_u, n_p = prep.n_units, prep.n_periods
    k = prep.x.shape[1]
    xc = np.zeros((n_u, n_p, k))
    xc[prep.unit, prep.period] = prep.x
    grid, cal = np.arange(n_p), prep.period_cal
    atts: list[float] = []
    by_h: list[FloatArray] = []
    seen: dict[bytes, tuple[float, FloatArray] | None] = {}
    valid_idx: list[int] = []
    for idx, ft in enumerate(draws):
        key = ft.tobytes()
        if key in seen:  # the same reassignment drawn again: same numbers
            hit = seen[key]
            if hit is not None:
                valid_idx.append(idx)
                atts.append(hit[0])
                by_h.append(hit[1])
            continue
        seen[key] = None
        treated = observed & (grid[None, :] >= np.searchsorted(cal, ft)[:, None])
        untreated = observed & ~treated
        if not treated.any():
            continue
        if np.any(treated.any(axis=1) & ~untreated.any(axis=1)):
            continue
        if np.any(treated.any(axis=0) & ~untreated.any(axis=0)):
            continue
        w1 = np.where(treated, w, 0.0)
        total = w1.sum()
        if total <= 0:
            continue
        fe = _TwoWayFE(untreated.astype(np.float64))
        y0 = np.where(untreated, y, 0.0)
        x0c = xc * untreated[:, :, None]
        r_unit = np.column_stack([y0.sum(axis=1), w1.sum(axis=1), x0c.sum(axis=1)])
        r_period = np.column_stack([y0.sum(axis=0), w1.sum(axis=0), x0c.sum(axis=0)])
        x_unit, x_period, ok = fe.solve(r_unit, r_period)
        if not ok[1]:
            continue
        iu0, it0 = np.nonzero(untreated)
        iu1, it1 = np.nonzero(treated)
        x0 = xc[iu0, it0]
        resid = x0 - x_unit[iu0, 2:] - x_period[it0, 2:]
        kept = _independent_columns(resid, x0)
        a, b = x_unit[:, 0], x_period[:, 0]
        tau = y[iu1, it1] - a[iu1] - b[it1]
        if kept.size:
            q, r = np.linalg.qr(resid[:, kept])
            yt0 = y[iu0, it0] - a[iu0] - b[it0]
            delta = linalg.solve_triangular(r, q.T @ yt0)
            x1 = xc[iu1, it1][:, kept]
            tau -= x1 @ delta
            tau += x_unit[iu1][:, 2 + kept] @ delta + x_period[it1][:, 2 + kept] @ delta
        wt = w1[iu1, it1]
        result = (float(wt @ tau / total), _horizon_effects(cal[it1] - ft[iu1], tau, wt, horizons))
        seen[key] = result
        valid_idx.append(idx)
        atts.append(result[0])
        by_h.append(result[1])
    perm_h = np.vstack(by_h) if by_h else np.empty((0, horizons.size))
    return np.asarray(atts, dtype=np.float64), perm_h, np.asarray(valid_idx, dtype=np.int64)


def _perm_p(
    estimate: float, a: FloatArray, b: FloatArray, c: FloatArray, count: IntArray | None = None
) -> FloatArray:
    """Permutation p-value of H0: effect = c, for each c (vectorised).

    Under H0 the untreated outcomes are Y(0) = Y − c·D; the estimator is linear, so a
    draw's statistic is ``a_d − c·b_d`` (a_d, b_d: the draw's estimate on Y and on D) and
    the observed one ``estimate − c`` (the estimate of D under the observed timing is 1).
    ``p(c) = (1 + #{d : |a_d − c·b_d| ≥ |estimate − c|}) / (1 + n)``, each draw d counted
    ``count[d]`` times (a reassignment drawn that often; default once)."""
    c = np.atleast_1d(np.asarray(c, dtype=np.float64))
    obs = np.abs(estimate - c)
    tol = 1e-12 * np.maximum(1.0, np.maximum(np.abs(estimate), np.abs(c)))
    stat = np.abs(a[:, None] - c[None, :] * b[:, None])
    hits = stat >= (obs - tol)[None, :]
    if count is None:
        return (1.0 + hits.sum(axis=0)) / (1.0 + a.size)
    # whole numbers: the sum is exact in any order
    return (1.0 + count.astype(np.float64) @ hits) / (1.0 + float(count.sum()))


def _perm_points(
    estimate: FloatArray, a: FloatArray, b: FloatArray, draw_bounds: IntArray
) -> tuple[FloatArray, IntArray, IntArray, IntArray, IntArray]:
    """The points at which ``_perm_inversions`` evaluates each test, one sorted block of
    distinct points per test: its breakpoints ``(a_d − e)/(b_d − 1)`` and
    ``(a_d + e)/(b_d + 1)``, the midpoints between consecutive ones, two far points beyond
    them, the estimate e and 0. Test g's draws are ``draw_bounds[g]:draw_bounds[g + 1]``.

    Returns (points, block bounds, and as indices into points: per draw the first point
    at or after each of its two breakpoints, per test that of the estimate and of 0).

    Each test sorts its breakpoints once: the midpoints lie between the breakpoints they
    split and the far points beyond all of them, so interleaving them keeps the order, and
    where each breakpoint, e and 0 land is followed through that interleaving and the
    dropping of repeated points rather than searched for again (a block that comes out
    unsorted, e.g. after an overflow, is sorted and searched instead)."""
    n_tests = estimate.size
    blocks: list[FloatArray] = []
    first_at = np.zeros(a.size, dtype=np.int64)
    second_at = np.zeros(a.size, dtype=np.int64)
    at_est = np.zeros(n_tests, dtype=np.int64)
    at_zero = np.zeros(n_tests, dtype=np.int64)
    offset = 0
    point_bounds = np.zeros(n_tests + 1, dtype=np.int64)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        for g in range(n_tests):
            e = float(estimate[g])
            lo_d, hi_d = int(draw_bounds[g]), int(draw_bounds[g + 1])
            n = hi_d - lo_d
            roots = np.concatenate(
                [
                    (a[lo_d:hi_d] - e) / (b[lo_d:hi_d] - 1.0),
                    (a[lo_d:hi_d] + e) / (b[lo_d:hi_d] + 1.0),
                ]
            )
            finite = np.isfinite(roots)
            at_root = np.flatnonzero(finite)
            order = np.argsort(roots[at_root])
            ranked = roots[at_root[order]]
            new = np.empty(ranked.size, dtype=bool)
            new[:1] = True
            np.not_equal(ranked[1:], ranked[:-1], out=new[1:])
            distinct = ranked[new]
            span = 1.0 + (max(-distinct[0], distinct[-1]) if distinct.size else abs(e))
            far = span * 2.0 + abs(e)
            # [-far, r0, m0, r1, m1, ..., r_last, far]: root i at 1 + 2i
            chain = np.empty(max(2 * distinct.size + 1, 2))
            chain[0], chain[-1] = -far, far
            chain[1:-1:2] = distinct
            chain[2:-1:2] = (distinct[1:] + distinct[:-1]) / 2.0
            extra = np.array([min(e, 0.0), max(e, 0.0)])
            ins = np.searchsorted(chain, extra)
            full = np.insert(chain, ins, extra)
            keep = np.empty(full.size, dtype=bool)
            keep[:1] = True
            np.not_equal(full[1:], full[:-1], out=keep[1:])
            if np.all(full[1:] >= full[:-1]) and np.isfinite(far):
                rank = np.cumsum(keep) - 1  # index in full -> index among the distinct points
                points = full[keep]
                root_at = np.empty(roots.size, dtype=np.int64)
                # root i of ``distinct`` sits at 1 + 2i in chain, shifted by e and 0 before it
                chain_at = 1 + 2 * (np.cumsum(new) - 1)
                chain_at = chain_at + (ins[0] <= chain_at) + (ins[1] <= chain_at)
                root_at[at_root[order]] = rank[chain_at]
                # a breakpoint at ±inf or NaN: first point at or after it, as searchsorted
                off = np.flatnonzero(~finite)
                root_at[off] = np.where(roots[off] == -np.inf, 0, points.size)
                # extra[0] went in at ins[0], extra[1] at ins[1] + 1
                e_at = rank[ins[0] if e <= 0.0 else ins[1] + 1]
                zero_at = rank[ins[1] + 1 if e < 0.0 else ins[0]]
            else:
                points = np.unique(full)
                root_at = np.searchsorted(points, roots)
                e_at, zero_at = np.searchsorted(points, [e, 0.0])
            first_at[lo_d:hi_d] = offset + root_at[:n]
            second_at[lo_d:hi_d] = offset + root_at[n:]
            at_est[g], at_zero[g] = offset + e_at, offset + zero_at
            blocks.append(points)
            offset += points.size
            point_bounds[g + 1] = offset
    return np.concatenate(blocks), point_bounds, first_at, second_at, np.stack([at_est, at_zero])


def _perm_p_sweep(
    e: FloatArray,
    a: FloatArray,
    b: FloatArray,
    start: IntArray,
    end: IntArray,
    first_at: IntArray,
    second_at: IntArray,
    n_points: int,
    count: FloatArray,
) -> FloatArray:
    """How many draws count towards ``_perm_p`` at every point of every test, in
    O(n + P) once the points are sorted rather than O(n·P).

    Per draw: its test's estimate ``e``, its statistics ``a, b``, its test's block of
    points ``start:end``, the indices in it of its two breakpoints
    ``(a − e)/(b − 1)`` and ``(a + e)/(b + 1)`` (``_perm_points``) and how many times it
    was drawn (``count``).
    ``|a − c·b| ≥ |e − c|`` squares to ``L1(c)·L2(c) ≥ 0`` with ``L1 = (a − e) − c(b − 1)``
    and ``L2 = (a + e) − c(b + 1)``, whose roots are the two breakpoints: with b² > 1 the
    draw counts outside them, with b² < 1 between them (ends included either way), and with
    b = ±1 on one side of the one root (everywhere when the other factor is 0). Each draw
    thus adds its count on one or two runs of consecutive points of its own block: one
    difference array serves every test."""
    size = n_points + 1
    # every run's +count at its first point and -count at its stop, gathered and counted in
    # one pass (the counts are small whole numbers: exact in any order)
    marks: list[IntArray] = []
    steps: list[FloatArray] = []

    def add(first: IntArray, stop: IntArray, weight: FloatArray) -> None:
        marks.extend((first, stop))
        steps.extend((weight, -weight))

    gen = (b != 1.0) & (b != -1.0)
    il = np.minimum(first_at[gen], second_at[gen])
    ih = np.maximum(first_at[gen], second_at[gen])
    w = count[gen]
    inside = (b[gen] ** 2) < 1.0
    add(il[inside], ih[inside] + 1, w[inside])
    whole = ~inside  # everywhere but strictly between the roots:
    add(start[gen][whole], end[gen][whole], w[whole])
    gap = whole & (il + 1 < ih)
    add(il[gap] + 1, ih[gap], -w[gap])
    for sign, at, other in ((1.0, second_at, a - e), (-1.0, first_at, a + e)):
        # b = 1: (a − e)·(a + e − 2c) ≥ 0;  b = −1: (a + e)·((a − e) + 2c) ≥ 0
        on = b == sign
        idx, o, w_on = at[on], other[on], count[on]
        below = o > 0 if sign == 1.0 else o < 0
        above = (o != 0) & ~below
        zero = o == 0
        add(start[on][zero], end[on][zero], w_on[zero])
        add(start[on][below], idx[below] + 1, w_on[below])
        add(idx[above], end[on][above], w_on[above])
    diff = np.bincount(np.concatenate(marks), weights=np.concatenate(steps), minlength=size)
    return np.asarray(np.cumsum(diff[:size])[:n_points], dtype=np.float64)


def _perm_inversion(
    estimate: float, a: FloatArray, b: FloatArray, alpha: float, count: IntArray | None = None
) -> tuple[float, float, float, float]:
    """``_perm_inversions`` of one test: (se, ci_low, ci_high, p at 0)."""
    out = _perm_inversions(
        np.array([estimate], dtype=np.float64),
        a,
        b,
        np.zeros(a.size, dtype=np.int64),
        alpha,
        count,
    )
    return float(out[0, 0]), float(out[0, 1]), float(out[0, 2]), float(out[0, 3])


def _perm_inversions(
    estimate: FloatArray,
    a: FloatArray,
    b: FloatArray,
    group: IntArray,
    alpha: float,
    count: IntArray | None = None,
) -> FloatArray:
    """(se, ci_low, ci_high, p at 0) of each test g (a row each): the confidence interval as
    the inversion of the same permutation test, ``{c : p(c) ≥ alpha}`` (``_perm_p``; c is
    rejected when p < alpha), on the draws ``a[d], b[d]`` with ``group[d] == g`` (each test
    at least one draw), draw d counted ``count[d]`` times (default once): a reassignment
    drawn several times is solved and passed once.

    p(c) only changes where ``|a_d − c·b_d| = |estimate − c|``, i.e. at
    c = (a_d − estimate) / (b_d − 1) and c = (a_d + estimate) / (b_d + 1), and at such a
    point it is at least its value on either side (ties count), so the accepted set is
    closed; it is evaluated at those points, between them and beyond them, so the set is
    exact. The interval is the stretch of accepted c around the estimate (p = 1 there),
    ending at accepted breakpoints (infinite when p never drops below alpha), widened to take
    in 0 when 0 itself is accepted — so "the interval excludes zero" holds exactly when
    p(0) < alpha. The width does not grow with the effect (the null is re-centred at each
    c). se = sd of the draws' statistics under H0: effect = estimate.

    p at all points of all tests comes from one ``_perm_p_sweep``; ``_perm_p`` itself (whose
    comparison allows a rounding tolerance) is then evaluated where the decision could hinge
    on that tolerance — the interval's ends and the points just beyond, 0, and every point
    whose p is within a few draws of alpha — and if it disagrees anywhere in a test, at
    every point of that test."""
    n_tests = estimate.size
    order = np.argsort(group, kind="stable")
    a, b, group = a[order], b[order], group[order]
    if count is None:
        count = np.ones(a.size, dtype=np.int64)
    count = np.asarray(count, dtype=np.int64)[order]
    weight = count.astype(np.float64)
    draw_bounds = np.concatenate([[0], np.cumsum(np.bincount(group, minlength=n_tests))])
    # draws per test, repeats included (whole numbers: exact)
    n_draws = np.bincount(group, weights=weight, minlength=n_tests).astype(np.int64)
    e = estimate[group]
    stat0 = a - e * b
    mean = np.bincount(group, weights=weight * stat0, minlength=n_tests) / np.maximum(n_draws, 1)
    ss = np.bincount(group, weights=weight * (stat0 - mean[group]) ** 2, minlength=n_tests)
    se = np.where(n_draws > 1, np.sqrt(ss / np.maximum(n_draws - 1, 1)), math.nan)
    points, block, first_at, second_at, (at_est, at_zero) = _perm_points(
        estimate, a, b, draw_bounds
    )
    first, last = block[:-1], block[1:] - 1
    own = np.repeat(np.arange(n_tests), np.diff(block))  # each point's test
    counts = _perm_p_sweep(
        e, a, b, block[group], block[group + 1], first_at, second_at, points.size, weight
    )
    p_fast = (1.0 + counts) / (1.0 + n_draws[own])
    accepted = p_fast >= alpha
    idx = np.arange(points.size)

    def stretch(acc: BoolArray) -> tuple[IntArray, IntArray]:
        """Per test, the first and last index of the run of accepted points around the
        estimate's (within the test's block)."""
        before = np.maximum.accumulate(np.where(acc, -1, idx))  # last rejected at or before
        after = np.minimum.accumulate(np.where(acc, points.size, idx)[::-1])[::-1]
        return np.maximum(before[at_est] + 1, first), np.minimum(after[at_est] - 1, last)

    lo, hi = stretch(accepted)
    near = np.abs(p_fast - alpha) <= 3.5 / (1.0 + n_draws[own])
    near &= (idx >= np.maximum(lo - 1, first)[own]) & (idx <= (hi + 1)[own])
    ends = np.concatenate([lo - 1, lo, hi, hi + 1, at_est, at_zero])
    ends_test = np.tile(np.arange(n_tests), 6)
    inside = (ends >= first[ends_test]) & (ends <= last[ends_test])
    check = np.unique(np.concatenate([np.flatnonzero(near), ends[inside]]))
    p_check = np.empty(check.size)
    check_bounds = np.searchsorted(check, block)
    for g in range(n_tests):
        sl, mine = (
            slice(check_bounds[g], check_bounds[g + 1]),
            slice(draw_bounds[g], draw_bounds[g + 1]),
        )
        p_check[sl] = _perm_p(float(estimate[g]), a[mine], b[mine], points[check[sl]], count[mine])
    wrong = np.unique(own[check][(p_check >= alpha) != accepted[check]])
    for g in wrong:  # the tolerance decides somewhere in this test: every point exactly
        sl, mine = slice(first[g], last[g] + 1), slice(draw_bounds[g], draw_bounds[g + 1])
        p_sl = _perm_p(float(estimate[g]), a[mine], b[mine], points[sl], count[mine])
        accepted[sl] = p_sl >= alpha
    if wrong.size:
        lo, hi = stretch(accepted)
    ci_low = np.where(lo == first, -math.inf, points[lo])
    ci_high = np.where(hi == last, math.inf, points[hi])
    p0 = p_check[np.searchsorted(check, at_zero)]  # 0 is always among the points checked
    zero_in = p0 >= alpha  # 0 accepted (possibly in another stretch): the interval holds it
    ci_low = np.where(zero_in, np.minimum(ci_low, 0.0), ci_low)
    ci_high = np.where(zero_in, np.maximum(ci_high, 0.0), ci_high)
    return np.column_stack([se, ci_low, ci_high, p0])


# --------------------------------------------------------------------------------------
# Formatting helpers
# --------------------------------------------------------------------------------------


def _direction_sign(direction: str) -> int:
    """``metrics.rules.direction_sign``, its refusal as an ``EstimationError``."""
    try:
        return direction_sign(direction)
    except DirectionError as exc:
        raise EstimationError(str(exc)) from exc


def _fmt(x: float) -> str:
    if not math.isfinite(x):
        return "n/a"
    ax = abs(x)
    if ax >= 1000:
        return f"{x:,.0f}"
    if ax >= 1:
        return f"{x:.2f}"
    return f"{x:.3g}"


def _fmt_p(p: float) -> str:
    if not math.isfinite(p):
        return "p n/a"
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"
