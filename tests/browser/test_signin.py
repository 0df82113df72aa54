"""End to end with real sign-in: an OpenID Connect provider (``oidc-provider-mock``) on
localhost, the app started with ``[auth]`` pointing at it, and Chromium signing in as the
client executive of the second demo account. Everything that person can see — every page,
present mode, every CSV download — holds nothing of the other account; after signing out
nothing of the app is left.

The servers are started by this module (their own pids, stopped by pid); the secrets file
lives in a temporary directory and reaches Streamlit through ``--secrets.files``.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from pypdf import PdfReader

from tests.browser.conftest import (
    ARTIFACTS,
    DESKTOP,
    FIRST_LOAD_MS,
    HANG_MS,
    ROOT,
    _free_port,
    _stop,
    wait_for_app,
    wait_http,
)

pytestmark = pytest.mark.browser

CLIENT = "cfo@rheinland.example"
MINE = "Rheinland Energie"
# What of the first account must never show: its name, innovation codes, sites, KPI
# labels and its headline figure (value to date, pinned by the metrics tests).
OTHER = (
    "Northwind",
    "INN-0",
    "Manila",
    "Kraków",
    "Bogotá",
    "Claims intake",
    "Average handle time",
    "6,456,512",
)
CONTACT = "Pat Provider"
# Building the pack may first estimate the account's innovations (once per data version).
PACK_BUILD_MS = 900_000
PAGES = ["", "then_now", "value", "innovations", "innovation_detail", "contract", "data"]
SCREENS = [
    "headline",
    "narrative-1",
    "curve",
    "then_now",
    "bridge",
    "productivity",
    "gain_share",
    "next",
]


@pytest.fixture(scope="module")
def signin_app(
    demo_db_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, str]]:
    """The OIDC provider and the app with [auth], on a copy of the demo database where
    CLIENT is granted the second account only."""
    from data_loaders.access import Scope
    from data_loaders.db import make_engine
    from services import access

    tmp = tmp_path_factory.mktemp("signin")
    src = Path(demo_db_url.removeprefix("sqlite:///"))
    db = tmp / "signin.sqlite"
    for suffix in ("", "-wal", "-shm"):
        if Path(f"{src}{suffix}").exists():
            shutil.copy(f"{src}{suffix}", f"{db}{suffix}")
    eng = make_engine(f"sqlite:///{db}")
    access.grant(eng, Scope.everything(user="test setup"), CLIENT, "client-executive", MINE)
    eng.dispose()

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "AUTHLIB_INSECURE_TRANSPORT": "1"}
    op_port, app_port = _free_port(), _free_port()
    claims = json.dumps({"sub": CLIENT, "email": CLIENT, "name": "Rita Client"})
    with open(ARTIFACTS / "oidc-provider.log", "w") as log:
        op = subprocess.Popen(
            [sys.executable, "-m", "oidc_provider_mock", "--port", str(op_port)]
            + ["--user-claims", claims],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    procs = [op.pid]
    try:
        issuer = f"http://127.0.0.1:{op_port}"
        wait_http(f"{issuer}/.well-known/openid-configuration", "oidc-provider-mock")
        base = f"http://127.0.0.1:{app_port}"
        secrets = tmp / "secrets.toml"
        secrets.write_text(
            "[auth]\n"
            f'redirect_uri = "{base}/oauth2callback"\n'
            'cookie_secret = "a-long-random-string-for-the-test-only"\n'
            'client_id = "then-and-now"\n'
            'client_secret = "test-secret"\n'
            f'server_metadata_url = "{issuer}/.well-known/openid-configuration"\n'
            "\n[access]\n"
            f'contact = "{CONTACT}"\n'
        )
        with open(ARTIFACTS / "signin-server.log", "w") as log:
            app = subprocess.Popen(
                [sys.executable, "-m", "streamlit", "run", "app.py"]
                + ["--server.headless", "true", "--server.port", str(app_port)]
                + ["--server.address", "127.0.0.1", "--server.fileWatcherType", "none"]
                + ["--secrets.files", str(secrets)],
                cwd=ROOT,
                env={**env, "DATABASE_URL": f"sqlite:///{db}"},
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        procs.append(app.pid)
        wait_http(f"{base}/_stcore/health", "Streamlit")
        yield {"base": base, "db": f"sqlite:///{db}"}
    finally:
        for pid in reversed(procs):
            _stop(pid)


def _assert_clean(text: str, where: str) -> None:
    for needle in OTHER:
        assert needle not in text, f"{needle!r} of the other account appears in {where}"


def _visible_text(pg) -> str:
    return str(pg.locator("body").inner_text())


def _deck_text(deck: bytes) -> str:
    from pptx import Presentation

    parts = []
    for slide in Presentation(io.BytesIO(deck)).slides:
        parts.append(slide.notes_slide.notes_text_frame.text)
        for shape in slide.shapes:
            if shape.has_text_frame:
                parts.append(shape.text_frame.text)
            if shape.has_table:
                parts.extend(c.text for row in shape.table.rows for c in row.cells)
    return "\n".join(parts)


def _assert_pack_audited(db: str, files: list[str]) -> None:
    """The build and both downloads are in the audit log, as the signed-in client."""
    from data_loaders.access import Scope
    from data_loaders.db import make_engine
    from services import audit

    eng = make_engine(db)
    try:
        log = audit.entries(eng, Scope.everything(user="test check"))
    finally:
        eng.dispose()
    mine = log[(log["user"] == CLIENT) & (log["account"] == MINE)]
    assert "pack build" in mine["action"].tolist()
    downloaded = " ".join(mine.loc[mine["action"] == "download", "detail"])
    for name in files:
        assert name in downloaded, (name, downloaded)


def test_client_executive_signs_in_sees_only_its_account_and_signs_out(
    signin_app, browser, tmp_path: Path
) -> None:
    """Signed out there is only a sign-in button; after signing in at the identity provider
    the client executive sees its own account on every page, in every present-mode screen,
    in every CSV download and in the renewal pack it builds and downloads (PDF text, deck
    text; both audited as that person), and nothing of the other account; after signing
    out, nothing."""
    base = signin_app["base"]
    ctx = browser.new_context(viewport=DESKTOP, accept_downloads=True)
    pg = ctx.new_page()
    pg.set_default_timeout(HANG_MS)  # a hang guard like every browser wait, not a speed check
    try:
        pg.goto(f"{base}/value?account=Northwind+Insurance")
        wait_for_app(pg, FIRST_LOAD_MS)
        body = _visible_text(pg)
        assert "Sign in" in body
        _assert_clean(body, "the signed-out screen")
        assert MINE not in body
        assert pg.get_by_test_id("stSidebarNav").count() == 0
        assert pg.get_by_test_id("stMetric").count() == 0

        pg.get_by_role("button", name="Sign in").click()
        pg.wait_for_url("http://127.0.0.1:*/oauth2/authorize*", timeout=FIRST_LOAD_MS)
        pg.get_by_role("button", name=CLIENT).click()
        pg.wait_for_url(f"{base}/**", timeout=FIRST_LOAD_MS)
        wait_for_app(pg, FIRST_LOAD_MS)
        pg.get_by_text("Signed in as Rita Client").wait_for(timeout=FIRST_LOAD_MS)

        downloads: list[str] = []
        for path in PAGES:
            pg.goto(f"{base}/{path}")
            wait_for_app(pg, FIRST_LOAD_MS)
            pg.get_by_test_id("stSidebar").get_by_text(MINE).first.wait_for()
            text = _visible_text(pg)
            _assert_clean(text, f"page /{path}")
            buttons = pg.get_by_test_id("stDownloadButton")
            for i in range(buttons.count()):
                button = buttons.nth(i)
                if not button.is_visible():
                    continue  # in a tab that is not open
                with pg.expect_download() as info:
                    button.click()
                target = tmp_path / f"{path or 'story'}-{i}-{info.value.suggested_filename}"
                info.value.save_as(target)
                content = target.read_bytes().decode("utf-8", errors="replace")
                _assert_clean(content, f"download {target.name}")
                downloads.append(target.name)
                wait_for_app(pg, FIRST_LOAD_MS)
        assert any(name.endswith(".csv") for name in downloads), downloads

        # the renewal pack: built on its page, downloaded, read back as text
        pg.goto(f"{base}/pack")
        wait_for_app(pg, FIRST_LOAD_MS)
        _assert_clean(_visible_text(pg), "the Renewal pack page")
        pg.get_by_role("button", name="Build the pack").click()
        pdf_button = pg.get_by_role("button", name="Download the PDF")
        pdf_button.wait_for(timeout=PACK_BUILD_MS)
        wait_for_app(pg, PACK_BUILD_MS)
        _assert_clean(_visible_text(pg), "the Renewal pack page after the build")
        with pg.expect_download() as info:
            pdf_button.click()
        pdf_path = tmp_path / info.value.suggested_filename
        info.value.save_as(pdf_path)
        assert MINE.replace(" ", "-") in pdf_path.name
        pdf_text = "\n".join(
            page.extract_text() or "" for page in PdfReader(io.BytesIO(pdf_path.read_bytes())).pages
        )
        assert MINE in pdf_text and "Renewal pack" in pdf_text
        _assert_clean(pdf_text, f"the pack PDF {pdf_path.name}")
        wait_for_app(pg, FIRST_LOAD_MS)
        with pg.expect_download() as info:
            pg.get_by_role("button", name="Download the deck (.pptx)").click()
        deck_path = tmp_path / info.value.suggested_filename
        info.value.save_as(deck_path)
        deck_text = _deck_text(deck_path.read_bytes())
        assert MINE in deck_text
        _assert_clean(deck_text, f"the deck {deck_path.name}")
        wait_for_app(pg, FIRST_LOAD_MS)
        _assert_pack_audited(signin_app["db"], [pdf_path.name, deck_path.name])

        for screen in SCREENS:
            pg.goto(f"{base}/?present=1&screen={screen}")
            wait_for_app(pg, FIRST_LOAD_MS)
            text = _visible_text(pg)
            assert MINE in text, f"present screen {screen}"
            _assert_clean(text, f"present screen {screen}")

        pg.goto(f"{base}/?present=1&account=Northwind+Insurance")
        wait_for_app(pg, FIRST_LOAD_MS)
        text = _visible_text(pg)
        assert "is not available to you" in text
        assert pg.get_by_test_id("stMetric").count() == 0

        pg.goto(f"{base}/")
        wait_for_app(pg, FIRST_LOAD_MS)
        pg.get_by_role("button", name="Sign out").click()
        # st.logout ends the session at the identity provider too (RP-initiated logout),
        # whose page asks to confirm and sends the browser back to the app.
        pg.wait_for_url("**/oauth2/end_session**", timeout=FIRST_LOAD_MS)
        pg.get_by_role("button", name="End session").click()
        pg.wait_for_url(f"{base}/**", timeout=FIRST_LOAD_MS)
        pg.get_by_role("button", name="Sign in").wait_for(timeout=FIRST_LOAD_MS)
        wait_for_app(pg, FIRST_LOAD_MS)
        for path in ("", "value", "data"):
            pg.goto(f"{base}/{path}")
            wait_for_app(pg, FIRST_LOAD_MS)
            body = _visible_text(pg)
            assert MINE not in body and "Signed in as" not in body
            _assert_clean(body, f"/{path} after sign-out")
            assert pg.get_by_test_id("stMetric").count() == 0
    except BaseException:
        pg.screenshot(path=str(ARTIFACTS / "failed-signin.png"), full_page=True)
        raise
    finally:
        ctx.close()
