"""Sign-off in the renewal pack and the deck, and the audit of pack builds and downloads.

A client executive agrees value lines (``services.signoff``); the pack's innovation table
says of an agreed line who agreed it and when, and of a line whose figure moved after the
sign-off "changed since agreed: old → new" (read back from the PDF with pypdf, and from the
deck's slides). Every build and every hand-out (page download, CLI file) is in the audit
log, with no password in it."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pytest
from pptx import Presentation
from pypdf import PdfReader
from sqlalchemy import Engine, text

from data_loaders import rollup
from data_loaders.access import AccessDenied, Scope
from data_loaders.db import make_engine
from data_loaders.queries import account_id_by_name, load_account_data
from metrics.filters import Filters, limit_to
from metrics.format import money
from metrics.signoff import data_period
from metrics.views import value_lines
from services import audit, signoff
from services.pack import build_pack, deck_of, default_as_of, record_download

ACCOUNT = "Northwind Insurance"
ADMIN = Scope.everything(user="admin@provider.example")


def _squashed_pdf_text(pdf: bytes) -> str:
    return "".join(
        "".join((p.extract_text() or "").split()) for p in PdfReader(io.BytesIO(pdf)).pages
    )


def _deck_text(deck: bytes) -> str:
    prs = Presentation(io.BytesIO(deck))
    parts = []
    for slide in prs.slides:
        for shape in slide.shapes:
            if shape.has_text_frame:
                parts.append(shape.text_frame.text)
            if shape.has_table:
                parts.extend(c.text for row in shape.table.rows for c in row.cells)
    return "\n".join(parts)


def _lines(engine: Engine) -> tuple[int, tuple[dt.date, dt.date], dict[str, float]]:
    """(account id, the pack's period, measured value per innovation code) of the demo."""
    aid = account_id_by_name(engine, ADMIN, ACCOUNT)
    data = limit_to(load_account_data(engine, ADMIN, aid), default_as_of())
    period = data_period(data.monthly["month"])
    assert period is not None
    lines = value_lines(data, Filters()).dropna(subset=["measured"])
    return aid, period, dict(zip(lines["code"], lines["measured"], strict=True))


def test_pack_and_deck_show_agreed_lines_and_figures_changed_since_agreed(copy_url: str) -> None:
    """An agreed line reads 'agreed by NAME on DATE' in the PDF and the deck; a line agreed
    at a figure that is no longer the computed one reads 'changed since agreed: old → new';
    after new data moves an agreed figure, that line too reads changed, never agreed."""
    engine = make_engine(copy_url)
    aid, (start, end), measured = _lines(engine)
    (a, a_value), (b, b_value) = list(measured.items())[:2]
    cfo = Scope(
        role="client executive", account_ids=frozenset({aid}), user="cfo@nw", name="Dana Whitfield"
    )
    signoff.sign_off(engine, cfo, aid, a, start, end, a_value)
    old_b = b_value - 12_345.0  # what B measured when it was agreed (before a re-import)
    signoff.sign_off(engine, cfo, aid, b, start, end, old_b)
    today = f"{dt.datetime.now(dt.UTC):%-d %b %Y}"

    def usd(v: float) -> str:
        return money(v, "USD", "en_US", compact=False)

    built = build_pack(engine, ADMIN, ACCOUNT, ensure_estimates=False)
    table = built.story.section("innovations").table("innovations")
    assert table.columns[-1] == "Sign-off"
    status = {r[0]: r[-1] for r in table.rows}
    assert status[a] == f"agreed by Dana Whitfield on {today}"
    assert status[b] == f"changed since agreed: {usd(old_b)} → {usd(b_value)}"
    assert sum(1 for v in status.values() if v) == 2  # no other line claims a sign-off
    pdf = _squashed_pdf_text(built.content)
    assert "".join(f"agreed by Dana Whitfield on {today}".split()) in pdf
    assert "".join(f"changed since agreed: {usd(old_b)} → {usd(b_value)}".split()) in pdf
    deck = _deck_text(deck_of(built))
    assert "Value lines agreed by the client" in deck
    assert f"agreed by Dana Whitfield on {today}" in deck
    assert f"changed since agreed: {usd(old_b)} → {usd(b_value)}" in deck

    # new data: the headline KPIs of March 2025 re-imported 10 % lower
    with engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE kpi_observation SET value = value * 0.9 WHERE period >= '2025-03-01' "
                "AND period < '2025-04-01' AND kpi_id IN (SELECT id FROM kpi WHERE headline = 1)"
            )
        )
        rollup.rebuild(conn)  # a write by hand, outside any import
    _, _, after = _lines(engine)
    assert abs(after[a] - a_value) >= 0.5  # the agreed figure moved
    again = build_pack(engine, ADMIN, ACCOUNT, ensure_estimates=False)
    status = {r[0]: r[-1] for r in again.story.section("innovations").table("innovations").rows}
    assert status[a] == f"changed since agreed: {usd(a_value)} → {usd(after[a])}"
    assert "".join(status[a].split()) in _squashed_pdf_text(again.content)
    assert "2 of them changed since agreed" in again.story.section("innovations").notes[-1]
    engine.dispose()


def test_pack_without_sign_offs_says_so_and_has_no_sign_off_column(copy_url: str) -> None:
    """No agreement for the pack's period: no Sign-off column, and a note saying none is
    agreed yet (an agreement of another period does not count)."""
    engine = make_engine(copy_url)
    aid, (start, _end), measured = _lines(engine)
    code = next(iter(measured))
    cfo = Scope(role="client executive", account_ids=frozenset({aid}), user="cfo@nw")
    signoff.sign_off(engine, cfo, aid, code, start, start, 1.0)  # one month only
    built = build_pack(engine, ADMIN, ACCOUNT, ensure_estimates=False)
    inn = built.story.section("innovations")
    assert "Sign-off" not in inn.table("innovations").columns
    assert inn.notes[-1].endswith("no value line agreed by the client yet.")
    assert "no value line agreed by the client yet" in " ".join(
        (p.extract_text() or "") for p in PdfReader(io.BytesIO(built.content)).pages
    )
    engine.dispose()


def test_pack_builds_and_downloads_are_audited_without_the_password(copy_url: str) -> None:
    """A build writes 'pack build' (edition, as-of, format, protected or not), a download
    writes 'download' (file, edition); the password appears nowhere in the log; a build or
    download outside the caller's scope is refused (the refused build is logged)."""
    engine = make_engine(copy_url)
    built = build_pack(
        engine, ADMIN, ACCOUNT, password="s3cret-Pa55", fmt="pdf", ensure_estimates=False
    )
    record_download(engine, ADMIN, ACCOUNT, "renewal-pack.pdf (edition 1, page)")
    outsider = Scope(role="client executive", account_ids=frozenset({999}), user="eve@x")
    with pytest.raises(AccessDenied):
        build_pack(engine, outsider, ACCOUNT, ensure_estimates=False)
    with pytest.raises((AccessDenied, LookupError)):
        record_download(engine, outsider, ACCOUNT, "stolen.pdf")
    log = audit.entries(engine, ADMIN)
    assert log["action"].tolist()[:3] == ["refused", "download", "pack build"]
    build = log[log["action"] == "pack build"].iloc[0]
    assert build["user"] == "admin@provider.example" and build["account"] == ACCOUNT
    assert f"edition {built.edition_no}, as of {built.as_of:%Y-%m-%d}, pdf, a4" in build["detail"]
    assert "password-protected" in build["detail"]
    dl = log[log["action"] == "download"].iloc[0]
    assert dl["detail"] == "renewal-pack.pdf (edition 1, page)" and dl["account"] == ACCOUNT
    assert "eve@x" in log[log["action"] == "refused"]["user"].tolist()
    assert not log.apply(lambda r: "s3cret-Pa55" in " ".join(map(str, r)), axis=1).any()
    engine.dispose()


def test_cli_pack_writes_the_build_and_the_file_to_the_audit_log(
    copy_url: str, tmp_path: Path
) -> None:
    """``thenandnow pack --out FILE`` logs the build and the file it handed out."""
    import cli

    out = tmp_path / "nw.pdf"
    assert cli.main(["--db", copy_url, "pack", "--account", ACCOUNT, "--out", str(out)]) == 0
    assert out.read_bytes().startswith(b"%PDF")
    engine = make_engine(copy_url)
    log = audit.entries(engine, ADMIN)
    assert log["action"].tolist()[:2] == ["download", "pack build"]
    assert log["detail"].iloc[0] == "nw.pdf (edition 1, CLI)"
    assert (log["account"].iloc[:2] == ACCOUNT).all()
    engine.dispose()
