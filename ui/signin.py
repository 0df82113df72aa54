"""Who is looking: sign-in with ``st.login`` when ``[auth]`` is configured, the caller's
Scope, and the screens shown instead of the app (signed out, unknown user).

Secrets read here (all optional)::

    [access]
    contact = "Jane Doe, jane.doe@provider.example"   # named to people without access
    admins = ["first.admin@provider.example"]         # provider admins before any grant exists
    groups_claim = "groups"                            # the ID-token claim holding group ids
    provider = "okta"                                  # st.login(provider) for [auth.okta]
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from data_loaders.access import Scope, resolve_scope
from ui.page_context import CACHE_TTL, auth_configured, engine_for

DEFAULT_CONTACT = "your account manager at the provider"
SIGNED_IN_KEY = "_tn_signed_in_audited"


def access_settings() -> dict[str, Any]:
    try:
        return dict(st.secrets.get("access", {}))
    except Exception:  # noqa: BLE001 - no secrets file: defaults
        return {}


def contact() -> str:
    return str(access_settings().get("contact") or DEFAULT_CONTACT)


@st.cache_data(ttl=CACHE_TTL // 10, show_spinner=False)
def _scope(
    url: str, email: str, groups: tuple[str, ...], name: str, admins: tuple[str, ...]
) -> Scope | None:
    # Short ttl: a revoked grant takes effect within half a minute even in open sessions
    # (access changes also clear every cache at once).
    return resolve_scope(engine_for(url), email, groups, name=name, admins=admins)


def _claim_list(value: object) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list | tuple):
        return tuple(str(v) for v in value)
    return ()


def caller_scope(url: str) -> Scope | None:
    """The scope of this session: everything in local mode, the signed-in person's grants
    with ``[auth]``, None for a signed-out or unknown visitor."""
    if not auth_configured():
        return Scope.everything()
    if not st.user.is_logged_in:
        return None
    settings = access_settings()
    email = str(st.user.get("email") or "").strip().lower()
    if not email:
        return None
    groups = _claim_list(st.user.get(str(settings.get("groups_claim", "groups"))))
    name = str(st.user.get("name") or email)
    admins = tuple(str(a) for a in _claim_list(settings.get("admins")))
    return _scope(url, email, groups, name, admins)


def sign_in_screen() -> None:
    """Signed out: the product name, one sentence, and the sign-in button. Nothing else."""
    st.title("Then & Now")
    st.write("Sign in to see the value of the innovations in your account.")
    provider = access_settings().get("provider")
    if st.button("Sign in", type="primary", icon=":material/login:"):
        if provider:
            st.login(str(provider))
        else:
            st.login()


def unknown_screen() -> None:
    """Signed in, but no grant names this person or their groups."""
    st.title("Then & Now")
    from ui.safe import md

    who = md(st.user.get("email") or "this account")
    st.warning(
        f"You are signed in as {who}, but no account has been shared with you yet. "
        f"To get access, ask {contact()}.",
        icon=":material/lock:",
    )
    sign_out_button()


def no_accounts_screen(scope: Scope) -> None:
    """A known client executive whose accounts are not loaded (or were removed)."""
    from ui.safe import md

    st.title("Then & Now")
    st.info(
        f"None of the accounts shared with {md(scope.user)} holds data yet. "
        f"If you expected to see one, ask {contact()}.",
        icon=":material/inventory_2:",
    )
    sign_out_button()


def sign_out_button() -> None:
    if auth_configured() and st.user.is_logged_in and st.button("Sign out", key="sign_out"):
        st.logout()


def signed_in_panel(scope: Scope) -> None:
    """The sidebar line naming who is signed in (and their role), with sign-out."""
    if not auth_configured():
        return
    from ui.safe import md

    st.caption(f":material/person: Signed in as {md(scope.display)} · {scope.role}")
    sign_out_button()


def audit_sign_in(url: str, scope: Scope) -> None:
    """Record one sign-in per session in the audit log."""
    if not auth_configured() or st.session_state.get(SIGNED_IN_KEY) == scope.user:
        return
    from services import audit

    try:
        audit.record(engine_for(url), scope, "sign-in", detail=scope.role)
    except Exception:  # noqa: BLE001 - an old schema without the audit table: not fatal
        return
    st.session_state[SIGNED_IN_KEY] = scope.user
