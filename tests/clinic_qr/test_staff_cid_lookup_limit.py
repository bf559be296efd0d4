"""CIDs typed into the clinic's person look-ups are limited per staff member
(``staff_cid_lookup``) and per client address (``staff_cid_lookup_ip``): past the limit the
answer is 429 with Retry-After and a Thai/English message, nothing is looked up, and another
staff member (or address) keeps its own count. Also fired in parallel at the live server on
PostgreSQL."""

from __future__ import annotations

import html
import re
from concurrent.futures import ThreadPoolExecutor
from threading import Barrier
from typing import Any

import pytest
import requests

from authencode.errors import DomainError
from authencode.passwords import hash_password
from authencode.ratelimit import STAFF_CID_LOOKUPS_EXCEEDED
from authencode.settings import Settings
from tests.support.clinic import PASSWORD, ClinicClient, World
from tests.support.factories import make_facility, make_person, make_staff, new_cid

LOOKUP = "/clinic/facilities/10675/visit/lookup"
RECORDS = "/clinic/facilities/10675/records"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def _limits(settings: Settings, staff: int, ip: int) -> Settings:
    return settings.with_overrides(
        rate_limits={**settings.rate_limits, "staff_cid_lookup": staff, "staff_cid_lookup_ip": ip}
    )


def _people(world: World, protector: Any, n: int) -> list[str]:
    cids = [new_cid() for _ in range(n)]
    with world.db.transaction() as session:
        for cid in cids:
            make_person(session, protector, cid=cid)
    return cids


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return _limits(settings, staff=3, ip=100)


def test_a_staff_member_is_stopped_at_the_limit_and_another_is_not(
    clinic_client: ClinicClient, clinic_world: World, protector: Any, app: Any
) -> None:
    cids = _people(clinic_world, protector, 5)
    clinic_client.login("a-staff")
    for cid in cids[:2]:
        assert clinic_client.post(LOOKUP, {"cid": cid}).status_code == 303
    # The records' filter counts too: the third typed CID.
    assert clinic_client.post(RECORDS, {"cid": cids[2]}).status_code == 303
    error = DomainError(STAFF_CID_LOOKUPS_EXCEEDED, minutes=60).to_dict()
    for refused in (
        clinic_client.post(LOOKUP, {"cid": cids[3]}),
        clinic_client.post(RECORDS, {"cid": cids[3]}),
    ):
        page = html.unescape(refused.get_data(as_text=True))
        assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
        assert f'data-code="{STAFF_CID_LOOKUPS_EXCEEDED}"' in page
        # Thai and English, up to the minutes (which depend on the clock).
        assert error["message_th"].split("60")[0] in page
        assert error["message"].split("60")[0] in page
    # The records' filter without a typed CID is not a look-up.
    assert clinic_client.post(RECORDS, {}).status_code == 303

    other = ClinicClient(app.test_client())
    other.login("a-admin")  # the same facility and address, a count of its own
    assert other.post(LOOKUP, {"cid": cids[4]}).status_code == 303


def test_the_address_has_its_own_limit(app: Any, clinic_world: World, protector: Any) -> None:
    app.extensions["ratelimit"].limits.update(staff_cid_lookup=100, staff_cid_lookup_ip=2)
    cids = _people(clinic_world, protector, 4)
    one = ClinicClient(app.test_client())
    one.login("a-staff")
    two = ClinicClient(app.test_client())
    two.login("a-admin")
    assert one.post(LOOKUP, {"cid": cids[0]}).status_code == 303
    assert two.post(LOOKUP, {"cid": cids[1]}).status_code == 303
    assert two.post(LOOKUP, {"cid": cids[2]}).status_code == 429  # the address's third
    elsewhere = {"REMOTE_ADDR": "192.0.2.7"}
    assert two.post(LOOKUP, {"cid": cids[3]}, environ_base=elsewhere).status_code == 303


@pytest.fixture
def live_settings(live_settings: Settings) -> Settings:
    return _limits(live_settings, staff=5, ip=0)


def _signed_in(base: str, username: str) -> tuple[requests.Session, str]:
    browser = requests.Session()
    login = browser.get(f"{base}/clinic/login", timeout=30)
    csrf = _CSRF.search(login.text)
    assert csrf
    form = {"username": username, "password": PASSWORD, "csrf_token": csrf.group(1)}
    assert browser.post(f"{base}/clinic/login", data=form, timeout=30).status_code == 200
    page = browser.get(f"{base}/clinic/facilities/77001/visit", timeout=30)
    csrf = _CSRF.search(page.text)
    assert page.status_code == 200 and csrf
    return browser, csrf.group(1)


def test_parallel_lookups_stop_at_the_limit_on_postgresql(
    live_app: Any, live_server: str, protector: Any
) -> None:
    db = live_app.extensions["authencode"].db
    cids = [new_cid() for _ in range(13)]
    with db.transaction() as session:
        facility = make_facility(session, hcode="77001")
        for username in ("nurse", "other"):
            make_staff(
                session,
                protector,
                facility,
                username=username,
                password_hash=hash_password(PASSWORD),
                must_change_password=False,
            )
        for cid in cids:
            make_person(session, protector, cid=cid)
    nurse, csrf = _signed_in(live_server, "nurse")
    url = f"{live_server}/clinic/facilities/77001/visit/lookup"
    start = Barrier(12)

    def look(cid: str) -> int:
        start.wait(timeout=30)
        form = {"cid": cid, "csrf_token": csrf}
        return nurse.post(url, data=form, allow_redirects=False, timeout=60).status_code

    with ThreadPoolExecutor(12) as pool:
        answers = list(pool.map(look, cids[:12]))
    assert sorted(answers) == [303] * 5 + [429] * 7
    other, other_csrf = _signed_in(live_server, "other")
    answer = other.post(
        url, data={"cid": cids[12], "csrf_token": other_csrf}, allow_redirects=False, timeout=60
    )
    assert answer.status_code == 303
