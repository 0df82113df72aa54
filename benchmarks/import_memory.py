"""Peak memory and speed of importing a big observations file (issue #10, "Big files").

Writes a ~50 MB daily observations CSV (default 300 units × 3 KPIs × 852 days ≈ 766,800 rows)
for the small valid account of tests/data/import_valid, then imports it into a fresh SQLite
database in a child process and prints the child's peak RSS over the file size, the peak
above the interpreter's own footprint (libraries loaded, before reading), and rows/s.
Figures, never a timed test: the target is peak ≤ 5× the file size.

    .venv/bin/python benchmarks/import_memory.py [--units 300] [--days 852]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VALID = ROOT / "tests" / "data" / "import_valid"
ACCOUNT = "Acme Claims"

CHILD = r"""
import json, resource, sys, time
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from data_loaders.db import make_engine, migrate
from data_loaders.importer import import_files
engine = make_engine("sqlite:///" + sys.argv[2])
migrate(engine)
setup = [Path(p) for p in json.loads(sys.argv[3])]
assert import_files(engine, setup).ok
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t0 = time.perf_counter()
c0 = time.process_time()
result = import_files(engine, [Path(sys.argv[4])])
seconds = time.perf_counter() - t0
cpu = time.process_time() - c0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"ok": result.ok, "rows": result.total.read, "seconds": seconds,
                  "cpu": cpu, "peak_kb": peak, "before_kb": before,
                  "problems": [str(p) for p in result.problems[:3]]}))
"""


def write_files(folder: Path, units: int, days: int) -> tuple[list[Path], Path]:
    accounts = (VALID / "accounts.csv").read_text()
    kpis = (VALID / "kpis.csv").read_text()
    unit_rows = "".join(f"{ACCOUNT},Site {u:03d},Claims,EMEA\n" for u in range(units))
    (folder / "accounts.csv").write_text(accounts)
    (folder / "kpis.csv").write_text(kpis)
    (folder / "units.csv").write_text("account,site,process,region\n" + unit_rows)
    obs = folder / "kpi_observations_big.csv"
    start = dt.date(2024, 1, 1)
    with obs.open("w") as f:
        f.write("account,site,process,kpi,period,value,volume\n")
        for u in range(units):
            for d in range(days):
                day = (start + dt.timedelta(days=d)).isoformat()
                vol = 300 + (u * 7 + d) % 200
                f.write(f"{ACCOUNT},Site {u:03d},Claims,aht,{day},{400 - d % 50 + u % 9}.5,{vol}\n")
                f.write(f"{ACCOUNT},Site {u:03d},Claims,cost_per_txn,{day},4.{10 + d % 80},{vol}\n")
                f.write(f"{ACCOUNT},Site {u:03d},Claims,fte,{day},{30 + u % 5}.25,\n")
    return [folder / "accounts.csv", folder / "units.csv", folder / "kpis.csv"], obs


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--units", type=int, default=300)
    ap.add_argument("--days", type=int, default=852)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        setup, obs = write_files(folder, args.units, args.days)
        size = obs.stat().st_size
        out = subprocess.run(
            [
                sys.executable,
                "-c",
                CHILD,
                str(ROOT),
                str(folder / "bench.sqlite"),
                json.dumps([str(p) for p in setup]),
                str(obs),
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        r = json.loads(out.stdout.strip().splitlines()[-1])
    if not r["ok"]:
        print("import refused:", *r["problems"], sep="\n  ")
        return 1
    peak, before = r["peak_kb"] * 1024, r["before_kb"] * 1024
    print(f"file: {size / 1e6:.1f} MB, {r['rows']:,} rows")
    print(f"peak RSS: {peak / 1e6:.0f} MB = {peak / size:.1f}× the file size (target ≤ 5×)")
    print(
        f"above the interpreter before reading ({before / 1e6:.0f} MB): "
        f"{(peak - before) / 1e6:.0f} MB = {(peak - before) / size:.1f}× the file size"
    )
    print(f"time: {r['seconds']:.1f} s = {r['rows'] / r['seconds']:,.0f} rows/s")
    # CPU seconds of the import process: on a shared machine the wall time says more about
    # the other processes than about the import.
    print(f"CPU: {r['cpu']:.1f} s = {r['rows'] / r['cpu']:,.0f} rows per CPU second")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
