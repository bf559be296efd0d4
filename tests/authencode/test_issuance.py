from __future__ import annotations

import datetime as dt
import re
import threading
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from authencode.crypto import DataProtector
from authencode.db import Database
from authencode.errors import DomainError
from authencode.models import AuditEntry, AuthenCode, FacilityService, ServiceType
from authencode.services import audit
from authencode.services.issuance import cancel_code, edit_code, get_code, issue_code
from authencode.thaidate import service_day
from tests.support.factories import make_facility, make_person, make_staff

CODE = re.compile(r"PP\d{10}")


def _issue(session: Session, person, **kw):
    args: dict[str, Any] = {
        "hcode": "10675",
        "service_code": "PG0060001",
        "phones": "0812345678",
        "channel": "line",
    }
    args.update(kw)
    return issue_code(session, person, **args)


def test_same_day_repeat_returns_the_same_code(session: Session, protector: DataProtector) -> None:
    make_facility(session)
    person = make_person(session, protector)
    first = _issue(session, person)
    again = _issue(session, person, phones="0899999999")
    other_service = _issue(session, person, service_code="PG0090001")
    assert first.created and not again.created and other_service.created
    assert CODE.fullmatch(first.code.code)
    assert again.code.code == first.code.code
    assert other_service.code.code != first.code.code
    assert first.code.service_date == service_day()


def test_service_day_is_the_bangkok_date(session: Session, protector: DataProtector) -> None:
    make_facility(session)
    person = make_person(session, protector)
    # 18:30 UTC on 21 Nov is 01:30 on 22 Nov in Bangkok: a new service day.
    evening = _issue(session, person, now=dt.datetime(2026, 11, 21, 16, 0, tzinfo=dt.UTC))
    after_midnight = _issue(session, person, now=dt.datetime(2026, 11, 21, 18, 30, tzinfo=dt.UTC))
    assert evening.code.service_date == dt.date(2026, 11, 21)
    assert after_midnight.code.service_date == dt.date(2026, 11, 22)
    assert after_midnight.created and after_midnight.code.code != evening.code.code


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"phones": ""}, "PHONE_REQUIRED"),
        ({"phones": "12345"}, "PHONE_INVALID"),
        ({"channel": "fax"}, "CHANNEL_INVALID"),
        ({"hcode": "99999"}, "FACILITY_NOT_FOUND"),
        ({"hcode": "10676"}, "FACILITY_INACTIVE"),
        ({"service_code": "PG9999999"}, "SERVICE_NOT_FOUND"),
        ({"service_code": "PG0130001"}, "SERVICE_NOT_OFFERED"),
        ({"service_code": "PG0150001"}, "SERVICE_INACTIVE"),
    ],
)
def test_refusals(session: Session, protector: DataProtector, change: dict, code: str) -> None:
    make_facility(session, services=("PG0060001", "PG0150001"))
    make_facility(session, hcode="10676", active=False)
    retired = session.get(ServiceType, "PG0150001")
    assert retired is not None
    retired.valid_to = dt.date(2020, 12, 31)
    person = make_person(session, protector)
    with pytest.raises(DomainError) as info:
        _issue(session, person, **change)
    assert info.value.code == code
    assert session.scalar(select(func.count()).select_from(AuthenCode)) == 0


def test_withdrawn_facility_service_is_not_offered(
    session: Session, protector: DataProtector
) -> None:
    facility = make_facility(session)
    row = session.scalar(
        select(FacilityService).where(
            FacilityService.facility_id == facility.id, FacilityService.service_code == "PG0060001"
        )
    )
    assert row is not None
    row.active = False
    with pytest.raises(DomainError) as info:
        _issue(session, make_person(session, protector))
    assert info.value.code == "SERVICE_NOT_OFFERED"


def test_deceased_person_is_refused(session: Session, protector: DataProtector) -> None:
    make_facility(session)
    with pytest.raises(DomainError) as info:
        _issue(session, make_person(session, protector, deceased=True))
    assert info.value.code == "PERSON_DECEASED"


def test_unknown_person_is_refused(session: Session, protector: DataProtector) -> None:
    from authencode.services.people import get_person

    with pytest.raises(DomainError) as info:
        get_person(session, protector, "1101700207030")
    assert info.value.code == "PERSON_NOT_FOUND"


def test_cancel_and_edit_need_a_reason_and_are_audited(
    session: Session, protector: DataProtector
) -> None:
    facility = make_facility(session)
    staff = make_staff(session, protector, facility)
    person = make_person(session, protector)
    issued = _issue(session, person, channel="cid_photo", recorder_staff_id=staff.id).code
    with pytest.raises(DomainError) as info:
        edit_code(session, issued, staff_id=staff.id, reason=" ", hn="123")
    assert info.value.code == "REASON_REQUIRED"
    with pytest.raises(DomainError) as info:
        edit_code(session, issued, staff_id=staff.id, reason="ไม่มีอะไร")
    assert info.value.code == "NOTHING_TO_CHANGE"

    edit_code(
        session,
        issued,
        staff_id=staff.id,
        reason="แก้บริการ",
        service_code="PG0090001",
        phones="0898765432",
        hn="HN001",
    )
    assert (issued.service_code, issued.phones, issued.hn) == ("PG0090001", "0898765432", "HN001")
    assert issued.edited_by_staff_id == staff.id and issued.edited_at is not None

    # A second code for the original service; editing it onto PG0090001 would make two.
    second = _issue(session, person).code
    with pytest.raises(DomainError) as info:
        edit_code(session, second, staff_id=staff.id, reason="ซ้ำ", service_code="PG0090001")
    assert info.value.code == "CODE_EDIT_CONFLICT"
    assert second.service_code == "PG0060001"

    with pytest.raises(DomainError) as info:
        cancel_code(session, issued, staff_id=staff.id, reason="")
    assert info.value.code == "REASON_REQUIRED"
    cancel_code(session, issued, staff_id=staff.id, reason="ผู้ป่วยไม่มารับบริการ")
    with pytest.raises(DomainError) as info:
        cancel_code(session, issued, staff_id=staff.id, reason="อีกครั้ง")
    assert info.value.code == "CODE_ALREADY_CANCELLED"
    session.commit()

    actions = session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert actions == ["code.issue", "code.edit", "code.cancel"]
    edit_entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "code.edit")).one()
    assert edit_entry.actor == f"staff:{staff.id}"
    assert edit_entry.details["phones"] == ["089-xxx-5432"]  # no phone in clear in the log
    assert audit.verify(session).ok

    # After cancelling, the same day may get a new code for that service.
    fresh = _issue(session, person, service_code="PG0090001")
    assert fresh.created and fresh.code.code != issued.code
    assert get_code(session, issued.code.lower()).status == "cancelled"


def test_a_thousand_issuances_give_distinct_well_formed_codes(
    session: Session, protector: DataProtector
) -> None:
    make_facility(session)
    people = [make_person(session, protector) for _ in range(1000)]
    codes = [_issue(session, p).code.code for p in people]
    session.commit()
    assert len(set(codes)) == 1000
    assert all(CODE.fullmatch(c) for c in codes)
    assert session.scalar(select(func.count()).select_from(AuthenCode)) == 1000


def test_fifty_concurrent_requests_make_exactly_one_code(
    pg_url: str, protector: DataProtector
) -> None:
    database = Database(pg_url, pool_size=55, max_overflow=0)
    with database.transaction() as session:
        make_facility(session)
        person_id = make_person(session, protector).id
    barrier = threading.Barrier(50)
    results: list[str] = []
    errors: list[BaseException] = []

    def request() -> None:
        try:
            with database.sessionmaker() as session:
                from authencode.models import Person

                person = session.get(Person, person_id)
                barrier.wait()
                issued = _issue(session, person)
                session.commit()
                results.append(issued.code.code)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=request) for _ in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with database.sessionmaker() as session:
        rows = session.scalars(select(AuthenCode.code)).all()
    database.dispose()
    assert errors == []
    assert len(rows) == 1
    assert results == [rows[0]] * 50
