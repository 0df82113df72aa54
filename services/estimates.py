"""The causal estimates workflow: stored estimates, else compute them once and store them.

``ensure_estimates(engine, scope, account_id)`` returns the estimates of the account's
current data. They are stored per data version (``data_loaders.estimate_store``; version =
``metrics.versions.estimates_version``, a hash of exactly what they depend on), so the data
and its estimates can never be paired wrongly: whoever reads data at a version reads the
estimates of that version.

One computation per data version, even with concurrent callers (two imports, two servers, a
server and the CLI): before computing, a caller inserts the ``estimate_claim`` row of
(account, version) — its primary key lets only one succeed, on SQLite and PostgreSQL alike.
The others wait for the stored run (polling every ``POLL`` seconds, saying so through
``progress``), then return it. A claim is deleted when the run is stored or the computation
fails. The computing caller refreshes its claim after every innovation (a heartbeat); a
claim not refreshed for ``STALE_CLAIM``, or whose process is gone (same host), is taken
over — a killed process never blocks the estimates.

``estimate_innovations(data)`` is the batch itself — one estimator run per innovation
(``metrics.innovation_views.estimate_innovation``), the frame that is stored; ``compute``
runs it innovation by innovation with progress.

Called by the CLI after imports and rollbacks, and by the app outside any ``st.cache_data``
function (a cached function never writes to the database).
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sqlalchemy import Engine, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from data_loaders.access import Scope
from data_loaders.estimate_store import COLUMNS, load_estimates, save_estimates
from data_loaders.queries import AccountData, load_account_data, load_stored_estimates
from data_loaders.schema import EstimateClaim
from metrics.impact import EstimationError, KpiRows, kpi_rows
from metrics.innovation_views import (
    InnovationRecord,
    control_rollouts,
    estimate_innovation,
    innovation_records,
)
from metrics.versions import estimates_version

#: A claim not refreshed for this long is taken to be of a process that died while computing
#: (one innovation takes about a fifth of a second of CPU on the demo; far longer on a loaded machine).
STALE_CLAIM = dt.timedelta(minutes=3)
#: Seconds between two looks at whether the other caller has stored the run.
POLL = 0.5

Progress = Callable[[str], object]


@dataclass(frozen=True)
class Estimates:
    """The estimates of one account at one data version, and who computed them."""

    account: str  # the account's name as stored
    frame: pd.DataFrame
    version: str
    computed: bool  # True when this call computed them; False: they were stored (or waited for)
    seconds: float | None = None
    waited: float = 0.0  # seconds spent waiting for another caller's computation


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def _me() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"[:200]


def _gone(who: str) -> bool:
    """True when ``who`` (host:pid) is a process of this host that no longer runs."""
    host, _, pid = who.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # runs, as another user
        return False
    return False


def _claim(engine: Engine, account_id: int, version: str) -> bool:
    """True when this caller now holds the claim of (account, version)."""
    who = _me()
    try:
        with engine.begin() as conn:
            conn.execute(
                insert(EstimateClaim).values(
                    account_id=account_id, data_version=version, claimed_at=_now(), claimed_by=who
                )
            )
        return True
    except IntegrityError:
        return False


def _heartbeat(engine: Engine, account_id: int, version: str) -> None:
    with engine.begin() as conn:
        conn.execute(
            update(EstimateClaim)
            .where(EstimateClaim.account_id == account_id, EstimateClaim.data_version == version)
            .values(claimed_at=_now())
        )


def _release(engine: Engine, account_id: int, version: str) -> None:
    with engine.begin() as conn:
        conn.execute(
            delete(EstimateClaim).where(
                EstimateClaim.account_id == account_id, EstimateClaim.data_version == version
            )
        )


def _holder(engine: Engine, account_id: int, version: str) -> tuple[dt.datetime, str] | None:
    with engine.connect() as conn:
        row = conn.execute(
            select(EstimateClaim.claimed_at, EstimateClaim.claimed_by).where(
                EstimateClaim.account_id == account_id, EstimateClaim.data_version == version
            )
        ).first()
    return None if row is None else (row[0], row[1])


def _take_over_stale(
    engine: Engine, account_id: int, version: str, claimed_at: dt.datetime
) -> None:
    with engine.begin() as conn:
        conn.execute(
            delete(EstimateClaim).where(
                EstimateClaim.account_id == account_id,
                EstimateClaim.data_version == version,
                EstimateClaim.claimed_at == claimed_at,
            )
        )


def estimate_innovations(
    data: AccountData,
    innovation_ids: Collection[int] | None = None,
    *,
    each: Callable[[int, int], None] | None = None,
) -> pd.DataFrame:
    """Causal estimate per innovation with a rollout, on its main target KPI (all units, all
    months), with the other innovations on that KPI controlled for — exactly the estimate of
    the Innovation-detail page (``metrics.innovation_views.estimate_innovation``).
    Columns: innovation_id, kpi_key, estimated, ci_low, ci_high, excludes_zero,
    estimate_note. Innovations that cannot be estimated get NaN and the reason.
    ``innovation_ids`` limits which innovations are estimated (every other one still serves
    as a control); ``each(i, n)`` is called after the i-th of the n innovations (so
    progress can be reported). The records and the controls are built once for the batch."""
    rows = []
    codes = data.innovations.set_index("innovation_id")["code"]
    ids = set(data.rollouts["innovation_id"]) & set(codes.index)
    if innovation_ids is not None:
        ids &= set(innovation_ids)
    controls = control_rollouts(data.rollouts, data.targets, data.innovations)
    records = innovation_records(data.innovations, data.targets, data.kpis, data.rollouts)
    panels: dict[str, KpiRows | None] = {}  # per KPI, shared by the innovations targeting it
    todo = sorted(ids)
    for i, iid in enumerate(todo, start=1):
        row = _estimate_one(data, records.get(int(iid)), controls, panels)
        if row is not None:
            rows.append(row)
        if each is not None:
            each(i, len(todo))
    return pd.DataFrame(rows, columns=COLUMNS)


def _estimate_one(
    data: AccountData,
    rec: InnovationRecord | None,
    controls: pd.DataFrame,
    panels: dict[str, KpiRows | None],
) -> tuple[object, ...] | None:
    """One row of ``estimate_innovations`` (None when the innovation has no main KPI);
    ``panels`` holds the KPIs' rows (``metrics.impact.kpi_rows``) prepared so far."""
    if rec is None or rec.main_kpi is None:
        return None
    key = rec.main_kpi
    iid = rec.innovation_id
    if key not in panels:
        try:
            panels[key] = kpi_rows(data.monthly, key)
        except EstimationError:  # no rows: the estimator says so, after its other checks
            panels[key] = None
    try:
        eff = estimate_innovation(
            data.monthly,
            data.rollouts,
            data.targets,
            data.innovations,
            rec,
            key,
            controls=controls,
            rows=panels[key],
            # the stored row is the average effect and its interval: the per-horizon
            # intervals (the detail page's event study computes its own) are not needed
            horizon_inference=False,
        )
    except EstimationError as exc:
        return (iid, key, np.nan, np.nan, np.nan, False, str(exc))
    est = eff.estimate
    return (
        iid,
        key,
        eff.money_total if eff.money_total is not None else np.nan,
        eff.money_ci_low if eff.money_ci_low is not None else np.nan,
        eff.money_ci_high if eff.money_ci_high is not None else np.nan,
        bool(est.excludes_zero),
        est.summary(),
    )


def compute(
    data: AccountData,
    progress: Progress | None = None,
    step: Callable[[], None] | None = None,
) -> pd.DataFrame:
    """The estimates of ``data``, innovation by innovation (so progress can be reported;
    ``step`` is called after each)."""
    started = time.perf_counter()

    def each(i: int, n: int) -> None:
        if step is not None:
            step()
        if progress is not None:
            progress(
                f"[{i / n:4.0%}] {data.account.name}: estimated {i} of {n} "
                f"innovations ({time.perf_counter() - started:.0f} s)"
            )

    return estimate_innovations(data, each=each)


def ensure_estimates(
    engine: Engine,
    scope: Scope,
    account_id: int,
    *,
    data: AccountData | None = None,
    force: bool = False,
    progress: Progress | None = None,
) -> Estimates:
    """The estimates of the account's current data: stored ones, else computed once (see the
    module docstring) and stored. ``data``: the account's data when the caller has it loaded
    already (it must be the current data: the version is computed from it). ``force``:
    recompute even when stored (still once: a concurrent caller waits for this run)."""
    scope.check(account_id)
    if data is None:
        data = load_account_data(engine, scope, account_id)
    version = estimates_version(data)
    waited_since: float | None = None
    while True:
        if not force:
            stored = load_estimates(engine, account_id, version)
            if stored is not None:
                waited = 0.0 if waited_since is None else time.perf_counter() - waited_since
                return Estimates(data.account.name, stored, version, computed=False, waited=waited)
        if _claim(engine, account_id, version):
            if not force:
                # Another caller may have saved and released between our read above and this
                # claim: its rows are there now, and computing again would store a second run.
                stored = load_estimates(engine, account_id, version)
                if stored is not None:
                    _release(engine, account_id, version)
                    waited = 0.0 if waited_since is None else time.perf_counter() - waited_since
                    return Estimates(
                        data.account.name, stored, version, computed=False, waited=waited
                    )
            break
        holder = _holder(engine, account_id, version)
        if holder is None:
            continue  # released between our insert and our look: read or claim again
        claimed_at, who = holder
        if _now() - claimed_at > STALE_CLAIM or _gone(who):
            _take_over_stale(engine, account_id, version, claimed_at)
            continue
        if waited_since is None:
            waited_since = time.perf_counter()
            if progress is not None:
                progress(
                    f"{data.account.name}: waiting for {who}, which has been computing the "
                    f"same estimates since {claimed_at:%H:%M:%S} UTC"
                )
        force = False  # the other caller's run is as fresh as ours would be
        time.sleep(POLL)
    try:
        started = time.perf_counter()
        frame = compute(data, progress, lambda: _heartbeat(engine, account_id, version))
        seconds = time.perf_counter() - started
        save_estimates(engine, account_id, version, frame, seconds=seconds)
    finally:
        _release(engine, account_id, version)
    return Estimates(data.account.name, frame, version, computed=True, seconds=seconds)


def stored_estimates(
    engine: Engine, scope: Scope, account_id: int, data: AccountData
) -> pd.DataFrame | None:
    """The stored estimates of ``data`` (the account's data at some version), or None when
    they are not stored yet. Reads only."""
    return load_stored_estimates(engine, scope, account_id, estimates_version(data))
