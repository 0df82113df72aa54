"""Client sign-off on value lines: a client executive agrees an innovation's value for a
period. The agreed figure, name and time are stored and never overwritten; when the figure
computed today differs from the agreed one (new data, a changed rule), ``status`` says so —
"changed since agreed: old → new" — instead of silently showing the new figure as agreed
(the rule: ``metrics.signoff``).
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
from sqlalchemy import Engine, insert, select

from data_loaders.access import AccessDenied, Scope
from data_loaders.schema import Account, Innovation, SignOff
from metrics.signoff import TOLERANCE, Agreement, Status
from services import audit

__all__ = [
    "TOLERANCE",
    "Agreement",
    "Status",
    "agreements",
    "latest",
    "sign_off",
    "status",
    "statuses",
]

COLUMNS = [
    "innovation_code",
    "period_start",
    "period_end",
    "figure",
    "currency",
    "signed_by",
    "signed_by_name",
    "signed_at",
]


def _account(engine: Engine, scope: Scope, account_id: int) -> tuple[str, str]:
    scope.check(account_id)
    with engine.connect() as conn:
        row = conn.execute(
            select(Account.name, Account.currency).where(Account.id == account_id)
        ).first()
    if row is None:
        raise LookupError(f"No account with id {account_id}.")
    return str(row[0]), str(row[1])


def sign_off(
    engine: Engine,
    scope: Scope,
    account_id: int,
    code: str,
    period_start: dt.date,
    period_end: dt.date,
    figure: float,
) -> Agreement:
    """Record that the caller (a client executive of this account) agrees ``figure`` as the
    value of innovation ``code`` from ``period_start`` to ``period_end``."""
    if not scope.can_sign_off:
        audit.record(engine, scope, "refused", detail=f"sign-off of {code} by a {scope.role}")
        raise AccessDenied(f"Only a client executive can sign off value ({scope.user}).")
    if not scope.allows(account_id):
        audit.record(engine, scope, "refused", detail=f"sign-off of {code} outside scope")
        raise AccessDenied(f"Account {account_id} is not in your scope.")
    if period_end < period_start:
        raise ValueError("The period ends before it starts.")
    if not pd.notna(figure):
        raise ValueError("There is no figure to agree for this period.")
    name, currency = _account(engine, scope, account_id)
    with engine.connect() as conn:
        known = conn.execute(
            select(Innovation.id).where(
                Innovation.account_id == account_id, Innovation.code == code
            )
        ).first()
    if known is None:
        raise LookupError(f"There is no innovation {code!r} in {name}.")
    agreement = Agreement(
        code=code,
        period_start=period_start,
        period_end=period_end,
        figure=float(figure),
        currency=currency,
        signed_by=scope.user,
        signed_by_name=scope.name or scope.user,
        signed_at=audit.now(),
    )
    with engine.begin() as conn:
        conn.execute(
            insert(SignOff).values(
                account_name=name,
                innovation_code=code,
                period_start=period_start,
                period_end=period_end,
                figure=agreement.figure,
                currency=currency,
                signed_by=agreement.signed_by,
                signed_by_name=agreement.signed_by_name,
                signed_at=agreement.signed_at,
            )
        )
    audit.record(
        engine,
        scope,
        "sign-off",
        account=name,
        detail=f"{code} {period_start:%Y-%m}–{period_end:%Y-%m}: {agreement.figure:,.0f} {currency}",
    )
    return agreement


def _rows(engine: Engine, scope: Scope, account_id: int) -> list[Agreement]:
    name, _ = _account(engine, scope, account_id)
    s = SignOff
    stmt = (
        select(
            s.innovation_code,
            s.period_start,
            s.period_end,
            s.figure,
            s.currency,
            s.signed_by,
            s.signed_by_name,
            s.signed_at,
        )
        .where(s.account_name == name)
        .order_by(s.signed_at.desc(), s.id.desc())
    )
    with engine.connect() as conn:
        return [Agreement(*r) for r in conn.execute(stmt).all()]


def agreements(engine: Engine, scope: Scope, account_id: int) -> pd.DataFrame:
    """Every sign-off of the account, newest first (readable by anyone with the account)."""
    rows = _rows(engine, scope, account_id)
    return pd.DataFrame(
        [
            (
                a.code,
                a.period_start,
                a.period_end,
                a.figure,
                a.currency,
                a.signed_by,
                a.signed_by_name,
                a.signed_at,
            )
            for a in rows
        ],
        columns=COLUMNS,
    )


def latest(
    engine: Engine, scope: Scope, account_id: int
) -> dict[tuple[str, dt.date, dt.date], Agreement]:
    """The latest agreement per (innovation code, period start, period end)."""
    out: dict[tuple[str, dt.date, dt.date], Agreement] = {}
    for a in _rows(engine, scope, account_id):
        out.setdefault((a.code, a.period_start, a.period_end), a)  # newest first
    return out


def status(
    engine: Engine,
    scope: Scope,
    account_id: int,
    code: str,
    period_start: dt.date,
    period_end: dt.date,
    current: float | None,
) -> Status:
    """The sign-off status of one value line as computed now."""
    hit = latest(engine, scope, account_id).get((code, period_start, period_end))
    return Status(agreement=hit, current=None if current is None or pd.isna(current) else current)


def statuses(
    engine: Engine,
    scope: Scope,
    account_id: int,
    period_start: dt.date,
    period_end: dt.date,
    current: dict[str, float],
) -> dict[str, Status]:
    """Status per innovation code for one period, for the codes that have an agreement."""
    agreed = latest(engine, scope, account_id)
    out: dict[str, Status] = {}
    for (code, start, end), a in agreed.items():
        if start == period_start and end == period_end:
            out[code] = Status(agreement=a, current=current.get(code))
    return out
