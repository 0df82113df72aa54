"""The caller's scope: who they are, their role, and which accounts a query may read.

Every read in queries.py takes a ``Scope`` and filters in SQL; every workflow in ``services/``
checks the role itself. A scope comes from ``resolve_scope``: the grants stored in the
``access_grant`` table, matched on the signed-in e-mail address or on a group named in the
identity provider's group claim. Someone without any grant gets no scope at all (None) and sees
nothing but whom to ask.

Roles:

* provider admin: every account, imports, rollback, access management, the audit log;
* provider analyst: every account, read only;
* client executive: the accounts named in their grants, read only, plus sign-off.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Engine, inspect, or_, select

ADMIN = "provider admin"
ANALYST = "provider analyst"
CLIENT = "client executive"
ROLES = (ADMIN, ANALYST, CLIENT)
# The strongest role first: a person with several grants gets the strongest one.
_RANK = {ADMIN: 0, ANALYST: 1, CLIENT: 2}
PROVIDER_ROLES = (ADMIN, ANALYST)
GROUP_PREFIX = "group:"


class AccessDenied(PermissionError):
    """The caller asked for an account or a workflow outside their scope or role."""


def parse_role(text: str) -> str:
    """``client-executive``, ``Client executive`` or ``client_executive`` → ``client executive``."""
    role = " ".join(text.strip().lower().replace("-", " ").replace("_", " ").split())
    if role not in ROLES:
        raise ValueError(
            f"Unknown role {text!r}: use one of " + ", ".join(r.replace(" ", "-") for r in ROLES)
        )
    return role


def principal_key(principal: str) -> str:
    """The stored form of a grantee: a lower-cased e-mail, or ``group:NAME`` (name as given,
    since group claims are case-sensitive ids in most identity providers)."""
    p = principal.strip()
    if p.lower().startswith(GROUP_PREFIX):
        name = p[len(GROUP_PREFIX) :].strip()
        if not name:
            raise ValueError("A group grant needs a group name: group:NAME")
        return GROUP_PREFIX + name
    if "@" not in p or p.startswith("@") or p.endswith("@") or any(c.isspace() for c in p):
        raise ValueError(f"{principal!r} is neither an e-mail address nor group:NAME")
    return p.lower()


@dataclass(frozen=True)
class Scope:
    """``account_ids=None`` means every account (provider roles)."""

    role: str = ADMIN
    account_ids: frozenset[int] | None = None
    user: str = "local"
    name: str = ""

    @classmethod
    def everything(cls, user: str = "local") -> Scope:
        return cls(role=ADMIN, account_ids=None, user=user)

    def allows(self, account_id: int) -> bool:
        return self.account_ids is None or account_id in self.account_ids

    def check(self, account_id: int) -> None:
        if not self.allows(account_id):
            raise AccessDenied(f"Account {account_id} is not in your scope.")

    @property
    def can_import(self) -> bool:
        return self.role == ADMIN

    @property
    def can_manage_access(self) -> bool:
        return self.role == ADMIN

    @property
    def can_sign_off(self) -> bool:
        return self.role == CLIENT

    @property
    def display(self) -> str:
        return self.name or self.user

    def require(self, allowed: bool, what: str) -> None:
        """Raise AccessDenied naming the role when ``allowed`` is false."""
        if not allowed:
            raise AccessDenied(f"{what} is not allowed for a {self.role} ({self.user}).")


def resolve_scope(
    engine: Engine,
    email: str | None,
    groups: Iterable[str] = (),
    *,
    name: str = "",
    admins: Iterable[str] = (),
) -> Scope | None:
    """The scope of a signed-in person, or None when no grant names them (or their groups).

    ``admins`` are e-mail addresses configured as provider admins outside the database (the
    first admin of a new install, before anyone could grant anything).
    """
    from data_loaders.schema import AccessGrant, Account

    if not email:
        return None
    key = email.strip().lower()
    if key in {a.strip().lower() for a in admins}:
        return Scope(role=ADMIN, account_ids=None, user=key, name=name)
    if not inspect(engine).has_table("access_grant"):
        return None
    principals = [key] + [GROUP_PREFIX + str(g) for g in groups if str(g).strip()]
    stmt = (
        select(AccessGrant.role, AccessGrant.account_name, Account.id)
        .outerjoin(Account, Account.name == AccessGrant.account_name)
        .where(or_(AccessGrant.principal.in_(principals)))
    )
    with engine.connect() as conn:
        rows = conn.execute(stmt).all()
    if not rows:
        return None
    role = min((r.role for r in rows), key=lambda r: _RANK.get(r, 99))
    if role in PROVIDER_ROLES:
        return Scope(role=role, account_ids=None, user=key, name=name)
    # A grant for an account that is not (yet) loaded gives nothing until it is.
    ids = frozenset(int(r.id) for r in rows if r.role == CLIENT and r.id is not None)
    return Scope(role=CLIENT, account_ids=ids, user=key, name=name)
