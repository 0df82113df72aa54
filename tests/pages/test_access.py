"""Sign-in, roles and scope in the app (AppTest with ``at.user``): nothing before sign-in,
unknown people told whom to ask, a client executive sees its own account only on every page
and in present mode, URL tampering does not widen the scope, read-only roles have no import
or rollback (and the services refuse them), admins manage access and read the audit log, and
text from data is never rendered as Markdown or HTML."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import update
from streamlit.testing.v1 import AppTest

from data_loaders.access import AccessDenied, Scope
from data_loaders.db import make_engine
from data_loaders.schema import Innovation
from tests.pages.conftest import APP, ROOT, copy_database, no_exception, texts

CLIENT = "cfo@rheinland.example"
ANALYST = "analyst@provider.example"
ADMIN = "admin@provider.example"
MINE, OTHER = "Rheinland Energie", "Northwind Insurance"
AUTH = {
    "redirect_uri": "http://localhost:8501/oauth2callback",
    "cookie_secret": "test-cookie-secret",
    "client_id": "then-and-now",
    "client_secret": "not-a-secret",
    "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration",
}
CONTACT = "Pat Provider (pat@provider.example)"
PAGES = [
    "pages/story.py",
    "pages/then_now.py",
    "pages/value.py",
    "pages/contract.py",
    "pages/innovations.py",
    "pages/innovation_detail.py",
    "pages/data.py",
]
EVIL_TITLE = "<script>alert(1)</script> **bold** [link](http://evil.example) :red[x]"


@pytest.fixture(scope="session")
def access_url(demo_url: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A copy of the demo with grants for a client executive of the second account, an
    analyst and an admin, and one second-account title full of Markdown and HTML."""
    from services import access

    url = copy_database(demo_url, tmp_path_factory.mktemp("access") / "access.sqlite")
    eng = make_engine(url)
    admin = Scope.everything(user="setup")
    access.grant(eng, admin, CLIENT, "client-executive", MINE)
    access.grant(eng, admin, ANALYST, "provider-analyst")
    access.grant(eng, admin, ADMIN, "provider-admin")
    with eng.begin() as conn:
        conn.execute(
            update(Innovation).where(Innovation.code == "RHE-001").values(title=EVIL_TITLE)
        )
    eng.dispose()
    return url


@pytest.fixture
def signed_in(access_url: str, monkeypatch: pytest.MonkeyPatch) -> Callable[..., AppTest]:
    """``signed_in(email or None, page=None, **query_params)``: the app with [auth]
    configured, as that signed-in person (None: signed out)."""
    monkeypatch.setenv("DATABASE_URL", access_url)
    monkeypatch.chdir(ROOT)

    def _open(email: str | None, page: str | None = None, **params: str) -> AppTest:
        at = AppTest.from_file(APP, default_timeout=300)
        at.secrets["auth"] = AUTH
        at.secrets["access"] = {"contact": CONTACT}
        at.user = (
            {"is_logged_in": True, "email": email, "name": email.split("@")[0].title()}
            if email
            else {"is_logged_in": False}
        )
        for key, value in params.items():
            at.query_params[key] = value
        if page is None:
            return at.run()
        # The cheapest first run (present mode's last screen), then the page.
        at.query_params["present"], at.query_params["screen"] = "1", "7"
        at.run()
        del at.query_params["present"], at.query_params["screen"]
        return at.switch_page(page).run()

    return _open


def _nothing_of_the_app(at: AppTest) -> None:
    assert not at.metric and not at.dataframe and not at.get("vega_lite_chart")
    assert not at.sidebar.selectbox and not at.sidebar.multiselect
    assert not at.get("page_link")
    text = texts(at)
    assert OTHER not in text and MINE not in text


def test_signed_out_sees_only_the_sign_in_button(signed_in) -> None:
    """With [auth], a signed-out visitor gets the sign-in screen and nothing else: no page,
    link, account name or figure — also when the URL names a page and an account."""
    at = signed_in(None, account=OTHER)
    no_exception(at)
    assert [b.label for b in at.button] == ["Sign in"]
    _nothing_of_the_app(at)


def test_unknown_user_is_told_whom_to_ask(signed_in) -> None:
    """Signed in without any grant: a message naming the configured contact, sign-out."""
    at = signed_in("stranger@example.com", account=MINE)
    no_exception(at)
    assert any(CONTACT in w.value for w in at.warning)
    assert [b.label for b in at.button] == ["Sign out"]
    _nothing_of_the_app(at)


@pytest.mark.parametrize("page", PAGES)
def test_client_executive_sees_only_its_account(signed_in, page: str) -> None:
    """On every page a client executive sees its own account, never the other one, and the
    sidebar names who is signed in."""
    at = signed_in(CLIENT, page)
    no_exception(at)
    text = texts(at) + "\n".join(c.value for c in at.sidebar.caption)
    assert OTHER not in text
    assert "Signed in as Cfo · client executive" in text
    assert f"**{MINE}**" in [m.value for m in at.sidebar.markdown]
    for frame in at.dataframe:
        assert OTHER not in frame.value.to_csv()
        assert "INN-0" not in frame.value.to_csv()


def test_client_executive_in_present_mode(signed_in) -> None:
    """Present mode shows the client's own account."""
    for screen in ("1", "7"):
        at = signed_in(CLIENT, present="1", screen=screen)
        no_exception(at)
        assert at.caption[0].value.startswith(MINE)
        assert OTHER not in texts(at)


@pytest.mark.parametrize(
    "params",
    [{"account": OTHER}, {"account": OTHER, "present": "1"}, {"account": "rheinland energie"}],
)
def test_url_naming_another_account_is_refused(signed_in, params: dict[str, str]) -> None:
    """A URL naming an account outside the scope (also in present mode) is refused with a
    message; the app is not silently switched to the caller's own account."""
    at = signed_in(CLIENT, **params)
    no_exception(at)
    assert any("is not available to you" in e.value for e in at.error)
    assert not at.metric and not at.get("vega_lite_chart")
    assert MINE not in texts(at).replace(params["account"], "")


def test_innovation_code_of_another_account_is_not_found(signed_in) -> None:
    """An innovation code of the other account opens nothing of it."""
    at = signed_in(CLIENT, "pages/innovation_detail.py", innovation="INN-001")
    no_exception(at)
    assert any("There is no innovation with code" in e.value for e in at.error)
    assert not at.metric and OTHER not in texts(at)


def test_read_only_roles_have_no_import_or_rollback(signed_in, access_url: str) -> None:
    """Client executive and analyst: the Data page has no uploader, no rollback and no admin
    tabs; the workflows refuse them when called directly too."""
    from services import access, audit
    from ui.data_actions import rollback, run_import

    for email in (CLIENT, ANALYST):
        at = signed_in(email, "pages/data.py")
        no_exception(at)
        assert not at.get("file_uploader")
        assert not [b for b in at.button if b.label.startswith("Roll back")]
        assert "Imports are done by the provider's administrators" in texts(at)
        assert [t.label for t in at.tabs][-1] == "How we compute value"
    eng = make_engine(access_url)
    for scope in (
        Scope(role="client executive", account_ids=frozenset({2}), user=CLIENT),
        Scope(role="provider analyst", user=ANALYST),
    ):
        with pytest.raises(AccessDenied):
            run_import(eng, scope, [("events.csv", b"account\n")], dry_run=True)
        with pytest.raises(AccessDenied):
            rollback(eng, scope, 1)
        with pytest.raises(AccessDenied):
            access.grant(eng, scope, "x@y.example", "provider-admin")
        with pytest.raises(AccessDenied):
            audit.entries(eng, scope)
    eng.dispose()


def test_analyst_sees_every_account(signed_in) -> None:
    """A provider analyst picks among both accounts."""
    at = signed_in(ANALYST, present="1", screen="7")
    no_exception(at)
    at = signed_in(ANALYST)
    assert at.sidebar.selectbox(key="f_account").options == [OTHER, MINE]


def test_admin_manages_access_and_reads_the_audit_log(signed_in) -> None:
    """The admin's Data page lists the grants, grants and revokes, and shows the audit log
    (sign-ins included) with a CSV download."""
    at = signed_in(ADMIN, "pages/data.py")
    no_exception(at)
    assert [t.label for t in at.tabs][-2:] == ["Access", "Audit log"]
    grants = next(d.value for d in at.dataframe if "principal" in d.value.columns)
    assert {CLIENT, ANALYST, ADMIN} <= set(grants["principal"])
    at.text_input(key="grant_who").input("new.cfo@northwind.example")
    at.selectbox(key="grant_role").select("client executive")
    at.selectbox(key="grant_account").select(OTHER)
    next(b for b in at.button if b.label == "Grant").click().run()
    no_exception(at)
    assert any("Granted new.cfo@northwind.example" in s.value for s in at.success)
    log = next(d.value for d in at.dataframe if "action" in d.value.columns)
    assert "access grant" in set(log["action"]) and "sign-in" in set(log["action"])
    assert "Download the audit log (CSV)" in [b.label for b in at.get("download_button")]


def test_markdown_and_html_in_a_title_stay_text(signed_in) -> None:
    """A title holding <script>, emphasis, a link and a Streamlit colour directive is shown
    literally (escaped), never rendered."""
    at = signed_in(CLIENT, "pages/innovation_detail.py", innovation="RHE-001")
    no_exception(at)
    title = at.title[0].value
    assert title.startswith("RHE-001 · \\<script\\>alert(1)\\</script\\> \\*\\*bold\\*\\*")
    assert "\\[link\\](http\\://evil.example)" in title and "\\:red\\[x\\]" in title


def test_sql_and_markdown_in_url_filters_widen_nothing(signed_in) -> None:
    """Filter parameters holding SQL or Markdown are dropped as unknown names: the client's
    view stays its own account, nothing fails, nothing is rendered from them."""
    at = signed_in(
        CLIENT,
        present="1",
        screen="1",
        units="Lisbon · Collections' OR '1'='1",
        cat="x'); DROP TABLE account; --",
        **{"from": "2024-01' --", "to": "**2099**"},
    )
    no_exception(at)
    assert at.caption[0].value.startswith(MINE)
    text = texts(at)
    assert OTHER not in text and "DROP TABLE" not in text and "<b>" not in text


def test_client_executive_agrees_a_value_line(signed_in) -> None:
    """On an innovation's detail page a client executive agrees the measured value for the
    period; the line then shows who agreed it. Provider roles get no such button."""
    admin = signed_in(ADMIN, "pages/innovation_detail.py", innovation="RHE-002")
    no_exception(admin)
    assert not [b for b in admin.button if b.label.startswith("Agree this value")]
    at = signed_in(CLIENT, "pages/innovation_detail.py", innovation="RHE-002")
    no_exception(at)
    [agree] = [b for b in at.button if b.label.startswith("Agree this value: ") and "€" in b.label]
    agree.click().run()
    no_exception(at)
    assert any(s.value.startswith("Agreed by Cfo on ") for s in at.success)
