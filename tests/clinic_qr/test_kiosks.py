"""Kiosks (issue 23): pairing on the clinic page, the kiosk screen's API and the agent API
with a kiosk token, and the attacks on them (replayed, foreign, stale reads; revoked kiosks;
a kiosk credential on every other route of the application)."""

from __future__ import annotations

import datetime as dt
import json
import re
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from threading import Barrier
from typing import Any

import pytest
from sqlalchemy import select, update

from authencode.db import utcnow
from authencode.models import AuditEntry, AuthenCode, CardRead, Facility, Kiosk
from authencode.services import kiosks
from authencode.services.api_tokens import create_token
from authencode.thaidate import service_day
from tests.support.clinic import ClinicClient
from tests.support.factories import make_facility, make_person, new_cid

HCODE = "10675"
PHONE = "0812345678"


@dataclass
class PairedKiosk:
    id: int
    client: Any  # the kiosk browser: its cookie is the kiosk's credential
    token: str  # its agent's kiosk token


def _pair(app: Any, admin: ClinicClient, name: str, hcode: str = HCODE) -> PairedKiosk:
    browser = app.test_client()
    page = browser.get("/kiosk/")
    assert page.status_code == 200
    code = re.search(r'id="pairing-code">([A-Z0-9]{4})-([A-Z0-9]{4})<', page.get_data(as_text=True))
    assert code is not None
    # Not paired yet: the screen's API is closed.
    assert browser.get("/kiosk/api/status").get_json()["error"]["code"] == "KIOSK_NOT_PAIRED"
    paired = admin.post(
        f"/clinic/facilities/{hcode}/kiosks",
        {"name": name, "pairing_code": f"{code.group(1).lower()} {code.group(2)}"},
    )
    assert paired.status_code == 200, paired.get_data(as_text=True)
    html = paired.get_data(as_text=True)
    secret = html.split('id="new-token">', 1)[1].split("<", 1)[0]
    assert "kiosk = true" in html
    assert browser.get("/kiosk/api/status").status_code == 200
    assert 'id="s-start"' in browser.get("/kiosk/").get_data(as_text=True)
    db = app.extensions["authencode"].db
    with db.sessionmaker() as session:
        kiosk = session.scalar(select(Kiosk).where(Kiosk.name == name))
        assert kiosk is not None
        return PairedKiosk(kiosk.id, browser, secret)


@dataclass
class KioskWorld:
    app: Any
    db: Any
    admin: ClinicClient
    kiosk: PairedKiosk
    other: PairedKiosk  # another kiosk of the same facility
    cid: str
    staff_token: str  # a staff PC's agent token of the facility


@pytest.fixture
def kiosk_world(app: Any, clinic_world: Any, protector: Any) -> KioskWorld:
    db = clinic_world.db
    cid = new_cid()
    with db.transaction() as session:
        make_person(session, protector, cid=cid, first_name_th="สมหญิง", title_th="นาง")
        facility = session.get(Facility, clinic_world.ids["a_facility"])
        staff_token = create_token(session, facility, "counter", "test", "agent").secret
    admin = ClinicClient(app.test_client())
    admin.login("a-admin")
    return KioskWorld(
        app,
        db,
        admin,
        _pair(app, admin, "ตู้หน้าอาคาร"),
        _pair(app, admin, "ตู้ชั้นสอง"),
        cid,
        staff_token,
    )


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _read(client: Any, token: str, cid: str) -> str:
    """The kiosk's agent reports a card read; returns its correlation id."""
    response = client.post("/agent/api/card-reads", json={"pid": cid}, headers=_bearer(token))
    assert response.status_code == 200, response.get_json()
    return str(response.get_json()["correlationId"])


def _confirm(client: Any, token: str, cid: str, correlation: str, **extra: Any) -> Any:
    body = {"pid": cid, "claimType": "PG0060001", "mobile": PHONE, "correlationId": correlation}
    return client.post("/agent/api/confirm-save", json={**body, **extra}, headers=_bearer(token))


def _codes(db: Any) -> list[AuthenCode]:
    with db.sessionmaker() as session:
        return list(session.scalars(select(AuthenCode).order_by(AuthenCode.id)))


def test_a_visit_on_the_kiosk_screen_issues_a_kiosk_code_and_shows_it_again(
    kiosk_world: KioskWorld,
) -> None:
    w = kiosk_world
    browser = w.kiosk.client
    correlation = _read(browser, w.kiosk.token, w.cid)
    started = browser.post("/kiosk/api/visits", json={"pid": w.cid, "correlationId": correlation})
    assert started.status_code == 200
    visit = started.get_json()
    assert (visit["title"], visit["firstName"]) == ("นาง", "สมหญิง")
    assert visit["mainRight"].startswith("(UCS)")
    assert visit["existing"] is None and visit["phoneMasked"] is None  # no earlier visit

    # No phone known and none typed: the kiosk asks for one.
    body = {"pid": w.cid, "correlationId": correlation, "claimType": "PG0060001"}
    refused = browser.post("/kiosk/api/codes", json=body)
    assert refused.get_json()["error"]["code"] == "KIOSK_PHONE_NONE"
    issued = browser.post("/kiosk/api/codes", json={**body, "mobile": PHONE})
    assert issued.status_code == 200
    slip = issued.get_json()
    assert slip["created"] is True and slip["maskedCid"].count("x") == 5
    assert slip["facility"].startswith(HCODE) and slip["date"].endswith(("2569", "2570"))
    assert slip["qr"].startswith("data:image/svg+xml;base64,")
    [code] = _codes(w.db)
    assert (code.code, code.channel, code.verify_method) == (
        slip["code"],
        "kiosk",
        "kiosk_smartcard",
    )
    assert code.recorder_staff_id is None and code.phones == PHONE
    with w.db.sessionmaker() as session:
        entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "code.issue"))
        assert entry is not None and entry.actor == f"kiosk:{w.kiosk.id}"
        assert entry.target == f"authen_code:{code.id}"

    # The same card again today: the code already issued, and the phone now known (masked).
    again = _read(browser, w.kiosk.token, w.cid)
    shown = browser.post("/kiosk/api/visits", json={"pid": w.cid, "correlationId": again})
    assert shown.get_json()["existing"]["code"] == code.code
    assert shown.get_json()["phoneMasked"] == "081-xxx-5678"
    # Confirming the known phone (no mobile sent) for another service uses it.
    other = browser.post(
        "/kiosk/api/codes", json={"pid": w.cid, "correlationId": again, "claimType": "PG0090001"}
    )
    assert other.status_code == 200 and other.get_json()["code"] != code.code
    assert [c.phones for c in _codes(w.db)] == [PHONE, PHONE]


def test_third_party_kiosk_software_confirm_saves_with_a_kiosk_token_and_no_unlock(
    kiosk_world: KioskWorld, client: Any
) -> None:
    w = kiosk_world
    correlation = _read(client, w.kiosk.token, w.cid)
    # Looking up codes needs a fresh read of that card by this kiosk.
    latest = client.get(f"/agent/api/latest-authen-code/{w.cid}", headers=_bearer(w.kiosk.token))
    assert latest.status_code == 404
    answer = _confirm(client, w.kiosk.token, w.cid, correlation)
    assert answer.status_code == 200, answer.get_json()
    [code] = _codes(w.db)
    assert answer.get_json()["claimCode"] == code.code and code.channel == "kiosk"
    latest = client.get(f"/agent/api/latest-authen-code/{w.cid}", headers=_bearer(w.kiosk.token))
    assert latest.get_json()["claimCode"] == code.code
    stranger = new_cid()
    looked_up = client.get(
        f"/agent/api/latest-authen-code/{stranger}", headers=_bearer(w.kiosk.token)
    )
    assert looked_up.get_json()["error"]["code"] == "CORRELATION_UNKNOWN"
    # A kiosk's agent is never unlocked by staff.
    unlock = client.post(
        "/agent/api/staff-unlock",
        json={"staffPid": w.cid, "pin": "1234"},
        headers=_bearer(w.kiosk.token),
    )
    assert unlock.status_code == 403 and unlock.get_json()["error"]["code"] == "KIOSK_NO_UNLOCK"
    # A staff PC's agent token still needs its unlock.
    staff_read = _read(client, w.staff_token, w.cid)
    locked = _confirm(client, w.staff_token, w.cid, staff_read)
    assert locked.get_json()["error"]["code"] == "AGENT_LOCKED"


def test_attacks_on_kiosk_reads(kiosk_world: KioskWorld, client: Any) -> None:
    w = kiosk_world
    # Replayed correlationId: one code, then refused.
    correlation = _read(client, w.kiosk.token, w.cid)
    assert _confirm(client, w.kiosk.token, w.cid, correlation).status_code == 200
    replay = _confirm(client, w.kiosk.token, w.cid, correlation)
    assert replay.status_code == 409 and replay.get_json()["error"]["code"] == "CORRELATION_USED"
    replay = w.kiosk.client.post(
        "/kiosk/api/codes",
        json={"pid": w.cid, "correlationId": correlation, "claimType": "PG0090001"},
    )
    assert replay.get_json()["error"]["code"] == "CORRELATION_USED"

    # A read by another kiosk's token, or by a staff PC's agent, is not this kiosk's.
    for token in (w.other.token, w.staff_token):
        foreign = _read(client, token, w.cid)
        refused = _confirm(client, w.kiosk.token, w.cid, foreign, claimType="PG0090001")
        assert refused.status_code == 403
        assert refused.get_json()["error"]["code"] == "CORRELATION_UNKNOWN"
        started = w.kiosk.client.post(
            "/kiosk/api/visits", json={"pid": w.cid, "correlationId": foreign}
        )
        assert started.get_json()["error"]["code"] == "CORRELATION_UNKNOWN"
    # Someone else's CID with this kiosk's own read.
    mine = _read(client, w.kiosk.token, w.cid)
    other_person = _confirm(client, w.kiosk.token, new_cid(), mine, claimType="PG0090001")
    assert other_person.get_json()["error"]["code"] in ("CORRELATION_UNKNOWN", "CID_INVALID")

    # A read older than two minutes.
    with w.db.transaction() as session:
        session.execute(
            update(CardRead)
            .where(CardRead.correlation_id == mine)
            .values(created_at=utcnow() - dt.timedelta(seconds=121))
        )
    stale = _confirm(client, w.kiosk.token, w.cid, mine, claimType="PG0090001")
    assert stale.status_code == 410 and stale.get_json()["error"]["code"] == "CORRELATION_EXPIRED"
    assert [c.service_code for c in _codes(w.db)] == ["PG0060001"]


def test_a_revoked_kiosk_is_refused_at_once_midway(kiosk_world: KioskWorld, client: Any) -> None:
    w = kiosk_world
    correlation = _read(client, w.kiosk.token, w.cid)
    started = w.kiosk.client.post(
        "/kiosk/api/visits", json={"pid": w.cid, "correlationId": correlation}
    )
    assert started.status_code == 200
    page = w.admin.get(f"/clinic/facilities/{HCODE}/kiosks").get_data(as_text=True)
    assert "ตู้หน้าอาคาร" in page and "ตู้ชั้นสอง" in page
    seen = re.search(
        rf'data-kiosk="{w.kiosk.id}">.*?class="last-seen">([^<]+)<', page, flags=re.DOTALL
    )
    assert seen is not None and re.fullmatch(r"\d\d/\d\d/25\d\d \d\d:\d\d", seen.group(1))
    revoked = w.admin.post(f"/clinic/facilities/{HCODE}/kiosks/{w.kiosk.id}/revoke")
    assert revoked.status_code == 302

    body = {"pid": w.cid, "correlationId": correlation, "claimType": "PG0060001", "mobile": PHONE}
    screen = w.kiosk.client.post("/kiosk/api/codes", json=body)
    assert screen.status_code == 403 and screen.get_json()["error"]["code"] == "KIOSK_REVOKED"
    agent = _confirm(client, w.kiosk.token, w.cid, correlation)
    assert agent.status_code == 401 and agent.get_json()["error"]["code"] == "TOKEN_INVALID"
    refused = w.kiosk.client.get("/kiosk/")
    assert refused.status_code == 403 and "ตู้นี้ปิดให้บริการ" in refused.get_data(as_text=True)
    assert _codes(w.db) == []
    # The other kiosk goes on working.
    assert (
        _confirm(client, w.other.token, w.cid, _read(client, w.other.token, w.cid)).status_code
        == 200
    )
    with w.db.sessionmaker() as session:
        actions = set(session.scalars(select(AuditEntry.action)))
    assert {"kiosk.pair", "kiosk.revoke", "api_token.revoke", "code.issue"} <= actions


def test_pairing_codes_are_single_use_and_only_for_admins(
    app: Any, kiosk_world: KioskWorld
) -> None:
    w = kiosk_world
    browser = app.test_client()
    code = re.search(
        r'id="pairing-code">(\w{4})-(\w{4})<', browser.get("/kiosk/").get_data(as_text=True)
    )
    assert code is not None
    pairing = code.group(1) + code.group(2)
    staff = ClinicClient(app.test_client())
    staff.login("a-staff")
    forbidden = staff.post(
        f"/clinic/facilities/{HCODE}/kiosks", {"name": "x", "pairing_code": pairing}
    )
    assert forbidden.status_code in (403, 404)
    other_admin = ClinicClient(app.test_client())
    other_admin.login("b-admin")
    assert other_admin.get(f"/clinic/facilities/{HCODE}/kiosks").status_code in (403, 404)
    wrong = w.admin.post(
        f"/clinic/facilities/{HCODE}/kiosks", {"name": "x", "pairing_code": "ABCD2345"}
    )
    assert wrong.status_code == 404 and "ไม่พบตู้ที่รอจับคู่" in wrong.get_data(as_text=True)
    assert (
        w.admin.post(
            f"/clinic/facilities/{HCODE}/kiosks", {"name": "x", "pairing_code": pairing}
        ).status_code
        == 200
    )
    again = w.admin.post(
        f"/clinic/facilities/{HCODE}/kiosks", {"name": "y", "pairing_code": pairing}
    )
    assert again.status_code == 404
    # A reload of an unpaired screen makes a new code; the old one stops working.
    browser2 = app.test_client()
    first = re.search(
        r'id="pairing-code">(\w{4})-(\w{4})<', browser2.get("/kiosk/").get_data(as_text=True)
    )
    browser2.get("/kiosk/")
    assert first is not None
    stale = w.admin.post(
        f"/clinic/facilities/{HCODE}/kiosks",
        {"name": "z", "pairing_code": first.group(1) + first.group(2)},
    )
    assert stale.status_code == 404
    # A kiosk token cannot be made on the tokens page (only by registering a kiosk).
    made = w.admin.post(f"/clinic/facilities/{HCODE}/tokens", {"name": "k", "scope": "kiosk"})
    assert made.status_code == 400
    # A kiosk-scoped token bound to no kiosk (the CLI can make one) opens nothing.
    with w.db.transaction() as session:
        facility = session.get(Kiosk, w.kiosk.id).facility
        loose = create_token(session, facility, "loose", "test", "kiosk").secret
    answer = app.test_client().post(
        "/agent/api/card-reads", json={"pid": w.cid}, headers=_bearer(loose)
    )
    assert answer.status_code == 401 and answer.get_json()["error"]["code"] == "KIOSK_UNKNOWN"


KIOSK_CODES_AN_HOUR = 10


@pytest.fixture
def settings(settings: Any) -> Any:
    limits = {**settings.rate_limits, "kiosk_code": KIOSK_CODES_AN_HOUR}
    return settings.with_overrides(rate_limits=limits)


def test_codes_are_limited_per_kiosk(kiosk_world: KioskWorld, client: Any, protector: Any) -> None:
    w = kiosk_world
    people = [new_cid() for _ in range(KIOSK_CODES_AN_HOUR + 1)]
    with w.db.transaction() as session:
        for cid in people:
            make_person(session, protector, cid=cid)
    answers = [
        _confirm(client, w.kiosk.token, cid, _read(client, w.kiosk.token, cid)) for cid in people
    ]
    assert [a.status_code for a in answers] == [200] * KIOSK_CODES_AN_HOUR + [429]
    # The limit is the kiosk's, not the facility's: the other kiosk still serves.
    cid = people[-1]
    assert (
        _confirm(client, w.other.token, cid, _read(client, w.other.token, cid)).status_code == 200
    )


def test_kiosk_codes_appear_in_records_reports_exports_and_his(
    kiosk_world: KioskWorld, client: Any, clinic_world: Any
) -> None:
    w = kiosk_world
    correlation = _read(client, w.kiosk.token, w.cid)
    code = _confirm(client, w.kiosk.token, w.cid, correlation).get_json()["claimCode"]
    records = w.admin.get(f"/clinic/facilities/{HCODE}/records?q={code}").get_data(as_text=True)
    assert code in records
    export = w.admin.get(f"/clinic/facilities/{HCODE}/report.csv")
    assert export.status_code == 200
    rows = [line for line in export.get_data(as_text=True).splitlines() if code in line]
    assert rows and "ผู้รับบริการ (ตู้ Kiosk)" in rows[0] and "ตู้ Kiosk" in rows[0]
    with w.db.transaction() as session:
        facility = session.get(Kiosk, w.kiosk.id).facility
        his = create_token(session, facility, "his", "test", "his").secret
    today = service_day().isoformat()
    status = client.get(
        f"/authencodestatus/api/check-authen-status?personalId={w.cid}&serviceDate={today}",
        headers=_bearer(his),
    ).get_json()
    assert [h["claimCode"] for h in status["serviceHistories"]] == [code], status


def _walk_urls(app: Any) -> list[tuple[str, str]]:
    """(method, URL) of every route outside the kiosk's own and the agent API."""
    adapter = app.url_map.bind("localhost")
    calls: list[tuple[str, str]] = []
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith(("/kiosk", "/agent/api/")) or rule.endpoint.endswith("static"):
            continue
        values = {
            name: 1 if type(rule._converters[name]).__name__ == "IntegerConverter" else HCODE
            for name in rule.arguments
        }
        url = adapter.build(rule.endpoint, values)
        calls.extend((m, url) for m in sorted(rule.methods or ()) if m in ("GET", "POST"))
    return calls


def test_a_kiosk_credential_opens_nothing_else_of_the_application(
    app: Any, kiosk_world: KioskWorld
) -> None:
    """Every route of the URL map (the clinic's pages, the HIS API, the LIFF API, ...) answers
    the kiosk's cookie and its agent's token as it answers made-up ones (or refuses both)."""
    w = kiosk_world
    secret = w.kiosk.client.get_cookie("kiosk_device", path="/kiosk").value
    calls = _walk_urls(app)
    assert ("GET", f"/clinic/facilities/{HCODE}/records") in calls
    assert ("GET", "/authencodestatus/api/check-authen-status") in calls
    opened = []
    for method, url in calls:
        # A made-up credential of the same form: what anybody can send.
        stranger = app.test_client()
        stranger.set_cookie("kiosk_device", "made-up-" + secret[8:], path="/")
        refused = stranger.open(url, method=method, headers=_bearer("ac_" + secret[3:]))
        kiosk = app.test_client()
        kiosk.set_cookie("kiosk_device", secret, path="/")
        answer = kiosk.open(url, method=method, headers=_bearer(w.kiosk.token))
        same = answer.status_code == refused.status_code
        both_refused = {answer.status_code, refused.status_code} <= {401, 403}
        if not (same or both_refused):
            opened.append((method, url, refused.status_code, answer.status_code))
    assert opened == [], "\n".join(map(str, opened))
    # The HIS API says why: a kiosk token is not a hospital system's.
    his = app.test_client().get(
        f"/authencodestatus/api/check-authen-status?personalId={w.cid}",
        headers=_bearer(w.kiosk.token),
    )
    assert his.status_code == 403 and his.get_json()["error"]["code"] == "TOKEN_SCOPE"


def _http(method: str, url: str, token: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(  # noqa: S310 - the live server's http URL
        url,
        data=data,
        method=method,
        headers={**_bearer(token), "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - the live server
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        with error:
            return error.code, json.loads(error.read())


def test_parallel_confirm_saves_of_one_read_give_one_code_on_postgresql(
    live_app: Any, live_server: str, protector: Any
) -> None:
    db = live_app.extensions["authencode"].db
    cid = new_cid()
    with db.transaction() as session:
        facility = make_facility(session)
        make_person(session, protector, cid=cid)
        token = kiosks.pair(session, facility, "ตู้", "test").token_secret
    status, read = _http("POST", f"{live_server}/agent/api/card-reads", token, {"pid": cid})
    assert status == 200
    body = {
        "pid": cid,
        "claimType": "PG0060001",
        "mobile": PHONE,
        "correlationId": read["correlationId"],
    }
    tries = 8
    start = Barrier(tries)

    def confirm(_n: int) -> tuple[int, Any]:
        start.wait()
        return _http("POST", f"{live_server}/agent/api/confirm-save", token, body)

    with ThreadPoolExecutor(tries) as pool:
        answers = list(pool.map(confirm, range(tries)))
    statuses = sorted(status for status, _ in answers)
    assert statuses == [200] + [409] * (tries - 1), answers
    assert {a["error"]["code"] for s, a in answers if s == 409} == {"CORRELATION_USED"}
    [code] = _codes(db)
    assert code.channel == "kiosk"
    with db.sessionmaker() as session:
        issued = session.scalars(select(AuditEntry).where(AuditEntry.action == "code.issue")).all()
        assert len(issued) == 1
