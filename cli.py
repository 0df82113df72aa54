"""Then & Now command line: a thin layer over the library (modelled on sqlite-utils).

    thenandnow [--db URL] COMMAND … [--db URL]

``thenandnow`` is the console command ``make`` installs into ``.venv/bin`` (``pip install -e
.``); ``.venv/bin/python cli.py …`` is the same program. The database is ``--db URL`` (before
or after the command name), else ``DATABASE_URL``, else ``data/thenandnow.sqlite``.

Commands: ``init``, ``migrate``, ``demo``, ``import``, ``import-sql``, ``batches``,
``rollback``, ``templates``, ``metrics``, ``estimate``.

The causal estimates are stored per data version (``data_loaders.estimate_store``): ``init``
and ``demo`` compute them after loading the demo, ``import``/``import-sql``/``rollback``
refresh those of accounts whose data changed (``--no-estimates`` skips it; the dashboard
then computes them on first use), and ``estimate --account NAME`` does it on demand.

Every failure exits non-zero with one readable line on stderr, never a traceback:
exit 1 for a rejected import or a refused request (unknown batch, missing file, …),
exit 2 for a usage error (usage line + "error: …") or anything unexpected ("error: <message>").

Adding a command: a function decorated with ``@cli.command("name")`` and ``@_db_option``
that parses its options, calls one library or service function, prints, and returns the exit
code (raise ``CliError`` for a refusal meant for the person at the terminal).
"""

from __future__ import annotations

import datetime as dt
import getpass
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import click

from data_loaders.db import DatabaseUnavailable, database_url, redact

PROG = "thenandnow"
F = TypeVar("F", bound=Callable[..., Any])


class CliError(Exception):
    """A failure with a message meant for the person at the terminal (exit code 1)."""


# ---------------------------------------------------------------------------------------------
# Shared options and helpers


def _remember_db(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    # The group and every command declare --db; whichever was given is the one used.
    if value is not None:
        ctx.ensure_object(dict)["db"] = value


def _remember_as_user(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    if value is not None:
        ctx.ensure_object(dict)["as_user"] = value


def _db_option(f: F) -> F:
    """``--db URL`` and ``--as-user EMAIL``, accepted by the group and by every command."""
    f = click.option(
        "--as-user",
        metavar="EMAIL",
        expose_value=False,
        is_eager=True,
        callback=_remember_as_user,
        help="act with the access of this signed-in user (default: the provider admin "
        "at this terminal)",
    )(f)
    return click.option(
        "--db",
        metavar="URL",
        expose_value=False,
        is_eager=True,
        callback=_remember_db,
        help="SQLAlchemy URL (default: $DATABASE_URL, else sqlite:///data/thenandnow.sqlite)",
    )(f)


_no_estimates = click.option(
    "--no-estimates",
    is_flag=True,
    help="do not compute the causal estimates now (the dashboard does it on first use)",
)


def _db_arg() -> str | None:
    obj = click.get_current_context().find_root().obj
    return obj.get("db") if isinstance(obj, dict) else None


def _engine(*, migrate: bool = True, create: bool = False) -> Any:
    """The command's engine; only ``create`` commands (init, demo, migrate) may create a new
    SQLite file, the others say "no database at …" (a mistyped --db)."""
    from sqlalchemy import inspect

    from data_loaders.db import DatabaseMissing, make_engine, require_existing, schema_is_current
    from data_loaders.db import migrate as run_migrations

    url = database_url(_db_arg())
    if not create:
        try:
            require_existing(url)
        except DatabaseMissing as exc:
            raise CliError(str(exc)) from exc
    engine = make_engine(url)
    if migrate:
        run_migrations(engine)
    elif not inspect(engine).has_table("import_batch"):
        raise CliError(
            f"the database at {redact(url)} has no Then & Now tables yet: "
            f"run `{PROG} init` (or `migrate`) first"
        )
    elif not schema_is_current(engine):
        # A reading command never migrates (it writes nothing); without this it would fail
        # on the first table or column the older schema lacks, blaming the connection.
        raise CliError(
            f"the database at {redact(url)} has an older schema than this version: "
            f"run `{PROG} migrate` first"
        )
    return engine


def _user(user: str | None) -> str | None:
    if user:
        return user
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no login name in some containers
        return os.environ.get("USER")


def _progress(enabled: bool | None) -> Callable[[float, str], None] | None:
    """Progress on stderr: by default when stderr is a terminal (--progress/--no-progress);
    a line when the phase changes or the fraction moves by 5 points, so a long write phase
    shows it moving. Without it, only that the command waits for another import or rollback
    (it is never silent while blocked)."""
    if enabled is None:
        enabled = sys.stderr.isatty()
    last: dict[str, Any] = {"msg": "", "at": -1.0}

    def report(fraction: float, message: str) -> None:
        if not enabled and not message.startswith("waiting"):
            return
        if message != last["msg"] or fraction >= last["at"] + 0.05 or fraction >= 1.0 > last["at"]:
            last["msg"], last["at"] = message, fraction
            print(f"[{fraction:4.0%}] {message}", file=sys.stderr, flush=True)

    return report


def _print_result(result: Any) -> int:
    from metrics.format import counted

    if not result.ok:
        for p in result.problems:
            print(str(p))
        n = len(result.problems)
        print(f"rejected: {counted(n, 'problem')}; nothing was written", file=sys.stderr)
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


def _scope(user: str | None = None) -> Any:
    """Whose access the command runs with. ``--as-user EMAIL`` resolves that person's grants
    exactly as the dashboard does after sign-in (unknown people are refused); without it the
    person at the terminal is a local provider admin (it runs on the provider's machine, and
    whoever can run it can read the database anyway)."""
    from data_loaders.access import Scope, resolve_scope
    from data_loaders.db import make_engine

    obj = click.get_current_context().find_root().obj
    email = obj.get("as_user") if isinstance(obj, dict) else None
    if not email:
        return Scope.everything(user=_user(user) or "local")
    from data_loaders.db import DatabaseMissing, require_existing

    try:
        require_existing(_db_arg())
    except DatabaseMissing as exc:
        raise CliError(str(exc)) from exc
    engine = make_engine(database_url(_db_arg()))
    try:
        scope = resolve_scope(engine, email)
    finally:
        engine.dispose()
    if scope is None:
        raise CliError(
            f"{email} has no access to any account: a provider admin grants it with "
            f"`{PROG} access grant {email} --role ROLE [--account NAME]`"
        )
    return scope


def _require(scope: Any, allowed: bool, what: str) -> None:
    from data_loaders.access import AccessDenied

    try:
        scope.require(allowed, what)
    except AccessDenied as exc:
        raise CliError(str(exc)) from exc


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _estimate(engine: Any, names: Sequence[str] | None = None, *, force: bool = False) -> list[Any]:
    from services.imports import refresh_estimates

    try:
        return refresh_estimates(_scope(), engine, names, force=force, say=_say)
    except (LookupError, PermissionError) as exc:
        raise CliError(str(exc)) from exc


def _print_estimated(done: Sequence[Any]) -> None:
    from metrics.format import counted

    for e in done:
        print(
            f"{e.account}: stored the causal estimates of {counted(e.innovations, 'innovation')} "
            f"in {e.seconds:.1f} s"
        )


def _print_refresh(refresh: Any) -> None:
    _print_estimated(refresh.estimated)
    if refresh.note:
        print(f"note: {refresh.note} (`{PROG} migrate`)", file=sys.stderr)


class _AsOf(click.ParamType):
    """``YYYY-MM-DD``, or ``YYYY-MM`` for the last day of that month."""

    name = "DATE"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, dt.date):
            return value
        import pandas as pd

        text = str(value)
        try:
            if len(text) == 7:
                return (pd.Timestamp(f"{text}-01") + pd.offsets.MonthEnd(0)).date()
            return dt.date.fromisoformat(text)
        except ValueError:
            self.fail(f"{text!r} is not a date (use YYYY-MM-DD or YYYY-MM)", param, ctx)


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


# ---------------------------------------------------------------------------------------------
# Commands (in the order of `--help`)


class _InOrder(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(self.commands)


@click.group(
    cls=_InOrder,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    help="Then & Now: import, history, rollback, demo data, estimates, figures.",
)
@_db_option
def cli() -> None:
    pass


@cli.command(
    "init",
    short_help="migrate; load the demo if empty; store missing estimates",
    help="Migrate; load the demo account if the database is empty; store the causal "
    "estimates that are missing (unless --no-estimates).",
)
@_no_estimates
@_db_option
def cmd_init(no_estimates: bool) -> int:
    from data_loaders.db import is_empty

    engine = _engine(create=True)
    if is_empty(engine):
        from data_loaders.demo import load_demo

        result = load_demo(engine)
        if not getattr(result, "ok", True):
            return _print_result(result)
        print(f"initialised {redact(str(engine.url))} with the demo account")
    else:
        print(f"{redact(str(engine.url))} is up to date (data already present)")
    if not no_estimates:  # also after an upgrade from a version without stored estimates
        _print_estimated(_estimate(engine))
    return 0


@cli.command("migrate", help="alembic upgrade head")
@_db_option
def cmd_migrate() -> int:
    engine = _engine(create=True)
    print(f"{redact(str(engine.url))}: schema at the newest revision")
    return 0


@cli.command("demo", help="generate and import the demo account")
@click.option("--seed", type=int, default=7, show_default=True, help="random seed")
@click.option(
    "--scale",
    type=int,
    default=1,
    help="1 = monthly data; N > 1 = daily data for 3·N sites (14 ≈ 1M rows)",
)
@_no_estimates
@_db_option
def cmd_demo(seed: int, scale: int, no_estimates: bool) -> int:
    from data_loaders.demo import load_demo

    if scale < 1:
        raise CliError("--scale must be 1 or more")
    engine = _engine(create=True)
    result = load_demo(engine, seed=seed, scale=scale)
    code = _print_result(result) if hasattr(result, "ok") else 0
    if code == 0 and not no_estimates:
        _print_estimated(_estimate(engine))
    return code


_dry_run = click.option("--dry-run", is_flag=True, help="only validate and count")
_user_opt = click.option("--user", help="who imports (default: the login name)")
_progress_opt = click.option(
    "--progress/--no-progress",
    default=None,
    help="report progress on stderr (default: when stderr is a terminal)",
)


@cli.command(
    "import",
    short_help="validate and import CSV/XLSX files as one batch",
    help="Validate and import CSV/XLSX files (or folders of them) as one batch.",
)
@click.argument("files", nargs=-1, required=True, metavar="FILE…")
@_dry_run
@_user_opt
@_progress_opt
@_no_estimates
@_db_option
def cmd_import(
    files: tuple[str, ...],
    dry_run: bool,
    user: str | None,
    progress: bool | None,
    no_estimates: bool,
) -> int:
    from services.imports import import_files

    paths = _files(files)
    out = import_files(
        _scope(user),
        _engine(),
        paths,
        dry_run=dry_run,
        progress=_progress(progress),
        estimates=not no_estimates,
        say=_say,
    )
    code = _print_result(out.result)
    _print_refresh(out.refresh)
    return code


@cli.command("import-sql", help="import the entities from another database")
@click.option("--source", metavar="URL", help="SQLAlchemy URL of the source database")
@click.option("--mapping", required=True, metavar="FILE", help="TOML or JSON mapping file")
@_dry_run
@_user_opt
@_progress_opt
@_no_estimates
@_db_option
def cmd_import_sql(
    source: str | None,
    mapping: str,
    dry_run: bool,
    user: str | None,
    progress: bool | None,
    no_estimates: bool,
) -> int:
    from data_loaders.sql_source import load_mapping
    from services.imports import import_sql

    path = Path(mapping)
    if not path.exists():
        raise CliError(f"mapping file not found: {path}")
    try:
        entities, default_source = load_mapping(path)
    except ValueError as exc:
        raise CliError(str(exc)) from exc
    source = source or default_source
    if not source:
        raise CliError(
            "give the source database with --source URL (or source = … in the mapping file)"
        )
    out = import_sql(
        _scope(user),
        _engine(),
        source,
        entities,
        dry_run=dry_run,
        progress=_progress(progress),
        estimates=not no_estimates,
        say=_say,
    )
    code = _print_result(out.result)
    _print_refresh(out.refresh)
    return code


@cli.command("batches", help="import history")
@click.option("--account", metavar="NAME", help="only batches of this account")
@_db_option
def cmd_batches(account: str | None) -> int:
    from data_loaders.batches import list_batches

    engine = _engine(migrate=False)
    scope = _scope()
    if scope.account_ids is not None:  # a client executive: the batches of its accounts only
        from data_loaders.queries import list_accounts

        mine = list_accounts(engine, scope)["name"].tolist()
        if account is not None and account not in mine:
            raise CliError(f"No account named {account!r} in your scope.")
        df = list_batches(engine)
        df = df[df["account_name"].isin([account] if account else mine)]
    else:
        df = list_batches(engine, account)
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
        "rows_now",
        "rows_kept",
        "user",
        "source",
    ]
    if not df.empty:
        df = df[cols].copy()
        df["started_at"] = df["started_at"].dt.strftime("%Y-%m-%d %H:%M")
    print(_table(df))
    return 0


@cli.command("rollback", help="undo one import batch")
@click.argument("batch", type=int, metavar="BATCH")
@_no_estimates
@_db_option
def cmd_rollback(batch: int, no_estimates: bool) -> int:
    from services.imports import rollback

    try:
        out = rollback(
            _scope(), _engine(migrate=False), batch, estimates=not no_estimates, say=_say
        )
    except ValueError as exc:
        raise CliError(str(exc)) from exc
    r = out.result
    print(
        f"rolled back batch {r.batch_id}: {r.rows_deleted:,} rows deleted, "
        f"{r.rows_restored:,} rows restored"
    )
    _print_refresh(out.refresh)
    return 0


@cli.command("templates", help="write a template file per entity into DIR")
@click.argument("directory", metavar="DIR")
@_db_option
def cmd_templates(directory: str) -> int:
    from data_loaders.templates import TEMPLATE_ENTITIES, template_csv, template_xlsx

    out = Path(directory)
    try:
        out.mkdir(parents=True, exist_ok=True)
        for entity in TEMPLATE_ENTITIES:
            (out / f"{entity}.csv").write_bytes(template_csv(entity))
        (out / "then_and_now_template.xlsx").write_bytes(template_xlsx())
    except OSError as exc:
        raise CliError(f"cannot write templates to {out}: {exc.strerror or exc}") from exc
    print(f"wrote {len(TEMPLATE_ENTITIES)} CSV templates and then_and_now_template.xlsx to {out}")
    return 0


@cli.command("metrics", help="headline figures and the then-vs-now table")
@click.option("--account", required=True, metavar="NAME", help="account name")
@click.option(
    "--as-of",
    "as_of",
    type=_AsOf(),
    help="only data up to this date (YYYY-MM-DD, or YYYY-MM for its last day)",
)
@click.option("--json", "as_json", is_flag=True, help="print JSON")
@click.option(
    "--estimates/--no-estimates",
    "use_estimates",
    default=None,
    help="default: the causal estimates stored for this data, as the dashboard uses them; "
    "--estimates computes them when none are stored (slower: ~20 s on the demo); "
    "--no-estimates leaves them out (measured and claimed only)",
)
@click.option(
    "--unit",
    "units",
    multiple=True,
    metavar="NAME",
    help="only this unit, named as on the dashboard (repeatable)",
)
@click.option(
    "--category",
    "categories",
    multiple=True,
    metavar="NAME",
    help="only this category (repeatable)",
)
@_db_option
def cmd_metrics(
    account: str,
    as_of: dt.date | None,
    as_json: bool,
    use_estimates: bool | None,
    units: tuple[str, ...],
    categories: tuple[str, ...],
) -> int:
    import json

    from metrics.format import counted, money, pct
    from services.figures import EstimatesMode, NoFigures, account_figures

    mode: EstimatesMode = (
        "stored" if use_estimates is None else "compute" if use_estimates else "none"
    )
    try:
        fig = account_figures(
            _engine(migrate=False),
            _scope(),
            account,
            as_of=as_of,
            estimates_mode=mode,
            units=units,
            categories=categories,
        )
    except (LookupError, PermissionError, NoFigures) as exc:
        raise CliError(str(exc)) from exc
    head, pic, data = fig.headline, fig.photo, fig.data
    cols = ["key", "label", "unit_of_measure", "then", "now", "change", "pct_change", "better"]
    if as_json:
        out: dict[str, Any] = head.as_dict()
        out["evidence_basis"] = fig.evidence_basis
        out["evidence_basis_note"] = fig.basis_note
        out["states"] = fig.states
        out["selection"] = {"units": list(units), "categories": list(categories)}
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
                "unit_golives_between": int(pic.unit_golives),
            }
        )
        # the story model: what the Story page, present mode, the pack and the deck print,
        # figure for figure
        out["story"] = fig.story.to_dict()
        print(json.dumps(out, indent=2, ensure_ascii=False))
        return 0
    cur, loc = head.currency, data.account.locale
    told = fig.story.section("headline")  # the same strings as the Story page's cards
    mix = head.evidence_mix
    lines = [
        ("account", head.account),
        ("currency", head.currency),
        ("as_of", head.as_of.isoformat()),
        ("baseline", f"{head.baseline_start.isoformat()} – {head.baseline_end.isoformat()}"),
        ("cumulative_value", told.figure("value_to_date").exact),
        ("run_rate", told.figure("run_rate").exact + " a year"),
        (
            "innovations_live",
            f"{head.innovations_live} of {head.innovations_total}"
            if not units
            else f"{head.innovations_live} of {head.innovations_live_account} live in the account",
        ),
        ("states", ", ".join(f"{n} {s}" for s, n in fig.states.items())),
        ("claimed_value", money(head.claimed_value, cur, loc, compact=False)),
        ("attributed_value", money(head.attributed_value, cur, loc, compact=False)),
        ("unattributed_value", money(head.unattributed_value, cur, loc, compact=False)),
        ("realisation", pct(head.realisation, loc, signed=False)),
        (
            "evidence_mix",
            f"{mix['estimated']} estimated, {mix['measured']} measured, "
            f"{mix['claimed']} claimed"
            + (f" ({fig.basis_note})" if fig.basis_note else " (stored causal estimates)"),
        ),
    ]
    width = max(len(k) for k, _ in lines)
    print("\n".join(f"{k:<{width}}  {v}" for k, v in lines))
    if head.as_of_note:
        print(f"note: {head.as_of_note}", file=sys.stderr)
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
        f"({counted(len(pic.between), 'innovation')} went live for the first time in between; "
        f"{counted(pic.unit_golives, 'unit go-live')} in all)"
    )
    table = pic.cards[["label", "then_text", "now_text", "delta_text", "better"]].rename(
        columns={"then_text": pic.then_label, "now_text": pic.now_label, "delta_text": "change"}
    )
    table["better"] = table["better"].map({True: "better", False: "worse"}).fillna("same")
    table.loc[pic.cards["demand"].astype(bool).to_numpy(), "better"] = "client demand"
    print(_table(table))
    return 0


@cli.command(
    "pack",
    short_help="build the renewal pack (PDF or deck) of one account or of all",
    help="Build the renewal pack of an account as of a date (default: the end of the last "
    "complete month), archive it as an edition and write it to --out; or one pack per "
    "account with --all --out-dir DIR (file names carry account and as-of). Progress on "
    "stderr.",
)
@click.option("--account", metavar="NAME", help="account name")
@click.option("--all", "every", is_flag=True, help="every account")
@click.option("--as-of", "as_of", type=_AsOf(), help="YYYY-MM-DD, or YYYY-MM for its last day")
@click.option("--paper", type=click.Choice(["a4", "letter"]), default="a4", show_default=True)
@click.option(
    "--format", "fmt", type=click.Choice(["pdf", "pptx"]), default="pdf", show_default=True
)
@click.option(
    "--password-file",
    type=click.Path(exists=True, dir_okay=False),
    help="encrypt the PDF (AES-256) with the password in this file (first line)",
)
@click.option("--provider", default="", help="provider name for the cover (default: the account's)")
@click.option("--out", "out", type=click.Path(dir_okay=False), help="file to write")
@click.option("--out-dir", "out_dir", type=click.Path(file_okay=False), help="folder for --all")
@click.option(
    "--jobs",
    type=click.IntRange(min=1),
    default=None,
    help="with --all, build this many accounts at once in worker processes (default: 2 "
    "when the machine has 2 cores or more and there are 2 accounts or more, else 1: two "
    "workers finish sooner on a quiet 2-core machine although together they spend more "
    "CPU, since each starts its own chart renderer; --jobs 1 spends the least CPU and "
    "suits a machine whose cores are busy: see benchmarks/README.md)",
)
@_user_opt
@_db_option
def cmd_pack(
    account: str | None,
    every: bool,
    as_of: dt.date | None,
    paper: str,
    fmt: str,
    password_file: str | None,
    provider: str,
    out: str | None,
    out_dir: str | None,
    jobs: int | None,
    user: str | None,
) -> int:
    from services.pack import PackJob, accounts, build_packs, default_jobs

    if (account is None) == (not every):
        raise click.UsageError("give exactly one of --account NAME or --all")
    if every and not out_dir:
        raise click.UsageError("--all needs --out-dir DIR")
    if not every and not out:
        raise click.UsageError("--account needs --out FILE")
    password = None
    if password_file:
        lines = Path(password_file).read_text(encoding="utf-8").splitlines()
        password = lines[0] if lines else ""
        if not password:
            raise CliError(f"{password_file}: the first line (the password) is empty")
    engine = _engine()
    scope = _scope(user)  # build_pack checks that it allows each account
    names = accounts(engine, scope) if every else [str(account)]
    report = _progress(True)
    assert report is not None

    def say(name: str, f: float, m: str) -> None:
        assert report is not None
        report(f, f"{name}: {m}")

    todo = [
        PackJob(
            url=database_url(_db_arg()),
            scope=scope,
            account=name,
            out_dir=str(out_dir or ""),
            out=str(out or ""),
            as_of=as_of,
            paper=paper,
            fmt=fmt,
            password=password,
            provider=provider,
        )
        for name in names
    ]
    workers = jobs if jobs is not None else default_jobs(len(todo))
    if every:
        # said even without --progress: which --jobs a scheduled run used, for its log
        print(f"{len(todo)} accounts, --jobs {workers}", file=sys.stderr, flush=True)
    failed = 0
    for r in build_packs(todo, jobs=workers, progress=say):
        if r.error:
            if not every:
                raise CliError(r.error)
            print(f"error: {r.account}: {r.error}", file=sys.stderr)
            failed += 1
            continue
        assert r.as_of is not None
        print(
            f"{r.target}: {r.account}, as of {r.as_of:%Y-%m-%d}, edition {r.edition_no}, "
            f"sha256 {r.sha256}" + (" (password-protected)" if r.protected else "")
        )
    return 1 if failed else 0


@cli.command(
    "verify",
    short_help="is FILE.pdf an archived edition of a renewal pack?",
    help="Say whether FILE.pdf is an archived edition of this database (by SHA-256) and "
    "print its account, as-of, edition and headline figures; or that it is not one, or that "
    "it was modified. Exit 0 for an edition, 1 otherwise.",
)
@click.argument("file", type=click.Path(exists=True, dir_okay=False), metavar="FILE.pdf")
@click.option(
    "--password-file",
    type=click.Path(exists=True, dir_okay=False),
    help="password of a protected file (only needed to name a modified one)",
)
@_db_option
def cmd_verify(file: str, password_file: str | None) -> int:
    from services.pack import verify_pack

    password = None
    if password_file:
        lines = Path(password_file).read_text(encoding="utf-8").splitlines()
        password = lines[0] if lines else None
    result = verify_pack(
        _engine(migrate=False), _scope(), Path(file).read_bytes(), password=password
    )
    print(result.message)
    print(f"sha256    {result.sha256}")
    if result.headline:
        print(f"account   {result.account}")
        print(f"as of     {result.as_of}")
        print(f"edition   {result.edition_no}")
        for k, v in result.headline.items():
            print(f"{k:<22}{v}")
    return 0 if result.status == "edition" else 1


@cli.command(
    "estimate",
    short_help="compute and store the causal estimates of an account",
    help="Compute and store the causal estimates of an account (once per data version; "
    "the Story page reads them). Give --account NAME or --all.",
)
@click.option("--account", metavar="NAME", help="account name")
@click.option("--all", "every", is_flag=True, help="every account")
@click.option("--force", is_flag=True, help="recompute even when stored for the current data")
@_db_option
def cmd_estimate(account: str | None, every: bool, force: bool) -> int:
    if (account is None) == (not every):
        raise click.UsageError("give exactly one of --account NAME or --all")
    scope = _scope()
    _require(scope, scope.can_import, "Storing estimates")
    done = _estimate(_engine(), None if every else [str(account)], force=force)
    _print_estimated(done)
    if not done:
        print("estimates already stored for the current data (--force recomputes them)")
    return 0


@cli.group("access", cls=_InOrder, help="who may see which accounts (provider admin only)")
@_db_option
def access_group() -> None:
    pass


@access_group.command("grant", help="give EMAIL (or group:NAME) a role")
@click.argument("principal", metavar="EMAIL")
@click.option("--role", required=True, help="provider-admin, provider-analyst or client-executive")
@click.option("--account", metavar="NAME", help="the account (client executives only)")
@_db_option
def cmd_access_grant(principal: str, role: str, account: str | None) -> int:
    from services import access

    engine = _engine()
    try:
        print(access.grant(engine, _scope(), principal, role, account))
    except (ValueError, PermissionError) as exc:
        raise CliError(str(exc)) from exc
    return 0


@access_group.command("revoke", help="remove EMAIL's grants (all, or of --role / --account)")
@click.argument("principal", metavar="EMAIL")
@click.option("--role", help="only grants of this role")
@click.option("--account", metavar="NAME", help="only grants for this account")
@_db_option
def cmd_access_revoke(principal: str, role: str | None, account: str | None) -> int:
    from metrics.format import counted
    from services import access

    engine = _engine()
    try:
        n = access.revoke(engine, _scope(), principal, role=role, account=account)
    except (ValueError, PermissionError) as exc:
        raise CliError(str(exc)) from exc
    if not n:
        raise CliError(f"no matching grant for {principal}")
    print(f"revoked {counted(n, 'grant')} of {principal}")
    return 0


@access_group.command("list", help="every grant")
@_db_option
def cmd_access_list() -> int:
    from services import access

    engine = _engine()
    try:
        df = access.list_grants(engine, _scope())
    except PermissionError as exc:
        raise CliError(str(exc)) from exc
    if not df.empty:
        df["granted_at"] = df["granted_at"].dt.strftime("%Y-%m-%d %H:%M")
    print(_table(df))
    return 0


@cli.command("audit", help="the audit log, newest first (provider admin only)")
@click.option("--limit", type=int, default=50, show_default=True, help="how many entries")
@click.option("--csv", "as_csv", is_flag=True, help="print CSV (formula cells neutralised)")
@_db_option
def cmd_audit(limit: int, as_csv: bool) -> int:
    from services import audit
    from services.export import csv_text

    engine = _engine()
    try:
        df = audit.entries(engine, _scope(), limit=limit)
    except PermissionError as exc:
        raise CliError(str(exc)) from exc
    if as_csv:
        sys.stdout.write(csv_text(df))
        return 0
    if not df.empty:
        df["at"] = df["at"].dt.strftime("%Y-%m-%d %H:%M:%S")
    print(_table(df))
    return 0


# ---------------------------------------------------------------------------------------------
# Main


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]


def _usage_error(exc: click.UsageError) -> SystemExit:
    """Like argparse: the usage line, then one line "error: …"; exit 2."""
    if isinstance(exc, click.exceptions.NoArgsIsHelpError):
        click.echo(exc.ctx.get_help() if exc.ctx else "", err=True)
    else:
        if exc.ctx is not None:
            click.echo(exc.ctx.get_usage(), err=True)
        print(f"error: {exc.format_message()}", file=sys.stderr)
    return SystemExit(exc.exit_code)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line on ``argv`` (default: ``sys.argv[1:]``) and return the exit code.
    A usage error raises ``SystemExit(2)`` after printing, as argparse did."""
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError, SQLAlchemyError

    state: dict[str, str] = {}
    args = list(sys.argv[1:] if argv is None else argv)

    def url() -> str:
        return redact(database_url(state.get("db")))

    try:
        rv = cli.main(args, prog_name=PROG, obj=state, standalone_mode=False)
        return int(rv or 0)
    except click.UsageError as exc:
        raise _usage_error(exc) from None
    except click.ClickException as exc:  # e.g. a file click itself could not open
        print(f"error: {exc.format_message()}", file=sys.stderr)
        return exc.exit_code
    except (CliError, PermissionError) as exc:  # PermissionError: AccessDenied from a service
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except DatabaseUnavailable as exc:
        print(f"error: {_one_line(exc)}", file=sys.stderr)
        return 1
    except (ArgumentError, NoSuchModuleError) as exc:
        print(f"error: invalid database URL {url()}: {_one_line(exc)}", file=sys.stderr)
        return 1
    except OperationalError as exc:
        orig = getattr(exc, "orig", None)
        print(
            f"error: the database at {url()} cannot be used: {_one_line(orig or exc)}",
            file=sys.stderr,
        )
        return 1
    except SQLAlchemyError as exc:
        orig = getattr(exc, "orig", None)
        print(f"error: database error: {_one_line(orig or exc)}", file=sys.stderr)
        return 2
    except (KeyboardInterrupt, click.Abort):
        print("error: interrupted; nothing was committed", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # noqa: BLE001 - the promise: no tracebacks, ever
        print(f"error: {_one_line(exc)}", file=sys.stderr)
        return 2


def entry() -> None:
    """The ``thenandnow`` console command (``[project.scripts]`` in pyproject.toml)."""
    sys.exit(main())


if __name__ == "__main__":
    entry()
