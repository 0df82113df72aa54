"""Dragging the sidebar's Period slider (issue 14, Fast): the page re-runs once, when the thumb
is released, not once per step of the drag. The runs are counted on the websocket: every
script run the browser asks for is one ``BackMsg.rerun_script`` it sends (a fragment's
re-run carries its fragment id and is not a page run), and every run the server starts is
one ``ForwardMsg.new_session`` it receives."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

from tests.browser.conftest import wait_for_app

pytestmark = pytest.mark.browser

STEPS = 45


class RunCounter:
    """The page runs asked for (``asked``) and started (``started``) on a page's websocket."""

    def __init__(self, pg: Page) -> None:
        self.asked = 0
        self.started = 0
        pg.on("websocket", self._watch)

    def _watch(self, ws: Any) -> None:
        ws.on("framesent", self._sent)
        ws.on("framereceived", self._received)

    def _sent(self, payload: Any) -> None:
        if isinstance(payload, bytes | bytearray):
            msg = BackMsg.FromString(bytes(payload))
            if msg.WhichOneof("type") == "rerun_script" and not msg.rerun_script.fragment_id:
                self.asked += 1

    def _received(self, payload: Any) -> None:
        if isinstance(payload, bytes | bytearray):
            msg = ForwardMsg.FromString(bytes(payload))
            if msg.WhichOneof("type") == "new_session":
                self.started += 1

    def reset(self) -> None:
        self.asked = self.started = 0


def test_dragging_the_sidebar_period_reruns_once_on_release(page: Page, app_url: str) -> None:
    """Open Then & Now with a period inside the data (both thumbs away from the ends, so the
    right thumb's knob is inside the sidebar), press the right thumb of the sidebar's Period
    slider, move it 45 steps to the left, release: the period ends earlier, and the page ran
    exactly once for the whole drag."""
    runs = RunCounter(page)
    page.goto(f"{app_url}/then_now?from=2024-01&to=2025-12")
    wait_for_app(page)
    # the end thumb of the sidebar's range slider, by its accessible name
    thumb = page.get_by_test_id("stSidebar").get_by_role("slider", name=re.compile("^Period — end"))
    expect(thumb).to_have_attribute("aria-valuetext", "Dec 2025")
    # the role is a visually hidden range input inside the knob: press the knob, its parent
    knob = thumb.locator("xpath=..")
    knob.scroll_into_view_if_needed()
    box = knob.bounding_box()
    assert box is not None and box["width"] < 40, f"not a knob: {box}"
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    runs.reset()
    page.mouse.move(x, y)
    page.mouse.down()
    for i in range(1, STEPS + 1):
        page.mouse.move(x - 3 * i, y)
        page.wait_for_timeout(40)
    assert runs.asked == 0, f"{runs.asked} run(s) asked for while the thumb was held"
    page.mouse.up()
    page.wait_for_timeout(500)
    wait_for_app(page)
    after = thumb.get_attribute("aria-valuetext")
    assert after and after != "Dec 2025", "the drag moved nothing"
    assert dt.datetime.strptime(after, "%b %Y") < dt.datetime(2025, 12, 1)
    assert runs.asked == 1 and runs.started == 1, (runs.asked, runs.started)
    expect(page.get_by_test_id("stMain")).to_contain_text(f"Jan 2024 – {after}")
