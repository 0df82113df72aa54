"""The import and rollback workflows: who may write, the write, and what follows it.

The command line (``cli.py``) and the Data page (``ui/data_actions.py``) both call these;
nothing else writes import batches. Each function takes the caller's ``Scope`` first and
refuses (``AccessDenied``) unless ``scope.can_import`` (a provider admin): the importer and
``data_loaders.batches`` themselves enforce nothing.

After a successful write (an import that is not a dry run, a rollback) the causal estimates
of the accounts whose data changed are refreshed here, in one place
(``refresh_estimates``), so the dashboard and the CLI find them stored for the new data
version instead of computing them on first view. ``estimates=False`` skips it (CLI
``--no-estimates``; the dashboard then computes them on first use).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import Engine, inspect

from data_loaders.access import AccessDenied, Scope
from data_loaders.batches import RollbackResult, rollback_batch
from data_loaders.importer import ImportResult
from services import audit

#: (fraction done 0–1, message): the importer's progress callback.
Progress = Callable[[float, str], object]
#: one line for the person waiting (the estimates' progress).
Say = Callable[[str], object]


@dataclass(frozen=True)
class Estimated:
    """The causal estimates of one account, computed and stored for its current data."""

    account: str
    seconds: float
    innovations: int


@dataclass(frozen=True)
class Refresh:
    """What followed a write: the estimates stored, or why they were not refreshed."""

    estimated: tuple[Estimated, ...] = ()
    note: str | None = None


@dataclass(frozen=True)
class ImportOutcome:
    result: ImportResult
    refresh: Refresh = field(default_factory=Refresh)


@dataclass(frozen=True)
class RollbackOutcome:
    result: RollbackResult
    refresh: Refresh = field(default_factory=Refresh)


def _require_import(scope: Scope, what: str, engine: Engine | None = None) -> None:
    if not scope.can_import:
        if engine is not None:  # a refused attempt is recorded too
            audit.record(engine, scope, "refused", detail=f"{what} by a {scope.role}")
        raise AccessDenied(f"Only a provider admin can {what}.")


def _audit_import(scope: Scope, engine: Engine, result: ImportResult, dry_run: bool) -> None:
    if dry_run or not result.ok:
        return
    audit.record(
        engine,
        scope,
        "import",
        account=getattr(result, "account_name", None),
        detail=f"batch {result.batch_id}: {getattr(result, 'source', '')}"[:500],
    )


def import_files(
    scope: Scope,
    engine: Engine,
    files: Sequence[tuple[str, BinaryIO | bytes] | str | Path],
    *,
    dry_run: bool = False,
    progress: Progress | None = None,
    estimates: bool = True,
    say: Say | None = None,
) -> ImportOutcome:
    """Validate (``dry_run``) or import ``files`` as one batch by ``scope.user``; then refresh
    the estimates (see the module docstring)."""
    from data_loaders import importer

    _require_import(scope, "import data", engine)
    result = importer.import_files(
        engine, files, dry_run=dry_run, user=scope.user, progress=_clamped(progress)
    )
    _audit_import(scope, engine, result, dry_run)
    return ImportOutcome(result, _after_import(scope, engine, result, dry_run, estimates, say))


def import_sql(
    scope: Scope,
    engine: Engine,
    source_url: str,
    mapping: Mapping[str, Any],
    *,
    dry_run: bool = False,
    progress: Progress | None = None,
    estimates: bool = True,
    say: Say | None = None,
) -> ImportOutcome:
    """Import the entities read from another database (``data_loaders.sql_source``) as one
    batch by ``scope.user``; then refresh the estimates."""
    from data_loaders import sql_source

    _require_import(scope, "import data", engine)
    result = sql_source.import_sql(
        engine, source_url, mapping, dry_run=dry_run, user=scope.user, progress=_clamped(progress)
    )
    _audit_import(scope, engine, result, dry_run)
    return ImportOutcome(result, _after_import(scope, engine, result, dry_run, estimates, say))


def rollback(
    scope: Scope,
    engine: Engine,
    batch_id: int,
    *,
    estimates: bool = True,
    say: Say | None = None,
) -> RollbackOutcome:
    """Undo one import batch (``data_loaders.batches.rollback_batch``; a refused rollback
    raises its ``ValueError`` and changes nothing); then refresh the estimates."""
    _require_import(scope, "roll back an import", engine)
    result = rollback_batch(engine, int(batch_id))
    audit.record(engine, scope, "rollback", detail=f"batch {int(batch_id)}")
    refresh = _refresh_after_write(scope, engine, say) if estimates else Refresh()
    return RollbackOutcome(result, refresh)


def _clamped(progress: Progress | None) -> Callable[[float, str], None]:
    def report(fraction: float, message: str) -> None:
        if progress is not None:
            progress(min(max(fraction, 0.0), 1.0), message)

    return report


def _after_import(
    scope: Scope,
    engine: Engine,
    result: ImportResult,
    dry_run: bool,
    estimates: bool,
    say: Say | None,
) -> Refresh:
    if not result.ok or dry_run or not estimates:
        return Refresh()
    release_memory()
    return _refresh_after_write(scope, engine, say)


def release_memory() -> None:
    """Hand the memory an import freed back to the system before the estimates load theirs.

    A big import's frames and arrays are garbage once it returns, but their pages stay with
    the process: pyarrow's allocator (mimalloc) keeps freed blocks for reuse, and glibc's
    malloc keeps freed heap below its top. The estimates then load SciPy and the metrics on
    top of them, and that sum was the default import's peak (5.09x a 48.8 MB file against
    4.9x for the import alone; benchmarks/import_memory.py). Each allocator is asked to
    return what is unused: it costs milliseconds and changes no value."""
    import gc
    import sys

    gc.collect()
    arrow = sys.modules.get("pyarrow")
    if arrow is not None:
        arrow.default_memory_pool().release_unused()
    import ctypes

    try:
        trim = ctypes.CDLL(None).malloc_trim  # glibc only; elsewhere there is nothing to do
    except (OSError, AttributeError):
        return
    trim(0)


def _refresh_after_write(scope: Scope, engine: Engine, say: Say | None) -> Refresh:
    """The one call that follows every write of this module."""
    if not inspect(engine).has_table("estimate_run"):
        return Refresh(note="estimates not refreshed: migrate the database first")
    return Refresh(tuple(refresh_estimates(scope, engine, say=say)))


def refresh_estimates(
    scope: Scope,
    engine: Engine,
    names: Sequence[str] | None = None,
    *,
    force: bool = False,
    say: Say | None = None,
) -> list[Estimated]:
    """Compute and store the causal estimates of the named accounts (every account of the
    scope when None), skipping those already stored for their current data unless ``force``.
    Unknown names raise ``LookupError``.

    Each goes through ``services.estimates.ensure_estimates``: once per data version, so
    when another process (a server, a concurrent import) is computing the same estimates
    this waits for its run instead of repeating it."""
    from data_loaders.queries import account_id_by_name, list_accounts
    from services.estimates import ensure_estimates

    tell = say or (lambda _m: None)
    if names is None:
        listed = list_accounts(engine, scope)
        ids = [int(i) for i in listed["account_id"]]
    else:
        ids = [account_id_by_name(engine, scope, n) for n in names]
    done = []
    for account_id in ids:
        out = ensure_estimates(engine, scope, account_id, force=force, progress=tell)
        if not out.computed:
            tell(
                f"{out.account}: estimates stored by another process meanwhile ({out.waited:.0f} s)"
                if out.waited
                else f"{out.account}: estimates already stored for the current data"
            )
            continue
        done.append(Estimated(out.account, out.seconds or 0.0, len(out.frame)))
    return done
