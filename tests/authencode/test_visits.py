"""Confirming a visit at the counter (authencode.services.visits): a photo judged by its
content, a certifier other than the patient, a card read of this facility, nothing stored on
a refusal and no second evidence for the same day's code."""

from __future__ import annotations

import io

import pytest
from PIL import Image
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from authencode.crypto import DataProtector
from authencode.errors import DomainError
from authencode.models import AuthenCode, VisitEvidence
from authencode.services import agent, api_tokens, facilities, visits
from authencode.services.issuance import Issued
from authencode.services.visits import VisitRequest
from tests.support.factories import make_facility, make_person, make_staff, new_cid


def _image(fmt: str, size: tuple[int, int] = (40, 30), mode: str = "RGB") -> bytes:
    out = io.BytesIO()
    Image.new(mode, size).save(out, fmt)
    return out.getvalue()


def _refusal(call: object) -> str:
    with pytest.raises(DomainError) as caught:
        call()  # type: ignore[operator]
    return caught.value.code


def test_a_photo_is_judged_by_its_content() -> None:
    assert visits.check_photo(_image("JPEG")) == "image/jpeg"
    assert visits.check_photo(_image("PNG")) == "image/png"
    png = _image("PNG")
    for data, code in (
        (None, "PHOTO_REQUIRED"),
        (b"", "PHOTO_REQUIRED"),
        (_image("GIF", mode="P"), "PHOTO_TYPE"),
        (b"<svg onload=alert(1)>", "PHOTO_TYPE"),
        (png[: len(png) // 2], "PHOTO_TYPE"),  # cut short
        (_image("PNG", (8000, 6000), "1"), "PHOTO_TYPE"),  # small file, 48 megapixels
        (b"\xff\xd8\xff" + b"0" * visits.MAX_PHOTO_BYTES, "PHOTO_TOO_LARGE"),
    ):
        assert _refusal(lambda d=data: visits.check_photo(d)) == code


@pytest.fixture
def counter(session: Session, protector: DataProtector) -> tuple[int, str]:
    """A staff member's id and a registry person's CID."""
    facility = make_facility(session)
    make_facility(session, "10676", "อื่น")
    cid = new_cid()
    make_person(session, protector, cid)
    return make_staff(session, protector, facility).id, cid


def _confirm(session: Session, protector: DataProtector, staff_id: int, **fields: object):
    request = VisitRequest(
        **{"method": "certified_pid", "phones": "0812345678", "service_code": "PG0060001",
           "relation": "parent", **fields}  # type: ignore[arg-type]
    )  # fmt: skip
    return visits.confirm_visit(session, protector, staff_id, "10675", request)


def test_a_certified_visit_needs_someone_else_with_a_relation_and_stores_nothing_if_not(
    session: Session, protector: DataProtector, counter: tuple[int, str]
) -> None:
    staff_id, cid = counter
    certifier = new_cid()
    for fields, code in (
        ({"method": "fax"}, "VISIT_METHOD_INVALID"),
        ({"certifier_cid": "1234"}, "CERTIFIER_CID_INVALID"),
        ({"certifier_cid": cid}, "CERTIFIER_IS_PATIENT"),
        ({"certifier_cid": certifier, "relation": "neighbour"}, "RELATION_REQUIRED"),
        ({"certifier_cid": certifier, "photo": b"not an image"}, "PHOTO_TYPE"),
        ({"certifier_cid": certifier, "phones": "02123"}, "PHONE_INVALID"),
        ({"certifier_cid": certifier, "cid": new_cid()}, "PERSON_NOT_FOUND"),
        ({"method": "cid_photo"}, "PHOTO_REQUIRED"),
    ):
        call = lambda f=fields: _confirm(session, protector, staff_id, **{"cid": cid, **f})  # noqa: E731
        assert _refusal(call) == code, fields
    assert session.scalar(select(func.count()).select_from(AuthenCode)) == 0
    issued = _confirm(session, protector, staff_id, cid=cid, certifier_cid=certifier)
    evidence = visits.evidence_of(session, issued.code)
    assert evidence is not None and evidence.relation == "parent"
    assert certifier.encode() not in (evidence.certifier_cid_enc or b"")
    assert visits.certifier_cid(protector, evidence) == certifier
    assert visits.photo_bytes(protector, evidence) is None
    assert issued.code.channel == "certified_pid" and issued.code.recorder_staff_id == staff_id


def test_the_same_days_code_comes_back_without_new_evidence(
    session: Session, protector: DataProtector, counter: tuple[int, str]
) -> None:
    staff_id, cid = counter
    photo = _image("JPEG")
    first = _confirm(session, protector, staff_id, cid=cid, method="cid_photo", photo=photo)
    evidence = visits.evidence_of(session, first.code)
    assert evidence is not None and visits.photo_bytes(protector, evidence) == photo
    again = _confirm(session, protector, staff_id, cid=cid, certifier_cid=new_cid())
    assert not again.created and again.code.id == first.code.id
    assert session.scalar(select(func.count()).select_from(VisitEvidence)) == 1


def test_a_smart_card_visit_takes_this_facilitys_read_of_this_person_once(
    session: Session, protector: DataProtector, counter: tuple[int, str]
) -> None:
    staff_id, cid = counter
    here, there = (
        api_tokens.create_token(session, facilities.by_hcode(session, hcode), "r", "admin").token
        for hcode in ("10675", "10676")
    )
    elsewhere = agent.record_card_read(session, protector, there, cid).read
    read = agent.record_card_read(session, protector, here, cid).read
    someone = new_cid()
    make_person(session, protector, someone)

    def smartcard(correlation: str, patient: str = cid) -> object:
        return _confirm(
            session, protector, staff_id, cid=patient, method="smartcard",
            correlation_id=correlation,
        )  # fmt: skip

    assert _refusal(lambda: smartcard(elsewhere.correlation_id)) == "CORRELATION_UNKNOWN"
    assert _refusal(lambda: smartcard(read.correlation_id, someone)) == "CORRELATION_UNKNOWN"
    issued = smartcard(read.correlation_id)
    assert isinstance(issued, Issued) and issued.code.channel == "smartcard"
    assert read.used_at is not None
    assert _refusal(lambda: smartcard(read.correlation_id)) == "CORRELATION_USED"
