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

from collections.abc import Iterable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Channel:
    """A way a patient's visit is authenticated, and how it proves identity by default."""

    code: str
    label_th: str
    method: str  # verify_method of its codes unless the caller says otherwise
    method_label_th: str
    self_recorded_th: str | None = None  # who recorded its codes when no staff member did
    label_en: str = ""
    method_label_en: str = ""


VISIT_CHANNELS = (
    Channel(
        "line",
        "LINE (สแกน QR)",
        "line_qr",
        "สแกน QR ผ่าน LINE",
        "ผู้รับบริการ (LINE)",
        label_en="LINE (QR scan)",
        method_label_en="QR scanned in LINE",
    ),
    Channel(
        "smartcard",
        "Smart Card",
        "smartcard",
        "บัตรประชาชน (Smart Card)",
        label_en="Smart card",
        method_label_en="ID card (smart card)",
    ),
    Channel(
        "cid_photo",
        "เลขประจำตัวประชาชนและรูปถ่าย",
        "photo",
        "ถ่ายรูปผู้รับบริการพร้อมบัตรประชาชน",
        label_en="Citizen ID and photo",
        method_label_en="Photo of the patient with the ID card",
    ),
    Channel(
        "certified_pid",
        "รับรองโดยเจ้าหน้าที่/ผู้ปกครอง",
        "certified",
        "รับรองโดยเจ้าหน้าที่/ผู้ปกครอง",
        label_en="Certified by staff/guardian",
        method_label_en="Certified by staff/guardian",
    ),
    Channel(
        "kiosk",
        "ตู้ Kiosk",
        "kiosk_smartcard",
        "บัตรประชาชนที่ตู้ Kiosk",
        "ผู้รับบริการ (ตู้ Kiosk)",
        label_en="Kiosk",
        method_label_en="ID card at a kiosk",
    ),
)
CHANNELS = tuple(channel.code for channel in VISIT_CHANNELS)
CHANNEL_LABELS_TH = {channel.code: channel.label_th for channel in VISIT_CHANNELS}
DEFAULT_METHOD = {channel.code: channel.method for channel in VISIT_CHANNELS}
METHOD_LABELS_TH = {channel.method: channel.method_label_th for channel in VISIT_CHANNELS}
SELF_RECORDED_TH = {
    channel.code: channel.self_recorded_th for channel in VISIT_CHANNELS if channel.self_recorded_th
}
# (Thai, English) of each channel and verification method, for pages with a language switch.
CHANNEL_LABELS = {c.code: (c.label_th, c.label_en) for c in VISIT_CHANNELS}
METHOD_LABELS = {c.method: (c.method_label_th, c.method_label_en) for c in VISIT_CHANNELS}

CODE_STATUSES = ("active", "cancelled")
CODE_STATUS_LABELS = {"active": ("ใช้งาน", "Active"), "cancelled": ("ยกเลิก", "Cancelled")}
STATUS_LABELS_TH = {code: thai for code, (thai, _) in CODE_STATUS_LABELS.items()}


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
SELF_RELATION_EN = "Yourself (the registrant)"
# (Thai, English) of each relation, the registrant's own link included, as the notices and
# the LIFF pages' lists name them.
RELATION_LABELS = {r.code: (r.label_th, r.label_en) for r in FAMILY_RELATIONS} | {
    "self": (SELF_RELATION_TH, SELF_RELATION_EN)
}
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


# --- Labels of the clinic's records: defined here once, read by the pages -------------------
# Each maps a stored key to (Thai, English). A test reads every audit.record call of the code
# and fails when an action it can write has no label here.

STAFF_STATUSES = {
    "pending": ("รออนุมัติ", "Waiting for approval"),
    "active": ("ใช้งาน", "Active"),
    "disabled": ("ระงับการใช้งาน", "Disabled"),
}
PCU_REQUEST_STATUSES = {
    "pending": ("รอพิจารณา", "Waiting for a decision"),
    "approved": ("อนุมัติ", "Approved"),
    "rejected": ("ไม่อนุมัติ", "Rejected"),
    "cancelled": ("ยกเลิก", "Cancelled"),
}
ERASURE_STATUSES = {
    "pending": ("รอสำนักทะเบียนดำเนินการ", "Waiting for the registry office"),
    "reviewed": ("ดำเนินการแล้ว", "Handled"),
}
# A kiosk, an API token or a QR signing key: in use until revoked.
CREDENTIAL_STATUSES = {
    "active": ("ใช้งานอยู่", "In use"),
    "revoked": ("ยกเลิกแล้ว", "Revoked"),
}
# How sure the link between a LINE account and a person is (family_links.level).
LINK_LEVELS = {
    "pending": ("รอยืนยันตัวตน", "Not yet verified"),
    "claimed": ("แจ้งด้วยตนเอง (ยังไม่ได้ยืนยัน)", "Self-declared (unverified)"),
    "verified": ("ยืนยันตัวตนแล้ว", "Verified"),
}
# The fields of an Authen Code that an edit may change (the audit entry's "fields").
CODE_FIELDS = {
    "service_code": ("บริการ", "service"),
    "phones": ("เบอร์โทรศัพท์", "phone numbers"),
    "hn": ("HN", "HN"),
    "an": ("AN", "AN"),
}
AUDIT_ACTIONS = {
    "agent.unlock": ("ปลดล็อกโปรแกรมอ่านบัตรด้วย PIN", "Unlocked a card-reader agent with a PIN"),
    "agent.unlock_failed": (
        "ปลดล็อกโปรแกรมอ่านบัตรไม่สำเร็จ (PIN ไม่ถูกต้อง)",
        "Card-reader agent unlock failed (wrong PIN)",
    ),
    "agent.unlock_refused": ("ปฏิเสธการปลดล็อกโปรแกรมอ่านบัตร", "Card-reader agent unlock refused"),
    "api_token.create": ("สร้างโทเคน API", "Created an API token"),
    "api_token.revoke": ("ยกเลิกโทเคน API", "Revoked an API token"),
    "code.cancel": ("ยกเลิกรหัส Authen Code", "Cancelled the Authen Code"),
    "code.disputed": ("ผู้มีสิทธิแจ้งว่าไม่ได้ขอรหัสนี้", "The patient said they did not request this code"),
    "code.edit": ("แก้ไขรายการ", "Edited the record"),
    "code.issue": ("ออกรหัส Authen Code", "Issued the Authen Code"),
    "code.show_again": ("แสดงรหัสเดิมอีกครั้งที่ตู้ Kiosk", "Showed the same code again at a kiosk"),
    "consent.accepted": ("ให้ความยินยอม", "Gave consent"),
    "consent.declined": ("ไม่ให้ความยินยอม", "Declined consent"),
    "consent.withdrawn": ("ถอนความยินยอม", "Withdrew consent"),
    "data.erased": ("ลบข้อมูลตามคำขอของผู้ใช้ LINE", "Erased data at the LINE user's request"),
    "data_key.retire": ("เลิกใช้กุญแจเข้ารหัสข้อมูล", "Retired a data encryption key"),
    "data_key.rotate": ("เปลี่ยนกุญแจเข้ารหัสข้อมูล", "Rotated the data encryption key"),
    "erasure.reviewed": (
        "สำนักทะเบียนดำเนินการคำขอลบข้อมูลแล้ว",
        "The registry office handled an erasure",
    ),
    "facility.create": ("เพิ่มหน่วยบริการ", "Added a facility"),
    "facility.services": ("แก้ไขบริการของหน่วยบริการ", "Changed the facility's services"),
    "kiosk.pair": ("ลงทะเบียนตู้ Kiosk", "Registered a kiosk"),
    "kiosk.revoke": ("ยกเลิกตู้ Kiosk", "Revoked a kiosk"),
    "line.add_family": ("เพิ่มสมาชิกครอบครัวใน LINE", "Added a family member in LINE"),
    "line.notice": ("ส่งประกาศทาง LINE", "Sent a notice in LINE"),
    "line.register_self": ("ลงทะเบียนตนเองใน LINE", "Registered themself in LINE"),
    "line.remove_family": ("ลบสมาชิกครอบครัวใน LINE", "Removed a family member in LINE"),
    "line_event.retry": ("ส่งเหตุการณ์ LINE ที่ค้างให้ประมวลผลใหม่", "Requeued failed LINE events"),
    "link.approval_declined": ("ผู้มีสิทธิปฏิเสธคำขอเชื่อมบัญชี", "The person declined a link request"),
    "link.approval_expired": ("คำขอเชื่อมบัญชีหมดอายุ", "A link request expired"),
    "link.approval_requested": ("ขอให้ผู้มีสิทธิอนุมัติการเชื่อมบัญชี", "Asked the person to approve a link"),
    "link.counter_code": ("ขอรหัสยืนยันตัวตนที่เคาน์เตอร์", "Asked for a counter verification code"),
    "link.counter_refused": ("เจ้าหน้าที่ไม่ยืนยันตัวตนที่เคาน์เตอร์", "Counter verification refused by staff"),
    "link.counter_verified": ("เจ้าหน้าที่ยืนยันตัวตนที่เคาน์เตอร์", "Verified at the counter by staff"),
    "link.displaced": ("ยกเลิกการเชื่อมบัญชีที่ไม่ได้ยืนยัน", "Removed an unverified link"),
    "link.not_me": (
        "ผู้มีสิทธิแจ้งว่าไม่ใช่ตน และลบการเชื่อมบัญชี",
        "The person said it was not them; the link was removed",
    ),
    "link.removed_by_person": ("ผู้มีสิทธิลบการเชื่อมบัญชี", "The person removed the link"),
    "link.verified": ("ยืนยันตัวตนการเชื่อมบัญชีแล้ว", "Verified the link"),
    "links.verify_csv": ("ยืนยันการเชื่อมบัญชีจากไฟล์ CSV", "Verified links from a CSV file"),
    "outbox.retry": ("ส่งข้อความที่ค้างใหม่", "Requeued failed messages"),
    "pcu.approved": ("อนุมัติการเปลี่ยนหน่วยบริการ", "Approved a unit change"),
    "pcu.rejected": ("ไม่อนุมัติการเปลี่ยนหน่วยบริการ", "Rejected a unit change"),
    "pcu.request": ("ขอเปลี่ยนหน่วยบริการ", "Asked for a unit change"),
    "qr_key.create": ("สร้างกุญแจลงนามคิวอาร์โค้ด", "Created a QR signing key"),
    "qr_key.revoke": ("ยกเลิกกุญแจลงนามคิวอาร์โค้ด", "Revoked a QR signing key"),
    "report.export": ("ส่งออกรายงาน", "Exported a report"),
    "retention.purge": ("ลบข้อมูลที่พ้นระยะเวลาเก็บรักษา", "Purged data past its retention period"),
    "staff.approve": ("อนุมัติบัญชีผู้ใช้", "Approved an account"),
    "staff.disable": ("ระงับบัญชีผู้ใช้", "Disabled an account"),
    "staff.enable": ("เปิดใช้บัญชีผู้ใช้", "Enabled an account"),
    "staff.login": ("เข้าสู่ระบบ", "Logged in"),
    "staff.login_failed": ("เข้าสู่ระบบไม่สำเร็จ", "Log-in failed"),
    "staff.login_refused": ("ปฏิเสธการเข้าสู่ระบบ", "Log-in refused"),
    "staff.password_change": ("เปลี่ยนรหัสผ่าน", "Changed the password"),
    "staff.password_reset": ("ตั้งรหัสผ่านใหม่", "Reset the password"),
    "staff.password_reset_requested": ("ขอตั้งรหัสผ่านใหม่", "Asked for a password reset"),
    "staff.register": ("สมัครบัญชีผู้ใช้", "Registered an account"),
    "staff.reject": ("ไม่อนุมัติบัญชีผู้ใช้", "Rejected an account"),
    "staff.role": ("เปลี่ยนบทบาท", "Changed the role"),
    "staff.set_pin": ("ตั้ง PIN โปรแกรมอ่านบัตร", "Set the card-reader PIN"),
    "staff.unlock": ("ปลดล็อกบัญชีผู้ใช้", "Unlocked an account"),
    "thaid.started": ("เริ่มยืนยันตัวตนด้วย ThaID", "Started ThaID verification"),
}

# A consent decision as the holder's data lists it (the audit log's words), and where it was
# given (consent_records.channel).
CONSENT_DECISIONS = {
    decision: AUDIT_ACTIONS[f"consent.{decision}"]
    for decision in ("accepted", "declined", "withdrawn")
}
CONSENT_CHANNELS = {
    "line": ("แชต LINE", "LINE chat"),
    "liff": ("หน้าเว็บใน LINE (LIFF)", "Page in LINE (LIFF)"),
}


def label(labels: Mapping[str, tuple[str, str]], key: str, lang: str = "th") -> str:
    """A stored key's label in the language (the key itself only if it has none)."""
    thai, english = labels.get(key, (key, key))
    return english if lang == "en" else thai


def labelled(name: str, labels: Mapping[str, tuple[str, str]], key: str) -> dict[str, str]:
    """``{name}_th`` and its English twin ``{name}_en``: a stored key's labels for an API
    answer whose page picks the language."""
    return {f"{name}_th": label(labels, key, "th"), f"{name}_en": label(labels, key, "en")}


def audit_label(action: str, details: dict[str, object], lang: str = "th") -> str:
    """An audit entry as a sentence: "แก้ไขรายการ (เบอร์โทรศัพท์, HN)" for code.edit."""
    text = label(AUDIT_ACTIONS, action, lang)
    fields = details.get("fields")
    if isinstance(fields, list) and fields:
        text += f" ({', '.join(label(CODE_FIELDS, str(f), lang) for f in fields)})"
    return text
