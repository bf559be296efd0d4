"""Confirming a visit at the counter: by CID and photo, by a certified CID; the slip."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import func, select

from authencode.cid import mask_cid
from authencode.models import AuditEntry, AuthenCode, VisitEvidence
from authencode.services import visits
from tests.support.clinic import ClinicClient, World, decode_qr, png_bytes, svg_to_image
from tests.support.factories import make_person, new_cid

VISIT = "/clinic/facilities/10675/visit"


@dataclass
class Patient:
    cid: str
    guardian_cid: str


@pytest.fixture
def patient(clinic_world: World, protector) -> Patient:
    with clinic_world.db.transaction() as session:
        person = make_person(session, protector, first_name_th="สมหญิง", last_name_th="ใจดี")
        cid = protector.decrypt(person.cid_enc)
    return Patient(cid=cid, guardian_cid=new_cid("3"))


@pytest.fixture
def staff_client(app, clinic_world) -> ClinicClient:
    cc = ClinicClient(app.test_client())
    cc.login("a-staff")
    cc.get(VISIT)
    return cc


def jpeg_bytes() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), "navy").save(out, format="JPEG")
    return out.getvalue()


def _photo_form(cid: str, photo: bytes | None = None, **extra: object) -> dict[str, object]:
    form: dict[str, object] = {
        "method": "cid_photo",
        "cid": cid,
        "phones": "081-234-5678, 0998887777",
        "service": "PG0060001",
    }
    if photo is not None:
        form["photo"] = (io.BytesIO(photo), "card.jpg")
    form.update(extra)
    return form


def _stored(world: World) -> tuple[int, int]:
    with world.db.transaction() as session:
        return (
            session.scalar(select(func.count()).select_from(AuthenCode)) or 0,
            session.scalar(select(func.count()).select_from(VisitEvidence)) or 0,
        )


def _looked_up(client: ClinicClient, cid: str) -> Any:
    """The counter's lookup: the CID posted, the form shown again under a reference."""
    posted = client.post(f"{VISIT}/lookup", {"cid": cid, "method": "cid_photo"})
    assert posted.status_code == 303 and cid not in posted.headers["Location"]
    return client.get(posted.headers["Location"])


def test_lookup_shows_the_registry_person_masked(staff_client, patient) -> None:
    shown = _looked_up(staff_client, patient.cid)
    page = shown.get_data(as_text=True)
    details = re.search(r'<dl class="details" id="person">.*?</dl>', page, re.S).group(0)  # type: ignore[union-attr]
    assert mask_cid(patient.cid) in details and "สมหญิง" in details
    assert patient.cid not in details  # only the staff member's own typing shows it in full
    assert 'value="cid_photo" checked' in page  # the method chosen stays chosen
    unknown = _looked_up(staff_client, new_cid("8"))
    assert unknown.status_code == 404
    assert "ไม่พบ" in unknown.get_data(as_text=True)


def test_confirm_by_cid_and_photo_shows_the_code_and_a_printable_slip(
    staff_client, patient, clinic_world, app, protector
) -> None:
    saved = staff_client.post(
        VISIT, _photo_form(patient.cid, jpeg_bytes()), content_type="multipart/form-data"
    )
    assert saved.status_code == 302
    slip = staff_client.get(saved.headers["Location"])
    page = slip.get_data(as_text=True)
    code = re.search(r'id="code">(PP\d{10})<', page).group(1)  # type: ignore[union-attr]
    assert "PG0060001" in page and "/25" in page  # service and a Buddhist-era year
    svg = re.search(r"<svg.*?</svg>", page, re.S).group(0)  # type: ignore[union-attr]
    assert decode_qr(svg_to_image(svg)) == code
    with clinic_world.db.transaction() as session:
        row = session.scalar(select(AuthenCode).where(AuthenCode.code == code))
        assert row is not None
        assert (row.channel, row.verify_method) == ("cid_photo", "photo")
        assert row.phones == "0812345678,0998887777"
        evidence = visits.evidence_of(session, row)
        assert evidence is not None and evidence.photo_type == "image/jpeg"
        assert jpeg_bytes()[:3] not in evidence.photo_enc  # type: ignore[operator]
        assert visits.photo_bytes(protector, evidence) == jpeg_bytes()
        code_id = row.id
    photo = staff_client.get(f"/clinic/facilities/10675/records/{code_id}/photo")
    assert photo.status_code == 200 and photo.mimetype == "image/jpeg"
    assert photo.data == jpeg_bytes() and photo.headers["Cache-Control"] == "no-store"
    # access-controlled: not served without a session
    anonymous = app.test_client().get(f"/clinic/facilities/10675/records/{code_id}/photo")
    assert anonymous.status_code == 302


def test_confirm_by_certified_pid_records_the_certifier(
    staff_client, patient, clinic_world, protector
) -> None:
    saved = staff_client.post(
        VISIT,
        {
            "method": "certified_pid",
            "cid": patient.cid,
            "phones": "0812345678",
            "service": "PG0090001",
            "certifier_cid": patient.guardian_cid,
            "relation": "parent",
        },
    )
    assert saved.status_code == 302
    with clinic_world.db.transaction() as session:
        row = session.scalars(select(AuthenCode)).one()
        assert (row.channel, row.verify_method, row.service_code) == (
            "certified_pid",
            "certified",
            "PG0090001",
        )
        evidence = visits.evidence_of(session, row)
        assert evidence is not None and evidence.photo_enc is None
        assert evidence.relation == "parent"
        assert visits.certifier_cid(protector, evidence) == patient.guardian_cid
        assert (
            session.scalar(select(AuditEntry.actor).where(AuditEntry.action == "code.issue"))
            == f"staff:{clinic_world.ids['a-staff']}"
        )
        code_id = row.id
    record = staff_client.get(f"/clinic/facilities/10675/records/{code_id}").get_data(as_text=True)
    assert mask_cid(patient.guardian_cid) in record and "บิดา/มารดา" in record
    assert patient.guardian_cid not in record


def test_same_day_repeat_shows_the_existing_code(staff_client, patient, clinic_world) -> None:
    first = staff_client.post(VISIT, _photo_form(patient.cid, png_bytes()))
    again = staff_client.post(VISIT, _photo_form(patient.cid, jpeg_bytes()))
    assert first.status_code == again.status_code == 302
    assert again.headers["Location"].split("?")[0] == first.headers["Location"]
    page = staff_client.get(again.headers["Location"]).get_data(as_text=True)
    assert 'id="repeat"' in page and "ได้รับรหัสสำหรับบริการนี้ในวันนี้แล้ว" in page
    assert _stored(clinic_world) == (1, 1)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"cid": "1234567890123"}, "เลขประจำตัวประชาชนไม่ถูกต้อง (หลักตรวจสอบไม่ตรง)"),
        ({"cid": "12345"}, "เลขประจำตัวประชาชนต้องมี 13 หลัก"),
        ({"cid": "NEW"}, "ไม่พบเลขประจำตัวประชาชนนี้ในฐานข้อมูลผู้มีสิทธิ"),
        ({"phones": "12345"}, "หมายเลขโทรศัพท์มือถือไม่ถูกต้อง"),
        ({"phones": "0812345678,12"}, "หมายเลขโทรศัพท์มือถือไม่ถูกต้อง"),
        ({"phones": ""}, "กรุณาระบุหมายเลขโทรศัพท์มือถือ"),
        ({"photo": None}, "กรุณาถ่ายหรือแนบรูปผู้รับบริการถือบัตรประชาชน"),
        ({"photo": b"%PDF-1.4 not a photo"}, "รูปถ่ายต้องเป็นไฟล์ภาพ JPEG หรือ PNG เท่านั้น"),
        ({"photo": b"\xff\xd8\xff\xe0 truncated jpeg"}, "รูปถ่ายต้องเป็นไฟล์ภาพ JPEG หรือ PNG เท่านั้น"),
        # a service facility A does not offer
        ({"service": "PG0130001"}, "หน่วยบริการนี้ไม่ได้เปิดให้บริการประเภทนี้"),
        (
            {"method": "certified_pid", "certifier_cid": ""},
            "เลขประจำตัวประชาชนของผู้รับรองไม่ถูกต้องหรือไม่ได้กรอก",
        ),
        (
            {"method": "certified_pid", "certifier_cid": "SELF", "relation": "parent"},
            "ผู้รับรองต้องไม่ใช่ผู้รับบริการเอง",
        ),
        (
            {"method": "certified_pid", "certifier_cid": "GUARDIAN", "relation": ""},
            "กรุณาเลือกความเกี่ยวข้องของผู้รับรอง",
        ),
    ],
)
def test_bad_input_is_refused_in_thai_and_nothing_is_stored(
    staff_client, patient, clinic_world, change, message
) -> None:
    change = dict(change)
    photo = change.pop("photo", jpeg_bytes())
    for key, value in change.items():
        change[key] = {
            "SELF": patient.cid,
            "GUARDIAN": patient.guardian_cid,
            "NEW": new_cid("8"),
        }.get(value, value)
    form = _photo_form(patient.cid, photo)
    form.update(change)
    response = staff_client.post(VISIT, form, content_type="multipart/form-data")
    assert 400 <= response.status_code < 500
    body = response.get_data(as_text=True)
    assert 'role="alert"' in body and message in body
    assert _stored(clinic_world) == (0, 0)


def test_a_photo_over_the_limit_is_refused_before_it_is_read() -> None:
    # Checked on the service: werkzeug's test client spools bodies this large to a temporary
    # file it never closes, which the warning filter would turn into a failure.
    from authencode.errors import DomainError

    with pytest.raises(DomainError) as info:
        visits.check_photo(b"\xff\xd8\xff" + b"0" * visits.MAX_PHOTO_BYTES)
    assert info.value.code == "PHOTO_TOO_LARGE"
    assert info.value.message_th == "รูปถ่ายมีขนาดใหญ่เกินไป (ไม่เกิน 1.5 MB)"


def test_only_the_facilitys_services_are_offered(staff_client) -> None:
    page = staff_client.get(VISIT).get_data(as_text=True)
    offered = set(re.findall(r'<option value="(PG\d+)"', page))
    assert offered == {"PG0060001", "PG0090001"}


# --- the smart-card way: the reader agent's card read, saved by the page ---------------------


def _card_read(world: World, protector, cid: str, facility: str = "a") -> str:
    """What the reader agent beside the page does: report a card read, get its id."""
    from authencode.models import ApiToken
    from authencode.services import agent

    with world.db.transaction() as session:
        token = session.get_one(ApiToken, world.ids[f"{facility}_token"])
        return agent.record_card_read(
            session, protector, token, cid, "ACS ACR39U"
        ).read.correlation_id


def _card_form(cid: str, correlation_id: str) -> dict[str, object]:
    return {
        "method": "smartcard",
        "cid": cid,
        "correlation_id": correlation_id,
        "phones": "0812345678",
        "service": "PG0060001",
        "hn": "HN-7",
    }


def test_confirm_by_smart_card_uses_the_agents_card_read_once(
    staff_client, patient, clinic_world, protector
) -> None:
    from authencode.models import CardRead

    read_id = _card_read(clinic_world, protector, patient.cid)
    saved = staff_client.post(VISIT, _card_form(patient.cid, read_id))
    assert saved.status_code == 302
    with clinic_world.db.transaction() as session:
        [code] = session.scalars(select(AuthenCode)).all()
        assert (code.channel, code.verify_method, code.hn) == ("smartcard", "smartcard", "HN-7")
        assert code.recorder_staff_id == clinic_world.ids["a-staff"]
        read = session.scalar(select(CardRead).where(CardRead.correlation_id == read_id))
        assert read is not None and read.used_at is not None
    # The same read again: refused, and nothing more is stored.
    again = staff_client.post(VISIT, _card_form(patient.cid, read_id))
    assert again.status_code == 409
    assert "ถูกใช้ยืนยันไปแล้ว" in again.get_data(as_text=True)
    assert _stored(clinic_world)[0] == 1


@pytest.mark.parametrize("case", ["no read", "another person", "another facility", "made up"])
def test_smart_card_save_needs_this_facilitys_read_of_this_person(
    staff_client, patient, clinic_world, protector, case
) -> None:
    with clinic_world.db.transaction() as session:
        other = make_person(session, protector)
        other_cid = protector.decrypt(other.cid_enc)
    read_id = {
        "no read": "",
        "another person": _card_read(clinic_world, protector, other_cid),
        "another facility": _card_read(clinic_world, protector, patient.cid, "b"),
        "made up": "6f1c2b1e-0000-4000-8000-000000000000",
    }[case]
    refused = staff_client.post(VISIT, _card_form(patient.cid, read_id))
    assert refused.status_code == 403
    assert "ไม่พบการอ่านบัตรที่ตรงกับการยืนยันนี้" in refused.get_data(as_text=True)
    assert _stored(clinic_world) == (0, 0)


def test_the_counter_page_may_call_the_configured_reader_agent(app, staff_client) -> None:
    page = staff_client.get(VISIT)
    csp = page.headers["Content-Security-Policy"]
    assert "connect-src 'self' http://127.0.0.1:8189" in csp
    assert "img-src 'self' data: blob:" in csp  # the webcam's photo
    assert "frame-ancestors 'none'" in csp and page.headers["X-Frame-Options"] == "DENY"
    # Only the counter page may call the agent; the other clinic pages keep default-src 'self'.
    assert "connect-src" not in staff_client.get("/clinic/").headers["Content-Security-Policy"]
    assert 'data-agent-url="http://127.0.0.1:8189"' in page.get_data(as_text=True)
