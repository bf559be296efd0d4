"""Domain errors: a stable code, an English and a Thai message, and what kind of refusal it is.

Front ends map the kind to their own answer (HTTP status, a staff page, a LINE reply) in one
registered handler; services only raise.
"""

from __future__ import annotations

from typing import Any, ClassVar

# kind -> the HTTP status an API answers with; kept here so every front end agrees.
KIND_STATUS = {
    "invalid": 400,
    "unauthorized": 401,
    "forbidden": 403,
    "not_found": 404,
    "conflict": 409,
    "gone": 410,
    "too_large": 413,
    "unprocessable": 422,
    "rate_limited": 429,
    "unavailable": 503,
}

# code -> (kind, English, Thai)
CATALOGUE: dict[str, tuple[str, str, str]] = {
    "CID_REQUIRED": (
        "invalid",
        "Please enter the 13-digit citizen ID.",
        "กรุณากรอกเลขประจำตัวประชาชน 13 หลัก",
    ),
    "CID_NOT_DIGITS": (
        "invalid",
        "A citizen ID contains digits only.",
        "เลขประจำตัวประชาชนต้องเป็นตัวเลขเท่านั้น",
    ),
    "CID_LENGTH": (
        "invalid",
        "A citizen ID has exactly 13 digits.",
        "เลขประจำตัวประชาชนต้องมี 13 หลัก",
    ),
    "CID_CHECK_DIGIT": (
        "invalid",
        "This citizen ID is not valid (check digit does not match).",
        "เลขประจำตัวประชาชนไม่ถูกต้อง (หลักตรวจสอบไม่ตรง)",
    ),
    "PHONE_REQUIRED": ("invalid", "A mobile phone number is required.", "กรุณาระบุหมายเลขโทรศัพท์มือถือ"),
    "PHONE_INVALID": (
        "invalid",
        "Not a Thai mobile number (10 digits starting with 06, 08 or 09).",
        "หมายเลขโทรศัพท์มือถือไม่ถูกต้อง (10 หลัก ขึ้นต้นด้วย 06 08 หรือ 09)",
    ),
    "PHONE_TOO_MANY": (
        "invalid",
        "At most 5 phone numbers can be recorded.",
        "บันทึกหมายเลขโทรศัพท์ได้ไม่เกิน 5 หมายเลข",
    ),
    "PERSON_NOT_FOUND": (
        "not_found",
        "This citizen ID is not in the beneficiary registry.",
        "ไม่พบเลขประจำตัวประชาชนนี้ในฐานข้อมูลผู้มีสิทธิ",
    ),
    "PERSON_DECEASED": (
        "unprocessable",
        "The registry records this person as deceased.",
        "ทะเบียนระบุว่าบุคคลนี้เสียชีวิตแล้ว ไม่สามารถขอรหัสได้",
    ),
    "FACILITY_NOT_FOUND": ("not_found", "Unknown health facility.", "ไม่พบหน่วยบริการนี้"),
    "FACILITY_INACTIVE": (
        "unprocessable",
        "This health facility is not active.",
        "หน่วยบริการนี้ปิดการใช้งาน",
    ),
    "SERVICE_NOT_FOUND": ("not_found", "Unknown service type.", "ไม่พบประเภทบริการนี้"),
    "SERVICE_NOT_OFFERED": (
        "unprocessable",
        "This facility does not offer this service.",
        "หน่วยบริการนี้ไม่ได้เปิดให้บริการประเภทนี้",
    ),
    "SERVICE_INACTIVE": (
        "unprocessable",
        "This service type is not active today.",
        "ประเภทบริการนี้ไม่เปิดใช้งานในวันนี้",
    ),
    "CHANNEL_INVALID": (
        "invalid",
        "Unknown channel or verification method.",
        "ช่องทางหรือวิธีการยืนยันตัวตนไม่ถูกต้อง",
    ),
    "CODE_NOT_FOUND": ("not_found", "No such Authen Code.", "ไม่พบรหัส Authen Code นี้"),
    "CODE_ALREADY_CANCELLED": (
        "conflict",
        "This Authen Code has already been cancelled.",
        "รหัส Authen Code นี้ถูกยกเลิกไปแล้ว",
    ),
    "REASON_REQUIRED": ("invalid", "Please give a reason.", "กรุณาระบุเหตุผล"),
    "CODE_EDIT_CONFLICT": (
        "conflict",
        "An active code for this person, service and day already exists.",
        "มีรหัสที่ใช้งานอยู่ของบุคคลนี้ สำหรับบริการนี้ในวันนี้แล้ว",
    ),
    "NOTHING_TO_CHANGE": ("invalid", "Nothing to change.", "ไม่มีข้อมูลที่ต้องแก้ไข"),
    "FIELD_INVALID": ("invalid", "A field is not valid.", "ข้อมูลไม่ถูกต้อง"),
    "NOT_FOUND": ("not_found", "Not found.", "ไม่พบข้อมูลที่ต้องการ"),
    "METHOD_NOT_ALLOWED": ("invalid", "Method not allowed.", "ไม่รองรับวิธีการเรียกนี้"),
    "BAD_REQUEST": ("invalid", "The request is not valid.", "คำขอไม่ถูกต้อง"),
    "BODY_TOO_LARGE": ("too_large", "The request body is too large.", "ข้อมูลที่ส่งมีขนาดใหญ่เกินไป"),
    "DATABASE_UNAVAILABLE": (
        "unavailable",
        "The database is unavailable; try again shortly.",
        "ระบบฐานข้อมูลไม่พร้อมใช้งาน กรุณาลองใหม่อีกครั้ง",
    ),
}


class DomainError(Exception):
    """A refusal the user should see, identified by a stable code."""

    default_code: ClassVar[str] = "BAD_REQUEST"

    def __init__(
        self, code: str | None = None, *, detail: str | None = None, **params: Any
    ) -> None:
        self.code = code or self.default_code
        kind, message, message_th = CATALOGUE[self.code]
        self.kind = kind
        self.message = message.format(**params) if params else message
        self.message_th = message_th.format(**params) if params else message_th
        self.detail = detail
        self.params = params
        super().__init__(f"{self.code}: {self.message}")

    @property
    def http_status(self) -> int:
        return KIND_STATUS[self.kind]

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "code": self.code,
            "message": self.message,
            "message_th": self.message_th,
        }
        if self.detail:
            body["detail"] = self.detail
        return body


def register(code: str, kind: str, message: str, message_th: str) -> str:
    """Add a front end's own error code to the catalogue (used at import time)."""
    if kind not in KIND_STATUS:
        raise ValueError(f"unknown error kind {kind!r}")
    CATALOGUE[code] = (kind, message, message_th)
    return code
