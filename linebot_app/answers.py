"""Bot answers that read the account's data: code history (a carousel) and rights (text)."""

from __future__ import annotations

from linebot.v3.messaging import QuickReply
from sqlalchemy import select
from sqlalchemy.orm import Session

from authencode.crypto import DataProtector
from authencode.models import FamilyLink, LineAccount, Person
from authencode.services import link_trust, pcu_change, unit_words
from authencode.services.patient_codes import codes_for_account, count_for_account
from authencode.services.people import Rights, RightsLookup, person_masked_cid
from authencode.services.registration import RegistrationPolicy, rights_view
from authencode.settings import Settings
from authencode.thaidate import be_datetime
from linebot_app import messages
from linebot_app.flex import MAX_BUBBLES, code_view, history_message
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


def _unit_lines(session: Session, person: Person, found: Rights) -> list[str]:
    """The main and primary care units, this fiscal year's changes and a pending request, in
    the words the LIFF rights page and the clinic's unit-change page use."""
    names = {u.hcode: u.hname for u in (found.hosp_main, found.hosp_sub) if u and u.hname}
    lines = [
        unit_words.role_line(role, unit.hcode if unit else None, names)
        for role, unit in ((unit_words.MAIN, found.hosp_main), (unit_words.PRIMARY, found.hosp_sub))
    ]
    status = pcu_change.status_for(session, person)
    lines.append(unit_words.quota_text(status))
    if status.pending is not None:
        pending = status.pending
        lines.append(
            unit_words.change_words(pending, pcu_change.facility_names(session, [pending])).pending
        )
    return lines


def rights(
    session: Session,
    protector: DataProtector,
    lookup: RightsLookup,
    settings: Settings,
    account: LineAccount,
    policy: RegistrationPolicy,
) -> list[Json]:
    """Main and sub-right, and registered units, of each linked person (one text); of a
    person linked unverified only whether the right allows the service, of a pending one
    nothing."""
    links = _links(session, account)
    if not links:
        return not_registered(settings)
    blocks = []
    checked_at = None
    for link in links:
        person = link.person
        masked = person_masked_cid(protector, person)
        level = link_trust.LEVEL_TH[link.level]
        if not link_trust.can(link, link_trust.ELIGIBILITY):
            blocks.append(f"{masked}\n{level}: {link_trust.PENDING_TH}")
            continue
        view = rights_view(session, lookup, policy, link)
        found = view.detail
        if found is None:
            eligible = "มีสิทธิใช้บริการนี้" if view.eligible else "สิทธิที่บันทึกไว้ไม่ใช่สิทธิสำหรับบริการนี้"
            blocks.append(
                f"{person.full_name_th} ({masked})\n{level}\n"
                f"การใช้บริการ: {eligible}\n{link_trust.HOW_TO_VERIFY_TH}"
            )
            continue
        checked_at = found.checked_at
        blocks.append(
            "\n".join(
                (
                    f"{person.full_name_th} ({masked})",
                    level,
                    f"สิทธิหลัก: {found.main.display_th}",
                    f"สิทธิย่อย: {found.sub.display_th if found.sub else '-'}",
                    *_unit_lines(session, person, found),
                )
            )
        )
    footer = f"ข้อมูล ณ {be_datetime(checked_at)}" if checked_at else ""
    body = (
        "สิทธิการรักษาพยาบาล\n\n"
        + "\n\n".join(blocks)
        + f"\n\n{footer}\nสอบถามเพิ่มเติม สายด่วน สปสช. {messages.HOTLINE}"
    )
    return [messages.text(body[: messages.MAX_TEXT_CHARS], messages.menu_quick_reply())]
