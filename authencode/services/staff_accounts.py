"""Staff accounts: registration with a supporting document, approval, roles and status.

The source system's rules: one account per citizen ID (ADM007), an administrator approves,
and the initial password goes out by email and must be changed at first login.
"""

from __future__ import annotations

import base64
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from authencode.cid import mask_cid, parse_cid
from authencode.crypto import DataProtector
from authencode.db import utcnow
from authencode.errors import DomainError, register
from authencode.models import Facility, StaffDocument, StaffUser
from authencode.passwords import hash_password
from authencode.services import audit, login_throttle, mail
from authencode.services.staff_access import (
    FACILITY_ROLES,
    FORBIDDEN,
    assignable_roles,
    require_staff_admin,
)

ADM007 = register(
    "ADM007",
    "conflict",
    "ADM007 – Cannot register: citizen ID {cid} has already been used to create a user. "
    "If you forgot your password, use “Forgot password” and the system will email you.",
    "ADM007 – ไม่สามารถสมัครเข้าใช้งานระบบได้ เนื่องจากเลขที่บัตรประชาชนหมายเลข {cid} "
    "ได้ถูกนำไปสร้างผู้ใช้แล้ว หากท่านลืมรหัสผ่าน ให้ใช้ฟังก์ชัน “ลืมรหัสผ่าน” "
    "ระบบจะจัดส่งรหัสผู้ใช้และรหัสผ่านให้ทาง Email",
)
USERNAME_TAKEN = register(
    "USERNAME_TAKEN",
    "conflict",
    "This username is taken; please choose another.",
    "ชื่อผู้ใช้นี้มีผู้ใช้แล้ว กรุณาเลือกชื่ออื่น",
)
USERNAME_INVALID = register(
    "USERNAME_INVALID",
    "invalid",
    "A username has 3–32 characters: a–z, 0–9, dot, dash or underscore.",
    "ชื่อผู้ใช้ต้องมี 3–32 ตัวอักษร ประกอบด้วย a–z 0–9 จุด ขีด หรือขีดล่าง",
)
EMAIL_INVALID = register(
    "EMAIL_INVALID", "invalid", "Please enter a valid email address.", "กรุณากรอกอีเมลให้ถูกต้อง"
)
FIELD_REQUIRED = register(
    "FIELD_REQUIRED", "invalid", "Please fill in: {field}.", "กรุณากรอกข้อมูล: {field_th}"
)
DOCUMENT_REQUIRED = register(
    "DOCUMENT_REQUIRED",
    "invalid",
    "Please attach a supporting document (PDF, JPEG or PNG).",
    "กรุณาแนบหลักฐาน (ไฟล์ PDF, JPEG หรือ PNG)",
)
DOCUMENT_TOO_LARGE = register(
    "DOCUMENT_TOO_LARGE",
    "too_large",
    "The document is too large (at most {limit_mb} MB).",
    "ไฟล์หลักฐานมีขนาดใหญ่เกินไป (ไม่เกิน {limit_mb} MB)",
)
DOCUMENT_TYPE = register(
    "DOCUMENT_TYPE",
    "invalid",
    "The document must be a PDF, JPEG or PNG file.",
    "ไฟล์หลักฐานต้องเป็นไฟล์ PDF, JPEG หรือ PNG เท่านั้น",
)
STAFF_NOT_PENDING = register(
    "STAFF_NOT_PENDING",
    "conflict",
    "This registration has already been handled.",
    "คำขอนี้ได้รับการพิจารณาไปแล้ว",
)
ROLE_NEEDS_FACILITY = register(
    "ROLE_NEEDS_FACILITY", "invalid", "This role needs a facility.", "บทบาทนี้ต้องสังกัดหน่วยบริการ"
)

MAX_DOCUMENT_BYTES = 1_500_000  # below the app's 2 MB body limit, so the form can say why
_DOCUMENT_TYPES = (
    (b"%PDF-", "application/pdf", ".pdf"),
    (b"\xff\xd8\xff", "image/jpeg", ".jpg"),
    (b"\x89PNG\r\n\x1a\n", "image/png", ".png"),
)
DOCUMENT_CONTEXT = "staff-document"
EVIDENCE_KINDS = ("id_card", "official_card", "other")
_USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{2,31}$")
_EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")
# Initial passwords skip look-alike characters (l/1, O/0) people retype from an email.
_PASSWORD_ALPHABET = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # noqa: S105

# Thai vowel and tone marks are not \w (they are combining marks): keep the whole Thai block.
_UNSAFE_NAME = re.compile(r"[^\w\u0E00-\u0E7F.-]+")


@dataclass(frozen=True)
class Address:
    house_no: str = ""
    moo: str = ""
    building: str = ""
    soi: str = ""
    road: str = ""
    subdistrict: str = ""
    district: str = ""
    province: str = ""
    postcode: str = ""

    def text(self) -> str:
        """One line as Thai addresses are written."""
        parts = [
            ("เลขที่", self.house_no),
            ("หมู่", self.moo),
            ("อาคาร", self.building),
            ("ซอย", self.soi),
            ("ถนน", self.road),
            ("ตำบล", self.subdistrict),
            ("อำเภอ", self.district),
            ("จังหวัด", self.province),
            ("", self.postcode),
        ]
        return " ".join(f"{label} {value}".strip() for label, value in parts if value)


@dataclass(frozen=True)
class Registration:
    cid: str
    username: str
    first_name: str
    last_name: str
    email: str
    facility_hcode: str
    affiliation: str
    address: Address
    employee_code: str = ""
    position: str = ""
    evidence_kind: str = "id_card"
    evidence_note: str = ""


@dataclass(frozen=True)
class Upload:
    filename: str
    data: bytes


# field -> (English, Thai) for FIELD_REQUIRED
_REQUIRED = {
    "first_name": ("first name", "ชื่อ"),
    "last_name": ("last name", "นามสกุล"),
    "affiliation": ("affiliation", "สังกัด"),
    "house_no": ("house number", "เลขที่"),
    "subdistrict": ("sub-district", "แขวง/ตำบล"),
    "district": ("district", "เขต/อำเภอ"),
    "province": ("province", "จังหวัด"),
    "postcode": ("postcode", "รหัสไปรษณีย์"),
}


def _required(field: str, value: str) -> str:
    value = (value or "").strip()
    if not value:
        english, thai = _REQUIRED[field]
        raise DomainError(FIELD_REQUIRED, detail=field, field=english, field_th=thai)
    return value


def check_email(raw: str) -> str:
    email = (raw or "").strip()
    if len(email) > 254 or not _EMAIL_RE.match(email):
        raise DomainError(EMAIL_INVALID, detail="email")
    local, _, domain = email.rpartition("@")
    return f"{local}@{domain.lower()}"


def check_document(upload: Upload | None) -> tuple[str, str]:
    """The content type (by magic bytes) and a safe file name; raise DOCUMENT_* otherwise."""
    if upload is None or not upload.data:
        raise DomainError(DOCUMENT_REQUIRED, detail="document")
    if len(upload.data) > MAX_DOCUMENT_BYTES:
        raise DomainError(
            DOCUMENT_TOO_LARGE, detail="document", limit_mb=f"{MAX_DOCUMENT_BYTES / 1_000_000:g}"
        )
    for magic, content_type, extension in _DOCUMENT_TYPES:
        if upload.data.startswith(magic):
            stem = _UNSAFE_NAME.sub("_", upload.filename.rsplit(".", 1)[0])[:80] or "document"
            return content_type, stem + extension
    raise DomainError(DOCUMENT_TYPE, detail="document")


def register_staff(
    session: Session,
    protector: DataProtector,
    form: Registration,
    document: Upload | None,
    reserve_upload: Callable[[int], None] = lambda size: None,
) -> StaffUser:
    """Record a pending registration; raises ADM007 for a CID that already has an account,
    USERNAME_*, EMAIL_INVALID, FIELD_REQUIRED, FACILITY_NOT_FOUND or DOCUMENT_*.

    Whether a CID has an account (ADM007) is told only for an otherwise valid form, document
    included, so learning it costs a whole registration (which the clinic throttles).
    ``reserve_upload`` gets the document's size just before anything is stored and may
    raise (a daily quota) to store nothing.
    """
    cid = parse_cid(form.cid)
    cid_hash = protector.lookup_hash(cid)
    known_hashes = protector.lookup_hashes(cid)  # an account made under an older data key
    username = (form.username or "").strip().lower()
    if not _USERNAME_RE.match(username):
        raise DomainError(USERNAME_INVALID, detail="username")
    values = {f: _required(f, getattr(form, f)) for f in ("first_name", "last_name", "affiliation")}
    for field in ("house_no", "subdistrict", "district", "province", "postcode"):
        _required(field, getattr(form.address, field))
    email = check_email(form.email)
    facility = session.scalar(
        select(Facility).where(
            Facility.hcode == (form.facility_hcode or "").strip(), Facility.active.is_(True)
        )
    )
    if facility is None:
        raise DomainError("FACILITY_NOT_FOUND", detail="facility")
    content_type, filename = check_document(document)
    assert document is not None
    if session.scalar(select(StaffUser.id).where(StaffUser.username == username)):
        raise DomainError(USERNAME_TAKEN, detail="username")
    if session.scalar(select(StaffUser.id).where(StaffUser.cid_hash.in_(known_hashes))):
        raise DomainError(ADM007, detail="cid", cid=mask_cid(cid))
    reserve_upload(len(document.data))
    kind = form.evidence_kind if form.evidence_kind in EVIDENCE_KINDS else "other"
    staff = StaffUser(
        cid_hash=cid_hash,
        cid_enc=protector.encrypt(cid),
        username=username,
        email=email,
        first_name=values["first_name"][:100],
        last_name=values["last_name"][:100],
        employee_code=form.employee_code.strip()[:32],
        affiliation=values["affiliation"][:200],
        unit=facility.name[:200],
        position=form.position.strip()[:200],
        address=form.address.text()[:500],
        facility_id=facility.id,
        role="staff",
        status="pending",
        password_hash=None,
        must_change_password=True,
    )
    try:
        with session.begin_nested():  # two registrations racing for one CID or username
            session.add(staff)
            session.flush()
    except IntegrityError:
        if session.scalar(select(StaffUser.id).where(StaffUser.cid_hash.in_(known_hashes))):
            raise DomainError(ADM007, detail="cid", cid=mask_cid(cid)) from None
        raise DomainError(USERNAME_TAKEN, detail="username") from None
    session.add(
        StaffDocument(
            staff_id=staff.id,
            evidence_kind=kind,
            evidence_note=form.evidence_note.strip()[:200],
            filename=filename,
            content_type=content_type,
            size=len(document.data),
            data_enc=protector.encrypt(base64.b64encode(document.data).decode(), DOCUMENT_CONTEXT),
        )
    )
    audit.record(
        session,
        f"staff:{staff.id}",
        "staff.register",
        f"staff:{staff.id}",
        {"facility": facility.hcode},
    )
    return staff


def document_bytes(protector: DataProtector, document: StaffDocument) -> bytes:
    """The decrypted file (DataProtector encrypts text, so the bytes are kept as base64)."""
    return base64.b64decode(protector.decrypt(document.data_enc, DOCUMENT_CONTEXT))


def staff_document(session: Session, staff: StaffUser) -> StaffDocument | None:
    return session.scalar(select(StaffDocument).where(StaffDocument.staff_id == staff.id))


def new_initial_password() -> str:
    return "".join(secrets.choice(_PASSWORD_ALPHABET) for _ in range(12))


def approve(
    session: Session,
    protector: DataProtector,
    actor: StaffUser,
    target: StaffUser,
    login_url: str,
    role: str = "staff",
) -> None:
    """Activate a pending account and email its initial password (changed at first login).

    Raises FORBIDDEN or STAFF_NOT_PENDING. Audited.
    """
    require_staff_admin(actor, target)
    if target.status != "pending":
        raise DomainError(STAFF_NOT_PENDING)
    if role not in assignable_roles(actor):
        raise DomainError(FORBIDDEN)
    password = new_initial_password()
    target.status = "active"
    target.role = role
    target.password_hash = hash_password(password)
    target.must_change_password = True
    target.approved_at = utcnow()
    target.approved_by = f"staff:{actor.id}"
    facility_name = target.facility.name if target.facility else "-"
    mail.queue_email(
        session,
        protector,
        target.email,
        "บัญชีผู้ใช้ Authen Code ได้รับการอนุมัติแล้ว / Your Authen Code account",
        approval_body(target, facility_name, password, login_url),
    )
    audit.record(
        session, f"staff:{actor.id}", "staff.approve", f"staff:{target.id}", {"role": role}
    )


def approval_body(target: StaffUser, facility_name: str, password: str, login_url: str) -> str:
    return (
        f"เรียน คุณ{target.display_name}\n\n"
        "ระบบ Authen Code แจ้งรายละเอียดผู้ใช้งานดังนี้\n\n"
        f"หน่วยงาน : {facility_name}\n"
        f"ชื่อผู้ใช้ : {target.display_name}\n"
        f"รหัสผู้ใช้ : {target.username}\n"
        f"รหัสผ่าน : {password}\n\n"
        "กรุณาเปลี่ยนรหัสผ่านใหม่เมื่อเข้าสู่ระบบเพื่อความปลอดภัย\n"
        f"เข้าสู่ระบบได้ที่ {login_url}\n"
        "พบปัญหากรุณาแจ้งผู้ดูแลระบบ\n\n"
        "---\n"
        "Your Authen Code account has been approved.\n"
        f"User ID: {target.username}\nInitial password: {password}\n"
        f"You must change this password when you first log in: {login_url}\n"
    )


def reject(session: Session, actor: StaffUser, target: StaffUser) -> None:
    """Remove a pending registration and its document, so the person may register again.

    Raises FORBIDDEN or STAFF_NOT_PENDING. Audited.
    """
    require_staff_admin(actor, target)
    if target.status != "pending":
        raise DomainError(STAFF_NOT_PENDING)
    target_id = target.id
    session.execute(delete(StaffDocument).where(StaffDocument.staff_id == target_id))
    session.delete(target)
    session.flush()
    audit.record(session, f"staff:{actor.id}", "staff.reject", f"staff:{target_id}")


def change_role(session: Session, actor: StaffUser, target: StaffUser, role: str) -> None:
    """Give an account another role; raises FORBIDDEN or ROLE_NEEDS_FACILITY. Audited."""
    require_staff_admin(actor, target)
    if role not in assignable_roles(actor):
        raise DomainError(FORBIDDEN)
    if role in FACILITY_ROLES and target.facility_id is None:
        raise DomainError(ROLE_NEEDS_FACILITY)
    if role == target.role:
        return
    audit.record(
        session,
        f"staff:{actor.id}",
        "staff.role",
        f"staff:{target.id}",
        {"from": target.role, "to": role},
    )
    target.role = role


def set_active(session: Session, actor: StaffUser, target: StaffUser, active: bool) -> None:
    """Disable an active account or enable it again (which also forgets its failed log-ins).

    Audited.
    """
    require_staff_admin(actor, target)
    if target.status == "pending":
        raise DomainError(STAFF_NOT_PENDING)
    status = "active" if active else "disabled"
    if active and login_throttle.clear_account(session, target.id) and target.status == status:
        audit.record(session, f"staff:{actor.id}", "staff.unlock", f"staff:{target.id}")
    if status != target.status:
        target.status = status
        audit.record(
            session,
            f"staff:{actor.id}",
            f"staff.{'enable' if active else 'disable'}",
            f"staff:{target.id}",
        )
