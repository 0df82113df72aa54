"""Fixtures of the pack tests: the demo story with its estimates (built once per session)."""

from __future__ import annotations

import pytest

from tests.story.conftest import *  # noqa: F403  (demo database, estimates, AppTest fixtures)


@pytest.fixture(scope="session")
def demo_story(demo_story_bundle):
    from story import build_story

    data, est = demo_story_bundle
    return build_story(data, estimates=est)
