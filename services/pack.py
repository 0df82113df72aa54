"""Build-pack workflow: the renewal pack of one account, archived as an edition.

``build_pack`` checks the caller's scope, loads the account as it stood at ``as_of``, reads
(or computes and stores) the causal estimates of that data, builds the story once
(``story.build_story``), compares it with the last edition ("what changed"), typesets the PDF
(``reports.pack``) or the deck (``reports.deck``), archives the PDF edition (``snapshot``) and
returns the bytes. A password encrypts the copy handed out (AES-256); it is passed on to the
encryption and nowhere else — never stored, never logged.

``verify_pack`` says whether a file is an archived edition of this database.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
import re
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd
from sqlalchemy import Engine

from data_loaders import snapshots
from data_loaders.access import AccessDenied, Scope
from data_loaders.estimate_store import load_estimates
from data_loaders.queries import (
    AccountData,
    AccountInfo,
    account_id_by_name,
    list_accounts,
    load_account_data,
)
from metrics.filters import limit_to
from metrics.signoff import data_period
from metrics.versions import estimates_version
from reports import editions
from reports.pack import PackDocument, logo_svg, render_pack, render_png
from services import audit, signoff
from services.estimates import ensure_estimates as ensure_stored_estimates
from story.model import Section, Story, build_story

__all__ = [
    "BuiltPack",
    "PackError",
    "PackJob",
    "PackJobResult",
    "build_pack",
    "build_packs",
    "build_time",
    "default_as_of",
    "default_jobs",
    "pack_filename",
    "record_download",
    "verify_pack",
]

Progress = Callable[[float, str], None]
FORMATS = ("pdf", "pptx")


class PackError(ValueError):
    """A pack cannot be built (the message says why, in one line)."""


@dataclass(frozen=True)
class BuiltPack:
    account: str
    account_id: int
    as_of: dt.date
    edition_no: int
    format: str
    content: bytes  # what to hand out (protected when a password was given)
    sha256: str  # of ``content``
    pdf_sha256: str  # of the archived PDF
    story: Story
    changes: Section
    document: PackDocument | None  # the PDF build (None for a deck)
    protected: bool
    provider: str = ""  # the parties the cover named
    client: str = ""


def default_as_of(today: dt.date | None = None) -> dt.date:
    """The end of the last complete month."""
    t = today or dt.date.today()
    return t.replace(day=1) - dt.timedelta(days=1)


def build_time(now: dt.datetime | None = None) -> str:
    """The build time a pack prints on its cover: UTC, to the minute."""
    return f"{(now or dt.datetime.now(dt.UTC)):%Y-%m-%d %H:%M} UTC"


def pack_filename(account: str, as_of: dt.date, fmt: str = "pdf") -> str:
    """``renewal-pack_<account>_<as-of>.<fmt>``, the account name reduced to safe characters."""
    safe = re.sub(r"[^A-Za-z0-9]+", "-", account).strip("-") or "account"
    return f"renewal-pack_{safe}_{as_of.isoformat()}.{fmt}"


def _estimates(
    engine: Engine, scope: Scope, account_id: int, data: AccountData, ensure: bool, say: Progress
) -> tuple[pd.DataFrame | None, str]:
    """The estimates of ``data`` (the account as of the pack date) and their version: the
    stored ones, else — with ``ensure`` — computed once and stored by the estimates workflow
    (``services.estimates.ensure_estimates``, whose claim makes a concurrent build or import
    wait for one computation instead of running a second)."""
    version = estimates_version(data)
    if not ensure:
        return load_estimates(engine, account_id, version), version
    stored = load_estimates(engine, account_id, version)
    if stored is not None:
        return stored, version
    say(0.1, "estimating each innovation's effect (once per data version)")
    done = ensure_stored_estimates(engine, scope, account_id, data=data)
    return done.frame, done.version


def _logos(a: AccountInfo) -> dict[str, str]:
    """The account's logos (``provider_logo``, ``client_logo``: image paths) as SVG for the
    cover; a path that cannot be read as a PNG, JPEG or SVG stops the build, named."""
    out: dict[str, str] = {}
    for key, path in (("provider", a.provider_logo), ("client", a.client_logo)):
        if not path:
            continue
        where = f"account {a.name!r}: {key}_logo {path}"
        file = Path(path).expanduser()
        try:
            content = file.read_bytes()
        except OSError as exc:
            raise PackError(f"{where}: cannot be read ({exc.strerror or exc})") from exc
        try:
            out[key] = logo_svg(content, where)
        except ValueError as exc:
            raise PackError(str(exc)) from exc
    return out


def _signoffs(
    engine: Engine, scope: Scope, account_id: int, data: AccountData
) -> dict[str, signoff.Agreement]:
    """The client's latest agreement per innovation for the pack's period (all its months,
    as the innovation detail page agrees them)."""
    period = data_period(data.monthly["month"])
    return {
        code: a
        for (code, start, end), a in signoff.latest(engine, scope, account_id).items()
        if (start, end) == period
    }


def build_pack(
    engine: Engine,
    scope: Scope,
    account: str | int,
    *,
    as_of: dt.date | None = None,
    paper: str = "a4",
    fmt: str = "pdf",
    sections: Sequence[str] | None = None,
    password: str | None = None,
    provider: str = "",
    ensure_estimates: bool = True,
    progress: Progress | None = None,
    built_at: str = "",
) -> BuiltPack:
    """Build, archive and return one account's pack (see the module doc). ``built_at``, the
    build time printed on the cover, defaults to now (UTC, to the minute)."""
    say = progress or (lambda _f, _m: None)
    if fmt not in FORMATS:
        raise PackError(f"format must be pdf or pptx, not {fmt!r}")
    try:
        account_id = (
            int(account) if isinstance(account, int) else account_id_by_name(engine, scope, account)
        )
        scope.check(account_id)
    except AccessDenied:
        audit.record(engine, scope, "refused", detail=f"pack build of account {account!r}")
        raise
    except LookupError as exc:
        raise PackError(str(exc)) from exc
    when = as_of or default_as_of()
    say(0.02, "loading the account's data")
    data = limit_to(load_account_data(engine, scope, account_id), when)
    if data.monthly.empty:
        raise PackError(f"account {data.account.name!r} has no data up to {when:%Y-%m-%d}")
    logos = _logos(data.account)  # before the long steps: a bad path fails at once
    est, version = _estimates(engine, scope, account_id, data, ensure_estimates, say)
    say(0.3, "building the story")
    try:
        story = build_story(
            data, as_of=when, estimates=est, signoffs=_signoffs(engine, scope, account_id, data)
        )
    except ValueError as exc:
        raise PackError(str(exc)) from exc
    last = snapshots.last_edition(engine, scope, account_id)
    edition_no = snapshots.next_edition_no(engine, scope, account_id)
    label = (
        f"edition {last.edition_no} (as of {last.as_of:%d %b %Y}, built {last.created_at:%d %b %Y})"
        if last is not None
        else ""
    )
    changes = editions.what_changed(last.figures if last else None, label, story)
    built_at = built_at or build_time()

    def step(f: float, m: str) -> None:
        say(0.35 + 0.55 * f, m)

    a = data.account
    doc = render_pack(
        story,
        paper=paper,
        edition=edition_no,
        built_at=built_at,
        provider=provider or a.provider_name,
        client=a.client_name,
        logos=logos,
        changes=changes,
        sections=sections,
        progress=step,
    )
    content, protected_sha = doc.pdf, None
    if password:
        say(0.92, "encrypting (AES-256)")
        content = editions.protect(doc.pdf, password)
        protected_sha = editions.sha256(content)
    if fmt == "pptx":
        from reports.deck import render_deck

        say(0.93, "building the deck")
        content = render_deck(
            story,
            changes=changes,
            edition=edition_no,
            provider=provider or a.provider_name,
            client=a.client_name,
        )
    say(0.96, "archiving the edition")
    snapshots.save_edition(
        engine,
        scope,
        account_id=account_id,
        edition_no=edition_no,
        as_of=when,
        pdf=doc.pdf,
        sha256=doc.sha256,
        content_sha256=doc.content_sha256,
        data_version=version,
        built_by=scope.user,
        paper=paper,
        figures=editions.edition_figures(story, doc.data),
        protected_sha256=protected_sha,
    )
    audit.record(
        engine,
        scope,
        "pack build",
        account=story.account,
        # what was built, never the password (only whether there was one)
        detail=f"edition {edition_no}, as of {when:%Y-%m-%d}, {fmt}, {paper}"
        + (", password-protected" if password else "")
        + f", sha256 {editions.sha256(content)[:16]}",
    )
    say(1.0, f"edition {edition_no} archived")
    return BuiltPack(
        account=story.account,
        account_id=account_id,
        as_of=when,
        edition_no=edition_no,
        format=fmt,
        content=content,
        sha256=editions.sha256(content),
        pdf_sha256=doc.sha256,
        story=story,
        changes=changes,
        document=doc,
        protected=bool(password),
        provider=provider or a.provider_name,
        client=a.client_name,
    )


def record_download(engine: Engine, scope: Scope, account: str, what: str) -> None:
    """Audit one hand-out of a pack (the page's download buttons, the CLI's file): who, when,
    which account and ``what`` (file name, edition). Refused outside the caller's scope."""
    scope.check(account_id_by_name(engine, scope, account))
    audit.record(engine, scope, "download", account=account, detail=what)


def deck_of(built: BuiltPack) -> bytes:
    """The deck of a built pack (the same story, edition and changes)."""
    if built.format == "pptx":
        return built.content
    from reports.deck import render_deck

    return render_deck(
        built.story,
        changes=built.changes,
        edition=built.edition_no,
        provider=built.provider,
        client=built.client,
    )


def preview_pages(built: BuiltPack, pages: int = 2) -> list[bytes]:
    """The first pages of a built PDF as PNG (for the page's preview)."""
    assert built.document is not None
    return render_png(built.document, built.story, pages=pages)


def accounts(engine: Engine, scope: Scope) -> list[str]:
    """Names of the accounts the caller may build packs for."""
    frame = list_accounts(engine, scope)
    return [str(n) for n in frame["name"]]


def editions_of(engine: Engine, scope: Scope, account: str) -> list[snapshots.Edition]:
    return snapshots.list_editions(engine, scope, account_id_by_name(engine, scope, account))


def edition_pdf(engine: Engine, scope: Scope, snapshot_id: int) -> bytes:
    return snapshots.load_pdf(engine, scope, snapshot_id)[1]


def verify_pack(
    engine: Engine, scope: Scope, pdf: bytes, *, password: str | None = None
) -> editions.VerifyResult:
    """Is ``pdf`` an archived edition (by SHA-256)? If not, does its footer name one (then
    the file was modified)? Figures are shown only for accounts in the caller's scope."""
    digest = editions.sha256(pdf)
    hit = snapshots.find_by_sha256(engine, digest)
    if hit is None:
        content = editions.content_checksum_in(pdf, password)
        named = snapshots.find_by_content(engine, content) if content else None
        if named is None:
            return editions.VerifyResult(
                "not an edition", digest, "This file is not an archived edition of this database."
            )
        return _result("modified", digest, named, scope)
    return _result("edition", digest, hit, scope)


def _result(status: str, digest: str, ed: snapshots.Edition, scope: Scope) -> editions.VerifyResult:
    try:
        scope.check(ed.account_id)
    except AccessDenied:
        return editions.VerifyResult(
            status, digest, "This file belongs to an account outside your scope."
        )
    pack = ed.figures.get("pack", {})
    account = str(pack.get("account", ""))
    head = dict(pack.get("headline", {}))
    if status == "edition":
        msg = (
            f"Archived edition {ed.edition_no} of {account}, as of {ed.as_of:%Y-%m-%d}, "
            f"built {ed.created_at:%Y-%m-%d %H:%M} by {ed.built_by or 'unknown'}."
        )
    else:
        msg = (
            f"MODIFIED: this file claims to be edition {ed.edition_no} of {account} "
            f"(as of {ed.as_of:%Y-%m-%d}) but its bytes differ from the archived edition."
        )
    return editions.VerifyResult(
        status, digest, msg, account, ed.edition_no, ed.as_of.isoformat(), head
    )


@dataclass(frozen=True)
class PackJob:
    """One account's pack of a ``build_packs`` run, written to ``out`` or else into ``out_dir``
    under its ``pack_filename``. Picklable (a database URL, not an engine) so that a worker
    process can run it."""

    url: str
    scope: Scope
    account: str
    out_dir: str = ""
    out: str = ""
    as_of: dt.date | None = None
    paper: str = "a4"
    fmt: str = "pdf"
    password: str | None = None  # handed to the worker through a pipe, never stored
    provider: str = ""
    built_at: str = ""  # the cover's build time; one for every pack of a run (build_packs)


@dataclass(frozen=True)
class PackJobResult:
    account: str
    progress: tuple[tuple[float, str], ...]  # the build's progress, in order
    error: str = ""  # one line; empty when the file was written
    target: str = ""
    as_of: dt.date | None = None
    edition_no: int = 0
    sha256: str = ""
    protected: bool = False


_ENGINES: dict[str, Engine] = {}


def _engine_of(url: str) -> Engine:
    # One engine per process and URL: a worker runs several accounts.
    from data_loaders.db import make_engine

    if url not in _ENGINES:
        _ENGINES[url] = make_engine(url)
    return _ENGINES[url]


def run_pack_job(job: PackJob, progress: Progress | None = None) -> PackJobResult:
    """Build ``job``'s pack, write its file and record the download. A ``PackError`` or a file that cannot be written is the result's
    ``error``, so one failing account does not stop the others."""
    steps: list[tuple[float, str]] = []

    def say(f: float, m: str) -> None:
        steps.append((f, m))
        if progress is not None:
            progress(f, m)

    engine = _engine_of(job.url)
    try:
        built = build_pack(
            engine,
            job.scope,
            job.account,
            as_of=job.as_of,
            paper=job.paper,
            fmt=job.fmt,
            password=job.password,
            provider=job.provider,
            progress=say,
            built_at=job.built_at,
        )
    except PackError as exc:
        return PackJobResult(job.account, tuple(steps), error=str(exc))
    target = (
        Path(job.out)
        if job.out
        else Path(job.out_dir) / pack_filename(job.account, built.as_of, job.fmt)
    )
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(built.content)
    except OSError as exc:
        return PackJobResult(
            job.account, tuple(steps), error=f"cannot write {target}: {exc.strerror or exc}"
        )
    record_download(
        engine, job.scope, job.account, f"{target.name} (edition {built.edition_no}, CLI)"
    )
    return PackJobResult(
        job.account,
        tuple(steps),
        target=str(target),
        as_of=built.as_of,
        edition_no=built.edition_no,
        sha256=built.sha256,
        protected=built.protected,
    )


def default_jobs(accounts: int) -> int:
    """Worker processes for ``accounts`` packs when the caller names none: two when there
    are two cores and two accounts, else one. Two workers win on a quiet 2-core machine
    although each pays its own chart renderer and Typst start (benchmarks/README.md, "pack
    --all"); a lone account or a lone core gains nothing from a second process. Capped at
    two because only a 2-core machine has been measured; ``--jobs N`` asks for more."""
    return max(1, min(2, os.cpu_count() or 1, accounts))


def _worker_job(job: PackJob) -> PackJobResult:
    return run_pack_job(job)


def _forked_worker() -> None:
    # A forked worker inherits the parent's engines (their pooled connections belong to the
    # parent): leave those to it and open its own (SQLAlchemy's "pooling with multiprocessing").
    for engine in _ENGINES.values():
        engine.dispose(close=False)
    _ENGINES.clear()


def _warm_python() -> None:
    """Do once, before forking, the pure-Python start-up cost every worker would otherwise
    pay on its first chart: Altair building its schema classes for a spec (~0.4 s CPU)."""
    import altair as alt

    frame = pd.DataFrame({"month": pd.to_datetime(["2025-01-01"]), "v": [1.0], "k": ["a"]})
    alt.layer(
        alt.Chart(frame).mark_line().encode(x="month:T", y="v:Q", color="k:N"),
        alt.Chart(frame).mark_bar().encode(x="k:N", y=alt.Y("v:Q", axis=alt.Axis(format="$~s"))),
    ).properties(width="container").to_dict(validate=False)


# Imported once by the fork server, so each worker starts with them loaded (a spawned worker
# would import them again, seconds of CPU).
_PRELOAD = ["services.pack", "reports.pack", "reports.deck", "story.model", "altair", "pandas"]


def _pool(workers: int) -> ProcessPoolExecutor:
    """Worker processes forked from this one when that is safe: they start with every module
    it imported and Altair warmed, at no cost (copy-on-write). Forking is unsafe once this
    process has started vl-convert or Typst (their threads would be missing in the child:
    ``reports.pack.runtimes_started``); then the workers come from a fork server that imports
    the pack's modules once (each worker still pays its own vl-convert and Typst start)."""
    from reports.pack import runtimes_started

    if "fork" in multiprocessing.get_all_start_methods() and not runtimes_started():
        _warm_python()
        return ProcessPoolExecutor(
            max_workers=workers,
            mp_context=multiprocessing.get_context("fork"),
            initializer=_forked_worker,
        )
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(_PRELOAD)
    return ProcessPoolExecutor(max_workers=workers, mp_context=ctx)


def build_packs(
    jobs_list: Sequence[PackJob],
    *,
    jobs: int = 1,
    progress: Callable[[str, float, str], None] | None = None,
) -> Iterator[PackJobResult]:
    """Run ``jobs_list`` and yield their results in the order given. With ``jobs`` > 1 they
    run in that many worker processes, each taking the next account when it is done with one
    (each account's pack is independent: its own story, charts and edition); the progress of
    each build is then reported when its result is yielded, so the output keeps the same
    order whatever finishes first. The packs of one run print one build time (the run's
    start, unless a job gives its own), so the files do not depend on ``jobs``."""
    now = build_time()
    jobs_list = [j if j.built_at else replace(j, built_at=now) for j in jobs_list]
    if jobs <= 1 or len(jobs_list) <= 1:
        for job in jobs_list:

            def say(f: float, m: str, name: str = job.account) -> None:
                if progress is not None:
                    progress(name, f, m)

            yield run_pack_job(job, say)
        return
    with _pool(min(jobs, len(jobs_list))) as pool:
        for result in pool.map(_worker_job, jobs_list):
            if progress is not None:
                for f, m in result.progress:
                    progress(result.account, f, m)
            yield result
