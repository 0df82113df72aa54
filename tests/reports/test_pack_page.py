"""Renewal pack page: build from the form, progress, preview images, downloads, the edition
listed with its figures, and what changed."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tests.pages.conftest import no_exception, texts


@pytest.fixture
def pack_app(make_app, demo_url: str, demo_story_bundle, tmp_path: Path, monkeypatch):
    target = tmp_path / "page.sqlite"
    with (
        sqlite3.connect(demo_url.removeprefix("sqlite:///")) as src,
        sqlite3.connect(target) as dst,
    ):
        src.backup(dst)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{target}")
    return make_app("pages/pack.py")


def test_build_preview_download_and_editions(pack_app) -> None:
    at = pack_app
    no_exception(at)
    assert "Renewal pack" in texts(at)
    assert "No edition has been built for this account yet." in texts(at)
    at.button[0].click().run()  # the form's submit button
    no_exception(at)
    body = texts(at)
    assert "Edition 1 · as of" in body
    assert "This is the first edition of this account's renewal pack." in body
    assert "value to date \\$6,456,512" in body  # the edition list, exact figure
    labels = [b.proto.label for b in at.get("download_button")]
    assert "Download the PDF" in labels and "Download the deck (.pptx)" in labels
    assert len(at.get("image")) >= 1  # the first pages previewed as images
    at.button[0].click().run()
    no_exception(at)
    body = texts(at)
    assert "Edition 2 · as of" in body and "Compared with edition 1" in body
    assert "No figure printed in the last edition has been restated." in body
