"""Staff accounts through the clinic web app: registration, approval, log-in, passwords."""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest
from sqlalchemy import func, select, update
from werkzeug.datastructures import FileStorage
from werkzeug.http import parse_options_header
from werkzeug.test import encode_multipart

from authencode.cid import mask_cid
from authencode.db import utcnow
from authencode.models import AuditEntry, OutboxMessage, PasswordReset, StaffSession, StaffUser
from authencode.passwords import verify_password
from authencode.services import mail, staff_accounts
from tests.support.clinic import PASSWORD, ClinicClient, png_bytes
from tests.support.factories import new_cid


def _registration(cid: str, username: str = "somsri", **changes: object) -> dict[str, object]:
    form: dict[str, object] = {
        "cid": cid,
        "first_name": "สมศรี",
        "last_name": "ตั้งใจ",
        "employee_code": "E-77",
        "affiliation": "สำนักงานปลัดกระทรวงสาธารณสุข",
        "facility": "10675",
        "position": "พยาบาลวิชาชีพ",
        "house_no": "35/40",
        "moo": "3",
        "road": "สุขุมวิท",
        "subdistrict": "บางนาเหนือ",
        "district": "บางนา",
        "province": "กรุงเทพมหานคร",
        "postcode": "10260",
        "email": "somsri@clinic.example",
        "username": username,
        "evidence_kind": "id_card",
    }
    form.update(changes)
    return form


def _register(
    cc: ClinicClient,
    form: dict[str, object],
    document: bytes | None = None,
    filename: str = "card.png",
):
    cc.get("/clinic/register")
    data = dict(form, csrf_token=cc.csrf)
    if document is not None:
        data["document"] = FileStorage(io.BytesIO(document), filename=filename)
    # Encoded in memory: the test client would spool a large body to a file nobody closes
    # when the app refuses it unread.
    boundary, body = encode_multipart(data)
    return cc.client.post(
        "/clinic/register", data=body, content_type=f"multipart/form-data; boundary={boundary}"
    )


def _audit_actions(db) -> list[str]:
    with db.transaction() as session:
        return list(session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


def test_registration_is_stored_pending_with_its_encrypted_document(
    clinic_client, clinic_world, protector
) -> None:
    cid = new_cid("1")
    document = png_bytes()
    response = _register(clinic_client, _registration(cid), document)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert "ส่งคำขอสมัครใช้งานแล้ว" in response.get_data(as_text=True)
    with clinic_world.db.transaction() as session:
        staff = session.scalar(select(StaffUser).where(StaffUser.username == "somsri"))
        assert staff is not None
        assert (staff.status, staff.role, staff.password_hash) == ("pending", "staff", None)
        assert staff.cid_hash == protector.lookup_hash(cid)
        assert protector.decrypt(staff.cid_enc) == cid
        assert staff.facility_id == clinic_world.ids["a_facility"]
        assert staff.address.startswith("เลขที่ 35/40 หมู่ 3 ถนน สุขุมวิท ตำบล บางนาเหนือ")
        stored = staff_accounts.staff_document(session, staff)
        assert stored is not None and stored.content_type == "image/png"
        assert document not in stored.data_enc  # encrypted at rest
        assert staff_accounts.document_bytes(protector, stored) == document


def test_duplicate_cid_is_refused_with_adm007_and_the_form_kept(
    clinic_client, clinic_world
) -> None:
    cid = new_cid("1")
    assert _register(clinic_client, _registration(cid), png_bytes()).status_code == 200
    again = _register(
        clinic_client, _registration(cid, username="another", first_name="ซ้ำ"), png_bytes()
    )
    page = again.get_data(as_text=True)
    assert again.status_code == 409
    assert "ADM007 – ไม่สามารถสมัครเข้าใช้งานระบบได้" in page
    assert "ได้ถูกนำไปสร้างผู้ใช้แล้ว" in page and "has already been used" in page
    assert f"เลขที่บัตรประชาชนหมายเลข {mask_cid(cid)} ได้ถูกนำไปสร้างผู้ใช้แล้ว" in page
    assert 'value="ซ้ำ"' in page  # what was typed is not lost
    with clinic_world.db.transaction() as session:
        assert (
            session.scalar(
                select(func.count()).select_from(StaffUser).where(StaffUser.username == "another")
            )
            == 0
        )


@pytest.mark.parametrize(
    ("document", "filename", "status", "code"),
    [
        (None, "", 400, "DOCUMENT_REQUIRED"),
        (b"hello, not a document", "scan.pdf", 400, "DOCUMENT_TYPE"),
        (b"GIF89a" + b"\0" * 100, "scan.png", 400, "DOCUMENT_TYPE"),
        (b"%PDF-1.4\n" + b"0" * 1_600_000, "big.pdf", 413, "DOCUMENT_TOO_LARGE"),
        (b"%PDF-1.4\n" + b"0" * 2_200_000, "huge.pdf", 413, "BODY_TOO_LARGE"),
    ],
)
def test_documents_are_checked_by_content_and_size(
    clinic_client, clinic_world, document, filename, status, code
) -> None:
    response = _register(clinic_client, _registration(new_cid("1")), document, filename)
    assert response.status_code == status
    assert f'data-code="{code}"' in response.get_data(as_text=True)
    with clinic_world.db.transaction() as session:
        assert session.scalar(select(StaffUser.id).where(StaffUser.username == "somsri")) is None


def test_pdf_and_jpeg_documents_are_accepted(clinic_client, clinic_world) -> None:
    assert (
        _register(
            clinic_client, _registration(new_cid("1")), b"%PDF-1.7\n%\xe2\xe3\n", "letter.pdf"
        ).status_code
        == 200
    )
    assert (
        _register(
            clinic_client,
            _registration(new_cid("1"), username="jpeg"),
            b"\xff\xd8\xff\xe0" + b"\0" * 64,
            "card.jpg",
        ).status_code
        == 200
    )


def test_bad_fields_get_a_thai_and_english_message(clinic_client, clinic_world) -> None:
    bad_cid = _register(clinic_client, _registration("1234567890123"), png_bytes())
    assert bad_cid.status_code == 400
    assert "หลักตรวจสอบไม่ตรง" in bad_cid.get_data(as_text=True)
    no_email = _register(clinic_client, _registration(new_cid("1"), email="nope"), png_bytes())
    assert "กรุณากรอกอีเมลให้ถูกต้อง" in no_email.get_data(as_text=True)
    assert "Please enter a valid email address." in no_email.get_data(as_text=True)
    taken = _register(clinic_client, _registration(new_cid("1"), username="a-staff"), png_bytes())
    assert taken.status_code == 409 and 'data-code="USERNAME_TAKEN"' in taken.get_data(as_text=True)


def _pending_id(db, username: str = "somsri") -> int:
    with db.transaction() as session:
        return session.scalar(select(StaffUser.id).where(StaffUser.username == username))


def test_approval_emails_an_initial_password_that_must_be_changed(
    app, clinic_client, clinic_world, protector, smtp_server
) -> None:
    _register(clinic_client, _registration(new_cid("1")), png_bytes())
    new_id = _pending_id(clinic_world.db)
    admin = ClinicClient(app.test_client())
    admin.login("a-admin")
    queue = admin.get("/clinic/staff").get_data(as_text=True)
    assert 'data-username="somsri"' in queue and 'data-username="b-pending"' not in queue
    assert admin.post(f"/clinic/staff/{new_id}/approve", {"role": "staff"}).status_code == 302
    with clinic_world.db.transaction() as session:
        row = session.scalar(select(OutboxMessage).where(OutboxMessage.kind == "email"))
        assert row is not None and row.recipient == "somsri@clinic.example"
        assert "body" not in row.payload  # the password is only stored encrypted

    sent = mail.deliver_due_email(clinic_world.db, smtp_server.url, protector)
    assert sent == 1
    message = smtp_server.sink.wait_for("somsri@clinic.example")
    body = message.get_content()
    assert "รหัสผู้ใช้ : somsri" in body
    password = re.search(r"รหัสผ่าน : (\S+)", body).group(1)  # type: ignore[union-attr]

    user = ClinicClient(app.test_client())
    first = user.login("somsri", password)
    assert first.status_code == 302 and first.headers["Location"].endswith("/clinic/password")
    assert user.get("/clinic/").headers["Location"].endswith("/clinic/password")
    forced = user.get("/clinic/password").get_data(as_text=True)
    assert "กรุณาเปลี่ยนรหัสผ่าน สำหรับการเข้าระบบครั้งแรก" in forced
    same = user.post(
        "/clinic/password",
        {"current_password": password, "new_password": password, "confirm_password": password},
    )
    assert same.status_code == 400
    changed = user.post(
        "/clinic/password",
        {
            "current_password": password,
            "new_password": "my-own-secret-9",
            "confirm_password": "my-own-secret-9",
        },
    )
    assert changed.status_code == 302
    assert user.get("/clinic/").status_code == 200
    with clinic_world.db.transaction() as session:
        account = session.get(StaffUser, new_id)
        assert account.must_change_password is False
        assert verify_password(account.password_hash, "my-own-secret-9")
        assert account.password_hash.startswith("$argon2id$")
        assert account.approved_by == f"staff:{clinic_world.ids['a-admin']}"
        sent_row = session.scalar(select(OutboxMessage).where(OutboxMessage.kind == "email"))
        assert sent_row.status == "sent" and "body_enc" not in sent_row.payload
    actions = _audit_actions(clinic_world.db)
    assert {"staff.register", "staff.approve", "staff.login", "staff.password_change"} <= set(
        actions
    )


def test_reject_removes_the_registration_so_the_person_may_register_again(
    app, clinic_client, clinic_world
) -> None:
    cid = new_cid("1")
    _register(clinic_client, _registration(cid), png_bytes())
    admin = ClinicClient(app.test_client())
    admin.login("a-admin")
    assert admin.post(f"/clinic/staff/{_pending_id(clinic_world.db)}/reject").status_code == 302
    assert _register(clinic_client, _registration(cid), png_bytes()).status_code == 200
    assert "staff.reject" in _audit_actions(clinic_world.db)


def test_documents_are_only_for_admins_of_the_same_facility(
    app, clinic_client, clinic_world
) -> None:
    document = png_bytes(64)
    _register(clinic_client, _registration(new_cid("1")), document)
    new_id = _pending_id(clinic_world.db)
    path = f"/clinic/staff/{new_id}/document"
    for username, allowed in (
        ("a-admin", True),
        ("root", True),
        ("a-staff", False),
        ("b-admin", False),
    ):
        viewer = ClinicClient(app.test_client())
        viewer.login(username)
        response = viewer.get(path)
        if allowed:
            assert response.status_code == 200 and response.data == document
            assert response.headers["Content-Disposition"].startswith("attachment")
        else:
            assert response.status_code in (403, 404), username
    anonymous = app.test_client().get(path)
    assert anonymous.status_code == 302 and "/clinic/login" in anonymous.headers["Location"]


def test_roles_change_within_what_the_admin_may_grant_and_are_audited(app, clinic_world) -> None:
    admin = ClinicClient(app.test_client())
    admin.login("a-admin")
    target = clinic_world.ids["a-staff"]
    assert admin.post(f"/clinic/staff/{target}/role", {"role": "system_admin"}).status_code == 403
    assert admin.post(f"/clinic/staff/{target}/role", {"role": "facility_admin"}).status_code == 302
    own = admin.post(f"/clinic/staff/{clinic_world.ids['a-admin']}/role", {"role": "staff"})
    assert own.status_code == 404  # nobody re-roles themselves
    with clinic_world.db.transaction() as session:
        assert session.get(StaffUser, target).role == "facility_admin"
        entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "staff.role"))
        assert entry.details == {"from": "staff", "to": "facility_admin"}
        assert entry.actor == f"staff:{clinic_world.ids['a-admin']}"


def test_disabled_accounts_cannot_log_in_and_lose_their_session(app, clinic_world) -> None:
    user = ClinicClient(app.test_client())
    user.login("a-staff")
    assert user.get("/clinic/").status_code == 200
    admin = ClinicClient(app.test_client())
    admin.login("a-admin")
    admin.post(f"/clinic/staff/{clinic_world.ids['a-staff']}/active", {"active": "0"})
    assert user.get("/clinic/").status_code == 302
    again = ClinicClient(app.test_client()).login("a-staff")
    assert again.status_code == 403 and "ACCOUNT_DISABLED" in again.get_data(as_text=True)


def test_unknown_users_fail_like_wrong_passwords(app, clinic_world) -> None:
    cc = ClinicClient(app.test_client())
    unknown = cc.login("nobody", "whatever-password")
    wrong = cc.login("a-staff", "whatever-password")
    assert unknown.status_code == wrong.status_code == 401
    assert 'data-code="LOGIN_FAILED"' in unknown.get_data(as_text=True)


@pytest.mark.parametrize("token", [None, "", "forged-token"])
def test_posts_without_the_right_csrf_token_are_refused(app, clinic_world, token) -> None:
    cc = ClinicClient(app.test_client())
    data = {} if token is None else {"csrf_token": token}
    login = cc.post(
        "/clinic/login", {"username": "a-admin", "password": PASSWORD, **data}, csrf=False
    )
    assert login.status_code == 400 and "CSRF_INVALID" in login.get_data(as_text=True)
    cc.login("a-admin")
    rotate = cc.post("/clinic/facilities/10675/keys/rotate", data, csrf=False)
    assert rotate.status_code == 400
    assert "แบบฟอร์มหมดอายุ" in rotate.get_data(as_text=True)
    assert "qr_key.revoke" not in _audit_actions(clinic_world.db)


def test_a_csrf_token_of_another_session_is_refused(app, clinic_world) -> None:
    """An attacker's own valid token (from their session) does not pass in a victim's."""
    attacker = ClinicClient(app.test_client())
    attacker.get("/clinic/login")
    victim = ClinicClient(app.test_client())
    victim.login("a-admin")
    assert attacker.csrf and attacker.csrf != victim.csrf
    rotate = victim.post(
        "/clinic/facilities/10675/keys/rotate", {"csrf_token": attacker.csrf}, csrf=False
    )
    assert rotate.status_code == 400 and "CSRF_INVALID" in rotate.get_data(as_text=True)
    assert "qr_key.revoke" not in _audit_actions(clinic_world.db)
    # The victim's own token still works: the refusal changed nothing.
    assert victim.post("/clinic/facilities/10675/keys/rotate").status_code in (200, 302, 303)


def test_login_gives_a_fresh_session_and_secure_cookie_flags(app, clinic_world) -> None:
    cc = ClinicClient(app.test_client())
    cc.get("/clinic/login")
    before = cc.csrf
    response = cc.post("/clinic/login", {"username": "a-admin", "password": PASSWORD})
    cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("session="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    cc.get("/clinic/")
    assert cc.csrf and cc.csrf != before


def test_cookies_are_secure_behind_https(settings) -> None:
    from authencode.app import create_app

    app = create_app(settings.with_overrides(public_base_url="https://authen.example"))
    assert app.config["SESSION_COOKIE_SECURE"] is True
    response = app.test_client().get("/clinic/login")
    assert "Secure" in response.headers["Set-Cookie"]
    app.extensions["authencode"].db.dispose()


def test_idle_sessions_expire_and_logout_ends_a_copied_cookie(app, clinic_world) -> None:
    cc = ClinicClient(app.test_client())
    cc.login("a-staff")
    assert cc.get("/clinic/").status_code == 200
    with clinic_world.db.transaction() as session:
        session.execute(
            update(StaffSession).values(last_seen_at=utcnow() - dt.timedelta(minutes=31))
        )
    expired = cc.get("/clinic/")
    assert expired.status_code == 302 and "expired=1" in expired.headers["Location"]
    assert "หมดเวลาการใช้งาน" in cc.get(expired.headers["Location"]).get_data(as_text=True)

    cc.login("a-staff")
    copied = cc.client.get_cookie("session").value
    assert cc.post("/clinic/logout").status_code == 302
    cc.client.set_cookie("session", copied)
    assert cc.get("/clinic/").status_code == 302


def _reset_link(db, protector, smtp_server, address: str) -> str:
    assert mail.deliver_due_email(db, smtp_server.url, protector) >= 1
    body = smtp_server.sink.wait_for(address).get_content()
    return re.search(r"http://\S+/clinic/reset/\S+", body).group(0)  # type: ignore[union-attr]


def test_forgot_password_never_tells_whether_an_email_exists(app, clinic_world) -> None:
    cc = ClinicClient(app.test_client())
    cc.get("/clinic/forgot")
    known = cc.post("/clinic/forgot", {"email": "a-staff@clinic.example"})
    unknown = cc.post("/clinic/forgot", {"email": "nobody@clinic.example"})
    assert known.status_code == unknown.status_code == 200
    strip = re.compile(r'name="csrf_token" value="[^"]+"')
    assert strip.sub("", known.get_data(as_text=True)) == strip.sub(
        "", unknown.get_data(as_text=True)
    )
    with clinic_world.db.transaction() as session:
        recipients = list(session.scalars(select(OutboxMessage.recipient)))
    assert recipients == ["a-staff@clinic.example"]


def test_reset_link_works_once_and_expires(app, clinic_world, protector, smtp_server) -> None:
    cc = ClinicClient(app.test_client())
    cc.get("/clinic/forgot")
    cc.post("/clinic/forgot", {"email": "a-staff@clinic.example"})
    link = _reset_link(clinic_world.db, protector, smtp_server, "a-staff@clinic.example")
    path = link.split("127.0.0.1:5000", 1)[1]
    assert cc.get(path).status_code == 200
    new = {"new_password": "brand-new-pass-1", "confirm_password": "brand-new-pass-1"}
    assert cc.post(path, new).status_code == 200
    assert ClinicClient(app.test_client()).login("a-staff", "brand-new-pass-1").status_code == 302
    reused = cc.post(
        path, {"new_password": "another-pass-22", "confirm_password": "another-pass-22"}
    )
    assert reused.status_code == 410 and "RESET_INVALID" in reused.get_data(as_text=True)
    assert cc.get(path).status_code == 410

    cc.post("/clinic/forgot", {"email": "a-admin@clinic.example"})
    with clinic_world.db.transaction() as session:
        session.execute(
            update(PasswordReset)
            .where(PasswordReset.used_at.is_(None))
            .values(expires_at=utcnow() - dt.timedelta(seconds=1))
        )
    stale = _reset_link(clinic_world.db, protector, smtp_server, "a-admin@clinic.example")
    stale_path = stale.split("127.0.0.1:5000", 1)[1]
    assert cc.get(stale_path).status_code == 410
    assert cc.post(stale_path, new).status_code == 410
    assert ClinicClient(app.test_client()).login("a-admin", PASSWORD).status_code == 302
    assert "staff.password_reset" in _audit_actions(clinic_world.db)


def test_a_thai_document_name_is_kept_and_downloads_under_a_latin1_header(
    app, clinic_client, clinic_world
) -> None:
    """gunicorn writes headers as latin-1: the Thai name travels in filename* (RFC 6266)."""
    _register(clinic_client, _registration(new_cid("1")), png_bytes(64), "หลักฐาน สำเนา.png")
    viewer = ClinicClient(app.test_client())
    viewer.login("a-admin")
    response = viewer.get(f"/clinic/staff/{_pending_id(clinic_world.db)}/document")
    assert response.status_code == 200
    header = response.headers["Content-Disposition"]
    header.encode("latin-1")  # raises on a raw Thai name
    _value, options = parse_options_header(header)
    assert options["filename"] == "หลักฐาน_สำเนา.png"  # werkzeug decodes filename*
