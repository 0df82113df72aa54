"""Causal estimates of every demo innovation, with full inference, against diff-diff.

Same run, same panels: ``services.estimates.estimate_innovations`` on the demo account (every innovation
with a rollout, on its main target KPI, the other innovations controlled for, permutation
inference where few units are treated — what the dashboard stores) is timed; every panel
it hands to ``metrics.impact.estimate_effect`` is recorded, and diff-diff's
``ImputationDiD`` then fits each of those panels (outcome, unit, period, first treated,
covariates) with its clustered standard errors only. Printed: both times, the ratio
(target ≤ 1.5×), how many panels used permutation inference and how many distinct
reassignments they solved. Ours is timed twice: as the dashboard runs it (building each
innovation's panel from the account data, then estimating: diff-diff is handed those panels
ready-made, so this line favours diff-diff), and on exactly the recorded panels with the
same arguments (``estimate_effect`` alone: like with like).

    nice -n 10 .venv/bin/python benchmarks/estimates_vs_diffdiff.py [--repeat 2]

CPU time of this process (``time.process_time``), best of ``--repeat`` runs each, so a busy
machine inflates both sides alike; wall time is printed too.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import _common  # noqa: F401  (puts the repository on sys.path)
import numpy as np
import pandas as pd

from data_loaders.access import Scope
from data_loaders.db import make_engine, migrate
from data_loaders.demo import load_demo
from data_loaders.queries import list_accounts, load_account_data
from metrics import impact
from services.estimates import estimate_innovations


def demo_data() -> Any:
    path = Path(tempfile.gettempdir()) / "tnn-bench-estimates.sqlite"
    fresh = not path.exists()
    engine = make_engine(f"sqlite:///{path}")
    migrate(engine)
    if fresh:
        load_demo(engine)
    scope = Scope.everything()
    aid = int(list_accounts(engine, scope)["account_id"].iloc[0])
    return load_account_data(engine, scope, aid)


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


def best(fn: Any, repeat: int) -> tuple[float, float]:
    cpu, wall = [], []
    for _ in range(repeat):
        c0, w0 = time.process_time(), time.perf_counter()
        fn()
        cpu.append(time.process_time() - c0)
        wall.append(time.perf_counter() - w0)
    return min(cpu), min(wall)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()
    data = demo_data()
    panels, n_innovations = record_panels(data)  # also the warm-up run
    perm = [(p, kw) for p, kw, est in panels if est.inference == "permutation"]
    distinct = sum(distinct_reassignments(p, kw) for p, kw in perm)
    draws = sum(est.n_permutations for _, _, est in panels if est.inference == "permutation")
    ours_cpu, ours_wall = best(lambda: estimate_innovations(data), args.repeat)

    def ours_on_panels() -> None:
        for p, kw, _ in panels:
            impact.estimate_effect(p, **kw)

    same_cpu, same_wall = best(ours_on_panels, args.repeat)

    def reference() -> None:
        for p, kw, _ in panels:
            diff_diff_fit(p, kw)

    ref_cpu, ref_wall = best(reference, args.repeat)
    print(
        f"panels (estimator runs for the {n_innovations} demo innovations; a "
        f"run is repeated when a retired control is kept as one): {len(panels)}"
    )
    print(
        f"  of which permutation inference: {len(perm)} ({draws} valid draws, "
        f"{distinct} distinct reassignments solved)"
    )
    print(
        f"ours, full inference, from the account: CPU {ours_cpu:7.2f} s   wall {ours_wall:7.2f} s"
    )
    print(
        f"ours, full inference, same panels     : CPU {same_cpu:7.2f} s   wall {same_wall:7.2f} s"
    )
    print(f"diff-diff, clustered SE, same panels  : CPU {ref_cpu:7.2f} s   wall {ref_wall:7.2f} s")
    print(
        f"ratio ours / diff-diff: from the account {ours_cpu / ref_cpu:5.2f}x, same panels "
        f"{same_cpu / ref_cpu:5.2f}x (CPU; wall {ours_wall / ref_wall:5.2f}x, "
        f"{same_wall / ref_wall:5.2f}x; target <= 1.5x)"
    )


if __name__ == "__main__":
    main()
