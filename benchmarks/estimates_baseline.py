"""Save, or compare against, every demo estimate in full: the check that a speed change of
the estimator changed no result.

For every estimator run the demo's stored estimates make (``metrics.impact.estimate_effect``
as ``services.estimates.estimate_innovations`` calls it, the retired-control re-runs
included), it records the ATT, SE, interval, p-value, the number of valid permutation
draws, the warnings, the covariates used and their coefficients, and every ``by_horizon``
row; and the stored frame itself (money estimate, interval, the sentence).

    .venv/bin/python benchmarks/estimates_baseline.py save /tmp/baseline.pkl
    .venv/bin/python benchmarks/estimates_baseline.py compare /tmp/baseline.pkl

``compare`` prints the largest difference of each kind and exits non-zero when a p-value,
a draw count, a warning, a covariate list or a sentence differs, or a number is more than
``--tol`` (relative to max(1, |value|); default 1e-9) apart.
"""

from __future__ import annotations

import argparse
import math
import pickle
import sys
import tempfile
from pathlib import Path
from typing import Any

import _common  # noqa: F401  (puts the repository on sys.path)
import numpy as np
import pandas as pd

from data_loaders.queries import AccountData
from metrics import impact
from services.estimates import estimate_innovations


def _average(est: impact.EffectEstimate) -> tuple[Any, ...]:
    """What an estimate says of the average effect (everything but the horizons)."""
    return (
        est.att,
        est.se,
        est.ci_low,
        est.ci_high,
        est.p_value,
        est.covariate_coefficients,
        est.n_permutations,
        est.warnings,
        est.covariates,
    )


def snapshot(data: AccountData) -> dict[str, Any]:
    """Every estimator run's results, in call order, and the stored frame.

    The stored estimates skip the horizons' permutation intervals
    (``horizon_inference=False``); each run is therefore made twice, as the service makes
    it and with the horizons' intervals (as the detail page makes it), and recorded from
    the second, while ``average_same`` says whether the two agree on everything else."""
    runs: list[dict[str, Any]] = []
    real = impact.estimate_effect

    def spy(panel: pd.DataFrame, **kw: Any) -> impact.EffectEstimate:
        service = real(panel, **kw)
        est = real(panel, **{**kw, "horizon_inference": True})
        same = _average(service) == _average(est)
        runs.append(
            {
                "numbers": np.array(
                    [est.att, est.se, est.ci_low, est.ci_high, *est.covariate_coefficients],
                    dtype=np.float64,
                ),
                "p_value": est.p_value,
                "exact": (
                    est.n_permutations,
                    est.n_units,
                    est.n_treated_units,
                    est.n_treated_obs,
                    est.n_obs,
                    est.inference,
                    est.warnings,
                    est.covariates,
                ),
                "by_horizon": est.by_horizon.copy(),
                "average_same": same,
            }
        )
        return service

    impact.estimate_effect = spy
    try:
        frame = estimate_innovations(data)
    finally:
        impact.estimate_effect = real
    return {"runs": runs, "frame": frame}


def _rel(a: np.ndarray, b: np.ndarray) -> float:
    """Largest |a - b| / max(1, |a|), NaN equal to NaN, NaN against a number infinite."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        return math.inf
    both_nan = np.isnan(a) & np.isnan(b)
    if np.any(np.isnan(a) != np.isnan(b)):
        return math.inf
    with np.errstate(invalid="ignore"):
        d = np.abs(a - b) / np.maximum(1.0, np.abs(a))
    d[both_nan] = 0.0
    return float(d.max()) if d.size else 0.0


def compare(old: dict[str, Any], new: dict[str, Any], tol: float) -> list[str]:
    """The differences beyond ``tol`` (an empty list: the same results); prints the largest
    numeric difference found."""
    problems: list[str] = []
    if len(old["runs"]) != len(new["runs"]):
        return [f"{len(old['runs'])} estimator runs before, {len(new['runs'])} now"]
    worst = 0.0
    for i, (a, b) in enumerate(zip(old["runs"], new["runs"], strict=True)):
        if a["exact"] != b["exact"]:
            problems.append(f"run {i}: counts, warnings or covariates differ")
        if not b.get("average_same", True):
            problems.append(f"run {i}: the average effect differs without the horizons' inference")
        pa, pb = a["p_value"], b["p_value"]
        if not (pa == pb or (np.isnan(pa) and np.isnan(pb))):
            problems.append(f"run {i}: p-value {pa!r} -> {pb!r}")
        d = _rel(a["numbers"], b["numbers"])
        ha, hb = a["by_horizon"], b["by_horizon"]
        if (
            list(ha.columns) != list(hb.columns)
            or list(ha.dtypes) != list(hb.dtypes)
            or not ha.index.equals(hb.index)
        ):
            problems.append(f"run {i}: by_horizon columns, dtypes or index differ")
        else:
            d = max(d, _rel(ha.to_numpy(dtype=np.float64), hb.to_numpy(dtype=np.float64)))
        worst = max(worst, d)
        if d > tol:
            problems.append(f"run {i}: a number differs by {d:.3g} (relative)")
    fa, fb = old["frame"], new["frame"]
    numeric = ["estimated", "ci_low", "ci_high"]
    if list(fa.columns) != list(fb.columns) or len(fa) != len(fb):
        problems.append("stored frame shape differs")
    else:
        text = [c for c in fa.columns if c not in numeric]
        if not fa[text].equals(fb[text]):
            problems.append("stored frame: ids, keys, excludes_zero or sentences differ")
        d = _rel(fa[numeric].to_numpy(dtype=np.float64), fb[numeric].to_numpy(dtype=np.float64))
        worst = max(worst, d)
        if d > tol:
            problems.append(f"stored frame: money differs by {d:.3g} (relative)")
    print(f"{len(new['runs'])} estimator runs; largest relative difference {worst:.3g}")
    return problems


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("action", choices=["save", "compare"])
    ap.add_argument("file", type=Path)
    ap.add_argument("--tol", type=float, default=1e-9)
    ap.add_argument(
        "--db-file",
        type=Path,
        default=Path(tempfile.gettempdir()) / "tnn-estimates-baseline.sqlite",
        help="SQLite file holding the demo (made when missing)",
    )
    args = ap.parse_args()
    snap = snapshot(_common.demo_account(args.db_file))
    if args.action == "save":
        args.file.write_bytes(pickle.dumps(snap))
        print(f"saved {len(snap['runs'])} estimator runs to {args.file}")
        return
    problems = compare(pickle.loads(args.file.read_bytes()), snap, args.tol)
    for p in problems:
        print(p)
    print("SAME RESULTS" if not problems else f"{len(problems)} DIFFERENCE(S)")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
