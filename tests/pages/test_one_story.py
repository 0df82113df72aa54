"""One story model, four outputs (issue #9): the Story page's cards, present mode's headline
screen, the renewal pack's story and ``thenandnow metrics --json`` print the headline strings
of the ``Story`` that ``story.build_story`` handed to each of them — recorded here where each
output's module calls it — and those strings carry the demo's known value to date."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from story.model import Story
from tests.pages.conftest import metric, no_exception

CARDS = {
    "value_to_date": "Value to date",
    "run_rate": "Run-rate per year",
    "innovations_live": "Innovations live",
    "causal_estimates": "Causal estimates",
}


def _recording(real: Callable[..., Story], into: list[Story]) -> Callable[..., Story]:
    def build(*args: Any, **kwargs: Any) -> Story:
        story = real(*args, **kwargs)
        into.append(story)
        return story

    return build


def _cards(at: Any) -> dict[str, str]:
    return {key: str(metric(at, label).value) for key, label in CARDS.items()}


def _texts(story: Story) -> dict[str, str]:
    return {f.key: f.text for f in story.section("headline").figures}


def test_screen_present_mode_pack_and_cli_print_one_story(
    make_app: Callable[..., Any],
    demo_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import cli
    import services.figures
    import services.pack
    import ui.cached
    from data_loaders.access import Scope
    from data_loaders.db import make_engine
    from story import model

    built: dict[str, list[Story]] = {"screen": [], "pack": [], "cli": []}
    for name, module in (("screen", ui.cached), ("pack", services.pack), ("cli", services.figures)):
        monkeypatch.setattr(module, "build_story", _recording(model.build_story, built[name]))

    page = make_app()
    no_exception(page)
    present = make_app(present="1", screen="headline")
    no_exception(present)
    causal = [s for s in built["screen"] if s.evidence_basis == "causal estimates"]
    # built once at the page boundary, then read by the page and by present mode alike
    assert len(causal) == 1
    [story] = causal
    assert _cards(page) == _texts(story)
    assert _cards(present) == _texts(story)

    # the pack archives an edition: build it on a copy of the demo database
    copy = tmp_path / "pack.sqlite"
    with sqlite3.connect(demo_url.removeprefix("sqlite:///")) as src, sqlite3.connect(copy) as dst:
        src.backup(dst)
    engine = make_engine(f"sqlite:///{copy}")
    pack = services.pack.build_pack(
        engine, Scope.everything(), story.account, as_of=dt.date(2026, 10, 31)
    )
    engine.dispose()
    assert built["pack"] == [pack.story]
    assert pack.story.headline_figures() == story.headline_figures()

    assert cli.main(["--db", demo_url, "metrics", "--account", story.account, "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    [told] = built["cli"]
    assert printed["story"]["headline"] == told.headline_figures() == story.headline_figures()

    # and they are the demo's figures, not merely equal to each other
    assert story.headline_figures()["value_to_date_exact"] == "$6,456,512"
    assert _cards(page)["value_to_date"] == "$6.5M"
