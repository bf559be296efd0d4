"""The clinic's anonymous forms are throttled: registration per address and per CID, stored
document bytes per address a day, reset mails per address and per email; ADM007 only for an
otherwise valid registration."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from sqlalchemy import func, select

from authencode.models import OutboxMessage, StaffDocument, StaffUser
from authencode.ratelimit import DEFAULT_LIMITS
from authencode.settings import Settings
from tests.clinic_qr.test_accounts import _register, _registration
from tests.support.clinic import ClinicClient, png_bytes
from tests.support.factories import make_facility, make_staff, new_cid

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
DOCUMENT = b"%PDF-1.4\n" + b"0" * 991  # 1000 bytes


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.with_overrides(
        rate_limits={**DEFAULT_LIMITS, "forgot": 4, "forgot_email": 2}, upload_bytes_per_day=2500
    )


@pytest.fixture
def live_settings(live_settings: Settings) -> Settings:
    return live_settings.with_overrides(upload_bytes_per_day=2_500_000)


def _stored(db) -> tuple[int, int]:
    with db.transaction() as session:
        return (
            session.scalar(select(func.count()).select_from(StaffUser)) or 0,
            session.scalar(select(func.count()).select_from(StaffDocument)) or 0,
        )


def _code(response) -> str:
    found = re.search(r'data-code="([A-Z0-9_]+)"', response.get_data(as_text=True))
    return found.group(1) if found else ""


def test_adm007_only_for_an_otherwise_valid_form(
    clinic_client,
    clinic_world,
    protector,
) -> None:
    staff_cid = new_cid("3")
    with clinic_world.db.transaction() as session:
        make_staff(session, protector, None, username="existing", cid=staff_cid)
    taken = _registration(staff_cid, username="probe")
    # Missing or wrong parts are named first, as for any CID: nothing tells the CID is taken
    # (five posts: within the limit per CID).
    assert _code(_register(clinic_client, taken)) == "DOCUMENT_REQUIRED"
    assert _code(_register(clinic_client, dict(taken, email="x"), png_bytes())) == "EMAIL_INVALID"
    assert (
        _code(_register(clinic_client, dict(taken, postcode=""), png_bytes())) == "FIELD_REQUIRED"
    )
    assert (
        _code(_register(clinic_client, dict(taken, username="existing"), png_bytes()))
        == "USERNAME_TAKEN"
    )
    refused = _register(clinic_client, taken, png_bytes())
    assert refused.status_code == 409 and _code(refused) == "ADM007"


def test_registration_is_limited_per_cid_with_the_error_page(clinic_client, clinic_world) -> None:
    cid = new_cid("1")
    before = _stored(clinic_world.db)
    for attempt in range(DEFAULT_LIMITS["register_cid"]):  # corrections count too
        _register(clinic_client, _registration(cid, username=f"try{attempt}", email="x"), DOCUMENT)
    refused = _register(clinic_client, _registration(cid, username="third"), DOCUMENT)
    assert refused.status_code == 429 and refused.mimetype == "text/html"
    assert int(refused.headers["Retry-After"]) > 60  # an hour's window
    assert "ถี่เกินไป" in refused.get_data(as_text=True)
    assert _stored(clinic_world.db) == before
    # Another CID from the same address is not held back by this one.
    assert _register(clinic_client, _registration(new_cid("1")), DOCUMENT).status_code == 200


def test_stored_document_bytes_are_capped_per_address_a_day(clinic_client, clinic_world) -> None:
    before_users, before_documents = _stored(clinic_world.db)
    for name in ("one", "two"):
        assert (
            _register(
                clinic_client, _registration(new_cid("1"), username=name), DOCUMENT
            ).status_code
            == 200
        )
    over = _register(clinic_client, _registration(new_cid("1"), username="three"), DOCUMENT)
    page = over.get_data(as_text=True)
    assert over.status_code == 429 and _code(over) == "UPLOAD_QUOTA_EXCEEDED"
    assert int(over.headers["Retry-After"]) > 0
    assert "ระบบยังไม่ได้บันทึกข้อมูล" in page and "nothing was saved" in page
    assert 'value="three"' in page  # the form is kept for later
    assert _stored(clinic_world.db) == (before_users + 2, before_documents + 2)
    # The refused bytes were not kept against the quota: a small document still fits.
    small = png_bytes(8)
    assert len(small) < 500
    assert (
        _register(clinic_client, _registration(new_cid("1"), username="small"), small).status_code
        == 200
    )


def test_reset_mails_are_limited_per_email_with_the_same_answer(app, clinic_world) -> None:
    cc = ClinicClient(app.test_client())
    cc.get("/clinic/forgot")
    pages = [cc.post("/clinic/forgot", {"email": "A-Staff@clinic.example "}) for _ in range(3)]
    unknown = cc.post("/clinic/forgot", {"email": "nobody@clinic.example"})
    strip = re.compile(r'name="csrf_token" value="[^"]+"')
    answers = {strip.sub("", p.get_data(as_text=True)) for p in [*pages, unknown]}
    assert [p.status_code for p in [*pages, unknown]] == [200] * 4 and len(answers) == 1
    with clinic_world.db.transaction() as session:
        mails = session.scalar(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.kind == "email")
        )
    assert mails == 2
    refused = cc.post("/clinic/forgot", {"email": "b-staff@clinic.example"})  # 5th from here
    assert refused.status_code == 429 and refused.headers["Retry-After"]
    assert refused.mimetype == "text/html"


def test_a_burst_of_reset_requests_queues_few_mails(live_app, live_server: str, protector) -> None:
    """The review's 15 requests in a row, in parallel, against PostgreSQL: default limits."""
    with live_app.extensions["authencode"].db.transaction() as session:
        make_staff(session, protector, make_facility(session), username="victim")
    browser = requests.Session()
    csrf = _CSRF.search(browser.get(f"{live_server}/clinic/forgot", timeout=10).text)
    assert csrf is not None

    def ask(_: int) -> int:
        return browser.post(
            f"{live_server}/clinic/forgot",
            timeout=30,
            data={"email": "victim@clinic.example", "csrf_token": csrf.group(1)},
        ).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(ask, range(15)))
    assert sorted(statuses) == [200] * DEFAULT_LIMITS["forgot"] + [429] * (
        15 - DEFAULT_LIMITS["forgot"]
    )
    with live_app.extensions["authencode"].db.transaction() as session:
        mails = session.scalar(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.kind == "email")
        )
    assert mails == DEFAULT_LIMITS["forgot_email"]


def test_a_burst_of_registrations_stores_documents_up_to_the_cap(
    live_app,
    live_server: str,
) -> None:
    """The review's parallel registrations with large documents, against PostgreSQL."""
    with live_app.extensions["authencode"].db.transaction() as session:
        make_facility(session, hcode="10675")
    browser = requests.Session()
    csrf = _CSRF.search(browser.get(f"{live_server}/clinic/register", timeout=10).text)
    assert csrf is not None
    document = b"%PDF-1.4\n" + b"0" * 999_991  # 1 MB

    def register(number: int) -> int:
        form = _registration(new_cid("1"), username=f"burst{number}")
        return browser.post(
            f"{live_server}/clinic/register",
            timeout=60,
            data={**form, "csrf_token": csrf.group(1)},
            files={"document": ("scan.pdf", document, "application/pdf")},
        ).status_code

    with ThreadPoolExecutor(max_workers=6) as pool:
        statuses = list(pool.map(register, range(6)))
    assert sorted(statuses) == [200, 200, 429, 429, 429, 429]
    with live_app.extensions["authencode"].db.transaction() as session:
        assert session.scalar(select(func.count()).select_from(StaffDocument)) == 2
        assert session.scalar(select(func.count()).select_from(StaffUser)) == 2
