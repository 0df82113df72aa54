"""``thenandnow access grant/revoke/list``, ``audit`` and ``--as-user EMAIL``: the command line
goes through the same scope and role checks as the dashboard."""

from __future__ import annotations

import io

import pandas as pd
import pytest
from sqlalchemy import Engine

import cli
from tests.services.test_access import _seed


def _run(capsys: pytest.CaptureFixture[str], engine: Engine, *args: str) -> tuple[int, str, str]:
    url = engine.url.render_as_string(hide_password=False)
    rc = cli.main(["--db", url, *args])
    out, err = capsys.readouterr()
    return rc, out, err


def test_grant_list_revoke(sqlite_engine: Engine, capsys: pytest.CaptureFixture[str]) -> None:
    """The three access commands, with the role spelled as on the command line."""
    _seed(sqlite_engine)
    rc, out, _ = _run(
        capsys,
        sqlite_engine,
        "access",
        "grant",
        "CFO@acme.example",
        "--role",
        "client-executive",
        "--account",
        "acme",
    )
    assert rc == 0 and out == "Granted cfo@acme.example the role client executive for Acme.\n"
    rc, out, _ = _run(capsys, sqlite_engine, "access", "list")
    assert rc == 0 and "cfo@acme.example" in out and "client executive" in out
    rc, _, err = _run(capsys, sqlite_engine, "access", "grant", "x@y.example", "--role", "boss")
    assert rc == 1 and "Unknown role 'boss'" in err
    rc, out, _ = _run(capsys, sqlite_engine, "access", "revoke", "cfo@acme.example")
    assert rc == 0 and out == "revoked 1 grant of cfo@acme.example\n"
    rc, _, err = _run(capsys, sqlite_engine, "access", "revoke", "cfo@acme.example")
    assert rc == 1 and "no matching grant" in err


def test_as_user_limits_every_command(
    sqlite_engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    """--as-user EMAIL: unknown people are refused; a client executive reads only its account
    and cannot manage access, import or roll back; the refusal is one line, exit 1."""
    _seed(sqlite_engine)
    _run(capsys, sqlite_engine, "access", "grant", "cfo@acme.example", "--role",
         "client-executive", "--account", "Acme")  # fmt: skip
    rc, _, err = _run(capsys, sqlite_engine, "--as-user", "nobody@x.example", "batches")
    assert rc == 1 and "nobody@x.example has no access" in err
    as_cfo = ("--as-user", "cfo@acme.example")
    for args, refused in (
        (("access", "list"), "Listing access is not allowed for a client executive"),
        (("access", "grant", "me@x.example", "--role", "provider-admin"), "Managing access"),
        (("rollback", "1"), "Only a provider admin can roll back an import"),
        (("import", "nothing.csv"), ""),  # a missing file or the role: refused either way
        (("estimate", "--all"), "Storing estimates is not allowed"),
        (("audit",), "Reading the audit log is not allowed"),
    ):
        rc, out, err = _run(capsys, sqlite_engine, *args, *as_cfo)
        assert rc == 1 and out == "" and refused in err, (args, err)
    rc, _, err = _run(capsys, sqlite_engine, *as_cfo, "metrics", "--account", "Globex")
    assert rc == 1 and err == (
        "error: No account named 'Globex' in your scope. Your accounts: Acme.\n"
    )
    rc, out, _ = _run(capsys, sqlite_engine, *as_cfo, "batches")
    assert rc == 0 and out.strip() == "(none)"


def test_audit_log_csv_is_neutralised(
    sqlite_engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    """The audit log exports as CSV; a principal that reads as a formula stays text."""
    _seed(sqlite_engine)
    _run(capsys, sqlite_engine, "access", "grant", "=cmd@x.example", "--role",
         "provider-analyst")  # fmt: skip
    rc, out, _ = _run(capsys, sqlite_engine, "audit", "--csv")
    assert rc == 0
    log = pd.read_csv(io.StringIO(out))
    assert log["action"].tolist() == ["access grant"]
    assert log["detail"].tolist() == ["'=cmd@x.example → provider analyst"]
