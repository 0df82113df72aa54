"""Fixtures of the pack tests: the demo story with its estimates (built once per session)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tests.story.conftest import *  # noqa: F403  (demo database, estimates, AppTest fixtures)


@pytest.fixture(scope="session")
def demo_story(demo_story_bundle):
    from story import build_story

    data, est = demo_story_bundle
    return build_story(data, estimates=est)


@pytest.fixture
def copy_url(demo_url: str, demo_story_bundle, tmp_path: Path) -> str:
    """A private copy of the demo database (with its stored estimates), to write to."""
    target = tmp_path / "copy.sqlite"
    with (
        sqlite3.connect(demo_url.removeprefix("sqlite:///")) as src,
        sqlite3.connect(target) as dst,
    ):
        src.backup(dst)
    return f"sqlite:///{target}"
