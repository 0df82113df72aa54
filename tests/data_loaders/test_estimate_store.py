"""Stored causal estimates: a round trip gives back the frame of ``services.estimates.estimate_innovations``
exactly, per (account, data version), on SQLite and PostgreSQL."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import Engine, func, select

from data_loaders.estimate_store import (
    COLUMNS,
    KEEP_VERSIONS,
    load_estimates,
    save_estimates,
    stored_runs,
)
from data_loaders.schema import EstimateResult, EstimateRun


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        [
            (3, "aht_sec", -125_000.5, -180_000.0, -70_000.25, True, "ATT −4.1 % (95 % CI …)"),
            (7, "cost_per_txn", np.nan, np.nan, np.nan, False, "INN-007 has no data after go-live"),
            (11, "fte", 1e9, -1e-3, 2e9, False, ""),
        ],
        columns=COLUMNS,
    )


def test_round_trip(engine: Engine) -> None:
    """Saved then loaded: the same values, NaN kept, text kept, booleans kept."""
    frame = _frame()
    save_estimates(engine, 1, "v1", frame, seconds=12.5)
    out = load_estimates(engine, 1, "v1")
    assert out is not None
    pd.testing.assert_frame_equal(out, frame, check_dtype=False)
    assert out["innovation_id"].dtype == "int64" and out["excludes_zero"].dtype == bool
    assert out["estimated"].dtype == "float64"
    runs = stored_runs(engine, 1)
    assert list(runs["data_version"]) == ["v1"] and runs["seconds"].iloc[0] == 12.5


def test_versions_and_accounts_are_separate(engine: Engine) -> None:
    """Another version or another account is a miss (None), never someone else's rows."""
    save_estimates(engine, 1, "v1", _frame())
    assert load_estimates(engine, 1, "v2") is None
    assert load_estimates(engine, 2, "v1") is None


def test_saving_a_version_again_replaces_it(engine: Engine) -> None:
    save_estimates(engine, 1, "v1", _frame())
    changed = _frame().iloc[:1].assign(estimated=42.0)
    save_estimates(engine, 1, "v1", changed)
    out = load_estimates(engine, 1, "v1")
    assert out is not None and list(out["estimated"]) == [42.0]
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(EstimateRun)).scalar() == 1
        assert conn.execute(select(func.count()).select_from(EstimateResult)).scalar() == 1


def test_no_estimable_innovation_is_stored_as_empty(engine: Engine) -> None:
    """An account whose innovations cannot be estimated is stored too (not recomputed)."""
    save_estimates(engine, 1, "v1", pd.DataFrame(columns=COLUMNS))
    out = load_estimates(engine, 1, "v1")
    assert out is not None and out.empty and list(out.columns) == COLUMNS


def test_only_the_newest_versions_are_kept(engine: Engine) -> None:
    for i in range(KEEP_VERSIONS + 2):
        save_estimates(engine, 1, f"v{i}", _frame())
    save_estimates(engine, 2, "other", _frame())
    kept = stored_runs(engine, 1)["data_version"].tolist()
    assert len(kept) == KEEP_VERSIONS and "v0" not in kept and f"v{KEEP_VERSIONS + 1}" in kept
    assert load_estimates(engine, 2, "other") is not None
    with engine.connect() as conn:
        n = conn.execute(select(func.count()).select_from(EstimateResult)).scalar()
    assert n == 3 * (KEEP_VERSIONS + 1)


def test_missing_columns_are_refused(engine: Engine) -> None:
    with pytest.raises(ValueError, match="lacks columns: estimate_note"):
        save_estimates(engine, 1, "v1", _frame().drop(columns=["estimate_note"]))
