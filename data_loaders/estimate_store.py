"""Stored causal estimates: computed once per data version, read by every server.

The estimates of an account (``services.estimates.estimate_innovations``: one estimator run per innovation,
tens of seconds) depend only on the account's data. They are stored as one ``estimate_run``
row per (account, data version) with one ``estimate_result`` row per innovation. The data
version is a hash of exactly what the estimates depend on (``metrics.versions``); it is
computed by the caller, so this module only stores and loads DataFrames (loaders → metrics
flows one way). An import or a rollback changes the data, hence the version, so stale rows
are never read; the newest ``KEEP_VERSIONS`` runs of an account are kept (a rollback back to
an earlier version finds its estimates again), older ones are deleted when a run is saved.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import pandas as pd
from sqlalchemy import Engine, delete, insert, select
from sqlalchemy.exc import IntegrityError

from data_loaders.schema import EstimateResult, EstimateRun

#: The columns of ``services.estimates.estimate_innovations`` (and of what ``load_estimates``
#: returns).
COLUMNS = [
    "innovation_id",
    "kpi_key",
    "estimated",
    "ci_low",
    "ci_high",
    "excludes_zero",
    "estimate_note",
]
#: Runs kept per account (newest first by computation time).
KEEP_VERSIONS = 5


def _float(v: Any) -> float | None:
    if v is None:
        return None
    f = float(v)
    return None if math.isnan(f) else f


def save_estimates(
    engine: Engine,
    account_id: int,
    version: str,
    frame: pd.DataFrame,
    *,
    seconds: float | None = None,
) -> None:
    """Store ``frame`` (the columns of ``COLUMNS``) as the estimates of ``account_id`` at data
    ``version``, replacing a run stored for that version before. A concurrent save of the
    same version (another server) wins silently: both computed the same thing."""
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"estimates frame lacks columns: {', '.join(missing)}")
    records: list[dict[Any, Any]] = frame[COLUMNS].to_dict("records")
    rows = [
        {
            "innovation_id": int(r["innovation_id"]),
            "kpi_key": str(r["kpi_key"]),
            "estimated": _float(r["estimated"]),
            "ci_low": _float(r["ci_low"]),
            "ci_high": _float(r["ci_high"]),
            "excludes_zero": bool(r["excludes_zero"]),
            "estimate_note": ""
            if r["estimate_note"] is None or r["estimate_note"] != r["estimate_note"]
            else str(r["estimate_note"]),
        }
        for r in records
    ]
    try:
        with engine.begin() as conn:
            _delete_runs(
                conn,
                select(EstimateRun.id).where(
                    EstimateRun.account_id == account_id, EstimateRun.data_version == version
                ),
            )
            run_id = conn.execute(
                insert(EstimateRun)
                .values(
                    account_id=account_id,
                    data_version=version,
                    computed_at=dt.datetime.now(dt.UTC).replace(tzinfo=None),
                    seconds=seconds,
                )
                .returning(EstimateRun.id)
            ).scalar_one()
            if rows:
                conn.execute(insert(EstimateResult), [dict(r, run_id=run_id) for r in rows])
            keep = (
                select(EstimateRun.id)
                .where(EstimateRun.account_id == account_id)
                .order_by(EstimateRun.computed_at.desc(), EstimateRun.id.desc())
                .limit(KEEP_VERSIONS)
            )
            _delete_runs(
                conn,
                select(EstimateRun.id).where(
                    EstimateRun.account_id == account_id,
                    EstimateRun.id.not_in([r for (r,) in conn.execute(keep)]),
                ),
            )
    except IntegrityError:
        if load_estimates(engine, account_id, version) is None:
            raise


def _delete_runs(conn, ids) -> None:
    run_ids = [r for (r,) in conn.execute(ids)]
    if run_ids:
        conn.execute(delete(EstimateResult).where(EstimateResult.run_id.in_(run_ids)))
        conn.execute(delete(EstimateRun).where(EstimateRun.id.in_(run_ids)))


def load_estimates(engine: Engine, account_id: int, version: str) -> pd.DataFrame | None:
    """The stored estimates of ``account_id`` at data ``version`` (columns ``COLUMNS``, by
    innovation id), or None when none are stored for that version. An account without any
    estimable innovation has a stored run with an empty frame, not None."""
    with engine.connect() as conn:
        run_id = conn.execute(
            select(EstimateRun.id).where(
                EstimateRun.account_id == account_id, EstimateRun.data_version == version
            )
        ).scalar_one_or_none()
        if run_id is None:
            return None
        rows = conn.execute(
            select(*(getattr(EstimateResult, c) for c in COLUMNS))
            .where(EstimateResult.run_id == run_id)
            .order_by(EstimateResult.innovation_id)
        ).all()
    out = pd.DataFrame([tuple(r) for r in rows], columns=COLUMNS)  # text: pandas' default
    if out.empty:
        return out
    out["innovation_id"] = out["innovation_id"].astype("int64")
    for c in ("estimated", "ci_low", "ci_high"):
        out[c] = pd.to_numeric(out[c], errors="coerce").astype("float64")
    out["excludes_zero"] = out["excludes_zero"].astype(bool)
    return out


def stored_runs(engine: Engine, account_id: int) -> pd.DataFrame:
    """The stored runs of an account, newest first: data_version, computed_at, seconds."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(EstimateRun.data_version, EstimateRun.computed_at, EstimateRun.seconds)
            .where(EstimateRun.account_id == account_id)
            .order_by(EstimateRun.computed_at.desc(), EstimateRun.id.desc())
        ).all()
    return pd.DataFrame(
        [tuple(r) for r in rows], columns=["data_version", "computed_at", "seconds"]
    )
