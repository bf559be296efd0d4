"""Bot answers that read the account's data: code history and today's codes (carousels of
codes), rights (a carousel of one card a person)."""

from __future__ import annotations

import datetime as dt

from linebot.v3.messaging import QuickReply
from sqlalchemy import select
from sqlalchemy.orm import Session

from authencode.crypto import DataProtector
from authencode.models import FamilyLink, LineAccount, Person
from authencode.services import link_trust, pcu_change, unit_words
from authencode.services.patient_codes import codes_for_account, codes_today, count_for_account
from authencode.services.people import Rights, RightsLookup, person_masked_cid
from authencode.services.registration import RegistrationPolicy, rights_view
from authencode.settings import Settings
from authencode.thaidate import date_label, datetime_label, service_day
from linebot_app import messages
from linebot_app.flex import (
    MAX_BUBBLES,
    Card,
    cards_carousel,
    code_view,
    codes_carousel,
    history_message,
)
from linebot_app.messages import Json

NOT_REGISTERED_TH = (
    "ท่านยังไม่ได้ลงทะเบียนบุคคลกับบัญชี LINE นี้\n"
    "ลงทะเบียนด้วยเลขประจำตัวประชาชน 13 หลัก และเบอร์โทรศัพท์มือถือ ในแชทนี้ "
    '(พิมพ์ "ลงทะเบียน") หรือที่ลิงก์นี้'
)


def _links(session: Session, account: LineAccount) -> list[FamilyLink]:
    return list(
        session.scalars(
            select(FamilyLink)
            .where(FamilyLink.line_account_id == account.id)
            .order_by(FamilyLink.slot)
        )
    )


def not_registered(settings: Settings) -> list[Json]:
    return [
        messages.text(
            f"{NOT_REGISTERED_TH}\n{messages.liff_url(settings, '/register')}",
            messages.quick_replies(messages.ask("ลงทะเบียน"), messages.ask("วิธีลงทะเบียน")),
        )
    ]


def history(
    session: Session,
    protector: DataProtector,
    settings: Settings,
    account: LineAccount,
    link: FamilyLink | None = None,
) -> list[Json]:
    """The newest codes of every linked person (or of one) as a carousel, or why there is none.

    When the account acts for several persons, quick replies show one person's history.
    """
    links = _links(session, account)
    if not links:
        return not_registered(settings)
    person_id = link.person_id if link is not None else None
    if link is not None:
        link_trust.require(link, link_trust.OWN_HISTORY)
    whose = f" ของ {link.person.full_name_th}" if link is not None else ""
    codes = codes_for_account(session, account, person_id=person_id, limit=MAX_BUBBLES)
    if not codes:
        return messages.link_to(
            settings,
            f"ยังไม่มีประวัติการขอรหัสเข้ารับบริการ{whose}\n"
            'เมื่อถึงหน่วยบริการ กดเมนู "ขอรหัสเข้ารับบริการ" แล้วสแกน QR Code',
            "/request",
        )
    total = count_for_account(session, account, person_id)
    intro = f"ประวัติการขอรหัสเข้ารับบริการ{whose} {len(codes)} รายการล่าสุด"
    if any(
        not link_trust.can(each, link_trust.FULL_HISTORY)
        for each in links
        if link is None or each.id == link.id
    ):
        intro += "\n(บุคคลที่ยังไม่ยืนยันตัวตน แสดงเฉพาะรหัสที่ขอจากบัญชี LINE นี้)"
    if total > len(codes):
        intro += (
            f" (จากทั้งหมด {total} รายการ ดูทั้งหมดได้ที่ลิงก์นี้)\n{messages.liff_url(settings, '/history')}"
        )
    return [
        messages.text(intro),
        history_message([code_view(protector, code) for code in codes]),
        messages.text("เลื่อนดูรายการทางซ้าย-ขวา", _history_quick_reply(links)),
    ]


def _history_quick_reply(links: list[FamilyLink]) -> QuickReply:
    """One person's history per button when there are several; else the question menu."""
    if len(links) < 2:
        return messages.menu_quick_reply()
    shown = [link for link in links if link_trust.can(link, link_trust.OWN_HISTORY)]
    each = [
        messages.postback(
            f"ประวัติ {link.person.first_name_th}"[: messages.MAX_LABEL_CHARS],
            f"chat:history:{link.id}",
            f"ประวัติของ {link.person.full_name_th}",
        )
        for link in shown[: messages.MAX_QUICK_REPLY_ITEMS - 1]
    ]
    return messages.quick_replies(*each, messages.ask("ประวัติทั้งหมด", "ประวัติ"))


def _units(
    session: Session, person: Person, found: Rights
) -> tuple[tuple[tuple[str, str], ...], tuple[str, ...]]:
    """The main and primary care units as card rows, and this fiscal year's changes and a
    pending request as notes, in the words the LIFF rights page and the clinic's unit-change
    page use."""
    names = {u.hcode: u.hname for u in (found.hosp_main, found.hosp_sub) if u and u.hname}
    rows = tuple(
        (unit_words.role_label(role), unit_words.unit_label(unit.hcode if unit else None, names))
        for role, unit in ((unit_words.MAIN, found.hosp_main), (unit_words.PRIMARY, found.hosp_sub))
    )
    status = pcu_change.status_for(session, person)
    notes = [unit_words.quota_text(status)]
    if status.pending is not None:
        pending = status.pending
        notes.append(
            unit_words.change_words(pending, pcu_change.facility_names(session, [pending])).pending
        )
    return rows, tuple(notes)


def today(
    session: Session,
    protector: DataProtector,
    settings: Settings,
    account: LineAccount,
    now: dt.datetime,
) -> list[Json]:
    """Today's codes (service day in Bangkok) of the persons the account acts for, as a
    carousel, or how to ask for one."""
    if not _links(session, account):
        return not_registered(settings)
    day = date_label(service_day(now), "th")
    codes = codes_today(session, account, now)[:MAX_BUBBLES]
    if not codes:
        return [
            messages.text(
                f"วันนี้ ({day}) ยังไม่มีรหัสเข้ารับบริการค่ะ\n"
                'เมื่อถึงหน่วยบริการ พิมพ์ "ขอรหัส" หรือกดเมนู "ขอรหัสเข้ารับบริการ" '
                "แล้วสแกน QR Code ของหน่วยบริการ",
                messages.quick_replies(messages.ask("ขอรหัส"), messages.ask("ประวัติ")),
            )
        ]
    intro = f"รหัสเข้ารับบริการของวันนี้ ({day}) {len(codes)} รายการ"
    return [
        messages.text(f"{intro}\nแสดงรหัสต่อเจ้าหน้าที่ที่หน่วยบริการ"),
        codes_carousel([code_view(protector, code) for code in codes], intro),
        messages.text(
            'ดูรหัสที่เคยขอทั้งหมดได้ที่เมนู "ประวัติการขอรหัส"',
            messages.quick_replies(messages.ask("ประวัติ"), messages.ask("ขอรหัส")),
        ),
    ]


def rights(
    session: Session,
    protector: DataProtector,
    lookup: RightsLookup,
    settings: Settings,
    account: LineAccount,
    policy: RegistrationPolicy,
) -> list[Json]:
    """Main and sub-right, and registered units, of each linked person, one card each in a
    carousel; of a person linked unverified only whether the right allows the service, of a
    pending one nothing."""
    links = _links(session, account)
    if not links:
        return not_registered(settings)
    cards = []
    checked_at = None
    for link in links:
        person = link.person
        masked = person_masked_cid(protector, person)
        level = link_trust.LEVEL_TH[link.level]
        if not link_trust.can(link, link_trust.ELIGIBILITY):
            cards.append(Card(masked, level, notes=(link_trust.PENDING_TH,)))
            continue
        view = rights_view(session, lookup, policy, link)
        found = view.detail
        if found is None:
            eligible = "มีสิทธิใช้บริการนี้" if view.eligible else "สิทธิที่บันทึกไว้ไม่ใช่สิทธิสำหรับบริการนี้"
            cards.append(
                Card(
                    person.full_name_th,
                    f"{masked} · {level}",
                    (("การใช้บริการ", eligible),),
                    (link_trust.HOW_TO_VERIFY_TH,),
                )
            )
            continue
        checked_at = found.checked_at
        unit_rows, unit_notes = _units(session, person, found)
        cards.append(
            Card(
                person.full_name_th,
                f"{masked} · {level}",
                (
                    ("สิทธิหลัก", found.main.display_th),
                    ("สิทธิย่อย", found.sub.display_th if found.sub else "-"),
                    *unit_rows,
                ),
                unit_notes,
            )
        )
    names = ", ".join(card.title for card in cards)
    footer = f"ข้อมูล ณ {datetime_label(checked_at, 'th')}\n" if checked_at else ""
    return [
        cards_carousel(cards, f"สิทธิการรักษาพยาบาล {len(cards)} คน: {names}"),
        messages.text(
            f"สิทธิการรักษาพยาบาล {len(cards)} คน (เลื่อนดูทางซ้าย-ขวา)\n"
            f"{footer}สอบถามเพิ่มเติม สายด่วน สปสช. {messages.HOTLINE}",
            messages.menu_quick_reply(),
        ),
    ]
