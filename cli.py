"""Then & Now command line: a thin layer over the library (modelled on sqlite-utils).

    python cli.py [--db URL] COMMAND …

The database is ``--db URL``, else ``DATABASE_URL``, else ``data/thenandnow.sqlite``.

Commands: ``init``, ``migrate``, ``demo``, ``import``, ``import-sql``, ``batches``,
``rollback``, ``templates``, ``estimate`` (and ``metrics``, added by the metrics package).

The causal estimates are stored per data version (``data_loaders.estimate_store``): ``init``
and ``demo`` compute them after loading the demo, ``import``/``import-sql``/``rollback``
refresh those of accounts whose data changed (``--no-estimates`` skips it; the dashboard
then computes them on first use), and ``estimate --account NAME`` does it on demand.

Every failure exits non-zero with one readable line on stderr, never a traceback:
exit 1 for a rejected import or a refused request (unknown batch, missing file, …),
exit 2 for anything unexpected ("error: <message>").

Adding a command: write ``def cmd_NAME(args) -> int``, a ``_add_NAME(sub)`` that declares
its arguments, and register both in ``COMMANDS`` — see the marked place below.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from data_loaders.db import DatabaseUnavailable, database_url, redact

Handler = Callable[[argparse.Namespace], int]


class CliError(Exception):
    """A failure with a message meant for the person at the terminal (exit code 1)."""


# ---------------------------------------------------------------------------------------------
# Helpers


def _engine(args: argparse.Namespace, *, migrate: bool = True) -> Any:
    from sqlalchemy import inspect

    from data_loaders.db import make_engine
    from data_loaders.db import migrate as run_migrations

    url = database_url(args.db)
    engine = make_engine(url)
    if migrate:
        run_migrations(engine)
    elif not inspect(engine).has_table("import_batch"):
        raise CliError(
            f"the database at {redact(url)} has no Then & Now tables yet: "
            "run `python cli.py init` (or `migrate`) first"
        )
    return engine


def _user(args: argparse.Namespace) -> str | None:
    if getattr(args, "user", None):
        return str(args.user)
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no login name in some containers
        return os.environ.get("USER")


def _progress(enabled: bool) -> Callable[[float, str], None] | None:
    if not enabled:
        return None
    last = {"msg": ""}

    def report(fraction: float, message: str) -> None:
        if message != last["msg"]:
            last["msg"] = message
            print(f"[{fraction:4.0%}] {message}", file=sys.stderr, flush=True)

    return report


def _print_result(result: Any) -> int:
    if not result.ok:
        for p in result.problems:
            print(str(p))
        n = len(result.problems)
        print(f"rejected: {n} problem{'s' if n != 1 else ''}; nothing was written", file=sys.stderr)
        return 1
    print(result.summary())
    return 0


def _table(df: Any) -> str:
    if df.empty:
        return "(none)"
    return str(df.to_string(index=False))


def _files(paths: Sequence[str]) -> list[Path]:
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found = sorted(
                q for q in p.iterdir() if q.suffix.lower() in (".csv", ".xlsx", ".txt", ".tsv")
            )
            if not found:
                raise CliError(f"no .csv or .xlsx files in the folder {p}")
            out.extend(found)
        elif not p.exists():
            raise CliError(f"file not found: {p}")
        else:
            out.append(p)
    return out


def _estimate_accounts(
    engine: Any, names: Sequence[str] | None = None, *, force: bool = False
) -> list[tuple[str, float, int]]:
    """Compute and store the causal estimates of the named accounts (all when None), skipping
    those already stored for their current data unless ``force``. Progress on stderr; returns
    (account, seconds, innovations estimated) per account computed."""
    import time

    import pandas as pd

    from data_loaders.access import Scope
    from data_loaders.estimate_store import load_estimates, save_estimates
    from data_loaders.queries import account_id_by_name, list_accounts, load_account_data
    from metrics.versions import estimates_version
    from metrics.views import estimates

    scope = Scope.everything()  # what the provider's dashboard shows
    if names is None:
        listed = list_accounts(engine, scope)
        accounts = [
            (int(i), str(n)) for i, n in zip(listed["account_id"], listed["name"], strict=True)
        ]
    else:
        try:
            accounts = [(account_id_by_name(engine, scope, n), n) for n in names]
        except LookupError as exc:
            raise CliError(str(exc)) from exc
    done = []
    for account_id, name in accounts:
        data = load_account_data(engine, scope, account_id)
        version = estimates_version(data)
        name = data.account.name
        if not force and load_estimates(engine, account_id, version) is not None:
            print(f"{name}: estimates already stored for the current data", file=sys.stderr)
            continue
        ids = sorted(set(data.rollouts["innovation_id"]) & set(data.innovations["innovation_id"]))
        started = time.perf_counter()
        parts = []
        for i, iid in enumerate(ids, start=1):
            part = estimates(data, innovation_ids=[iid])
            if not part.empty:
                parts.append(part)
            print(
                f"[{i / len(ids):4.0%}] {name}: estimated {i} of {len(ids)} innovations "
                f"({time.perf_counter() - started:.0f} s)",
                file=sys.stderr,
                flush=True,
            )
        frame = pd.concat(parts, ignore_index=True) if parts else estimates(data, innovation_ids=[])
        seconds = time.perf_counter() - started
        save_estimates(engine, account_id, version, frame, seconds=seconds)
        done.append((name, seconds, len(frame)))
    return done


def _print_estimated(done: list[tuple[str, float, int]]) -> None:
    for name, seconds, n in done:
        print(f"{name}: stored the causal estimates of {n} innovations in {seconds:.1f} s")


# ---------------------------------------------------------------------------------------------
# Commands


def cmd_init(args: argparse.Namespace) -> int:
    from data_loaders.db import is_empty

    engine = _engine(args)
    if is_empty(engine):
        from data_loaders.demo import load_demo

        result = load_demo(engine)
        if not getattr(result, "ok", True):
            return _print_result(result)
        print(f"initialised {redact(str(engine.url))} with the demo account")
        if not args.no_estimates:
            _print_estimated(_estimate_accounts(engine))
    else:
        print(f"{redact(str(engine.url))} is up to date (data already present)")
        if not args.no_estimates:  # e.g. upgraded from a version without stored estimates
            _print_estimated(_estimate_accounts(engine))
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    engine = _engine(args)
    print(f"{redact(str(engine.url))}: schema at the newest revision")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from data_loaders.demo import load_demo

    if args.scale < 1:
        raise CliError("--scale must be 1 or more")
    engine = _engine(args)
    result = load_demo(engine, seed=args.seed, scale=args.scale)
    code = _print_result(result) if hasattr(result, "ok") else 0
    if code == 0 and not args.no_estimates:
        _print_estimated(_estimate_accounts(engine))
    return code


def _refresh_estimates(args: argparse.Namespace, engine: Any, code: int) -> int:
    """After a successful import or rollback: recompute the estimates whose data changed."""
    from sqlalchemy import inspect

    if code == 0 and not getattr(args, "dry_run", False) and not args.no_estimates:
        if not inspect(engine).has_table("estimate_run"):
            print(
                "note: estimates not refreshed: run `python cli.py migrate` first", file=sys.stderr
            )
            return code
        _print_estimated(_estimate_accounts(engine))
    return code


def cmd_estimate(args: argparse.Namespace) -> int:
    engine = _engine(args)
    done = _estimate_accounts(engine, None if args.all else [args.account], force=args.force)
    _print_estimated(done)
    if not done:
        print("estimates already stored for the current data (--force recomputes them)")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from data_loaders.importer import import_files

    files = _files(args.files)
    engine = _engine(args)
    result = import_files(
        engine, files, dry_run=args.dry_run, user=_user(args), progress=_progress(args.progress)
    )
    return _refresh_estimates(args, engine, _print_result(result))


def cmd_import_sql(args: argparse.Namespace) -> int:
    from data_loaders.sql_source import import_sql, load_mapping

    path = Path(args.mapping)
    if not path.exists():
        raise CliError(f"mapping file not found: {path}")
    try:
        mapping, source = load_mapping(path)
    except ValueError as exc:
        raise CliError(str(exc)) from exc
    source = args.source or source
    if not source:
        raise CliError(
            "give the source database with --source URL (or source = … in the mapping file)"
        )
    engine = _engine(args)
    result = import_sql(
        engine,
        source,
        mapping,
        dry_run=args.dry_run,
        user=_user(args),
        progress=_progress(args.progress),
    )
    return _refresh_estimates(args, engine, _print_result(result))


def cmd_batches(args: argparse.Namespace) -> int:
    from data_loaders.batches import list_batches

    df = list_batches(_engine(args, migrate=False), args.account)
    cols = [
        "id",
        "status",
        "started_at",
        "fmt",
        "entity",
        "account_name",
        "rows_read",
        "rows_inserted",
        "rows_updated",
        "rows_unchanged",
        "user",
        "source",
    ]
    if not df.empty:
        df = df[cols].copy()
        df["started_at"] = df["started_at"].dt.strftime("%Y-%m-%d %H:%M")
    print(_table(df))
    return 0


def cmd_rollback(args: argparse.Namespace) -> int:
    from data_loaders.batches import rollback_batch

    engine = _engine(args, migrate=False)
    try:
        r = rollback_batch(engine, args.batch)
    except ValueError as exc:
        raise CliError(str(exc)) from exc
    print(
        f"rolled back batch {r.batch_id}: {r.rows_deleted:,} rows deleted, "
        f"{r.rows_restored:,} rows restored"
    )
    return _refresh_estimates(args, engine, 0)


def cmd_templates(args: argparse.Namespace) -> int:
    from data_loaders.templates import TEMPLATE_ENTITIES, template_csv, template_xlsx

    out = Path(args.dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
        for entity in TEMPLATE_ENTITIES:
            (out / f"{entity}.csv").write_bytes(template_csv(entity))
        (out / "then_and_now_template.xlsx").write_bytes(template_xlsx())
    except OSError as exc:
        raise CliError(f"cannot write templates to {out}: {exc.strerror or exc}") from exc
    print(f"wrote {len(TEMPLATE_ENTITIES)} CSV templates and then_and_now_template.xlsx to {out}")
    return 0


def _as_of(text: str) -> Any:
    """``YYYY-MM-DD``, or ``YYYY-MM`` for the last day of that month."""
    import datetime as dt

    import pandas as pd

    try:
        if len(text) == 7:
            return (pd.Timestamp(f"{text}-01") + pd.offsets.MonthEnd(0)).date()
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a date (use YYYY-MM-DD or YYYY-MM)"
        ) from None


def _json_value(v: Any) -> Any:
    import math

    if v is None or isinstance(v, str | bool | int):
        return v
    if hasattr(v, "isoformat"):
        return v.date().isoformat() if hasattr(v, "date") and callable(v.date) else v.isoformat()
    try:
        f = float(v)
    except (TypeError, ValueError):
        return str(v)
    return None if math.isnan(f) else round(f, 6)


def cmd_metrics(args: argparse.Namespace) -> int:
    import json

    from data_loaders.access import Scope
    from data_loaders.queries import account_id_by_name, load_account_data
    from metrics.filters import Filters, limit_to
    from metrics.format import money, pct
    from metrics.headline import headline
    from metrics.views import estimates, evidence_of, photo, value_lines

    engine = _engine(args, migrate=False)
    scope = Scope.everything()  # the command line is the provider's own tool
    try:
        account_id = account_id_by_name(engine, scope, args.account)
    except LookupError as exc:
        raise CliError(str(exc)) from exc
    data = limit_to(load_account_data(engine, scope, account_id), args.as_of)
    sel = Filters()
    evidence = None
    if args.estimates:
        from data_loaders.estimate_store import load_estimates
        from metrics.versions import estimates_version

        est = load_estimates(engine, account_id, estimates_version(data))
        evidence = evidence_of(value_lines(data, sel, est if est is not None else estimates(data)))
    head = headline(data, sel, evidence=evidence)
    if head is None:
        when = f" up to {args.as_of:%Y-%m-%d}" if args.as_of else ""
        raise CliError(
            f"account {data.account.name!r} has no measured value{when}: "
            "no KPI observations of its headline KPIs against a baseline"
        )
    pic = photo(data, sel)
    cols = ["key", "label", "unit_of_measure", "then", "now", "change", "pct_change", "better"]
    if args.json:
        out: dict[str, Any] = head.as_dict()
        out["evidence_basis"] = "estimates" if args.estimates else "measured and claimed only"
        out["then_now"] = (
            None
            if pic is None
            else {
                "then": [d.isoformat() for d in pic.then],
                "now": [d.isoformat() for d in pic.now],
                "then_label": pic.then_label,
                "now_label": pic.now_label,
                "rows": [{c: _json_value(r[c]) for c in cols} for _, r in pic.cards.iterrows()],
                "went_live_between": int(len(pic.between)),
            }
        )
        print(json.dumps(out, indent=2, ensure_ascii=False))
        return 0
    cur, loc = head.currency, data.account.locale
    mix = head.evidence_mix
    lines = [
        ("account", head.account),
        ("currency", head.currency),
        ("as_of", head.as_of.isoformat()),
        ("baseline", f"{head.baseline_start.isoformat()} – {head.baseline_end.isoformat()}"),
        ("cumulative_value", money(head.cumulative_value, cur, loc, compact=False)),
        ("run_rate", money(head.run_rate, cur, loc, compact=False) + " a year"),
        ("innovations_live", f"{head.innovations_live} of {head.innovations_total}"),
        ("claimed_value", money(head.claimed_value, cur, loc, compact=False)),
        ("attributed_value", money(head.attributed_value, cur, loc, compact=False)),
        ("unattributed_value", money(head.unattributed_value, cur, loc, compact=False)),
        ("realisation", pct(head.realisation, loc, signed=False)),
        (
            "evidence_mix",
            f"{mix['estimated']} estimated, {mix['measured']} measured, "
            f"{mix['claimed']} claimed"
            + ("" if args.estimates else " (no estimates run: --estimates)"),
        ),
    ]
    width = max(len(k) for k, _ in lines)
    print("\n".join(f"{k:<{width}}  {v}" for k, v in lines))
    if head.missing_months:
        print(
            f"note: {head.missing_months} unit-months of the headline KPIs have no data "
            "(not counted, not zero-filled)",
            file=sys.stderr,
        )
    if head.baseline_missing:
        print(
            f"note: no baseline (not measured): {'; '.join(head.baseline_missing)}", file=sys.stderr
        )
    if pic is None:
        print("\nthen vs now: no data in one of the two periods")
        return 0
    print(
        f"\nthen vs now: {pic.then_label} vs {pic.now_label} "
        f"({len(pic.between)} innovations went live in between)"
    )
    table = pic.cards[["label", "then_text", "now_text", "delta_text", "better"]].rename(
        columns={"then_text": pic.then_label, "now_text": pic.now_label, "delta_text": "change"}
    )
    table["better"] = table["better"].map({True: "better", False: "worse"}).fillna("same")
    print(_table(table))
    return 0


# ---------------------------------------------------------------------------------------------
# Parser


def _add_init(sub: Any) -> None:
    p = sub.add_parser(
        "init",
        help="migrate; load the demo account if the database is empty; "
        "store the causal estimates that are missing",
    )
    p.add_argument(
        "--no-estimates",
        action="store_true",
        help="do not compute the causal estimates now (the dashboard does it on first use)",
    )


def _add_migrate(sub: Any) -> None:
    sub.add_parser("migrate", help="alembic upgrade head")


def _add_demo(sub: Any) -> None:
    p = sub.add_parser("demo", help="generate and import the demo account")
    p.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    p.add_argument(
        "--scale",
        type=int,
        default=1,
        help="1 = monthly data; N > 1 = daily data for 3·N sites (14 ≈ 1M rows)",
    )
    p.add_argument(
        "--no-estimates",
        action="store_true",
        help="do not compute the causal estimates now (the dashboard does it on first use)",
    )


def _add_import(sub: Any) -> None:
    p = sub.add_parser("import", help="validate and import CSV/XLSX files as one batch")
    p.add_argument("files", nargs="+", metavar="FILE", help="files (or folders of files)")
    p.add_argument("--dry-run", action="store_true", help="only validate and count")
    p.add_argument("--user", help="who imports (default: the login name)")
    p.add_argument("--progress", action="store_true", help="report progress on stderr")
    p.add_argument(
        "--no-estimates",
        action="store_true",
        help="do not compute the causal estimates now (the dashboard does it on first use)",
    )


def _add_import_sql(sub: Any) -> None:
    p = sub.add_parser("import-sql", help="import the entities from another database")
    p.add_argument("--source", help="SQLAlchemy URL of the source database")
    p.add_argument("--mapping", required=True, help="TOML or JSON mapping file")
    p.add_argument("--dry-run", action="store_true", help="only validate and count")
    p.add_argument("--user", help="who imports (default: the login name)")
    p.add_argument("--progress", action="store_true", help="report progress on stderr")
    p.add_argument(
        "--no-estimates",
        action="store_true",
        help="do not compute the causal estimates now (the dashboard does it on first use)",
    )


def _add_batches(sub: Any) -> None:
    p = sub.add_parser("batches", help="import history")
    p.add_argument("--account", help="only batches of this account")


def _add_rollback(sub: Any) -> None:
    p = sub.add_parser("rollback", help="undo one import batch")
    p.add_argument("batch", type=int, metavar="BATCH", help="batch id (see `batches`)")
    p.add_argument(
        "--no-estimates",
        action="store_true",
        help="do not compute the causal estimates now (the dashboard does it on first use)",
    )


def _add_estimate(sub: Any) -> None:
    p = sub.add_parser(
        "estimate",
        help="compute and store the causal estimates of an account "
        "(once per data version; the Story page reads them)",
    )
    who = p.add_mutually_exclusive_group(required=True)
    who.add_argument("--account", metavar="NAME", help="account name")
    who.add_argument("--all", action="store_true", help="every account")
    p.add_argument(
        "--force", action="store_true", help="recompute even when stored for the current data"
    )


def _add_templates(sub: Any) -> None:
    p = sub.add_parser("templates", help="write a template file per entity")
    p.add_argument("dir", metavar="DIR", help="folder to write to")


def _add_metrics(sub: Any) -> None:
    p = sub.add_parser("metrics", help="headline figures and the then-vs-now table")
    p.add_argument("--account", required=True, metavar="NAME", help="account name")
    p.add_argument(
        "--as-of",
        type=_as_of,
        metavar="DATE",
        help="only data up to this date (YYYY-MM-DD, or YYYY-MM for its last day)",
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument(
        "--estimates",
        action="store_true",
        help="run the causal estimates so the evidence mix counts 'estimated' "
        "innovations as the dashboard does (slower: ~20 s on the demo)",
    )


# name → (declare arguments, run). Keep the order: it is the order of `--help`.
COMMANDS: dict[str, tuple[Callable[[Any], None], Handler]] = {
    "init": (_add_init, cmd_init),
    "migrate": (_add_migrate, cmd_migrate),
    "demo": (_add_demo, cmd_demo),
    "import": (_add_import, cmd_import),
    "import-sql": (_add_import_sql, cmd_import_sql),
    "batches": (_add_batches, cmd_batches),
    "rollback": (_add_rollback, cmd_rollback),
    "templates": (_add_templates, cmd_templates),
    "metrics": (_add_metrics, cmd_metrics),
    "estimate": (_add_estimate, cmd_estimate),
}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # one line, exit 2, like argparse but shorter
        self.print_usage(sys.stderr)
        print(f"error: {message}", file=sys.stderr)
        raise SystemExit(2)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="python cli.py", description="Then & Now: import, history, rollback, demo data."
    )
    parser.add_argument(
        "--db",
        metavar="URL",
        help="SQLAlchemy URL (default: $DATABASE_URL, else sqlite:///data/thenandnow.sqlite)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for add, _run in COMMANDS.values():
        add(sub)
    return parser


# ---------------------------------------------------------------------------------------------
# Main


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]


def main(argv: Sequence[str] | None = None) -> int:
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError, SQLAlchemyError

    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command][1](args)
    except CliError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except DatabaseUnavailable as exc:
        print(f"error: {_one_line(exc)}", file=sys.stderr)
        return 1
    except (ArgumentError, NoSuchModuleError) as exc:
        print(
            f"error: invalid database URL {redact(database_url(args.db))}: {_one_line(exc)}",
            file=sys.stderr,
        )
        return 1
    except OperationalError as exc:
        orig = getattr(exc, "orig", None)
        print(
            f"error: the database at {redact(database_url(args.db))} cannot be used: "
            f"{_one_line(orig or exc)}",
            file=sys.stderr,
        )
        return 1
    except SQLAlchemyError as exc:
        orig = getattr(exc, "orig", None)
        print(f"error: database error: {_one_line(orig or exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted; nothing was committed", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # noqa: BLE001 - the promise: no tracebacks, ever
        print(f"error: {_one_line(exc)}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
