"""Roles and scope: grants resolve to scopes, every service checks the caller's role itself,
the audit log records what was done, and sign-offs flag figures that changed since."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from sqlalchemy import Engine, func, select

from data_loaders.access import (
    ADMIN,
    ANALYST,
    CLIENT,
    AccessDenied,
    Scope,
    parse_role,
    principal_key,
    resolve_scope,
)
from data_loaders.db import session_scope
from data_loaders.queries import list_accounts, load_innovations
from data_loaders.schema import Account, AuditEntry, Innovation
from services import access, audit, signoff

ADMIN_SCOPE = Scope.everything(user="admin@provider.example")


def _seed(engine: Engine) -> dict[str, int]:
    ids = {}
    with session_scope(engine) as s:
        for name, code in (("Acme", "ACM-1"), ("Globex", "GLX-1")):
            a = Account(
                name=name,
                currency="EUR",
                contract_start=dt.date(2024, 1, 1),
                contract_end=dt.date(2026, 12, 31),
                baseline_start=dt.date(2024, 1, 1),
                baseline_end=dt.date(2024, 3, 31),
            )
            s.add(a)
            s.flush()
            s.add(
                Innovation(
                    account_id=a.id,
                    code=code,
                    title=f"{name} bot",
                    category="operational efficiency",
                    scale="continuous improvement",
                    origin="provider",
                    stage="scaled",
                )
            )
            ids[name] = a.id
    return ids


def test_roles_and_principals_are_parsed_strictly() -> None:
    """CLI spellings map to the stored role; anything else is refused, never guessed."""
    assert parse_role("client-executive") == CLIENT
    assert parse_role("Provider_Admin") == ADMIN
    with pytest.raises(ValueError, match="Unknown role"):
        parse_role("admin")
    assert principal_key(" CFO@Acme.example ") == "cfo@acme.example"
    assert principal_key("group:Finance-Leads") == "group:Finance-Leads"
    for bad in ("cfo", "@acme", "group:", "a b@c"):
        with pytest.raises(ValueError):
            principal_key(bad)


def test_unknown_user_gets_no_scope(engine: Engine) -> None:
    """Nobody is anything until granted: no e-mail, or no grant, means no scope at all."""
    _seed(engine)
    assert resolve_scope(engine, None) is None
    assert resolve_scope(engine, "stranger@example.com") is None
    boot = resolve_scope(engine, "Boss@P.example", admins=["boss@p.example"])
    assert boot is not None and boot.role == ADMIN and boot.account_ids is None


def test_client_executive_sees_only_granted_accounts(engine: Engine) -> None:
    """A grant by e-mail gives exactly its account, and reads are filtered to it."""
    ids = _seed(engine)
    access.grant(engine, ADMIN_SCOPE, "cfo@acme.example", "client-executive", "acme")
    scope = resolve_scope(engine, "CFO@acme.example", name="Ada CFO")
    assert scope == Scope(
        role=CLIENT, account_ids=frozenset({ids["Acme"]}), user="cfo@acme.example", name="Ada CFO"
    )
    assert list_accounts(engine, scope)["name"].tolist() == ["Acme"]
    assert load_innovations(engine, scope, ids["Acme"])["code"].tolist() == ["ACM-1"]
    with pytest.raises(AccessDenied):
        load_innovations(engine, scope, ids["Globex"])


def test_group_claim_grants_and_strongest_role_wins(engine: Engine) -> None:
    """A grant to a group reaches its members; a person with several grants gets the
    strongest role (an analyst who is also a client executive reads every account)."""
    _seed(engine)
    access.grant(engine, ADMIN_SCOPE, "group:acme-board", "client executive", "Acme")
    access.grant(engine, ADMIN_SCOPE, "group:acme-board", "client executive", "Globex")
    board = resolve_scope(engine, "member@acme.example", ["acme-board"])
    assert board is not None and board.role == CLIENT and len(board.account_ids or ()) == 2
    assert resolve_scope(engine, "member@acme.example", ["ACME-BOARD"]) is None
    access.grant(engine, ADMIN_SCOPE, "member@acme.example", "provider-analyst")
    both = resolve_scope(engine, "member@acme.example", ["acme-board"])
    assert both is not None and both.role == ANALYST and both.account_ids is None


def test_grant_revoke_list_are_admin_only_and_audited(engine: Engine) -> None:
    """Only a provider admin manages access, in the service itself; each change is logged."""
    _seed(engine)
    analyst = Scope(role=ANALYST, user="an@provider.example")
    client = Scope(role=CLIENT, account_ids=frozenset({1}), user="cfo@acme.example")
    for who in (analyst, client):
        with pytest.raises(AccessDenied):
            access.grant(engine, who, "x@y.example", "provider-admin")
        with pytest.raises(AccessDenied):
            access.revoke(engine, who, "x@y.example")
        with pytest.raises(AccessDenied):
            access.list_grants(engine, who)
        with pytest.raises(AccessDenied):
            audit.entries(engine, who)
    with pytest.raises(ValueError, match="No account named"):
        access.grant(engine, ADMIN_SCOPE, "cfo@acme.example", "client-executive", "Initech")
    with pytest.raises(ValueError, match="one account"):
        access.grant(engine, ADMIN_SCOPE, "cfo@acme.example", "client-executive")
    with pytest.raises(ValueError, match="every account"):
        access.grant(engine, ADMIN_SCOPE, "an@provider.example", "provider-analyst", "Acme")
    access.grant(engine, ADMIN_SCOPE, "cfo@acme.example", "client-executive", "Acme")
    again = access.grant(engine, ADMIN_SCOPE, "cfo@acme.example", "client-executive", "ACME")
    assert "already" in again
    grants = access.list_grants(engine, ADMIN_SCOPE)
    assert grants[["principal", "role", "account"]].values.tolist() == [
        ["cfo@acme.example", CLIENT, "Acme"]
    ]
    assert access.revoke(engine, ADMIN_SCOPE, "cfo@acme.example") == 1
    assert resolve_scope(engine, "cfo@acme.example") is None
    log = audit.entries(engine, ADMIN_SCOPE)
    assert log["action"].tolist() == ["access revoke", "access grant"]
    assert (log["user"] == "admin@provider.example").all()
    assert "cfo@acme.example → client executive" in log["detail"].iloc[1]


def test_sign_off_is_client_only_and_flags_a_changed_figure(engine: Engine) -> None:
    """A client executive agrees a figure; when today's figure differs the line says
    'changed since agreed: old → new'; others cannot sign off, nor outside their scope."""
    ids = _seed(engine)
    cfo = Scope(role=CLIENT, account_ids=frozenset({ids["Acme"]}), user="cfo@acme", name="Ada")
    start, end = dt.date(2024, 1, 1), dt.date(2024, 12, 31)
    with pytest.raises(AccessDenied):
        signoff.sign_off(engine, ADMIN_SCOPE, ids["Acme"], "ACM-1", start, end, 1000.0)
    with pytest.raises(AccessDenied):
        signoff.sign_off(engine, cfo, ids["Globex"], "GLX-1", start, end, 1000.0)
    with pytest.raises(LookupError):
        signoff.sign_off(engine, cfo, ids["Acme"], "GLX-1", start, end, 1000.0)
    agreed = signoff.sign_off(engine, cfo, ids["Acme"], "ACM-1", start, end, 12_345.4)
    assert agreed.signed_by_name == "Ada" and agreed.currency == "EUR"
    same = signoff.status(engine, cfo, ids["Acme"], "ACM-1", start, end, 12_345.0)
    assert same.agreed and not same.changed and same.label().startswith("agreed by Ada on ")
    moved = signoff.status(engine, cfo, ids["Acme"], "ACM-1", start, end, 13_000.0)
    assert moved.changed and moved.label() == "changed since agreed: 12,345 → 13,000"
    other_period = signoff.status(engine, cfo, ids["Acme"], "ACM-1", start, dt.date(2025, 6, 30), 1)
    assert not other_period.agreed and other_period.label() == ""
    by_code = signoff.statuses(engine, ADMIN_SCOPE, ids["Acme"], start, end, {"ACM-1": 12_345.4})
    assert set(by_code) == {"ACM-1"} and not by_code["ACM-1"].changed
    with engine.connect() as conn:
        actions = conn.execute(select(AuditEntry.action, func.count()).group_by(AuditEntry.action))
        counts = dict(actions.all())
    assert counts == {"refused": 2, "sign-off": 1}


def test_sql_metacharacters_are_data_not_sql(engine: Engine) -> None:
    """Quotes, comments and statement separators in names and e-mails are stored and matched
    as text (parameterised SQL); they neither fail nor widen a scope."""
    _seed(engine)
    evil = "x'); DROP TABLE account; --@evil.example"
    access.grant(engine, ADMIN_SCOPE, "group:' OR '1'='1", "client-executive", "Acme")
    assert resolve_scope(engine, evil) is None
    assert resolve_scope(engine, "a@b.example", ["' OR '1'='1"]) is not None
    assert resolve_scope(engine, "a@b.example", ["' OR 1=1 --"]) is None
    with pytest.raises(ValueError, match="No account named"):
        access.grant(engine, ADMIN_SCOPE, "a@b.example", "client-executive", "Acme' OR '1'='1")
    assert len(list_accounts(engine, ADMIN_SCOPE)) == 2
    assert isinstance(audit.entries(engine, ADMIN_SCOPE), pd.DataFrame)


def test_sql_metacharacters_in_imported_text_are_stored_as_text(engine: Engine) -> None:
    """An imported title full of SQL (quotes, a statement separator, a comment) and a
    description that is a spreadsheet formula arrive as text, change nothing else, and the
    formula is neutralised in CSV."""
    from data_loaders.queries import load_events
    from services.export import csv_text
    from services.imports import import_files

    ids = _seed(engine)
    title = "Robert'); DROP TABLE account; --"
    csv = (
        "account,date,title,kind,description\n"
        f'Acme,2026-11-05,"{title}",contract,"=HYPERLINK(""http://x"")"\n'
    ).encode()
    out = import_files(ADMIN_SCOPE, engine, [("events.csv", csv)], estimates=False)
    assert out.result.ok, out.result.problems
    events = load_events(engine, ADMIN_SCOPE, ids["Acme"])
    assert events["title"].tolist() == [title]
    assert len(list_accounts(engine, ADMIN_SCOPE)) == 2
    text = csv_text(events)
    assert "'=HYPERLINK" in text and "\n=HYPERLINK" not in text and ",=HYPERLINK" not in text
