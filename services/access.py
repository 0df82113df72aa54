"""Access management: grant, revoke and list who may see which accounts (provider admin only).

Grants live in ``access_grant`` (see ``data_loaders.access``); every change is audited.
"""

from __future__ import annotations

import pandas as pd
from sqlalchemy import Engine, delete, func, insert, select

from data_loaders.access import CLIENT, PROVIDER_ROLES, Scope, parse_role, principal_key
from data_loaders.schema import AccessGrant, Account
from services import audit

COLUMNS = ["principal", "role", "account", "granted_by", "granted_at"]


def _account_name(engine: Engine, name: str) -> str:
    """The stored spelling of an account name (case-insensitive match), or ValueError."""
    with engine.connect() as conn:
        hit = conn.execute(
            select(Account.name).where(func.lower(Account.name) == name.strip().lower())
        ).scalar()
    if hit is None:
        raise ValueError(f"No account named {name!r}.")
    return str(hit)


def grant(
    engine: Engine, scope: Scope, principal: str, role: str, account: str | None = None
) -> str:
    """Give ``principal`` (e-mail or ``group:NAME``) a role; client executives need an account,
    provider roles cover every account and take none. Returns a sentence for people; granting
    what is already granted changes nothing."""
    scope.require(scope.can_manage_access, "Managing access")
    who = principal_key(principal)
    role = parse_role(role)
    if role == CLIENT:
        if not account:
            raise ValueError("A client executive is granted one account: name it.")
        account_name: str | None = _account_name(engine, account)
    else:
        if account:
            raise ValueError(f"A {role} sees every account; grant it without an account.")
        account_name = None
    g = AccessGrant
    match = [g.principal == who, g.role == role]
    match.append(
        g.account_name.is_(None) if account_name is None else g.account_name == account_name
    )
    with engine.begin() as conn:
        if conn.execute(select(g.id).where(*match)).first() is not None:
            return (
                f"{who} already is {role}" + (f" of {account_name}" if account_name else "") + "."
            )
        conn.execute(
            insert(g).values(
                principal=who,
                role=role,
                account_name=account_name,
                granted_by=scope.user,
                granted_at=audit.now(),
            )
        )
    audit.record(engine, scope, "access grant", account=account_name, detail=f"{who} → {role}")
    return f"Granted {who} the role {role}" + (f" for {account_name}" if account_name else "") + "."


def revoke(
    engine: Engine,
    scope: Scope,
    principal: str,
    *,
    role: str | None = None,
    account: str | None = None,
) -> int:
    """Remove ``principal``'s grants (all, or those of ``role`` / ``account``); returns how many."""
    scope.require(scope.can_manage_access, "Managing access")
    who = principal_key(principal)
    g = AccessGrant
    match = [g.principal == who]
    if role is not None:
        match.append(g.role == parse_role(role))
    if account is not None:
        match.append(func.lower(g.account_name) == account.strip().lower())
    with engine.begin() as conn:
        n = conn.execute(delete(g).where(*match)).rowcount or 0
    if n:
        audit.record(
            engine,
            scope,
            "access revoke",
            account=account,
            detail=f"{who}: {n} grant(s)" + (f" of role {parse_role(role)}" if role else ""),
        )
    return int(n)


def list_grants(engine: Engine, scope: Scope) -> pd.DataFrame:
    """Every grant: principal · role · account (empty for provider roles) · by · when."""
    scope.require(scope.can_manage_access, "Listing access")
    g = AccessGrant
    stmt = select(g.principal, g.role, g.account_name, g.granted_by, g.granted_at).order_by(
        g.principal, g.role, g.account_name
    )
    with engine.connect() as conn:
        rows = conn.execute(stmt).all()
    df = pd.DataFrame([tuple(r) for r in rows], columns=COLUMNS)
    df["granted_at"] = pd.to_datetime(df["granted_at"])
    df["account"] = df["account"].where(~df["role"].isin(PROVIDER_ROLES), "(all accounts)")
    return df
