"""Reference data, defined once: visit channels, code statuses, relations and the scheme's
right codes with their labels.

The models build their check constraints from these tuples; reports, exports, issuance, the
chat, the notices and the pages read the labels from here (the LIFF pages get them rendered
into the page as JSON). A new visit channel is a row of ``VISIT_CHANNELS`` and a migration
widening ``ck_authen_codes_channel_known``; a new right code is a row of ``MAIN_RIGHTS`` or
``SUB_RIGHTS`` and a data migration adding it to the ``rights`` table (kept for SQL readers;
a test checks that the table and these tuples agree).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Channel:
    """A way a patient's visit is authenticated, and how it proves identity by default."""

    code: str
    label_th: str
    method: str  # verify_method of its codes unless the caller says otherwise
    method_label_th: str
    self_recorded_th: str | None = None  # who recorded its codes when no staff member did


VISIT_CHANNELS = (
    Channel("line", "LINE (สแกน QR)", "line_qr", "สแกน QR ผ่าน LINE", "ผู้รับบริการ (LINE)"),
    Channel("smartcard", "Smart Card", "smartcard", "บัตรประชาชน (Smart Card)"),
    Channel("cid_photo", "เลขประจำตัวประชาชนและรูปถ่าย", "photo", "ถ่ายรูปผู้รับบริการพร้อมบัตรประชาชน"),
    Channel("certified_pid", "รับรองโดยเจ้าหน้าที่/ผู้ปกครอง", "certified", "รับรองโดยเจ้าหน้าที่/ผู้ปกครอง"),
    Channel("kiosk", "ตู้ Kiosk", "kiosk_smartcard", "บัตรประชาชนที่ตู้ Kiosk", "ผู้รับบริการ (ตู้ Kiosk)"),
)
CHANNELS = tuple(channel.code for channel in VISIT_CHANNELS)
CHANNEL_LABELS_TH = {channel.code: channel.label_th for channel in VISIT_CHANNELS}
DEFAULT_METHOD = {channel.code: channel.method for channel in VISIT_CHANNELS}
METHOD_LABELS_TH = {channel.method: channel.method_label_th for channel in VISIT_CHANNELS}
SELF_RECORDED_TH = {
    channel.code: channel.self_recorded_th for channel in VISIT_CHANNELS if channel.self_recorded_th
}

CODE_STATUSES = ("active", "cancelled")
STATUS_LABELS_TH = {"active": "ใช้งาน", "cancelled": "ยกเลิก"}


@dataclass(frozen=True)
class Relation:
    """How a linked person is related to the LINE account that asks for codes."""

    code: str
    label_th: str
    label_en: str


FAMILY_RELATIONS = (
    Relation("spouse", "คู่สมรส", "Spouse"),
    Relation("child", "บุตร", "Child"),
    Relation("parent", "บิดา/มารดา", "Parent"),
    Relation("sibling", "พี่/น้อง", "Sibling"),
    Relation("grandparent", "ปู่/ย่า/ตา/ยาย", "Grandparent"),
    Relation("grandchild", "หลาน", "Grandchild"),
    Relation("relative", "ญาติ", "Relative"),
    Relation("guardian", "ผู้อยู่ในความปกครอง", "Ward"),
    Relation("other", "อื่น ๆ", "Other"),
)
RELATIONS = tuple(relation.code for relation in FAMILY_RELATIONS)
RELATION_LABELS_TH = {relation.code: relation.label_th for relation in FAMILY_RELATIONS}
# The registrant's own link ("self"), as the notices and the pages name it.
SELF_RELATION_TH = "ตัวท่านเอง (ผู้ลงทะเบียน)"
SELF_PAGE_LABELS = {"th": "ตนเอง", "en": "Myself"}
# Who certifies a patient without a card at the counter: relation -> (Thai, English).
CERTIFIER_RELATIONS = {
    "parent": ("บิดา/มารดา", "Parent"),
    "guardian": ("ผู้ปกครอง", "Guardian"),
    "relative": ("ญาติ", "Relative"),
    "staff": ("เจ้าหน้าที่ผู้รับรอง", "Certifying staff member"),
}


@dataclass(frozen=True)
class RightCode:
    """A right code of the scheme's registry: a main right (UCS, OFC, ...) or a sub-right
    ("89" = aged 12-59)."""

    code: str
    label_th: str
    label_en: str


MAIN_RIGHTS = (
    RightCode("UCS", "สิทธิหลักประกันสุขภาพแห่งชาติ", "Universal coverage"),
    RightCode(
        "WEL",
        "สิทธิหลักประกันสุขภาพแห่งชาติ (ยกเว้นการร่วมจ่ายค่าบริการ 30 บาท)",
        "Universal coverage (co-payment exempt)",
    ),
    RightCode("DIS", "สิทธิหลักประกันสุขภาพแห่งชาติ (ผู้พิการ)", "Universal coverage (disability)"),
    RightCode("OFC", "สิทธิสวัสดิการการรักษาพยาบาลของข้าราชการ", "Civil servants"),
    RightCode("LGO", "สิทธิสวัสดิการการรักษาพยาบาลขององค์กรปกครองส่วนท้องถิ่น", "Local government officers"),
    RightCode("SSS", "สิทธิประกันสังคม", "Social security"),
    RightCode("SSI", "สิทธิประกันสังคมกรณีทุพพลภาพ", "Social security (invalidity)"),
    RightCode("PVT", "สิทธิครูเอกชน", "Private school teachers"),
    RightCode("BKK", "สิทธิพนักงานกรุงเทพมหานคร", "Bangkok Metropolitan staff"),
    RightCode("OTH", "สิทธิอื่น ๆ", "Other"),
)
SUB_RIGHTS = (
    RightCode("71", "ผู้มีรายได้น้อย", "Low income"),
    RightCode("73", "เด็กอายุไม่เกิน 12 ปีบริบูรณ์", "Children up to 12"),
    RightCode("74", "ผู้มีอายุเกิน 60 ปีบริบูรณ์", "Aged over 60"),
    RightCode("75", "ผู้พิการ", "Persons with disabilities"),
    RightCode("76", "ทหารผ่านศึก", "Veterans"),
    RightCode("77", "ภิกษุ/ผู้นำศาสนา", "Monks and religious leaders"),
    RightCode("89", "ช่วงอายุ 12-59 ปี", "Aged 12-59"),
)
MAIN_RIGHT_CODES = tuple(right.code for right in MAIN_RIGHTS)
# A right by kind ("main" or "sub") and code.
RIGHTS = {("main", r.code): r for r in MAIN_RIGHTS} | {("sub", r.code): r for r in SUB_RIGHTS}
# A person without a main right on record.
NO_RIGHT_TH = "สิทธิว่าง"
NO_RIGHT_EN = "No right on record"

# A person's registered units by the registry's field: (Thai, English). A patient's change
# request moves only the primary care unit (hosp_sub); the main unit stays as it is.
UNIT_ROLES = {
    "hosp_main": ("หน่วยบริการประจำ", "Main unit"),
    "hosp_sub": ("หน่วยบริการปฐมภูมิ", "Primary care unit"),
    "hosp_main_op": ("หน่วยบริการรับส่งต่อ", "Referral unit"),
}


def sql_in(column: str, values: Iterable[str]) -> str:
    """A check constraint's text: ``column IN ('a', 'b')`` for the given values."""
    return f"{column} IN ({', '.join(repr(value) for value in values)})"


def page_reference() -> dict[str, object]:
    """The labels the LIFF pages show, by language (rendered into each page as JSON)."""
    return {
        "relations": [
            {"code": r.code, "th": r.label_th, "en": r.label_en} for r in FAMILY_RELATIONS
        ],
        "self": SELF_PAGE_LABELS,
        "units": {role: {"th": th, "en": en} for role, (th, en) in UNIT_ROLES.items()},
    }
