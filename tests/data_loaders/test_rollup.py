"""The monthly rollup (``kpi_month``) is always the GROUP BY of the observations held.

The reference here is written without the SQL under test: every observation row is fetched
and grouped in pandas (Σ value·volume with a missing volume as 0, Σ volume, mean, rows,
grain, rows without a volume, last period). Each test runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import Engine, select, text

from data_loaders import rollup
from data_loaders.batches import rollback_batch
from data_loaders.importer import import_files
from data_loaders.schema import Base

from .loader_helpers import ACCOUNT, valid_files

ROOT = Path(__file__).resolve().parents[2]
KEY = ["account_id", "unit_id", "kpi_id", "month"]
OBS_HEADER = "account,site,process,kpi,period,value,volume\n"


def _reference(engine: Engine) -> pd.DataFrame:
    """The rollup as it must be, from the raw observation rows, grouped in pandas."""
    o = Base.metadata.tables["kpi_observation"]
    with engine.connect() as conn:
        rows = conn.execute(
            select(o.c.account_id, o.c.unit_id, o.c.kpi_id, o.c.month, o.c.period)
            .add_columns(o.c.grain, o.c.value, o.c.volume)
            .order_by(o.c.id)
        ).all()
    df = pd.DataFrame(
        [tuple(r) for r in rows], columns=[*KEY, "period", "grain", "value", "volume"]
    )
    if df.empty:
        return _empty()
    df["volume"] = df["volume"].astype(float)
    df["missing"] = df["volume"].isna().astype(int)
    df["vol0"] = df["volume"].fillna(0.0)
    df["vv"] = df["value"] * df["vol0"]
    g = df.groupby(KEY)
    out = pd.DataFrame(
        {
            "vw": g["vv"].sum(),
            "volume": g["vol0"].sum(),
            "mean": g["value"].mean(),
            "n_obs": g.size(),
            "grain": g["grain"].min(),
            "missing_volume": g["missing"].sum(),
            "last_period": g["period"].max(),
        }
    ).reset_index()
    return _normal(out)


def _empty() -> pd.DataFrame:
    return pd.DataFrame(columns=[*KEY, *rollup.VALUES])


def _normal(df: pd.DataFrame) -> pd.DataFrame:
    df = df.copy()
    for c in ("account_id", "unit_id", "kpi_id", "n_obs", "missing_volume"):
        df[c] = df[c].astype("int64")
    for c in ("month", "last_period"):
        df[c] = pd.to_datetime(df[c])
    for c in ("vw", "volume", "mean"):
        df[c] = df[c].astype(float)
    df["grain"] = df["grain"].astype(str)
    return df.sort_values(KEY).reset_index(drop=True)[[*KEY, *rollup.VALUES]]


def _rollup(engine: Engine) -> pd.DataFrame:
    r = rollup.ROLLUP
    with engine.connect() as conn:
        rows = conn.execute(select(*(r.c[c] for c in [*KEY, *rollup.VALUES]))).all()
    if not rows:
        return _empty()
    return _normal(pd.DataFrame([tuple(x) for x in rows], columns=[*KEY, *rollup.VALUES]))


def _unpacked(engine: Engine) -> pd.DataFrame:
    """Every account's packed copy (``kpi_month_packed``) read back into rollup rows, by
    ``np.frombuffer`` on the layout the schema documents (not through ``load_monthly``)."""
    p = rollup.PACKED
    with engine.connect() as conn:
        rows = conn.execute(select(*p.c)).all()
    frames = []
    for r in rows:
        assert r.fmt == rollup.PACK_FORMAT

        def col(name: str, dtype: str, r: object = r) -> np.ndarray:
            return np.frombuffer(getattr(r, name), dtype=dtype)

        grains = np.array(r.grains.split(","), dtype=object)
        df = pd.DataFrame(
            {
                "account_id": r.account_id,
                "unit_id": col("unit_id", "<i8"),
                "kpi_id": col("kpi_id", "<i8"),
                "month": col("month", "<i8").astype("datetime64[D]"),
                "vw": col("vw", "<f8"),
                "volume": col("volume", "<f8"),
                "mean": col("mean", "<f8"),
                "n_obs": col("n_obs", "<i8"),
                "grain": grains[col("grain", "<i8")],
                "missing_volume": col("missing_volume", "<i8"),
            }
        )
        assert len(df) == r.n_rows
        frames.append(df)
    if not frames:
        return pd.DataFrame(columns=[*KEY, *rollup.VALUES[:-1]])
    out = pd.concat(frames, ignore_index=True)
    out["last_period"] = pd.NaT  # not packed: the read path does not use it
    return _normal(out).drop(columns="last_period")


def _assert_rollup_is_the_group_by(engine: Engine) -> pd.DataFrame:
    """The rollup equals the GROUP BY of the observations, and its packed copy equals it."""
    got, want = _rollup(engine), _reference(engine)
    assert len(got) == len(want)
    if len(want):
        # Sums of floats may differ in the last bit with the order a database adds them in.
        pd.testing.assert_frame_equal(got, want, check_exact=False, rtol=1e-12)
    packed = _unpacked(engine)
    assert len(packed) == len(got)
    if len(got):  # a copy of the stored values: exactly equal
        pd.testing.assert_frame_equal(packed, got.drop(columns="last_period"), check_exact=True)
    return got


def _import(engine: Engine, files) -> int:
    result = import_files(engine, files)
    assert result.ok, "\n".join(map(str, result.problems))
    assert result.batch_id is not None
    return result.batch_id


def _daily(rows: list[tuple[str, str, str, str, float, float | None]]) -> tuple[str, bytes]:
    body = "".join(
        f"{ACCOUNT},{site},{proc},{kpi},{day},{value},{'' if vol is None else vol}\n"
        for site, proc, kpi, day, value, vol in rows
    )
    return "kpi_observations_daily.csv", (OBS_HEADER + body).encode()


# Daily rows for December 2024 (the valid files hold monthly rows for Jan-Sep 2024), by hand:
# Lisbon · Claims intake, aht: (400·100 + 410·300) / 400 = 407.5 on 400 transactions;
# fte (a level, no volume): mean of 30 and 32 = 31.
DECEMBER = [
    ("Lisbon", "Claims intake", "aht", "2024-12-02", 400.0, 100.0),
    ("Lisbon", "Claims intake", "aht", "2024-12-03", 410.0, 300.0),
    ("Lisbon", "Claims intake", "fte", "2024-12-02", 30.0, None),
    ("Lisbon", "Claims intake", "fte", "2024-12-03", 32.0, None),
    ("Manila", "Claims intake", "aht", "2024-12-02", 380.0, 50.0),
]


def _month_row(engine: Engine, kpi: str, month: str, site: str = "Lisbon") -> pd.Series:
    from data_loaders.access import Scope
    from data_loaders.queries import account_id_by_name, load_monthly, load_units

    scope = Scope.everything()
    aid = account_id_by_name(engine, scope, ACCOUNT)
    units = load_units(engine, scope, aid)
    unit = int(
        units[(units["site"] == site) & (units["process"] == "Claims intake")]["unit_id"].iloc[0]
    )
    m = load_monthly(engine, scope, aid, unit_ids=[unit], kpi_keys=[kpi])
    return m[m["month"] == pd.Timestamp(month)].iloc[0]


def test_import_fills_the_rollup_and_the_read_path_reads_it(engine: Engine) -> None:
    """After a first import (monthly rows) and one of daily rows the rollup is the GROUP BY,
    and load_monthly gives the hand-computed months from it."""
    assert _rollup(engine).empty
    _import(engine, valid_files())
    first = _assert_rollup_is_the_group_by(engine)
    assert len(first) == 81  # one row per monthly observation of the valid files
    _import(engine, [_daily(DECEMBER)])
    after = _assert_rollup_is_the_group_by(engine)
    assert len(after) == 81 + 3
    aht = _month_row(engine, "aht", "2024-12-01")
    assert aht["value"] == pytest.approx(407.5) and aht["volume"] == 400.0
    assert aht["n_obs"] == 2 and aht["grain"] == "day"
    assert _month_row(engine, "fte", "2024-12-01")["value"] == pytest.approx(31.0)


def test_reimport_recomputes_only_the_months_it_changed(engine: Engine, monkeypatch) -> None:
    """A re-import that changes one day recomputes that one unit × KPI × month; an identical
    re-import recomputes nothing; the rollup stays the GROUP BY throughout."""
    _import(engine, valid_files())
    _import(engine, [_daily(DECEMBER)])
    recomputed: list[int] = []
    real = rollup.refresh_marked

    def counting(conn):
        n = real(conn)
        recomputed.append(n)
        return n

    monkeypatch.setattr(rollup, "refresh_marked", counting)
    changed = [*DECEMBER]
    changed[1] = ("Lisbon", "Claims intake", "aht", "2024-12-03", 420.0, 300.0)
    before = _rollup(engine)
    _import(engine, [_daily(changed)])
    assert recomputed == [1]
    after = _assert_rollup_is_the_group_by(engine)
    # (400·100 + 420·300) / 400 = 415
    assert _month_row(engine, "aht", "2024-12-01")["value"] == pytest.approx(415.0)
    diff = after.merge(before, on=KEY, suffixes=("", "_before"))
    moved = diff[diff["vw"] != diff["vw_before"]]
    assert len(moved) == 1 and len(after) == len(before)
    _import(engine, [_daily(changed)])  # the same file again: nothing written
    assert recomputed == [1]
    pd.testing.assert_frame_equal(_rollup(engine), after)


def test_rollback_restores_the_rollup(engine: Engine) -> None:
    """Rolling back an update batch gives back the rollup as it was before it; rolling back
    the batches that inserted rows removes their months; each time it is the GROUP BY."""
    _import(engine, valid_files())
    after_first = _rollup(engine)
    daily = _import(engine, [_daily(DECEMBER)])
    after_daily = _rollup(engine)
    changed = [(s, p, k, d, v + 1.0, vol) for s, p, k, d, v, vol in DECEMBER]
    update = _import(engine, [_daily(changed)])
    assert not _rollup(engine).equals(after_daily)
    rollback_batch(engine, update)
    pd.testing.assert_frame_equal(_assert_rollup_is_the_group_by(engine), after_daily)
    rollback_batch(engine, daily)
    pd.testing.assert_frame_equal(_assert_rollup_is_the_group_by(engine), after_first)


def test_rollback_of_the_first_load_empties_the_rollup(engine: Engine) -> None:
    """The batch that created the account, its units and KPIs: every rollup row goes too."""
    first = _import(engine, valid_files())
    rollback_batch(engine, first)
    assert _rollup(engine).empty and _reference(engine).empty


def test_refused_import_leaves_the_rollup_unchanged(engine: Engine) -> None:
    """A file with a problem (an unknown KPI) writes nothing, the rollup included."""
    _import(engine, valid_files())
    before = _rollup(engine)
    bad = [*DECEMBER, ("Lisbon", "Claims intake", "speed", "2024-12-02", 1.0, 1.0)]
    result = import_files(engine, [_daily(bad)])
    assert not result.ok
    pd.testing.assert_frame_equal(_rollup(engine), before)


def test_failure_after_the_rollup_update_rolls_it_back(engine: Engine, monkeypatch) -> None:
    """An error after the rollup rows were rewritten, before the commit: nothing stays."""
    _import(engine, valid_files())
    before = _rollup(engine)
    real = rollup.refresh_marked

    def failing(conn):
        real(conn)
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(rollup, "refresh_marked", failing)
    with pytest.raises(RuntimeError, match="disk on fire"):
        import_files(engine, [_daily(DECEMBER)])
    pd.testing.assert_frame_equal(_rollup(engine), before)
    _assert_rollup_is_the_group_by(engine)


KILL_SCRIPT = """
import sys, time
from data_loaders import rollup
from data_loaders.db import make_engine
from data_loaders.importer import import_files

real = rollup.refresh_marked

def refresh_then_wait(conn):
    n = real(conn)
    print("ROLLUP WRITTEN", n, flush=True)
    time.sleep(600)  # killed here, inside the uncommitted transaction
    return n

rollup.refresh_marked = refresh_then_wait
engine = make_engine(sys.argv[1])
import_files(engine, sys.argv[2:], progress=None)
print("FINISHED", flush=True)
"""


@pytest.mark.slow
def test_sigkill_after_the_rollup_update_leaves_it_unchanged(
    engine: Engine, tmp_path: Path
) -> None:
    """SIGKILL once the import has rewritten the rollup rows but not committed: the rollup
    (and the observations) are as before, and the same import then goes through."""
    _import(engine, valid_files())
    before = _rollup(engine)
    name, content = _daily(DECEMBER)
    path = tmp_path / name
    path.write_bytes(content)
    url = engine.url.render_as_string(hide_password=False)
    engine.dispose()
    proc = subprocess.Popen(
        [sys.executable, "-c", KILL_SCRIPT, url, str(path)],
        cwd=ROOT,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    try:
        line = proc.stdout.readline()  # blocks until the child has written the rollup
        assert line.startswith("ROLLUP WRITTEN"), (line, proc.stderr.read() if proc.stderr else "")
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=300)
    assert proc.returncode == -signal.SIGKILL
    pd.testing.assert_frame_equal(_rollup(engine), before)
    deadline = time.monotonic() + 120  # PostgreSQL: the killed session's lock is released
    while True:
        result = import_files(engine, [path])
        if result.ok or time.monotonic() > deadline:
            break
        time.sleep(0.5)  # pragma: no cover - only when the server is slow to notice
    assert result.ok
    _assert_rollup_is_the_group_by(engine)


def test_migration_backfills_the_rollup(engine: Engine) -> None:
    """0006 → 0007 on a database holding observations builds the rollup from them."""
    from alembic import command
    from data_loaders.db import alembic_config

    _import(engine, valid_files())
    _import(engine, [_daily(DECEMBER)])
    want = _rollup(engine)

    def to(revision: str, *, down: bool = False) -> None:
        cfg = alembic_config(engine.url.render_as_string(hide_password=False))
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            (command.downgrade if down else command.upgrade)(cfg, revision)

    to("0006", down=True)
    with engine.connect() as conn:
        assert not conn.dialect.has_table(conn, "kpi_month")
    to("head")
    pd.testing.assert_frame_equal(_assert_rollup_is_the_group_by(engine), want)


def test_rebuild_after_writes_by_hand(engine: Engine) -> None:
    """Observations changed outside any import (SQL by hand) reach the rollup by rebuild."""
    _import(engine, valid_files())
    o = Base.metadata.tables["kpi_observation"]
    with engine.begin() as conn:
        conn.execute(o.update().where(o.c.period == dt.date(2024, 3, 1)).values(value=1.0))
        conn.execute(o.delete().where(o.c.period == dt.date(2024, 4, 1)))
    with pytest.raises(AssertionError):
        _assert_rollup_is_the_group_by(engine)
    with engine.begin() as conn:
        assert rollup.rebuild(conn) == 81 - 9
    _assert_rollup_is_the_group_by(engine)


def test_scope_is_a_sql_condition_on_the_rollup(engine: Engine) -> None:
    """The read path's scope condition is part of the SQL it sends: a scope limited to one
    account reads none of another's rollup rows, even past the id check."""
    from data_loaders.access import Scope
    from data_loaders.queries import account_id_by_name, load_monthly

    _import(engine, valid_files())
    aid = account_id_by_name(engine, Scope.everything(), ACCOUNT)
    assert len(load_monthly(engine, Scope.everything(), aid)) == 81

    class Lenient(Scope):  # a scope whose id check would let anything through
        def check(self, account_id: int) -> None:
            return None

    other = Lenient(role="client executive", account_ids=frozenset({aid + 1}), user="x@y")
    assert load_monthly(engine, other, aid).empty


def test_demo_figures_from_the_rollup(demo_engine: Engine) -> None:
    """The demo account read through the rollup: value to date $6,456,512 (the documented
    figure), and the rollup is the GROUP BY of its observations."""
    from data_loaders.access import Scope
    from data_loaders.queries import list_accounts, load_account_data
    from metrics.format import money
    from metrics.headline import headline

    _assert_rollup_is_the_group_by(demo_engine)
    scope = Scope.everything()
    aid = int(list_accounts(demo_engine, scope)["account_id"].iloc[0])
    data = load_account_data(demo_engine, scope, aid)
    head = headline(data)
    assert head is not None
    assert money(head.cumulative_value, data.account.currency, compact=False) == "$6,456,512"
    with demo_engine.connect() as conn:
        last = conn.execute(
            text("SELECT max(period) FROM kpi_observation WHERE account_id = :a"), {"a": aid}
        ).scalar()
    assert last is not None
    assert list_accounts(demo_engine, scope).set_index("account_id").loc[
        aid, "last_period"
    ] == pd.Timestamp(last)


def test_the_packed_read_is_the_rollup_read(demo_engine: Engine, tmp_path: Path) -> None:
    """``load_monthly`` from the packed copy returns exactly the frame it returns from
    ``kpi_month`` itself (the path taken when no packed row of the current layout exists):
    whole account, one unit, one KPI, a date range — every value bit for bit."""
    import datetime as dt

    from data_loaders.access import Scope
    from data_loaders.db import make_engine
    from data_loaders.queries import list_accounts, load_monthly, load_units

    scope = Scope.everything()
    dst = tmp_path / "demo.sqlite"  # a private copy (SQLite): its packed row is deleted below
    with demo_engine.connect() as conn:
        conn.exec_driver_sql(f"VACUUM INTO '{dst}'")
    engine = make_engine(f"sqlite:///{dst}")
    aid = int(list_accounts(engine, scope)["account_id"].iloc[0])
    unit = int(load_units(engine, scope, aid)["unit_id"].iloc[2])
    asks = [
        {},
        {"unit_ids": [unit]},
        {"kpi_keys": ["cost_per_txn"]},
        {"start": dt.date(2025, 1, 1), "end": dt.date(2025, 6, 1)},
        {"unit_ids": [unit], "kpi_keys": ["aht", "fte"], "start": dt.date(2024, 3, 1)},
    ]
    packed = [load_monthly(engine, scope, aid, **kw) for kw in asks]  # type: ignore[arg-type]  # the keyword sets above are load_monthly's own
    assert len(packed[0]) == 2484 and len(packed[1]) < len(packed[0])
    with engine.begin() as conn:
        assert conn.execute(rollup.PACKED.delete()).rowcount == 2  # the two demo accounts
    plain = [load_monthly(engine, scope, aid, **kw) for kw in asks]  # type: ignore[arg-type]  # as above
    for a, b in zip(packed, plain, strict=True):
        pd.testing.assert_frame_equal(a, b, check_exact=True)
