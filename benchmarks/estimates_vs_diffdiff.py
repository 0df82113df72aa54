"""Causal estimates of every demo innovation, with full inference, against diff-diff.

Same run, same panels: ``services.estimates.compute`` on the demo account (every
innovation with a rollout, on its main target KPI, the other innovations controlled for,
permutation inference where few units are treated — what the dashboard stores: the
average effect with its permutation interval and p-value; the per-horizon intervals of the
detail page's event study are not part of a stored estimate, and diff-diff's default fit
gives the average only) is timed;
every panel it hands to ``metrics.impact.estimate_effect`` is recorded, and diff-diff's
``ImputationDiD`` then fits each of those panels (outcome, unit, period, first treated,
covariates) with its clustered standard errors only. Printed: both times, the ratio
(target ≤ 1.5×), how many panels used permutation inference and how many distinct
reassignments they solved. Ours is timed twice: as the dashboard runs it (building each
innovation's panel from the account data, then estimating: diff-diff is handed those panels
ready-made, so this line favours diff-diff), and on exactly the recorded panels with the
same arguments (``estimate_effect`` alone: like with like).

    nice -n 10 .venv/bin/python benchmarks/estimates_vs_diffdiff.py [--repeat 3]

CPU time of this process (``time.process_time``) and wall time; each round times the
three in turn, so a busy machine inflates them alike; every round's figures and ratios are
printed, then the best of ``--repeat`` rounds.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import _common  # noqa: F401  (puts the repository on sys.path)
import numpy as np
import pandas as pd

from metrics import impact
from services.estimates import compute, estimate_innovations


def record_panels(data: Any) -> tuple[list[tuple[pd.DataFrame, dict[str, Any], Any]], int]:
    """Every (panel, keyword arguments, estimate) ``estimate_effect`` gives for the demo, and
    the number of innovations estimated."""
    seen: list[tuple[pd.DataFrame, dict[str, Any], Any]] = []
    real = impact.estimate_effect

    def spy(panel: pd.DataFrame, **kw: Any) -> Any:
        est = real(panel, **kw)
        seen.append((panel.copy(), dict(kw), est))
        return est

    impact.estimate_effect = spy
    try:
        n_innovations = len(estimate_innovations(data))
    finally:
        impact.estimate_effect = real
    return seen, n_innovations


def distinct_reassignments(panel: pd.DataFrame, kw: dict[str, Any]) -> int:
    """How many distinct reassignments the permutation draws of this panel hold (the
    estimator solves each once)."""
    prep = impact._prepare(
        panel,
        kw["unit"],
        kw["period"],
        kw["outcome"],
        kw["first_treated"],
        kw.get("weight"),
        kw.get("covariates") or (),
    )
    draws = impact._reassignments(prep.ft_cal, kw.get("n_permutations", 999), kw.get("seed", 0))
    return len(np.unique(draws, axis=0))


def diff_diff_fit(panel: pd.DataFrame, kw: dict[str, Any]) -> None:
    import diff_diff

    unit, period, outcome, ft = kw["unit"], kw["period"], kw["outcome"], kw["first_treated"]
    df = panel.copy()
    # diff-diff wants numeric periods and 0 for never treated: months as integers
    if pd.api.types.is_datetime64_any_dtype(df[period]):
        months = pd.to_datetime(df[period])
        df[period] = months.dt.year * 12 + months.dt.month
        f = pd.to_datetime(df[ft])
        df[ft] = (f.dt.year * 12 + f.dt.month).fillna(0)
    else:
        df[ft] = df[ft].fillna(0)
    df = df[np.isfinite(df[outcome].astype(float))]
    covs = list(kw.get("covariates") or []) or None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        diff_diff.ImputationDiD().fit(
            df, outcome=outcome, unit=unit, time=period, first_treat=ft, covariates=covs
        )


def timed(fn: Any) -> tuple[float, float]:
    """(CPU, wall) seconds of one call."""
    c0, w0 = time.process_time(), time.perf_counter()
    fn()
    return time.process_time() - c0, time.perf_counter() - w0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    print("load average at the start: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    data = _common.demo_account(Path(tempfile.gettempdir()) / "tnn-bench-estimates.sqlite")
    panels, n_innovations = record_panels(data)  # also the warm-up run
    perm = [(p, kw) for p, kw, est in panels if est.inference == "permutation"]
    distinct = sum(distinct_reassignments(p, kw) for p, kw in perm)
    draws = sum(est.n_permutations for _, _, est in panels if est.inference == "permutation")

    def ours_on_panels() -> None:
        for p, kw, _ in panels:
            impact.estimate_effect(p, **kw)

    def reference() -> None:
        for p, kw, _ in panels:
            diff_diff_fit(p, kw)

    sides = {
        "ours, full inference, from the account": lambda: compute(data),
        "ours, full inference, same panels     ": ours_on_panels,
        "diff-diff, clustered SE, same panels  ": reference,
    }
    runs: dict[str, list[tuple[float, float]]] = {name: [] for name in sides}
    for _ in range(args.repeat):  # the three sides in turn, so load falls on each alike
        for name, fn in sides.items():
            runs[name].append(timed(fn))
    print(
        f"panels (estimator runs for the {n_innovations} demo innovations; a "
        f"run is repeated when a retired control is kept as one): {len(panels)}"
    )
    print(
        f"  of which permutation inference: {len(perm)} ({draws} valid draws, "
        f"{distinct} distinct reassignments solved)"
    )
    for name, got in runs.items():
        each = "  ".join(f"{c:.2f}/{w:.2f}" for c, w in got)
        best_cpu, best_wall = min(c for c, _ in got), min(w for _, w in got)
        print(f"{name}: CPU {best_cpu:7.2f} s   wall {best_wall:7.2f} s   (runs CPU/wall: {each})")
    (acc, same, ref) = (runs[name] for name in sides)
    for i in range(args.repeat):
        print(
            f"run {i + 1}: ratio ours / diff-diff CPU from the account "
            f"{acc[i][0] / ref[i][0]:5.2f}x, same panels {same[i][0] / ref[i][0]:5.2f}x "
            f"(wall {acc[i][1] / ref[i][1]:5.2f}x, {same[i][1] / ref[i][1]:5.2f}x)"
        )
    print("load average at the end: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    best_acc, best_same, best_ref = (min(c for c, _ in r) for r in (acc, same, ref))
    print(
        f"best of {args.repeat}: ratio ours / diff-diff CPU from the account "
        f"{best_acc / best_ref:5.2f}x, same panels {best_same / best_ref:5.2f}x (target <= 1.5x)"
    )


if __name__ == "__main__":
    main()
