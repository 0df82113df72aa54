"""Peak memory and speed of importing a big observations file (issue #10, "Big files").

Writes a daily observations CSV of the issue's size class (default 280 units × 3 KPIs × 913
days = 766,920 rows, ~48.8 MB; the issue's file was 48.7 MB, 766,920 rows) for the small
valid account of tests/data/import_valid, then runs the command a person runs,
``cli.py --db … import FILE``, as a child process, and prints that whole process's peak RSS
(``wait4``'s ``ru_maxrss``: interpreter, libraries and the import) over the file size. In the
same run, as the reference for the fixed part, the same command imports a 50-row file.
Both with ``--no-estimates`` (the import alone) and, once, as typed by default (the causal
estimates refreshed after the import, which loads the estimator's libraries).
The same rows are also measured as a cp1252 CSV (sites in São Luís: a Windows export, read
in chunks in that encoding) and, cut to ``--xlsx-rows`` (default 200,000: openpyxl writes
about 6,000 rows per CPU second), as an XLSX workbook built once under
``$TMPDIR/thenandnow-bench``; each beside the same command on a 50-row file of its format.
Figures, never a timed test: the target is peak ≤ 5× the file size.

    .venv/bin/python benchmarks/import_memory.py [--units 280] [--days 913] [--root CHECKOUT]
        [--formats csv,cp1252,xlsx] [--xlsx-rows 200000] [--no-default]

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
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
VALID = ROOT / "tests" / "data" / "import_valid"
ACCOUNT = "Acme Claims"


def site(u: int, city: str = "Manila") -> str:
    return f"Site {u:03d} ({city})"


def observation_rows(units: int, days: int, city: str = "Manila") -> Iterator[tuple[Any, ...]]:
    """The big file's rows: (account, site, process, kpi, day, value text, volume)."""
    start = dt.date(2024, 1, 1)
    for u in range(units):
        name = site(u, city)
        for d in range(days):
            day = start + dt.timedelta(days=d)
            vol = 300 + (u * 7 + d) % 200
            yield (ACCOUNT, name, "Claims", "aht", day, f"{400 - d % 50 + u % 9}.5", vol)
            yield (ACCOUNT, name, "Claims", "cost_per_txn", day, f"4.{10 + d % 80}", vol)
            yield (ACCOUNT, name, "Claims", "fte", day, f"{30 + u % 5}.25", None)


def write_files(
    folder: Path, units: int, days: int, city: str = "Manila", encoding: str = "utf-8"
) -> tuple[list[Path], Path]:
    """The setup files (UTF-8) and the observations CSV (in ``encoding``) in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    accounts = (VALID / "accounts.csv").read_text()
    kpis = (VALID / "kpis.csv").read_text()
    unit_rows = "".join(f"{ACCOUNT},{site(u, city)},Claims,EMEA\n" for u in range(units))
    (folder / "accounts.csv").write_text(accounts)
    (folder / "kpis.csv").write_text(kpis)
    (folder / "units.csv").write_text("account,site,process,region\n" + unit_rows)
    # Two live innovations (INN-001 scaled, INN-002 in pilot) rolled out to a tenth of the
    # units each, so the default import's estimates refresh estimates something.
    innovations = (VALID / "innovations.csv").read_text().splitlines(keepends=True)[:3]
    (folder / "innovations.csv").write_text("".join(innovations))
    tenth = max(1, units // 10)
    rollouts = [f"{ACCOUNT},INN-001,{site(u, city)},Claims,2025-01-15\n" for u in range(tenth)]
    rollouts += [
        f"{ACCOUNT},INN-002,{site(u, city)},Claims,2025-06-01\n" for u in range(tenth, 2 * tenth)
    ]
    (folder / "rollouts.csv").write_text(
        "account,innovation,site,process,go_live\n" + "".join(rollouts)
    )
    obs = folder / "kpi_observations_big.csv"
    with obs.open("w", encoding=encoding, newline="") as f:
        f.write("account,site,process,kpi,period,value,volume\n")
        for a, name, proc, kpi, day, value, vol in observation_rows(units, days, city):
            f.write(
                f"{a},{name},{proc},{kpi},{day.isoformat()},{value},{'' if vol is None else vol}\n"
            )
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


#: Built XLSX files are kept here between runs (openpyxl writes ~6,000 rows per CPU second).
CACHE = Path(tempfile.gettempdir()) / "thenandnow-bench"


def write_xlsx(path: Path, rows: Iterator[tuple[Any, ...]], limit: int) -> Path:
    """The first ``limit`` observation rows as a workbook, cells typed as Excel holds them
    (dates, numbers), one sheet ``kpi_observations``; built once into ``path``."""
    if path.exists():
        return path
    import openpyxl

    path.parent.mkdir(parents=True, exist_ok=True)
    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet("kpi_observations")
    ws.append(["account", "site", "process", "kpi", "period", "value", "volume"])
    for n, (a, name, proc, kpi, day, value, vol) in enumerate(rows):
        if n == limit:
            break
        ws.append([a, name, proc, kpi, day, float(value), vol])
    partial = path.with_suffix(".partial")
    wb.save(partial)
    partial.rename(path)
    return path


def main() -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    ap.add_argument("--units", type=int, default=280)
    ap.add_argument("--days", type=int, default=913)
    ap.add_argument("--root", type=Path, default=ROOT, help="the checkout whose cli.py runs")
    ap.add_argument("--no-default", action="store_true", help="skip the run with estimates")
    ap.add_argument(
        "--formats",
        default="csv,cp1252,xlsx",
        help="comma-separated: csv (UTF-8), cp1252 (the same rows, a Windows export), xlsx",
    )
    ap.add_argument("--xlsx-rows", type=int, default=200_000, help="rows of the XLSX file")
    args = ap.parse_args()
    root = args.root.resolve()
    formats = [f.strip() for f in args.formats.split(",") if f.strip()]
    rows = args.units * 3 * args.days
    print(f"checkout: {root}")
    with tempfile.TemporaryDirectory() as tmp:
        for fmt in formats:
            folder = Path(tmp) / fmt
            if fmt == "xlsx":
                setup, _csv = write_files(folder, args.units, args.days)
                n = min(rows, args.xlsx_rows)
                obs = write_xlsx(
                    CACHE / f"kpi_observations_{args.units}x{args.days}_{n}.xlsx",
                    observation_rows(args.units, args.days),
                    n,
                )
                small = write_xlsx(
                    folder / "kpi_observations_small.xlsx", observation_rows(1, 50), 50
                )
            else:
                city, encoding = ("São Luís", "cp1252") if fmt == "cp1252" else ("Manila", "utf-8")
                setup, obs = write_files(folder, args.units, args.days, city, encoding)
                n = rows
                small = folder / "kpi_observations_small.csv"
                with obs.open("rb") as src:
                    small.write_bytes(b"".join(next(src) for _ in range(51)))
            measure(
                root,
                folder,
                fmt,
                setup,
                obs,
                small,
                n,
                default=fmt == "csv" and not args.no_default,
            )
    return 0


def measure(
    root: Path,
    folder: Path,
    fmt: str,
    setup: list[Path],
    obs: Path,
    small: Path,
    rows: int,
    *,
    default: bool,
) -> None:
    size = obs.stat().st_size

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
        raise SystemExit(f"unexpected import output:\n{out}")
    print(f"[{fmt}] file: {obs.name}, {size / 1e6:.1f} MB, {rows:,} rows")
    print(
        f"[{fmt}] `import --no-estimates`: peak RSS {peak / 1e6:.0f} MB = {peak / size:.2f}× "
        "the file size (target ≤ 5×)"
    )
    print(
        f"[{fmt}]   the same command on a 50-row file: {fixed / 1e6:.0f} MB = "
        f"{fixed / size:.2f}×; the big file adds {(peak - fixed) / 1e6:.0f} MB = "
        f"{(peak - fixed) / size:.2f}× ({(peak - fixed) / rows:.0f} bytes a row)"
    )
    if default:
        with_estimates, _s, _c, out = run_cli(root, fresh("default"), ["import", str(obs)])
        refreshed = next((ln for ln in out.splitlines() if "causal estimates" in ln), "")
        print(
            f"[{fmt}] `import` (estimates refreshed after it): peak RSS "
            f"{with_estimates / 1e6:.0f} MB = {with_estimates / size:.2f}× the file size"
        )
        print(f"[{fmt}]   {refreshed.strip() or 'no estimates line in the output'}")
    print(f"[{fmt}] time: {seconds:.1f} s = {rows / seconds:,.0f} rows/s")
    # CPU seconds of the import process: on a shared machine the wall time says more about
    # the other processes than about the import.
    print(f"[{fmt}] CPU: {cpu:.1f} s = {rows / cpu:,.0f} rows per CPU second", flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
