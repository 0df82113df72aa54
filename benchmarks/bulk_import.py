"""Import throughput: a ~200k-row observation file into a fresh SQLite database.

Was a timed assertion in tests/data_loaders/test_kill.py (≥ 5,000 rows/s); a test must not
depend on the machine's headroom, so the figure is printed here instead, with a reference
measured in the same run (pandas reading the same CSV file), so the ratio means something on
a busy machine too:

    .venv/bin/python benchmarks/bulk_import.py [--units 40] [--days 1700] [--repeat 3]

Reading: rows/s of the import (validation, upsert, batch bookkeeping, one transaction) and
import time ÷ read_csv time. The guide figure is ≥ 5,000 rows/s (typically 20–100k).
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import tempfile
import time
from pathlib import Path

from _common import ROOT, say

ACCOUNT = "Acme Claims"
VALID = ROOT / "tests" / "data" / "import_valid"


def write_files(folder: Path, n_units: int, n_days: int) -> list[Path]:
    units = folder / "units.csv"
    units.write_text(
        "account,site,process\n"
        + "".join(f"{ACCOUNT},Site {i:02d},Claims\n" for i in range(n_units))
    )
    start = dt.date(2024, 1, 1)
    days = [(start + dt.timedelta(days=d)).isoformat() for d in range(n_days)]
    obs = folder / "kpi_observations_big.csv"
    with obs.open("w") as fh:
        fh.write("account,site,process,kpi,period,value,volume\n")
        for i in range(n_units):
            for kpi, base in (("aht", 300), ("cost_per_txn", 4), ("fte", 30)):
                vol = "" if kpi == "fte" else "1000"
                fh.writelines(
                    f"{ACCOUNT},Site {i:02d},Claims,{kpi},{d},{base + n % 7}.5,{vol}\n"
                    for n, d in enumerate(days)
                )
    return [units, obs]


def once(folder: Path, files: list[Path]) -> tuple[float, float, int]:
    import pandas as pd

    from data_loaders.db import make_engine, migrate
    from data_loaders.importer import import_files

    db = folder / f"bench-{time.monotonic_ns()}.sqlite"
    engine = make_engine(f"sqlite:///{db}")
    migrate(engine)
    assert import_files(engine, sorted(VALID.glob("*.csv"))).ok
    started = time.perf_counter()
    pd.read_csv(files[1], dtype=str, keep_default_na=False)
    reference = time.perf_counter() - started
    started = time.perf_counter()
    result = import_files(engine, files)
    seconds = time.perf_counter() - started
    assert result.ok, result.problems[:3]
    engine.dispose()
    return seconds, reference, result.counts["observations"].inserted


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--units", type=int, default=40)
    ap.add_argument("--days", type=int, default=1700)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        files = write_files(folder, args.units, args.days)
        runs = [once(folder, files) for _ in range(args.repeat)]
    rows = runs[0][2]
    seconds = statistics.median(r[0] for r in runs)
    reference = statistics.median(r[1] for r in runs)
    say(f"rows imported: {rows:,} (median of {args.repeat} runs)")
    say(f"import: {seconds:.2f} s = {rows / seconds:,.0f} rows/s (guide: >= 5,000 rows/s)")
    say(
        f"pandas read_csv of the same file: {reference:.2f} s; import / read_csv = "
        f"{seconds / reference:.1f}x"
    )


if __name__ == "__main__":
    main()
