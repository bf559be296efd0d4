"""A person's registered units and their primary care unit changes, in words: the one wording
the chat, the LIFF pages and the clinic's unit-change page all show, so it cannot drift.

A change request moves the primary care unit (หน่วยบริการปฐมภูมิ, ``hosp_sub``); the main
unit (หน่วยบริการประจำ, ``hosp_main``) stays as it is, and every text about a change says so
beside it. A unit is named "name (code)", never by its bare code. The fiscal-year counter
shows pending requests as pending, not as used (they still count against the limit).
"""

from __future__ import annotations

from dataclasses import dataclass

from authencode.models import PcuChangeRequest
from authencode.reference import UNIT_ROLES
from authencode.services.pcu_change import PcuStatus
from authencode.thaidate import datetime_label, display_year

MAIN, PRIMARY = "hosp_main", "hosp_sub"

_TEXTS = {
    "th": {
        "quota": "เปลี่ยนหน่วยบริการปฐมภูมิ ปีงบประมาณ {year}: ใช้ไปแล้ว {used} จาก {limit} ครั้ง",
        "quota_pending": ", รออนุมัติ {pending}",
        "change": "ขอเปลี่ยน{primary}จาก {old} เป็น {new}",
        "unchanged": "{main}: {unit} (ไม่เปลี่ยน)",
        "pending": "รอเจ้าหน้าที่ทะเบียนพิจารณา: {change} (ส่งคำขอเมื่อ {at})",
    },
    "en": {
        "quota": "Primary care unit changes, fiscal year {year}: {used} of {limit} used",
        "quota_pending": ", {pending} pending",
        "change": "Change of {primary_lower} from {old} to {new}",
        "unchanged": "{main}: {unit} (unchanged)",
        "pending": "Waiting for the registry office: {change} (sent {at})",
    },
}
APPROVED_TH = "คำขอเปลี่ยนหน่วยบริการปฐมภูมิของ {name} ได้รับการอนุมัติแล้วค่ะ\n{primary}ใหม่: {new}\n{main}"
REJECTED_TH = "คำขอเปลี่ยนหน่วยบริการปฐมภูมิของ {name} ไม่ได้รับการอนุมัติค่ะ\n{primary}: {old} (คงเดิม)\n{main}"
REASON_TH = "\nเหตุผล: {note}"
ASK_AGAIN_TH = "\nสอบถามเพิ่มเติมได้ที่สายด่วน 1330"


def _lang(lang: str) -> str:
    return "en" if lang == "en" else "th"


def role_label(role: str, lang: str = "th") -> str:
    """หน่วยบริการประจำ / หน่วยบริการปฐมภูมิ / หน่วยบริการรับส่งต่อ (English in English)."""
    thai, english = UNIT_ROLES[role]
    return english if _lang(lang) == "en" else thai


def unit_label(hcode: str | None, names: dict[str, str]) -> str:
    """ "โรงพยาบาลทดสอบ (10676)"; a code unknown here shows as itself, none as "-"."""
    if not hcode:
        return "-"
    name = names.get(hcode)
    return f"{name} ({hcode})" if name else hcode


def role_line(role: str, hcode: str | None, names: dict[str, str], lang: str = "th") -> str:
    """ "หน่วยบริการปฐมภูมิ: รพ.สต.บ้านทดสอบ (10675)"."""
    return f"{role_label(role, lang)}: {unit_label(hcode, names)}"


def quota_text(status: PcuStatus, lang: str = "th") -> str:
    """ "เปลี่ยนหน่วยบริการปฐมภูมิ ปีงบประมาณ 2570: ใช้ไปแล้ว 0 จาก 4 ครั้ง, รออนุมัติ 1"."""
    texts = _TEXTS[_lang(lang)]
    text = texts["quota"].format(
        year=display_year(status.fiscal_year, lang), used=status.used, limit=status.limit
    )
    if status.pending_count:
        text += texts["quota_pending"].format(pending=status.pending_count)
    return text


@dataclass(frozen=True)
class ChangeWords:
    """One request in words: what it moves, and the main unit that stays."""

    change: str  # ขอเปลี่ยนหน่วยบริการปฐมภูมิจาก A (10675) เป็น B (10677)
    main_unchanged: str  # หน่วยบริการประจำ: C (10676) (ไม่เปลี่ยน)
    old_unit: str  # A (10675)
    new_unit: str  # B (10677)
    main_unit: str  # C (10676)
    pending: str  # รอเจ้าหน้าที่ทะเบียนพิจารณา: <change> (ส่งคำขอเมื่อ ...)


def change_words(row: PcuChangeRequest, names: dict[str, str], lang: str = "th") -> ChangeWords:
    """The request ``row`` in words (``names``: hcode -> name, see pcu_change.facility_names);
    the main unit is the person's as it is now."""
    lang = _lang(lang)
    texts = _TEXTS[lang]
    old, new = unit_label(row.from_hcode, names), unit_label(row.to_hcode, names)
    main = unit_label(row.person.hosp_main, names)
    primary = role_label(PRIMARY, lang)
    change = texts["change"].format(
        primary=primary, primary_lower=primary.lower(), old=old, new=new
    )
    return ChangeWords(
        change=change,
        main_unchanged=texts["unchanged"].format(main=role_label(MAIN, lang), unit=main),
        old_unit=old,
        new_unit=new,
        main_unit=main,
        pending=texts["pending"].format(change=change, at=datetime_label(row.requested_at, lang)),
    )


def decision_th(row: PcuChangeRequest, names: dict[str, str]) -> str:
    """The registry office's decision as the chat tells it (Thai), main unit beside it."""
    words = change_words(row, names)
    name = row.person.full_name_th
    if row.status == "approved":
        return APPROVED_TH.format(
            name=name,
            primary=role_label(PRIMARY),
            new=words.new_unit,
            main=words.main_unchanged,
        )
    body = REJECTED_TH.format(
        name=name, primary=role_label(PRIMARY), old=words.old_unit, main=words.main_unchanged
    )
    if row.decision_note:
        body += REASON_TH.format(note=row.decision_note)
    return body + ASK_AGAIN_TH
