"""Verification at the counter end to end in headless Chromium against the real server
(PostgreSQL): the patient's LIFF family page shows a one-time code and its QR; the clinic's
staff type it on the counter page, check the card by eye and confirm; the link is verified."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

import pytest
from sqlalchemy import select

from authencode.models import FamilyLink, LinkVerification, StaffUser
from authencode.passwords import hash_password
from authencode.services import consent
from tests.support.clinic import decode_qr, svg_to_image
from tests.support.factories import birth_date, make_staff
from tests.support.liff import JwksServer, World, new_user_id

PASSWORD = "counter-password-1"


def _api(base: str, token: str, method: str, path: str, body: Any = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(  # noqa: S310 - the local live server
        f"{base}/liff/api{path}",
        data=data,
        method=method,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - local server
        return json.loads(response.read())


@pytest.fixture
def counter_staff(live_world: World) -> StaffUser:
    from authencode.models import Facility

    with live_world.db.transaction() as session:
        clinic = session.get(Facility, live_world.facility_id)
        staff = make_staff(
            session,
            live_world.protector,
            clinic,
            username="counter",
            password_hash=hash_password(PASSWORD),
            must_change_password=False,
        )
        session.expunge(staff)
        return staff


def test_patient_shows_the_code_and_staff_verify_it_at_the_counter(
    mobile_page: Any,
    page: Any,
    live_server: str,
    live_world: World,
    jwks: JwksServer,
    counter_staff: StaffUser,
    screenshot: Any,
) -> None:
    token = jwks.token(new_user_id())
    _api(
        live_server,
        token,
        "POST",
        "/consent",
        {"decision": "accept", "version": consent.CONSENT_VERSION},
    )
    member = _api(
        live_server,
        token,
        "POST",
        "/register",
        {
            "cid": live_world.adult_cid,
            "birthDate": birth_date(live_world.adult_cid),
            "phone": "0812345678",
        },
    )["member"]
    assert member["level"] == "claimed"

    # The patient's family page: a code for the unverified person, as digits and a QR.
    mobile_page.set_default_timeout(30_000)
    mobile_page.add_init_script(
        f"window.AUTHENCODE_LIFF_MOCK = {json.dumps({'getIDToken': token})};"
    )
    mobile_page.goto(f"{live_server}/liff/family")
    mobile_page.wait_for_selector("body[data-ready='true']")
    mobile_page.click(f"[data-verify='{member['id']}']")
    mobile_page.wait_for_selector(".verify-code:not([hidden]) .code-large")
    code = mobile_page.inner_text(".verify-code .code-large").strip()
    assert len(code) == 6 and code.isdigit()
    svg = mobile_page.inner_html(".verify-qr")
    assert decode_qr(svg_to_image(svg)) == code
    screenshot(mobile_page, "liff-verification-code")

    # The counter: staff log in, type the code, see who it is, check by eye, confirm.
    page.set_default_timeout(30_000)
    page.goto(f"{live_server}/clinic/login")
    page.fill("input[name=username]", "counter")
    page.fill("input[name=password]", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(f"{live_server}/clinic/")
    page.goto(f"{live_server}/clinic/facilities/10675/verify")
    page.fill("#verify-code", code)
    page.click("#lookup-code button[type=submit]")
    page.wait_for_selector("#verify-person")
    assert "สมชาย" in page.inner_text("#verify-name")
    assert "xxxxx" in page.inner_text("#verify-cid")
    assert page.inner_text("#verify-relation") == "ผู้ลงทะเบียนเอง"
    # No reader agent on this machine: the page says so, and checking by eye remains.
    page.wait_for_selector("#agent-status[data-agent=absent]")
    assert "reader agent" in page.inner_text("#agent-status")
    screenshot(page, "counter-verify-person")
    page.check("input[name=card_check][value=eye]")
    page.check("#eye-checked")
    page.click("#confirm-verify button[type=submit]")
    page.wait_for_selector("#verified")

    with live_world.db.sessionmaker() as session:
        link = session.get(FamilyLink, member["id"])
        assert link is not None
        assert (link.level, link.verified_method, link.verified_by) == (
            "verified",
            "counter",
            f"staff:{counter_staff.id}",
        )
        row = session.scalar(select(LinkVerification))
        assert row is not None and row.card_check == "eye"
    assert _api(live_server, token, "GET", "/members")["members"][0]["level"] == "verified"

    # The same code again: refused with a Thai message.
    page.fill("#verify-code", code)
    page.click("#lookup-code button[type=submit]")
    page.wait_for_selector(".error")
    assert "ถูกใช้ไปแล้ว" in page.inner_text(".error")
