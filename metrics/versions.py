"""Data versions: a deterministic hash of exactly what a stored result depends on.

``estimates_version(data)`` names the inputs of ``services.estimates.estimate_innovations``:
the account's monthly aggregates, rollouts, innovation targets, the innovations' ids and
codes (the codes name the controls in the notes), stages and closed dates (a retired
innovation is treated only until its retirement) and the KPI definitions, plus ``ESTIMATES_METHOD`` (bump it
when the estimator changes, so stored estimates are recomputed). The same data gives the
same version on every server and run; any change of an observation, rollout, target or KPI
— an import, a rollback — gives a new one, so stored estimates of old data are never used.
"""

from __future__ import annotations

import hashlib

import pandas as pd

from data_loaders.queries import AccountData

#: The estimator and its settings (``metrics.impact.innovation_effect``: imputation estimator,
#: 999 seeded permutation draws, log scale, other innovations controlled for; v3: horizons and
#: cohorts on the calendar, so a month no unit has data for is skipped, not merged).
ESTIMATES_METHOD = (
    "bjs-imputation/permutation-999-seed-0/log/controls/retirement/calendar-horizons/v3"
)


def _frame_digest(h: hashlib._Hash, name: str, frame: pd.DataFrame) -> None:
    """Feed one frame into ``h``: name, sorted column names and dtypes, and the per-row hashes
    of its rows in a canonical order (sorted by every column), so row order does not matter."""
    cols = sorted(frame.columns)
    f = frame[cols].copy()
    for c in cols:  # mixed-type object columns: hash their text
        if f[c].dtype == object:
            f[c] = f[c].map(
                lambda v: (
                    None
                    if v is None or v is pd.NA
                    else ("nan" if isinstance(v, float) and v != v else repr(v))
                )
            )
    f = f.sort_values(cols, na_position="last", kind="mergesort").reset_index(drop=True)
    h.update(f"{name}|{len(f)}|".encode())
    h.update("|".join(f"{c}:{f[c].dtype}" for c in cols).encode())
    if len(f):
        h.update(pd.util.hash_pandas_object(f, index=False).to_numpy().tobytes())


def estimates_version(data: AccountData) -> str:
    """64 hex characters naming the inputs of ``services.estimates.estimate_innovations`` for this account."""
    h = hashlib.sha256(ESTIMATES_METHOD.encode())
    _frame_digest(h, "monthly", data.monthly)
    _frame_digest(h, "rollouts", data.rollouts)
    _frame_digest(h, "targets", data.targets)
    cols = [c for c in ("innovation_id", "code", "stage", "closed_date") if c in data.innovations]
    _frame_digest(h, "innovations", data.innovations[cols])
    _frame_digest(h, "kpis", data.kpis)
    return h.hexdigest()
