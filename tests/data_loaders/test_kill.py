"""SIGKILL in the middle of a big import leaves the database exactly as it was.

A subprocess imports ~200k observation rows (plus 40 new units) and prints its progress;
once it reports that it is writing observations (SQLite: and its WAL file has grown), the
parent kills it with SIGKILL. The database must then hold exactly what it held before
(row counts and a checksum of every imported table, the batch tables included), pass an
integrity check, migrate, and accept the same import again.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from data_loaders.db import migrate
from data_loaders.importer import import_files

from .loader_helpers import ACCOUNT, fingerprint, valid_files

ROOT = Path(__file__).resolve().parents[2]
TABLES = (
    "account",
    "unit",
    "kpi",
    "innovation",
    "innovation_target",
    "rollout",
    "event",
    "kpi_observation",
    "import_batch",
    "batch_change",
)
N_UNITS, N_DAYS = 40, 1700  # × 3 KPIs = 204,000 observation rows

SCRIPT = """
import sys
from data_loaders.db import make_engine
from data_loaders.importer import import_files

def progress(fraction, message):
    print(f"{fraction:.3f} {message}", flush=True)

engine = make_engine(sys.argv[1])
result = import_files(engine, sys.argv[2:], progress=progress)
print("FINISHED", result.ok, flush=True)
"""


def _write_big_files(folder: Path) -> list[Path]:
    units = folder / "units.csv"
    units.write_text(
        "account,site,process\n"
        + "".join(f"{ACCOUNT},Site {i:02d},Claims\n" for i in range(N_UNITS))
    )
    start = dt.date(2024, 1, 1)
    days = [(start + dt.timedelta(days=d)).isoformat() for d in range(N_DAYS)]
    obs = folder / "kpi_observations_big.csv"
    with obs.open("w") as fh:
        fh.write("account,site,process,kpi,period,value,volume\n")
        for i in range(N_UNITS):
            site = f"Site {i:02d}"
            for kpi, base in (("aht", 300), ("cost_per_txn", 4), ("fte", 30)):
                vol = "" if kpi == "fte" else "1000"
                fh.writelines(
                    f"{ACCOUNT},{site},Claims,{kpi},{d},{base + n % 7}.5,{vol}\n"
                    for n, d in enumerate(days)
                )
    return [units, obs]


def _kill_midway(url: str, files: list[Path], wal: Path | None) -> tuple[str, int]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen(
        [sys.executable, "-c", SCRIPT, url, *map(str, files)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    seen = []
    wal_size = 0
    assert proc.stdout is not None
    deadline = time.monotonic() + 1800  # a hang guard, not a speed check
    try:
        for line in proc.stdout:
            seen.append(line.strip())
            if "FINISHED" in line:
                break
            if "writing observations" in line:
                if wal is not None:  # evidence that pages are being written
                    t0 = time.monotonic()
                    # waits only as long as needed; the cap guards against a hang
                    while wal.stat().st_size < 1_000_000 and time.monotonic() - t0 < 600:
                        time.sleep(0.005)
                    wal_size = wal.stat().st_size
                os.kill(proc.pid, signal.SIGKILL)
                break
            assert time.monotonic() < deadline, "the import never reached its writes"
    finally:
        proc.wait(timeout=300)
    assert proc.returncode == -signal.SIGKILL, (
        proc.returncode,
        seen[-5:],
        proc.stderr.read() if proc.stderr else "",
    )
    return seen[-1], wal_size


def _check_killed_import(engine: Engine, url: str, tmp_path: Path, wal: Path | None) -> None:
    assert import_files(engine, valid_files()).ok
    files = _write_big_files(tmp_path)
    before = fingerprint(engine, TABLES)
    engine.dispose()
    last, wal_size = _kill_midway(url, files, wal)
    assert "writing observations" in last
    if wal is not None:
        assert wal_size >= 1_000_000  # the kill landed while pages were being written
    assert fingerprint(engine, TABLES) == before
    migrate(engine)
    again = import_files(engine, files)
    assert again.ok and again.counts["observations"].inserted == N_UNITS * N_DAYS * 3
    # Its speed is measured by benchmarks/bulk_import.py, not asserted here.


@pytest.mark.slow
def test_sigkill_mid_import_sqlite(sqlite_engine: Engine, tmp_path: Path) -> None:
    """SQLite (WAL): killed while writing, the file is intact and unchanged."""
    url = sqlite_engine.url.render_as_string(hide_password=False)
    db_path = Path(url.removeprefix("sqlite:///"))
    wal = db_path.with_name(db_path.name + "-wal")
    _check_killed_import(sqlite_engine, url, tmp_path, wal)
    with sqlite_engine.connect() as conn:
        assert conn.execute(text("PRAGMA integrity_check")).scalar() == "ok"


@pytest.mark.slow
def test_sigkill_mid_import_postgresql(pg_engine: Engine, tmp_path: Path) -> None:
    """PostgreSQL: the killed client's transaction is aborted; nothing of it is visible and
    the next import (which takes the import lock) runs."""
    url = pg_engine.url.render_as_string(hide_password=False)
    _check_killed_import(pg_engine, url, tmp_path, None)
