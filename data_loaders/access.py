"""The caller's scope: which accounts a query may read. Every read in queries.py takes one."""

from __future__ import annotations

from dataclasses import dataclass

ROLES = ("provider admin", "provider analyst", "client executive")


class AccessDenied(PermissionError):
    """The caller asked for an account outside their scope."""


@dataclass(frozen=True)
class Scope:
    """``account_ids=None`` means every account (provider roles)."""

    role: str = "provider admin"
    account_ids: frozenset[int] | None = None
    user: str = "local"

    @classmethod
    def everything(cls, user: str = "local") -> Scope:
        return cls(role="provider admin", account_ids=None, user=user)

    def allows(self, account_id: int) -> bool:
        return self.account_ids is None or account_id in self.account_ids

    def check(self, account_id: int) -> None:
        if not self.allows(account_id):
            raise AccessDenied(f"Account {account_id} is not in your scope.")

    @property
    def can_import(self) -> bool:
        return self.role == "provider admin"
