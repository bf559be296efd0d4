"""The kiosk screen's errors are where a person sees them (issue 21, item 1): with no reader
agent answering, the paired kiosk says so on its problem screen, inside the viewport and
uncovered, at the kiosk's portrait 1080×1920, landscape 1366×768, a tablet's 800×1280 and a
phone's 360×740; a refused (unknown) kiosk's page likewise. No card reader is needed: nothing
listens on the agent's port."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from authencode.models import Facility
from authencode.services import kiosks
from authencode.settings import Settings
from tests.support.factories import make_facility
from tests.support.live_server import free_port
from tests.support.viewport import assert_in_view, in_view_problems

HCODE = "10670"


@pytest.fixture
def live_settings(live_settings: Settings) -> Settings:
    """The kiosk page points at a reader agent that is not there."""
    return live_settings.with_overrides(reader_agent_url=f"http://127.0.0.1:{free_port()}")


def test_the_kiosks_problem_screen_is_in_view(
    mobile_page: Any, live_app: Any, live_server: str, screenshot: Any
) -> None:
    db = live_app.extensions["authencode"].db
    with db.transaction() as session:
        make_facility(session, hcode=HCODE, name="โรงพยาบาลตัวอย่าง", services=("PG0060001",))
    page = mobile_page
    page.goto(f"{live_server}/kiosk/")
    code = page.inner_text("#pairing-code").replace("-", "")
    with db.transaction() as session:
        facility = session.scalar(select(Facility).where(Facility.hcode == HCODE))
        kiosks.pair(session, facility, "ตู้หน้าอาคาร", "test", code)
    page.wait_for_selector("#kiosk-config", state="attached")  # the pairing screen reloads
    page.wait_for_selector("#s-problem:not([hidden])")
    assert "เครื่องอ่านบัตร" in page.inner_text("#problem-title")
    failures = []
    for size in (
        {"width": 1080, "height": 1920},
        {"width": 1366, "height": 768},
        {"width": 800, "height": 1280},
        {"width": 360, "height": 740},
    ):
        page.set_viewport_size(size)
        for part in ("#problem-title", "#problem-text", "#problem-counter"):
            failures += [
                f"{size['width']}x{size['height']} {p}" for p in in_view_problems(page, part)
            ]
    assert not failures, failures
    screenshot(page, "kiosk-no-agent")


def test_an_unknown_kiosks_refusal_is_in_view(mobile_page: Any, live_server: str) -> None:
    page = mobile_page
    page.context.add_cookies([{"name": "kiosk_device", "value": "forged", "url": live_server}])
    page.goto(f"{live_server}/kiosk/")
    heading = page.locator("h1").first
    assert_in_view(page, heading)
