"""Peak memory and speed of importing a big observations file (issue #10, "Big files").

Writes a daily observations CSV of the issue's size class (default 280 units × 3 KPIs × 913
days = 766,920 rows, ~48.8 MB; the issue's file was 48.7 MB, 766,920 rows) for the small
valid account of tests/data/import_valid, then runs the command a person runs,
``cli.py --db … import FILE``, as a child process, and prints that whole process's peak RSS
(``wait4``'s ``ru_maxrss``: interpreter, libraries and the import) over the file size. In the
same run, as the reference for the fixed part, the same command imports a 50-row file.
Both with ``--no-estimates`` (the import alone) and, once, as typed by default (the causal
estimates refreshed after the import, which loads the estimator's libraries).
Figures, never a timed test: the target is peak ≤ 5× the file size.

    .venv/bin/python benchmarks/import_memory.py [--units 280] [--days 913] [--root CHECKOUT]

``--root`` runs another checkout's ``cli.py`` on the same files (e.g. a ``git worktree`` of an
older commit, for a before/after in the same run).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VALID = ROOT / "tests" / "data" / "import_valid"
ACCOUNT = "Acme Claims"


def site(u: int) -> str:
    return f"Site {u:03d} (Manila)"


def write_files(folder: Path, units: int, days: int) -> tuple[list[Path], Path]:
    accounts = (VALID / "accounts.csv").read_text()
    kpis = (VALID / "kpis.csv").read_text()
    unit_rows = "".join(f"{ACCOUNT},{site(u)},Claims,EMEA\n" for u in range(units))
    (folder / "accounts.csv").write_text(accounts)
    (folder / "kpis.csv").write_text(kpis)
    (folder / "units.csv").write_text("account,site,process,region\n" + unit_rows)
    # Two live innovations (INN-001 scaled, INN-002 in pilot) rolled out to a tenth of the
    # units each, so the default import's estimates refresh estimates something.
    innovations = (VALID / "innovations.csv").read_text().splitlines(keepends=True)[:3]
    (folder / "innovations.csv").write_text("".join(innovations))
    tenth = max(1, units // 10)
    rollouts = [f"{ACCOUNT},INN-001,{site(u)},Claims,2025-01-15\n" for u in range(tenth)] + [
        f"{ACCOUNT},INN-002,{site(u)},Claims,2025-06-01\n" for u in range(tenth, 2 * tenth)
    ]
    (folder / "rollouts.csv").write_text(
        "account,innovation,site,process,go_live\n" + "".join(rollouts)
    )
    obs = folder / "kpi_observations_big.csv"
    start = dt.date(2024, 1, 1)
    with obs.open("w") as f:
        f.write("account,site,process,kpi,period,value,volume\n")
        for u in range(units):
            name = site(u)
            for d in range(days):
                day = (start + dt.timedelta(days=d)).isoformat()
                vol = 300 + (u * 7 + d) % 200
                f.write(f"{ACCOUNT},{name},Claims,aht,{day},{400 - d % 50 + u % 9}.5,{vol}\n")
                f.write(f"{ACCOUNT},{name},Claims,cost_per_txn,{day},4.{10 + d % 80},{vol}\n")
                f.write(f"{ACCOUNT},{name},Claims,fte,{day},{30 + u % 5}.25,\n")
    setup = ["accounts.csv", "units.csv", "kpis.csv", "innovations.csv", "rollouts.csv"]
    return [folder / name for name in setup], obs


def run_cli(root: Path, db: Path, args: list[str]) -> tuple[int, float, float, str]:
    """Run ``root/cli.py --db sqlite:///db ARGS``; (peak RSS bytes, wall s, CPU s, output),
    the peak and CPU of that process alone (``os.wait4``)."""
    with tempfile.TemporaryFile("w+") as log:
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, str(root / "cli.py"), "--db", f"sqlite:///{db}", *args],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=root,
        )
        _pid, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        log.seek(0)
        out = log.read()
    if proc.returncode != 0:
        raise SystemExit(f"cli.py {' '.join(args)} failed ({proc.returncode}):\n{out}")
    return usage.ru_maxrss * 1024, seconds, usage.ru_utime + usage.ru_stime, out


def main() -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    ap.add_argument("--units", type=int, default=280)
    ap.add_argument("--days", type=int, default=913)
    ap.add_argument("--root", type=Path, default=ROOT, help="the checkout whose cli.py runs")
    ap.add_argument("--no-default", action="store_true", help="skip the run with estimates")
    args = ap.parse_args()
    root = args.root.resolve()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        setup, obs = write_files(folder, args.units, args.days)
        size = obs.stat().st_size
        rows = args.units * 3 * args.days
        small = folder / "kpi_observations_small.csv"
        with obs.open() as src:
            small.write_text("".join(next(src) for _ in range(51)))

        def fresh(name: str) -> Path:
            db = folder / f"{name}.sqlite"
            run_cli(root, db, ["migrate"])
            run_cli(root, db, ["import", "--no-estimates", *map(str, setup)])
            return db

        fixed, _s, _c, _o = run_cli(root, fresh("small"), ["import", "--no-estimates", str(small)])
        peak, seconds, cpu, out = run_cli(
            root, fresh("big"), ["import", "--no-estimates", "--no-progress", str(obs)]
        )
        if f"{rows:,} new" not in out:
            print("unexpected import output:", out, sep="\n")
            return 1
        default, refreshed = None, ""
        if not args.no_default:
            default, _s, _c, out = run_cli(root, fresh("default"), ["import", str(obs)])
            refreshed = next((ln for ln in out.splitlines() if "causal estimates" in ln), "")
    print(f"checkout: {root}")
    print(f"file: {size / 1e6:.1f} MB, {rows:,} rows")
    print(
        f"`import --no-estimates`: peak RSS {peak / 1e6:.0f} MB = {peak / size:.2f}× the file "
        "size (target ≤ 5×)"
    )
    print(
        f"  the same command on a 50-row file: {fixed / 1e6:.0f} MB = {fixed / size:.2f}×; "
        f"the big file adds {(peak - fixed) / 1e6:.0f} MB = {(peak - fixed) / size:.2f}×"
    )
    if default is not None:
        print(
            f"`import` (estimates refreshed after it): peak RSS {default / 1e6:.0f} MB = "
            f"{default / size:.2f}× the file size"
        )
        print(f"  {refreshed.strip() or 'no estimates line in the output'}")
    print(f"time: {seconds:.1f} s = {rows / seconds:,.0f} rows/s")
    # CPU seconds of the import process: on a shared machine the wall time says more about
    # the other processes than about the import.
    print(f"CPU: {cpu:.1f} s = {rows / cpu:,.0f} rows per CPU second")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
